"""Audited facts as scheduling keys: the k8s-labels script and the ansible-inventory, checked against kubectl's
recorded label rules and read by ansible-inventory itself."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from auditor.report.model import Report
from auditor.report.scheduling import group_name, node_labels, valid_label_value
from auditor.report.writers.ansible_inventory import render_ansible_inventory
from auditor.report.writers.k8s_labels import render_k8s_labels
from tests.support.documents import facts
from tests.support.paths import REAL
from tests.support.reports import host, report, unreachable

K8S = REAL / "workflows" / "k8s"


def recorded_kubectl() -> list[tuple[str, bool]]:
    """Each KEY=VALUE kubectl label --local was given (k8s/index.tsv) and whether kubectl accepted it."""
    cases = []
    for line in (K8S / "index.tsv").read_text().splitlines():
        name, status, _, command = line.split("\t", 3)
        if not name.startswith("kubectl-label"):
            continue
        pairs = [a for a in shlex.split(command) if "=" in a and not a.startswith("-")]
        cases += [(pair.split("=", 1)[1], status == "0") for pair in pairs]
    return cases


@pytest.mark.parametrize(("value", "accepted"), recorded_kubectl())
def test_label_values_follow_kubectls_own_rules(value: str, accepted: bool) -> None:
    """Every value kubectl 1.32 accepted or refused (a space, 64 characters, a trailing dot, a '+'), judged alike."""
    assert valid_label_value(value) is accepted


def kubectl_recorder(tmp_path: Path, fail_on: str = "") -> Path:
    """A stand-in kubectl that appends its arguments (one JSON list a line) and fails for node ``fail_on``."""
    log = tmp_path / "kubectl.log"
    script = tmp_path / "kubectl"
    script.write_text(
        f"#!{sys.executable}\nimport json, sys\n"
        f"open({str(log)!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n"
        f"sys.exit(1 if {fail_on!r} in sys.argv else 0)\n"
    )
    script.chmod(0o755)
    return log


def run_script(tmp_path: Path, text: str, fail_on: str = "") -> tuple[int, dict[str, dict[str, str]]]:
    """Run the labels script with KUBECTL pointing at the recorder: its exit status and the labels per node."""
    log = kubectl_recorder(tmp_path, fail_on)
    path = tmp_path / "labels.sh"
    path.write_text(text)
    done = subprocess.run(
        ["/bin/sh", str(path)], env={"KUBECTL": str(tmp_path / "kubectl"), "PATH": "/usr/bin:/bin"}, check=False
    )
    labelled = {}
    for line in log.read_text().splitlines():
        argv = json.loads(line)
        assert argv[:2] == ["label", "node"] and argv[3] == "--overwrite"
        labelled[argv[2]] = dict(a.split("=", 1) for a in argv[4:])
    return done.returncode, labelled


def test_the_demo_fleet_labelled(demo_report: Report, tmp_path: Path) -> None:
    """Every demo host labelled as GFD would (nvidia.com/...) plus the audit's own keys; unreachable hosts get the verdict."""
    status, labelled = run_script(tmp_path, render_k8s_labels(demo_report))
    assert status == 0 and set(labelled) == {h.name for h in demo_report.hosts}
    mig = labelled["h200-mig-01"]
    assert {k: v for k, v in mig.items() if k.startswith("nvidia.com/")} == {
        "nvidia.com/gpu.count": "8",
        "nvidia.com/gpu.product": "NVIDIA-H200",
        "nvidia.com/gpu.memory": "143771",
        "nvidia.com/gpu.family": "hopper",
        "nvidia.com/gpu.compute.major": "9",
        "nvidia.com/gpu.compute.minor": "0",
        "nvidia.com/cuda.driver.major": "580",
        "nvidia.com/cuda.driver.minor": "95",
        "nvidia.com/cuda.driver.rev": "05",
        "nvidia.com/cuda.runtime.major": "13",
        "nvidia.com/cuda.runtime.minor": "0",
        "nvidia.com/mig.capable": "true",
    }
    assert (mig["auditor/verdict"], mig["auditor/mig.mode"], mig["auditor/driver.branch"]) == ("ok", "enabled", "580")
    assert labelled["l4-infer-01"]["nvidia.com/mig.capable"] == "false"
    assert labelled["a10-batch-02"]["auditor/container-toolkit"] == "none"
    assert set(labelled["h100-serve-03"]) == {"auditor/verdict", "auditor/audited"}
    assert labelled["h100-serve-03"]["auditor/verdict"] == "unreachable"
    for labels in labelled.values():
        assert all(valid_label_value(v) for v in labels.values())


def test_a_node_that_cannot_be_labelled_does_not_stop_the_others(demo_report: Report, tmp_path: Path) -> None:
    """kubectl fails for one node: the others are still labelled, and the script exits 1."""
    status, labelled = run_script(tmp_path, render_k8s_labels(demo_report), fail_on="t4-edge-01")
    assert status == 1 and len(labelled) == len(demo_report.hosts)


def test_values_kubernetes_refuses_are_left_out_and_said(tmp_path: Path) -> None:
    """A value with '+' or a space is a comment, never bent into shape; an invalid node name is skipped."""
    odd = host("gpu-01")
    odd = type(odd)(odd.host, odd.verdict, facts=facts(tensorrt={"version": "10.13.3.9-1+cuda12.9"}))
    text = render_k8s_labels(report(odd, host("GPU_02"), unreachable("gpu-03")))
    assert "# gpu-01: auditor/tensorrt not labelled: '10.13.3.9-1+cuda12.9' is not a valid label value" in text
    assert "# GPU_02: not labelled: not a valid Kubernetes node name" in text
    good, bad = node_labels(odd, "2026-11-21T06:00:00Z")
    assert [k.label for k in bad] == ["auditor/tensorrt"] and all(valid_label_value(k.value) for k in good)
    assert subprocess.run(["/bin/sh", "-n"], input=text, text=True, check=False).returncode == 0


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed (its rules are recorded)")
def test_kubectl_itself_accepts_the_labels(demo_report: Report, tmp_path: Path) -> None:
    """Where kubectl exists: `kubectl label --local` accepts every label the script sets."""
    node = tmp_path / "node.yaml"
    node.write_text("apiVersion: v1\nkind: Node\nmetadata:\n  name: gpu-node-01\n")
    labels, _ = node_labels(next(h for h in demo_report.hosts if h.name == "h200-mig-01"), demo_report.generated_at)
    pairs = [f"{k.label}={k.value}" for k in labels]
    done = subprocess.run(
        [shutil.which("kubectl") or "kubectl", "label", "--local", "-f", str(node), "-o", "yaml", *pairs],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


# ------------------------------------------------------------------ ansible-inventory


def ansible_list(tmp_path: Path, text: str) -> dict:
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(text)
    tool = Path(sys.executable).parent / "ansible-inventory"
    done = subprocess.run([str(tool), "-i", str(inventory), "--list"], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "WARNING" not in done.stderr, done.stderr
    return json.loads(done.stdout)


def test_ansible_reads_the_demo_inventory(demo_report: Report, tmp_path: Path) -> None:
    """ansible-inventory --list: groups by verdict, GPU model, compute capability, driver branch, CUDA, MIG; hostvars."""
    listed = ansible_list(tmp_path, render_ansible_inventory(demo_report))
    assert listed["driver_535"]["hosts"] == ["t4-edge-01", "a100-serve-01", "a100-serve-02", "t4-batch-01"]
    assert listed["mig_enabled"]["hosts"] == ["h200-mig-01", "h200-mig-02"]
    assert listed["gpu_nvidia_h200"]["hosts"] == ["h200-mig-01", "h200-mig-02"]
    assert set(listed["cc_9_0"]["hosts"]) == {"h100-serve-01", "h100-serve-02", "h200-mig-01", "h200-mig-02"}
    assert listed["verdict_unreachable"]["hosts"] == ["h100-serve-03", "l4-batch-01"]
    assert "cuda_13_0" in listed and "cuda_driver_12_2" in listed
    hostvars = listed["_meta"]["hostvars"]["a10-infer-01"]
    assert hostvars["auditor_driver"] == "550.54.14" and hostvars["auditor_verdict"] == "rollback"
    assert hostvars["ansible_host"].startswith("127.0.0.") and isinstance(hostvars["ansible_port"], int)
    assert group_name("gpu", "NVIDIA A100-SXM4-80GB") in listed


def test_host_text_ansible_would_template_is_not_written(tmp_path: Path) -> None:
    """A GPU name with Jinja in it stays out of the inventory (Ansible would evaluate {{ }}), the rest is kept;
    its group name keeps only letters, digits and '_'."""
    lying = host("gpu-01")
    lying = type(lying)(
        lying.host,
        lying.verdict,
        facts=facts(gpus={"count": 1, "devices": [{"index": 0, "name": "{{ lookup('pipe', 'id') }}"}]}),
    )
    text = render_ansible_inventory(report(lying))
    assert "{{" not in text and "lookup(" not in text and "gpu_lookup_pipe_id:" in text
    listed = ansible_list(tmp_path, text)
    assert "auditor_gpu" not in listed["_meta"]["hostvars"]["gpu-01"]
    assert yaml.safe_load(text)["all"]["hosts"]["gpu-01"]["auditor_driver"] == "535.104.05"
