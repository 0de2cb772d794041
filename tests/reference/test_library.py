"""The engine library on disk, offline verification, plan picking by the portability rules, and shipping."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import shutil
import struct
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auditor.errors import InputErrors
from auditor.evaluate.registry import CHECK_IDS
from auditor.inventory import Host
from auditor.knowledge import tensorrt as trt_kb
from auditor.policy.files import load_policy
from auditor.probe.program import MAX_PAYLOAD_BYTES, PayloadTooLarge, probe_program, shipped_probe
from auditor.probe.remote import reference
from auditor.reference.build import BuildRequest
from auditor.reference.library import Library, LibraryError, LibraryPlan, add_plan, default_library, load_library
from auditor.reference.picking import acceptance, ordered, pick
from auditor.reference.shipment import check_library, reference_calls, shipment
from auditor.reference.verify import verify_library, verify_plan
from tests.support.reference import H100, host, make_library


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Library:
    base = tmp_path_factory.mktemp("library")
    return make_library(
        base,
        [
            (host("a10"), BuildRequest("ref-fp32")),
            (host("h100", H100, "11.4.0.106"), BuildRequest("ref-fp32")),
            (host("a10-vc"), BuildRequest("ref-fp32-vc", version_compatible=True)),
        ],
    )


@pytest.fixture
def copy(library: Library, tmp_path: Path) -> Library:
    """A private copy of the module's library, to break."""
    target = tmp_path / "engines"
    shutil.copytree(library.root, target)
    return load_library(target)


def test_plans_are_stored_per_tensorrt_and_architecture(library: Library) -> None:
    """Each build lands in <tensorrt>/<sm>/<name>.plan with its entry in that directory's meta.json."""
    ids = sorted(p.meta.id for p in library.plans)
    assert ids == ["10.3.0.26/sm86/ref-fp32", "10.3.0.26/sm86/ref-fp32-vc", "11.4.0.106/sm90/ref-fp32"]
    plan = next(p for p in library.plans if p.meta.id == "11.4.0.106/sm90/ref-fp32")
    assert plan.path == library.root / "11.4.0.106" / "sm90" / "ref-fp32.plan"
    document = json.loads(plan.meta_path.read_text())
    assert document["schema"] == "auditor.engines/1" and set(document["plans"]) == {"ref-fp32"}
    entry = document["plans"]["ref-fp32"]
    assert (
        entry["tensorrt"] == "11.4.0.106"
        and entry["compute_capability"] == "9.0"
        and entry["gpu"].startswith("NVIDIA H100")
    )
    assert entry["built"]["host"] == "h100" and entry["built"]["driver"] == "580.95.05" and entry["built"]["at"]
    assert entry["tolerance"] == {"atol": 1e-4, "rtol": 1e-3} and len(entry["expected"]["output"]["values"]) == 10


def test_a_second_plan_in_a_directory_keeps_the_first(library: Library) -> None:
    """ref-fp32 and ref-fp32-vc share 10.3.0.26/sm86/meta.json."""
    document = json.loads((library.root / "10.3.0.26" / "sm86" / "meta.json").read_text())
    assert set(document["plans"]) == {"ref-fp32", "ref-fp32-vc"}


def test_metadata_round_trips(library: Library, tmp_path: Path) -> None:
    """Saving a plan's metadata and reading it back gives the same value."""
    plan = library.plans[0]
    add_plan(tmp_path, plan.meta, plan.path.read_bytes())
    [again] = load_library(tmp_path).plans
    assert again.meta == plan.meta


def test_a_plan_that_is_not_its_metadata_is_refused(library: Library, tmp_path: Path) -> None:
    """add_plan checks the bytes against the sha256 and size it is given."""
    with pytest.raises(LibraryError, match="sha256"):
        add_plan(tmp_path, library.plans[0].meta, b"ftrt" + bytes(100))


def test_default_library_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """$XDG_DATA_HOME/auditor/engines, else ~/.local/share/auditor/engines."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_library() == tmp_path / "auditor" / "engines"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_library() == tmp_path / "home" / ".local" / "share" / "auditor" / "engines"


def test_broken_metadata_is_reported_and_the_rest_still_read(copy: Library) -> None:
    """Unreadable JSON, another schema and a bad entry each give a problem line; good plans still load."""
    (copy.root / "11.4.0.106" / "sm90" / "meta.json").write_text("{not json")
    meta = copy.root / "10.3.0.26" / "sm86" / "meta.json"
    document = json.loads(meta.read_text())
    document["plans"]["ref-fp32-vc"]["precision"] = "int4"
    meta.write_text(json.dumps(document))
    (copy.root / "9.9.9.9" / "sm75").mkdir(parents=True)
    (copy.root / "9.9.9.9" / "sm75" / "meta.json").write_text(json.dumps({"schema": "other/1"}))
    again = load_library(copy.root)
    assert [p.meta.id for p in again.plans] == ["10.3.0.26/sm86/ref-fp32"]
    assert len(again.problems) == 3
    assert any("precision" in p for p in again.problems) and any("unreadable" in p for p in again.problems)


def test_verify_passes_an_intact_library(library: Library) -> None:
    """Every freshly built plan matches its metadata, header and checksum."""
    assert all(v.ok and not v.warnings for v in verify_library(library))


def mutate(plan: LibraryPlan, data: bytes) -> None:
    plan.path.write_bytes(data)


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (lambda d: d[:-1] + bytes([d[-1] ^ 1]), "sha256 differs"),
        (lambda d: d[:-10], "size is"),
        (lambda d: b"xxxx" + d[4:], "no 'ftrt' tag"),
        (lambda d: d[:24] + bytes((10, 3, 0, 27)) + d[28:], "the header says TensorRT 10.3.0.27"),
    ],
)
def test_verify_finds_a_changed_plan(copy: Library, damage: object, problem: str) -> None:
    """A flipped bit, a cut, a lost tag or another version in the header are each named."""
    plan = next(p for p in copy.plans if p.meta.id == "10.3.0.26/sm86/ref-fp32")
    mutate(plan, damage(plan.path.read_bytes()))  # type: ignore[operator]
    verdict = verify_plan(plan)
    assert not verdict.ok and any(problem in p for p in verdict.problems)


def test_verify_finds_a_plan_in_the_wrong_place_and_impossible_flags(copy: Library) -> None:
    """A directory that is not <tensorrt>/<sm>, a changed expected output, and flags the version cannot have."""
    plan = next(p for p in copy.plans if p.meta.id == "10.3.0.26/sm86/ref-fp32-vc")
    moved = replace(plan, path=copy.root / "10.3.0.26" / "sm80" / "ref-fp32-vc.plan")
    moved.path.parent.mkdir()
    shutil.copy(plan.path, moved.path)
    assert any("not 10.3.0.26/sm86/" in p for p in verify_plan(moved).problems)
    expected = plan.meta.expected[0]
    changed = replace(plan.meta, expected=(replace(expected, values=(expected.values[0] + 1, *expected.values[1:])),))
    assert any("do not match their checksum" in p for p in verify_plan(replace(plan, meta=changed)).problems)
    old = replace(plan.meta, tensorrt="8.5.3.1", hardware_compatible="ampere+", compute_capability="7.5")
    problems = verify_plan(replace(plan, meta=old)).problems
    assert any("version-compatible plans need TensorRT 8.6" in p for p in problems)
    assert any("ampere+ plans need TensorRT 8.6" in p for p in problems)
    assert any("compute capability 8.0 or newer" in p for p in problems)


def test_verify_flags_a_plan_too_large_to_ship(copy: Library) -> None:
    """A plan over the payload cap cannot travel in a probe program, and verify says so."""
    plan = copy.plans[0]
    data = plan.path.read_bytes() + bytes(MAX_PAYLOAD_BYTES)
    big = replace(plan, meta=replace(plan.meta, size=len(data), sha256=hashlib.sha256(data).hexdigest()))
    mutate(big, data)
    assert any("a probe carries" in p for p in verify_plan(big).problems)


# -- picking -------------------------------------------------------------------------------------


def meta_of(library: Library, plan_id: str):
    return next(p for p in library.plans if p.meta.id == plan_id).meta


def test_an_exact_plan_loads_only_in_its_build_on_its_capability(library: Library) -> None:
    """Rules exact-version and compute-capability: one build, one capability, the full runtime only."""
    rule = acceptance(meta_of(library, "10.3.0.26/sm86/ref-fp32"))
    assert rule.admits("tensorrt", "10.3.0.26", "8.6") == (True, None)
    assert not rule.admits("tensorrt", "10.3.0.25", "8.6")[0]
    assert not rule.admits("tensorrt", "10.3.0.26", "8.0")[0]
    assert rule.admits("tensorrt_lean", "10.3.0.26", "8.6")[1] == "needs the tensorrt module"


def test_a_version_compatible_plan_follows_the_cross_major_pairs(library: Library) -> None:
    """A 10.3 VC plan loads in 10.3+ and 11.x runtimes (lean too), never in older or 12.x ones."""
    rule = acceptance(meta_of(library, "10.3.0.26/sm86/ref-fp32-vc"))
    assert rule.majors == (10, 11)
    for version, ok in (
        ("10.3.0.26", True),
        ("10.16.1.11", True),
        ("11.4.0.106", True),
        ("10.2.0.19", False),
        ("12.0.0.1", False),
    ):
        assert rule.admits("tensorrt_lean", version, "8.6")[0] is ok
    eight = acceptance(replace(meta_of(library, "10.3.0.26/sm86/ref-fp32-vc"), tensorrt="8.6.1.6"))
    assert eight.majors == (8, 10) and not eight.admits("tensorrt", "11.0.0.114", "8.6")[0]


def test_hardware_compatible_plans_widen_the_gpus(library: Library) -> None:
    """ampere+ admits any capability from 8.0; same-cc only the building GPU's."""
    meta = meta_of(library, "10.3.0.26/sm86/ref-fp32")
    ampere = acceptance(replace(meta, hardware_compatible="ampere+"))
    assert [ampere.admits("tensorrt", "10.3.0.26", cc)[0] for cc in ("7.5", "8.0", "8.9", "9.0", "12.0")] == [
        False,
        True,
        True,
        True,
        True,
    ]
    same = acceptance(replace(meta, hardware_compatible="same-cc"))
    assert [same.admits("tensorrt", "10.3.0.26", cc)[0] for cc in ("8.0", "8.6")] == [False, True]


VERSIONS = st.tuples(st.sampled_from([8, 9, 10, 11, 12]), st.integers(0, 16), st.integers(0, 3), st.integers(0, 120))
CCS = st.sampled_from(["6.1", "7.0", "7.5", "8.0", "8.6", "8.9", "9.0", "10.0", "12.0"])


@given(
    built=VERSIONS,
    runtime=VERSIONS,
    build_cc=CCS,
    host_cc=CCS,
    module=st.sampled_from(["tensorrt", "tensorrt_lean", "tensorrt_dispatch", "tensorrt_bindings"]),
    vc=st.booleans(),
    hardware=st.sampled_from(["none", "ampere+", "same-cc"]),
)
def test_the_probe_applies_the_rules_exactly_as_the_controller(
    library: Library, built: tuple, runtime: tuple, build_cc: str, host_cc: str, module: str, vc: bool, hardware: str
) -> None:
    """The probe's accepts() on the shipped JSON and Acceptance.admits() agree on every case."""
    meta = replace(
        meta_of(library, "10.3.0.26/sm86/ref-fp32"),
        tensorrt=".".join(map(str, built)),
        compute_capability=build_cc,
        version_compatible=vc,
        hardware_compatible=hardware,
    )
    rule = acceptance(meta)
    version = ".".join(map(str, runtime))
    assert reference.accepts(rule.to_json(), module, version, host_cc)[0] == rule.admits(module, version, host_cc)[0]
    if vc and hardware == "none" and module == "tensorrt" and build_cc == host_cc and built >= (8, 6, 0, 0):
        assert rule.admits(module, version, host_cc)[0] == trt_kb.version_compatible_load(meta.tensorrt, version)


def test_picking_prefers_the_exact_plan_then_compatible_ones(library: Library) -> None:
    """An exact match wins over a VC plan; a newer runtime falls back to the VC plan; none gives reasons."""
    plans = library.named("ref-fp32") + library.named("ref-fp32-vc")
    assert [p.meta.id for p in ordered(plans)][-1] == "10.3.0.26/sm86/ref-fp32-vc"
    chosen, module, _ = pick(plans, [("tensorrt", "10.3.0.26")], "8.6")
    assert chosen is not None and chosen.meta.id == "10.3.0.26/sm86/ref-fp32" and module == "tensorrt"
    chosen, module, _ = pick(plans, [("tensorrt_lean", "10.8.0.43")], "8.6")
    assert chosen is not None and chosen.meta.id == "10.3.0.26/sm86/ref-fp32-vc" and module == "tensorrt_lean"
    chosen, _, reasons = pick(plans, [("tensorrt", "10.8.0.43")], "7.5")
    assert chosen is None and reasons == [
        "11.4.0.106/sm90/ref-fp32: built by TensorRT 11.4.0.106",
        "10.3.0.26/sm86/ref-fp32: built by TensorRT 10.3.0.26",
        "10.3.0.26/sm86/ref-fp32-vc: built for compute capability 8.6",
    ]


# -- shipping --------------------------------------------------------------------------------------


def test_a_shipment_carries_each_plan_once_with_its_rule_input_and_expected_output(library: Library) -> None:
    """Candidates point into one payload; the same plan wanted twice travels once."""
    shipped = shipment(library, ["ref-fp32", "ref-fp32-vc", "ref-fp32"])
    sizes = sum(p.meta.size for p in library.plans)
    assert len(shipped.payload) == sizes
    first = shipped.references[0]["candidates"]
    assert [c["id"] for c in first] == ["11.4.0.106/sm90/ref-fp32", "10.3.0.26/sm86/ref-fp32"]
    for candidate in first:
        plan = next(p for p in library.plans if p.meta.id == candidate["id"])
        assert shipped.payload[candidate["offset"] : candidate["offset"] + candidate["size"]] == plan.path.read_bytes()
        assert candidate["accepts"]["version"] == {"exact": plan.meta.tensorrt}
        assert base64.b64decode(candidate["inputs"][0]["data"]) == base64.b64decode(plan.meta.inputs[0].data or "")
        assert candidate["outputs"][0]["expected"]["values"] == list(plan.meta.expected[0].values)
    assert shipped.references[2]["candidates"][0]["offset"] == first[0]["offset"]


def test_a_shipment_refuses_a_missing_name_a_changed_plan_and_too_many_bytes(copy: Library) -> None:
    """No plan of that name, a plan file changed since its build, more than the cap: each a clear error."""
    with pytest.raises(LibraryError, match="auditor engines build --on HOST --name nope"):
        shipment(copy, ["nope"])
    plan = copy.plans[0]
    plan.path.write_bytes(plan.path.read_bytes() + b"!")
    with pytest.raises(LibraryError, match="does not match the sha256"):
        shipment(copy, [plan.meta.name])
    data = bytes(MAX_PAYLOAD_BYTES)
    big = replace(plan.meta, size=len(data), sha256=hashlib.sha256(data).hexdigest())
    add_plan(copy.root, big, data)
    with pytest.raises(PayloadTooLarge, match="MiB a probe carries"):
        shipment(load_library(copy.root), [plan.meta.name])


def test_the_program_carries_the_payload_in_its_first_line() -> None:
    """probe_program prepends AUDITOR_PAYLOAD as base64 to the probe as shipped; None is the shipped probe
    alone; the cap holds."""
    program = probe_program(b"\x00plan\xff")
    first, rest = program.split(b"\n", 1)
    assert first == b'AUDITOR_PAYLOAD = "' + base64.b64encode(b"\x00plan\xff") + b'"' and rest == shipped_probe()
    assert probe_program(None) == shipped_probe()
    with pytest.raises(PayloadTooLarge):
        probe_program(bytes(MAX_PAYLOAD_BYTES + 1))


POLICY = """\
schema: auditor.policy/1
stacks:
  trt10: {tensorrt: {min: "10.0"}, reference: ref-fp32}
rules:
  - id: serving
    select: {groups: [serving]}
    stack: trt10
  - id: batch
    select: {groups: [batch]}
    reference: {name}
"""


def test_calls_carry_each_hosts_references_and_plain_hosts_get_the_plain_probe(
    library: Library, tmp_path: Path
) -> None:
    """A selected host's call has the candidates and the payload; an unselected host the bare probe."""
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY.replace("{name}", "ref-fp32-vc"))
    policy = load_policy(path, checks=CHECK_IDS)
    check_library(policy, library)
    call = reference_calls(policy, library)
    serving = call(Host("s1", "10.0.0.1", groups=("serving",)))
    request = json.loads(base64.b64decode(serving.request))
    assert [r["name"] for r in request["reference"]] == ["ref-fp32"]
    assert serving.source.startswith(b"AUDITOR_PAYLOAD = ") and serving.source.endswith(shipped_probe())
    assert call(Host("s2", "10.0.0.2", groups=("serving",))) is serving  # one program for the fleet
    plain = call(Host("o1", "10.0.0.3", groups=("other",)))
    assert plain.program is None and "reference" not in json.loads(base64.b64decode(plain.request))


def test_a_policy_naming_a_reference_the_library_lacks_fails_before_any_host(library: Library, tmp_path: Path) -> None:
    """check_library raises located input errors (exit 2) for each missing reference."""
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY.replace("{name}", "ref-nope"))
    with pytest.raises(InputErrors) as caught:
        check_library(load_policy(path, checks=CHECK_IDS), library)
    [error] = caught.value.errors
    assert str(error).startswith(f"{path}:10:") and "ref-nope" in str(error)


def test_expected_values_are_the_exact_float32_outputs(library: Library) -> None:
    """The recorded values pack back into the bytes whose sha256 is recorded (what verify relies on)."""
    meta = library.plans[0].meta
    packed = struct.pack(f"<{len(meta.expected[0].values)}f", *meta.expected[0].values)
    assert hashlib.sha256(packed).hexdigest() == meta.expected[0].sha256


def test_the_builder_and_probe_files_are_importable_as_host_scripts() -> None:
    """builder.py is a plain script (no package imports) so it runs with -c on any host."""
    spec = importlib.util.find_spec("auditor.probe.remote.children.builder")
    assert spec is not None and spec.origin is not None
    text = Path(spec.origin).read_text()
    assert "from auditor" not in text and "import auditor" not in text
