"""Which library plan a host can load: NVIDIA's portability rules, as data the probe can apply.

A plan is locked to the TensorRT build that made it and to the compute capability it
was built for (rules ``exact-version`` and ``compute-capability``), unless it was built
version-compatible (then any newer runtime of the same major, or of the cross-major
pairs the 11.4 support matrix names; the lean and dispatch runtimes may load it) or
hardware-compatible (``ampere+``: any GPU of compute capability 8.0 or newer;
``same-cc``: the building GPU's capability). The rules and the cross-major pairs come
from the ``engine_portability`` knowledge table (docs/research/tensorrt-compat.md 1.6, section 2).

The controller does not know a host's TensorRT or GPU before probing it, so it ships
every plan of the required name with its ``Acceptance`` (as JSON) in preference order,
and the probe runs the first one a runtime there may load on that GPU. ``pick`` is the
same choice made here, for a host whose facts are known.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from auditor import versions
from auditor.knowledge import cuda as cuda_kb
from auditor.knowledge import tables
from auditor.records import record
from auditor.reference.library import LibraryPlan, PlanMeta

FULL: tuple[str, ...] = ("tensorrt",)
ANY_RUNTIME: tuple[str, ...] = ("tensorrt", "tensorrt_lean", "tensorrt_dispatch")


@record
class Acceptance:
    """The runtimes, versions and GPUs a plan loads on, and the portability rules that say so."""

    modules: tuple[str, ...]
    rules: tuple[str, ...]
    exact_version: str | None = None
    min_version: str | None = None
    majors: tuple[int, ...] = ()
    exact_cc: str | None = None
    min_cc: str | None = None

    def admits(self, module: str, version: str, compute_capability: str) -> tuple[bool, str | None]:
        """(True, None) when a ``module`` runtime at ``version`` loads the plan on that GPU, else (False, why)."""
        if module.replace("_bindings", "") not in self.modules:
            return False, f"needs the {' or '.join(self.modules)} module"
        if not versions.is_version(version):
            return False, f"runtime version {version!r} unreadable"
        have = versions.parse(version).release
        if self.exact_version is not None and have != versions.parse(self.exact_version).release:
            return False, f"built by TensorRT {self.exact_version}"
        if self.min_version is not None and (
            have < versions.parse(self.min_version).release or have[0] not in self.majors
        ):
            return False, f"runs on TensorRT {self.min_version} or newer (majors {list(self.majors)})"
        try:
            cc = cuda_kb.cc_tuple(compute_capability)
        except (ValueError, AttributeError):
            return False, "GPU compute capability unknown"
        if self.exact_cc is not None and cc != cuda_kb.cc_tuple(self.exact_cc):
            return False, f"built for compute capability {self.exact_cc}"
        if self.min_cc is not None and cc < cuda_kb.cc_tuple(self.min_cc):
            return False, f"needs compute capability {self.min_cc} or newer"
        return True, None

    def to_json(self) -> dict[str, Any]:
        """The shape the probe's ``accepts`` reads."""
        version: dict[str, Any] = (
            {"exact": self.exact_version}
            if self.exact_version
            else {"min": self.min_version, "majors": list(self.majors)}
        )
        cc: dict[str, Any] = {"exact": self.exact_cc} if self.exact_cc else {"min": self.min_cc}
        return {"modules": list(self.modules), "version": version, "cc": cc}


def acceptance(meta: PlanMeta) -> Acceptance:
    """What the portability rules let ``meta``'s plan load on."""
    rules: list[str] = []
    if meta.version_compatible:
        major = versions.parse(meta.tensorrt).release[0]
        pairs = tables.table("engine_portability").section("cross_major") or []
        majors = (major, *sorted(int(run) for built, run in pairs if int(built) == major))
        exact_version, min_version, modules = None, meta.tensorrt, ANY_RUNTIME
        rules += ["version-compatible", "lean-runtime"]
    else:
        majors, exact_version, min_version, modules = (), meta.tensorrt, None, FULL
        rules.append("exact-version")
    exact_cc: str | None = meta.compute_capability
    min_cc: str | None = None
    if meta.hardware_compatible == "ampere+":
        exact_cc, min_cc = None, "8.0"
        rules.append("hardware-ampere-plus")
    elif meta.hardware_compatible == "same-cc":
        rules.append("hardware-same-cc")
    else:
        rules.append("compute-capability")
    return Acceptance(
        modules=modules,
        rules=tuple(rules),
        exact_version=exact_version,
        min_version=min_version,
        majors=majors,
        exact_cc=exact_cc,
        min_cc=min_cc,
    )


def preference(meta: PlanMeta) -> tuple[int, tuple[int, ...]]:
    """Sort key: plans locked to one build and one architecture first (built for exactly this host),
    then hardware-compatible, version-compatible, both; newer TensorRT first within each."""
    rank = (2 if meta.version_compatible else 0) + (1 if meta.hardware_compatible != "none" else 0)
    return rank, tuple(-p for p in versions.parse(meta.tensorrt).release)


def ordered(plans: Sequence[LibraryPlan]) -> list[LibraryPlan]:
    """``plans`` in the order the probe tries them."""
    return sorted(plans, key=lambda p: (preference(p.meta), p.meta.compute_capability))


def pick(
    plans: Sequence[LibraryPlan], runtimes: Sequence[tuple[str, str]], compute_capability: str
) -> tuple[LibraryPlan | None, str | None, list[str]]:
    """The plan a host with ``runtimes`` ([(module, version)]) would run on a GPU of that capability.

    Returns (plan, module, []) or (None, None, one reason per plan).
    """
    reasons = []
    for plan in ordered(plans):
        rule = acceptance(plan.meta)
        why: str | None = "no TensorRT Python module"
        for module, version in runtimes:
            ok, why = rule.admits(module, version, compute_capability)
            if ok:
                return plan, module, []
        reasons.append(f"{plan.meta.id}: {why}")
    return None, None, reasons
