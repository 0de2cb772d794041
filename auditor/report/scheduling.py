"""Audited facts as scheduling keys: Kubernetes node labels and Ansible inventory groups.

Schedulers and playbooks then select on what the audit found, the way GPU Feature
Discovery labels Kubernetes nodes. The label names are GFD's ("Generated Labels" in
https://github.com/NVIDIA/k8s-device-plugin/blob/main/docs/gpu-feature-discovery/README.md):
``nvidia.com/gpu.product`` (the model, spaces made ``-``: ``NVIDIA-H100-80GB-HBM3``),
``gpu.count``, ``gpu.memory`` (MiB), ``gpu.family`` (architecture), ``gpu.compute.major/minor``,
``cuda.driver.major/minor/rev`` (the driver version's parts), ``cuda.runtime.major/minor`` (the
CUDA version the driver supports), ``mig.capable``. The auditor's own keys (the verdict, the
driver branch, the toolkits on disk, MIG mode, the container toolkit) are under ``auditor/``.

Every value is checked against Kubernetes' label rules as kubectl states them (recorded in
tests/fixtures/real/workflows/k8s/): at most 63 characters matching
``(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?``; a value that does not fit is left out (and said
so), never bent into shape. Host-supplied text is thereby shell- and YAML-safe too.
"""

from __future__ import annotations

import re
from collections import Counter

from auditor import versions
from auditor.facts.model import Facts
from auditor.knowledge import gpus as gpus_kb
from auditor.records import record
from auditor.report.model import HostReport, Report, parse_time
from auditor.text import clean

LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
MAX_LABEL_VALUE = 63
NODE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
"""A Kubernetes node name: an RFC 1123 subdomain, at most 253 characters."""
GFD = "nvidia.com"
AUDITOR = "auditor"
"""The prefix of the auditor's own labels (a DNS subdomain no one else uses for nodes)."""


@record
class Key:
    """One audited fact to label or group by: the label key, and its value as the host reported it."""

    label: str
    value: str


def run_notes(report: Report) -> list[str]:
    """What a labels script or an inventory says in comments: an interrupted run's missing hosts, the run's notes."""
    lines = []
    if not report.complete:
        missing = ", ".join(clean(n, 200) for n in report.not_audited) or "none listed"
        lines.append(f"INCOMPLETE: the run was interrupted; not audited: {missing}")
    lines += [clean(note, 500) for note in report.notes]
    return lines


def valid_label_value(value: str) -> bool:
    """True when Kubernetes accepts ``value`` as a label value."""
    return len(value) <= MAX_LABEL_VALUE and bool(LABEL_VALUE.match(value))


def valid_node_name(name: str) -> bool:
    return len(name) <= 253 and bool(NODE_NAME.match(name))


def product_label(name: str) -> str:
    """GFD's form of a GPU name: blanks made ``-`` ("NVIDIA H200" -> "NVIDIA-H200")."""
    return "-".join(name.split())


def keys(host: HostReport, generated_at: str) -> list[Key]:
    """The node's keys in label form, GFD's first; without facts only the verdict (and when)."""
    found = [Key(f"{AUDITOR}/verdict", host.verdict.value)]
    try:
        found.append(Key(f"{AUDITOR}/audited", str(int(parse_time(generated_at).timestamp()))))
    except ValueError:
        pass
    if host.facts is None:
        return found
    return _gfd(host.facts) + found + _auditor(host.facts)


def _gfd(facts: Facts) -> list[Key]:
    out: list[Key] = []
    gpus = [g for g in facts.gpus.devices if g.name]
    models = Counter(g.name for g in gpus)
    if facts.gpus.count is not None:
        out.append(Key(f"{GFD}/gpu.count", str(facts.gpus.count)))
    if len(models) == 1:  # GFD labels one product per node; a mixed node gets none rather than a wrong one
        first = gpus[0]
        out.append(Key(f"{GFD}/gpu.product", product_label(first.name or "")))
        if first.memory_total_mib is not None:
            out.append(Key(f"{GFD}/gpu.memory", str(first.memory_total_mib)))
        model = gpus_kb.gpu_model(first.name or "")
        if model is not None:
            out.append(Key(f"{GFD}/gpu.family", model.arch.lower()))
        cc = first.compute_capability or (model.compute_capability if model else None)
        if cc and "." in cc:
            major, minor = cc.split(".", 1)
            out += [Key(f"{GFD}/gpu.compute.major", major), Key(f"{GFD}/gpu.compute.minor", minor)]
    driver = facts.driver.version
    if driver and versions.is_version(driver):
        for part, text in zip(("major", "minor", "rev"), driver.split("."), strict=False):
            out.append(Key(f"{GFD}/cuda.driver.{part}", text))
    cuda = facts.driver.cuda_version
    if cuda and versions.is_version(cuda):
        for part, text in zip(("major", "minor"), cuda.split("."), strict=False):
            out.append(Key(f"{GFD}/cuda.runtime.{part}", text))
    supported = {d.supported for d in facts.mig.devices}
    if facts.mig.devices and None not in supported:
        out.append(Key(f"{GFD}/mig.capable", "true" if supported == {True} else "false"))
    return out


def _auditor(facts: Facts) -> list[Key]:
    out: list[Key] = []
    driver = facts.driver.version
    if driver and versions.is_version(driver):
        out.append(Key(f"{AUDITOR}/driver.branch", driver.split(".")[0]))
    toolkit = facts.cuda.default_toolkit
    if toolkit is not None and toolkit.version:
        out.append(Key(f"{AUDITOR}/cuda.toolkit", toolkit.version))
    if facts.cudnn.version:
        out.append(Key(f"{AUDITOR}/cudnn", facts.cudnn.version))
    if facts.tensorrt.version:
        out.append(Key(f"{AUDITOR}/tensorrt", facts.tensorrt.version))
    modes = {d.current or "" for d in facts.mig.devices if d.supported}
    if modes and "" not in modes:
        out.append(Key(f"{AUDITOR}/mig.mode", modes.pop() if len(modes) == 1 else "mixed"))
    kit = facts.container_toolkit
    if kit.collected and not kit.error:
        out.append(Key(f"{AUDITOR}/container-toolkit", kit.version or ("installed" if kit.installed else "none")))
    return out


def node_labels(host: HostReport, generated_at: str) -> tuple[list[Key], list[Key]]:
    """(labels Kubernetes accepts, keys left out because their value is not a valid label value)."""
    good: list[Key] = []
    bad: list[Key] = []
    for key in keys(host, generated_at):
        (good if valid_label_value(key.value) else bad).append(key)
    return good, bad


GROUP = re.compile(r"[^a-z0-9]+")


def group_name(prefix: str, value: str) -> str:
    """An Ansible group name: ``prefix`` and the value's letters and digits, joined by ``_``
    ("gpu", "NVIDIA H100 80GB HBM3" -> "gpu_nvidia_h100_80gb_hbm3"; "cc", "9.0" -> "cc_9_0")."""
    return f"{prefix}_{GROUP.sub('_', value.lower()).strip('_')}"


def host_groups(host: HostReport) -> list[str]:
    """The Ansible groups a host belongs to by its audited facts: verdict, GPU model, compute
    capability, driver branch, CUDA toolkit (major.minor) and the CUDA the driver supports, MIG mode."""
    groups = [group_name("verdict", host.verdict.value)]
    facts = host.facts
    if facts is None:
        return groups
    for name in sorted({g.name for g in facts.gpus.devices if g.name}):
        groups.append(group_name("gpu", name))
    for cc in sorted({g.compute_capability for g in facts.gpus.devices if g.compute_capability}):
        groups.append(group_name("cc", cc))
    driver = facts.driver.version
    if driver and versions.is_version(driver):
        groups.append(group_name("driver", driver.split(".")[0]))
    toolkit = facts.cuda.default_toolkit
    if toolkit is not None and toolkit.version and versions.is_version(toolkit.version):
        groups.append(group_name("cuda", versions.major_minor(toolkit.version)))
    if facts.driver.cuda_version and versions.is_version(facts.driver.cuda_version):
        groups.append(group_name("cuda_driver", versions.major_minor(facts.driver.cuda_version)))
    modes = {d.current for d in facts.mig.devices if d.supported and d.current in ("enabled", "disabled")}
    if len(modes) == 1:
        groups.append(group_name("mig", modes.pop()))
    return [g for g in dict.fromkeys(groups) if re.match(r"^[a-z_][a-z0-9_]*$", g)]
