"""Required TensorRT plugins: the policy key with file:line, the registry the probe lists, and the finding naming the library."""

from __future__ import annotations

import base64
import datetime
import json
import re
from pathlib import Path
from typing import Any

import pytest

from auditor.errors import InputErrors
from auditor.evaluate.host import evaluate
from auditor.evaluate.registry import CHECK_IDS
from auditor.facts.reader import parse_facts
from auditor.findings import Action, Severity
from auditor.inventory import Host
from auditor.knowledge.plugins import STANDARD, plugin_home
from auditor.policy.files import load_policies
from auditor.policy.model import Policy
from auditor.probe.program import run_local
from auditor.probe.request import encode_request
from auditor.simulate.fleet import parse_fleet
from auditor.simulate.roots import build_root
from auditor.yamlsrc import load_yaml
from tests.support.documents import facts
from tests.support.paths import REAL

HOST = Host("det-01", "10.0.0.1", groups=("detector",))
RECORDED = (REAL / "workflows" / "tensorrt" / "plugins-h200-lean-11.4-cp312.txt").read_text()
POLICY = """\
schema: auditor.policy/1
stacks:
  det:
    plugins: [EfficientNMS_TRT]
rules:
  - id: detector
    select: {groups: [detector]}
    plugins: [EfficientNMS_TRT, MyCompanyNMS]
  - id: from-stack
    select: {groups: [detector]}
    stack: det
"""


def policy(tmp_path: Path, text: str = POLICY) -> Policy:
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    return load_policies([path], as_of=datetime.date(2026, 11, 21), checks=CHECK_IDS)


def module(name: str, creators: list[str], library: bool | None = True, error: str | None = None) -> dict[str, Any]:
    plugins = {
        "creators": [{"name": c, "version": "1", "namespace": ""} for c in creators],
        "library": library,
        "error": error,
    }
    return {"module": name, "version": "10.13.3.9", "error": None, "plugins": plugins}


def with_modules(*modules: dict[str, Any]) -> Any:
    return facts(tensorrt={"version": "10.13.3.9", "modules": list(modules), "libraries": [], "packages": []})


def findings(tmp_path: Path, *modules: dict[str, Any]) -> list:
    report = evaluate(policy(tmp_path), HOST, with_modules(*modules))
    return [f for f in report.findings if f.rule.endswith("/plugins")]


def test_policy_plugins_with_their_lines_and_through_a_stack(tmp_path: Path) -> None:
    """Each required plugin keeps the line it was written on; a stack's plugins reach the rule that uses it."""
    loaded = policy(tmp_path)
    detector, from_stack = loaded.rules
    assert [(p.name, p.location.line) for p in detector.plugins] == [("EfficientNMS_TRT", 8), ("MyCompanyNMS", 8)]
    assert [p.name for p in from_stack.plugins] == ["EfficientNMS_TRT"]


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ('["Efficient NMS"]', "is not a plugin name"),
        ("[EfficientNMS_TRT, EfficientNMS_TRT]", "is listed twice"),
        ("[]", "names no plugin"),
        ("EfficientNMS_TRT", "must be a list"),
    ],
)
def test_bad_plugin_lists_are_located_input_errors(tmp_path: Path, value: str, fragment: str) -> None:
    """A malformed plugins: entry is an input error naming its file and line, before any host is contacted."""
    text = f"schema: auditor.policy/1\nrules:\n  - id: r\n    plugins: {value}\n"
    with pytest.raises(InputErrors) as caught:
        policy(tmp_path, text)
    assert fragment in str(caught.value) and "policy.yaml:4" in str(caught.value)


def test_registered_plugins_pass_and_a_site_plugin_is_inconclusive(tmp_path: Path) -> None:
    """EfficientNMS_TRT in the full runtime's registry passes; a name NVIDIA does not ship is never a pass."""
    found = findings(tmp_path, module("tensorrt", ["EfficientNMS_TRT", "BatchedNMS_TRT"]))
    assert len(found) == 1 and found[0].inconclusive and "MyCompanyNMS" in found[0].message


def test_missing_standard_plugin_names_its_library_and_package(tmp_path: Path) -> None:
    """The lean runtime lists no EfficientNMS_TRT: a high finding naming libnvinfer_plugin.so.10 and its package."""
    found = findings(tmp_path, module("tensorrt_lean", ["MyelinWeightsTransformPlugin"], library=None))
    missing = [f for f in found if not f.inconclusive]
    assert len(missing) == 2  # the rule's own, and the stack's
    finding = missing[0]
    assert finding.severity is Severity.HIGH and finding.action is Action.UPGRADE
    assert "libnvinfer_plugin.so.10" in finding.message and "libnvinfer-plugin10" in (finding.remediation or "")
    assert "lean and dispatch runtimes" in (finding.remediation or "")
    assert "policy.yaml:8" in finding.source and "plugin/README.md" in finding.source


def test_no_module_or_a_failed_listing_is_inconclusive(tmp_path: Path) -> None:
    """Without an imported TensorRT module, or when the listing failed, nothing is judged."""
    for modules in ((), (module("tensorrt", [], error="RuntimeError: boom"),)):
        found = findings(tmp_path, *modules)
        assert found and all(f.inconclusive for f in found), modules
    assert "RuntimeError: boom" in findings(tmp_path, module("tensorrt", [], error="RuntimeError: boom"))[0].message


def test_knowledge_cites_nvidias_plugin_table() -> None:
    """The standard plugins are NVIDIA's table; ROIAlign_TRT version 2 is the version-compatible library's (recorded)."""
    assert plugin_home("EfficientNMS_TRT", 10).library == "libnvinfer_plugin.so.10"  # type: ignore[union-attr]
    assert plugin_home("NoSuchPlugin", 10) is None
    assert "'name': 'ROIAlign_TRT', 'plugin_version': '2'" in RECORDED
    assert plugin_home("ROIAlign_TRT", 11).library == "libnvinfer_plugin.so.11"  # type: ignore[union-attr]
    assert len(STANDARD) >= 40 and STANDARD["Reorg_TRT"] == ("2",)


SIM = """\
schema: auditor.fleet/1
hosts:
  full-01:
    gpus: [{model: "NVIDIA A10", count: 1}]
    driver: "580.95.05"
    tensorrt: "10.13.3.9"
    python_tensorrt: "10.13.3.9"
  lean-11:
    gpus: [{model: "NVIDIA H200", count: 1}]
    driver: "580.95.05"
    tensorrt: "11.4.0.106"
    python_tensorrt_lean: "11.4.0.106"
"""


@pytest.fixture(scope="module")
def sim_roots(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("plugin-roots")
    source = base / "fleet.yaml"
    source.write_text(SIM)
    fleet = parse_fleet(load_yaml(source), str(source))
    return {h.name: build_root(h, base) for h in fleet.hosts}


def listed(root: Path) -> dict[str, Any]:
    result = run_local(root=str(root), request=encode_request(plugins=True))
    document = json.loads(result.stdout)
    parsed = parse_facts(result.stdout)
    return {"raw": document["tensorrt"]["modules"], "facts": parsed.tensorrt.modules}


def test_the_probe_lists_the_full_runtimes_registry_after_loading_the_plugin_library(
    sim_roots: dict[str, Path],
) -> None:
    """The full runtime: init_libnvinfer_plugins called (True), NVIDIA's plugins registered, names and versions read."""
    (module_facts,) = listed(sim_roots["full-01"])["facts"]
    registry = module_facts.plugins
    assert registry is not None and registry.library is True and registry.error is None
    assert registry.has("EfficientNMS_TRT") and len(registry.creators) == sum(len(v) for v in STANDARD.values())


def test_the_probe_reads_the_lean_registry_as_recorded_on_the_h200(sim_roots: dict[str, Path]) -> None:
    """Lean 11.4: no init_libnvinfer_plugins, all_creators holds the seven built-in creators the H200 listed, and
    the junk TensorRT prints to stdout when field_names is read cannot reach the probe's JSON."""
    (module_facts,) = listed(sim_roots["lean-11"])["facts"]
    registry = module_facts.plugins
    recorded = re.findall(
        r"'name': '(\w+)', 'plugin_version': '(\d+)', 'plugin_namespace': ''",
        RECORDED.split("### registry.all_creators described")[1].split("###")[0],
    )
    assert registry is not None and registry.library is None and registry.error is None
    assert [(c.name, c.version, c.namespace) for c in registry.creators] == [(n, v, "") for n, v in recorded]
    assert "hasattr(init_libnvinfer_plugins)\nFalse" in RECORDED and not registry.has("EfficientNMS_TRT")


def test_a_registry_that_kills_the_child_keeps_the_modules_version() -> None:
    """The registry is listed after the import's answer is out: a crash there is the registry's error only."""
    from auditor.probe.remote.tensorrt import plugin_registry

    crashed = plugin_registry([], -11, "")
    assert crashed["error"] == "killed by SIGSEGV" and crashed["creators"] == []
    answered = plugin_registry(['{"plugins": {"creators": [], "library": null, "error": null}}'], 0, "")
    assert answered == {"creators": [], "library": None, "error": None}


def test_the_registry_is_listed_only_when_a_policy_asks(sim_roots: dict[str, Path], tmp_path: Path) -> None:
    """Without plugins in the request no registry is loaded (the probe stays as fast as before); a policy with
    plugins: asks for the hosts its rules may select, and facts without a listing are inconclusive, never a pass."""
    result = run_local(root=str(sim_roots["full-01"]), request=encode_request())
    (module_facts,) = parse_facts(result.stdout).tensorrt.modules
    assert module_facts.plugins is None and module_facts.version == "10.13.3.9"
    from auditor.audit.run import policy_request

    request = policy_request(policy(tmp_path))
    assert '"plugins": true' in base64.b64decode(str(request(HOST))).decode()
    assert '"plugins"' not in base64.b64decode(str(request(Host("other", "10.0.0.2")))).decode()
    found = findings(tmp_path, {"module": "tensorrt", "version": "10.13.3.9", "error": None})
    assert found and all(f.inconclusive and "did not list it" in f.message for f in found)
