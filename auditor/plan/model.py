"""The values an upgrade plan is made of: targets, steps, blockers, host plans, waves.

Everything here is frozen and carries its own ``to_json`` for ``auditor.plan/1``;
the logic that fills these in lives beside this module (``target``, ``host``,
``waves``) and every writer renders a ``Plan`` and nothing else.
"""

from __future__ import annotations

import enum
from dataclasses import field
from typing import Any

from auditor.policy.model import Bounds, RequiredEngine
from auditor.records import record
from auditor.report.model import KnowledgeStamp

SCHEMA = "auditor.plan/1"
COMPONENTS = ("driver", "cuda", "cudnn", "tensorrt")
"""Host components a plan changes, in the order their steps run."""
SET_COMPONENTS = (*COMPONENTS, "image")
"""What ``--set component=version`` accepts."""
COMPONENT_LABELS = {
    "driver": "driver",
    "cuda": "CUDA toolkit",
    "cudnn": "cuDNN",
    "tensorrt": "TensorRT",
    "image": "image",
    "engine": "engine",
    "cuda-compat": "cuda-compat",
}
"""How a plan names each component it changes."""


class StepAction(enum.Enum):
    """What one step does to a host."""

    INSTALL = "install"
    """Install a component the host does not have."""
    UPGRADE = "upgrade"
    """Move a component to a newer version."""
    DOWNGRADE = "downgrade"
    """Move a component back to an older version."""
    REBOOT = "reboot"
    """Reboot so the installed driver's kernel module is the one loaded."""
    REBUILD_ENGINE = "rebuild-engine"
    """Rebuild (or build) a TensorRT plan for the host's TensorRT and GPU."""
    REMOVE_COMPAT = "remove-compat"
    """Remove a cuda-compat package the new driver no longer needs."""


@record
class PlanStep:
    """One change to one host: ``from_``/``to`` are versions (None: absent / not a version)."""

    action: StepAction
    component: str
    from_: str | None
    to: str | None
    reason: str
    path: str | None = None
    """The engine file (rebuild-engine) or package path (remove-compat)."""
    compute_capability: str | None = None
    """The GPU a rebuilt engine is built for."""
    source: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action.value,
            "component": self.component,
            "from": self.from_,
            "to": self.to,
            "reason": self.reason,
            "path": self.path,
            "compute_capability": self.compute_capability,
            "source": self.source,
        }


class BlockerKind(enum.Enum):
    """Why a target is impossible on a host."""

    ARCHITECTURE = "architecture"
    """The target (driver branch, CUDA, TensorRT, image) no longer supports the GPU."""
    FORWARD_COMPAT = "forward-compat"
    """It would only run through forward compatibility, which needs a data-center GPU."""
    INCOMPATIBLE = "incompatible"
    """Components of the resulting stack do not work together (driver too old, no build)."""
    DRIVER_EOL = "driver-eol"
    """The target driver's branch is past end of life."""
    UNPINNED = "unpinned"
    """The host must change a component the target names no version for."""
    CONTAINER = "container"
    """A running container's image would not run on the target driver."""
    ROLLBACK = "rollback"
    """The host's current version of a component the plan changes could not be installed again: no configured
    repository offers it and no package file of it is in the local cache (or it is not from a package at all)."""
    UNAVAILABLE = "unavailable"
    """No configured repository offers the package version the target needs."""
    PINNED = "pinned"
    """An apt pin (priority 1000 or more) holds a package the plan installs at another version."""


@record
class Blocker:
    """Something that makes the target impossible on a host, with the source it rests on."""

    kind: BlockerKind
    component: str
    reason: str
    source: str | None = None
    fix: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "component": self.component,
            "reason": self.reason,
            "source": self.source,
            "fix": self.fix,
        }


@record
class PlanWarning:
    """A caveat the plan cannot act on but an operator must know (minor-version compatibility...)."""

    message: str
    source: str | None = None
    details: tuple[str, ...] = ()
    """The caveats behind the message, one sentence each (the knowledge base's wording)."""
    unknown: bool = False
    """The plan could not tell (knowledge missing, an engine not judged): the host is never compliant."""

    def to_json(self) -> dict[str, Any]:
        return {"message": self.message, "source": self.source, "details": list(self.details), "unknown": self.unknown}


@record
class EngineRecord:
    """An engine file as it is now: what rolling back restores."""

    path: str
    tensorrt: str | None
    sha256: str | None

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "tensorrt": self.tensorrt, "sha256": self.sha256}


class PackageSource(enum.Enum):
    """Where a package version the rollback needs can be installed from."""

    REPOSITORY = "repository"
    """A configured repository offers it (as of the host's last metadata refresh): ``NAME=VERSION`` installs it."""
    CACHE = "cache"
    """Only its package file in the local cache: installable from that file (``path``), not by version."""
    NONE = "none"
    """Neither: it cannot be installed again (the plan is blocked)."""
    UNKNOWN = "unknown"
    """Could not tell: the probe was not asked, or the host has no repository metadata."""


@record
class PackageVersion:
    """One package at one version, as its package manager names them (``manager``: apt, dnf...).

    In a rollback record ``source`` says where that version can be installed from (``path``: the
    cached file); in a host's ``packages`` (what the plan installs) it is None.
    """

    component: str
    name: str
    version: str
    manager: str
    arch: str | None = None
    source: PackageSource | None = None
    path: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "component": self.component,
            "name": self.name,
            "version": self.version,
            "manager": self.manager,
            "arch": self.arch,
            "source": self.source.value if self.source else None,
            "path": self.path,
        }


@record
class ImageRecord:
    """A running container's image as it is now: what rolling back redeploys (by digest, not by tag)."""

    container: str
    image: str | None
    digest: str | None
    """``REPO@sha256:...`` the image has in a registry; None when it has none (built here) or was not inspected."""

    def to_json(self) -> dict[str, Any]:
        return {"container": self.container, "image": self.image, "digest": self.digest}


@record
class Rollback:
    """The host's versions before the plan runs: the state to return to."""

    driver: str | None = None
    kernel_module: str | None = None
    cuda: str | None = None
    cuda_toolkits: tuple[str, ...] = ()
    cudnn: str | None = None
    tensorrt: str | None = None
    cuda_compat: tuple[str, ...] = ()
    engines: tuple[EngineRecord, ...] = ()
    packages: tuple[PackageVersion, ...] = ()
    """The installed packages of every component the plan changes, at their current versions, with where
    each can be installed from again: what the rollback reinstalls."""
    images: tuple[ImageRecord, ...] = ()
    """The running containers' images by registry digest (``auditor.facts`` ``containers``)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "images": [i.to_json() for i in self.images],
            "driver": self.driver,
            "kernel_module": self.kernel_module,
            "cuda": self.cuda,
            "cuda_toolkits": list(self.cuda_toolkits),
            "cudnn": self.cudnn,
            "tensorrt": self.tensorrt,
            "cuda_compat": list(self.cuda_compat),
            "engines": [e.to_json() for e in self.engines],
            "packages": [p.to_json() for p in self.packages],
        }

    def versions(self) -> dict[str, str]:
        """The component versions that are known, for short listings."""
        pairs = (("driver", self.driver), ("cuda", self.cuda), ("cudnn", self.cudnn), ("tensorrt", self.tensorrt))
        return {k: v for k, v in pairs if v}


class HostStatus(enum.Enum):
    """Where a host stands in the plan."""

    PLANNED = "planned"
    """Has steps and no blocker: it is in a wave."""
    COMPLIANT = "compliant"
    """Already on the target: no steps, and nothing the plan could not tell."""
    INCONCLUSIVE = "inconclusive"
    """No steps, but the plan could not tell whether the host meets the target (its warnings say what is
    missing: an engine that could not be judged, knowledge the base lacks): never counted compliant."""
    BLOCKED = "blocked"
    """The target is impossible here (see its blockers): left out of the waves."""
    SKIPPED = "skipped"
    """Excluded by ``--skip`` or ``audit_skip_upgrade``: left out of the waves."""
    UNREACHABLE = "unreachable"
    """Not audited (connect, auth, timeout, or absent from the stored run): left out."""
    ERROR = "error"
    """The probe ran but its output could not be used: left out."""

    @property
    def left_out(self) -> bool:
        """True for hosts that need something but get no wave."""
        return self in (
            HostStatus.BLOCKED,
            HostStatus.SKIPPED,
            HostStatus.UNREACHABLE,
            HostStatus.ERROR,
            HostStatus.INCONCLUSIVE,
        )


@record
class HostPlan:
    """One host's plan: ordered steps, blockers, warnings, rollback target and wave."""

    name: str
    groups: tuple[str, ...]
    status: HostStatus
    gpu: str | None = None
    steps: tuple[PlanStep, ...] = ()
    blockers: tuple[Blocker, ...] = ()
    warnings: tuple[PlanWarning, ...] = ()
    rollback: Rollback | None = None
    wave: int | None = None
    note: str | None = None
    """Why a host is skipped, unreachable or errored."""
    targeted: bool = True
    """False when the target's stack does not apply to the host (``auditor.plan.scope``): it is skipped
    without being planned, ``note`` says why, and it counts for neither the batch size nor the exit code."""
    packages: tuple[PackageVersion, ...] = ()
    """The exact package versions the plan installs (resolved from what the host's repositories offer)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status.value,
            "groups": list(self.groups),
            "gpu": self.gpu,
            "steps": [s.to_json() for s in self.steps],
            "blockers": [b.to_json() for b in self.blockers],
            "warnings": [w.to_json() for w in self.warnings],
            "rollback": self.rollback.to_json() if self.rollback else None,
            "wave": self.wave,
            "note": self.note,
            "targeted": self.targeted,
            "packages": [p.to_json() for p in self.packages],
        }


@record
class ComponentTarget:
    """Where one component should end up.

    ``version`` is what the plan installs when the host is off target (None: the
    target names none). ``bounds`` are a stack's bounds: a host within them is
    compliant and keeps its version. Without bounds (``--set``) only ``version``
    itself, matched as a prefix (``12.2`` admits 12.2.2), is compliant.
    """

    component: str
    version: str | None
    source: str
    bounds: Bounds | None = None

    def to_json(self) -> dict[str, Any]:
        bounds = None
        if self.bounds is not None:
            b = self.bounds
            bounds = {
                k: v
                for k, v in (
                    ("min", b.min),
                    ("max", b.max),
                    ("deny", list(b.deny)),
                    ("allow", list(b.allow)),
                    ("version", b.version),
                    ("target", b.target),
                )
                if v
            }
        return {"version": self.version, "source": self.source, "bounds": bounds}


@record
class Target:
    """What the fleet should run: a policy stack (``--to``), ``--set`` versions, or both."""

    name: str
    components: tuple[ComponentTarget, ...] = ()
    image: str | None = None
    image_source: str | None = None
    engines: tuple[RequiredEngine, ...] = ()
    description: str | None = None
    stack: str | None = None
    """The policy stack the target starts from (``--to``; None: ``--set`` alone): only the hosts it applies to
    are planned (``auditor.plan.scope``)."""

    def component(self, name: str) -> ComponentTarget | None:
        """The target for ``name`` (driver, cuda, cudnn, tensorrt), if it names one."""
        return next((c for c in self.components if c.component == name), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "components": {c.component: c.to_json() for c in self.components},
            "image": self.image,
            "engines": [e.template for e in self.engines],
            "stack": self.stack,
        }


@record
class Rollout:
    """How hosts are batched, in the GPU Operator's vocabulary.

    ``max_unavailable`` is a count ("3") or a percentage of the targeted hosts ("25%",
    rounded up, at least 1); ``max_parallel`` caps a wave too (0: no cap). ``skip``
    are glob patterns over host and group names.
    """

    max_unavailable: str = "25%"
    max_parallel: int = 0
    skip: tuple[str, ...] = ()

    def batch_size(self, total: int) -> int:
        """Hosts per wave for a fleet of ``total`` targeted hosts."""
        text = self.max_unavailable.strip()
        if text.endswith("%"):
            percent = float(text[:-1])
            count = -(-int(percent * total) // 100)  # ceil without float rounding surprises
        else:
            count = int(text)
        count = max(1, count)
        return min(count, self.max_parallel) if self.max_parallel else count


@record
class Wave:
    """One batch of hosts upgraded together; wave 0 is the canary."""

    number: int
    hosts: tuple[str, ...]

    @property
    def canary(self) -> bool:
        return self.number == 0

    @property
    def name(self) -> str:
        """The Ansible group name: ``wave_0_canary``, ``wave_1``, ..."""
        return "wave_0_canary" if self.canary else f"wave_{self.number}"

    def to_json(self) -> dict[str, Any]:
        return {"wave": self.number, "name": self.name, "canary": self.canary, "hosts": list(self.hosts)}


class PlanExit(enum.IntEnum):
    """``auditor plan`` exit codes, Terraform's ``-detailed-exitcode``. Each has a ``description``."""

    description: str

    def __new__(cls, value: int, description: str) -> PlanExit:
        member = int.__new__(cls, value)
        member._value_ = value
        member.description = description
        return member

    NOTHING = 0, "nothing to do: every audited host is on the target"
    ERROR = (
        1,
        (
            "error: bad flag, policy, target or file; no stored run; a plan that could not be written; "
            "or nothing to do among the hosts audited while some could not be (0 with --unreachable warn); "
            "or no steps, but the plan could not tell for some hosts (inconclusive)"
        ),
    )
    CHANGES = 2, "changes planned: at least one host needs steps or is blocked"


@record
class PlanSource:
    """Where the facts came from: a fresh audit, a stored run (``run_id``) and its age, or the interactive audit.

    ``kind`` is ``audit``, ``history`` or ``live`` (the TUI's latest result of every host:
    ``generated_at`` is when its last sweep ended, "" before any ended; ``complete`` false
    while a sweep still runs).
    """

    kind: str
    generated_at: str
    run_id: int | None = None
    age: str | None = None
    complete: bool = True

    def describe(self) -> str:
        """``fresh audit at ...``, ``run #12 of ... (3h 4m old)`` or ``the interactive audit, last sweep ...``."""
        when = self.generated_at.replace("T", " ").replace("Z", " UTC")
        if self.kind == "live":
            swept = f"last sweep ended {when}" if when else "no sweep ended yet"
            return f"the interactive audit ({swept}{'; a sweep is running' if not self.complete else ''})"
        if self.kind == "history":
            partial = "; incomplete (interrupted)" if not self.complete else ""
            return f"stored run #{self.run_id} from {when} ({self.age} old{partial})"
        return f"fresh audit at {when}"

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "generated_at": self.generated_at,
            "run_id": self.run_id,
            "age": self.age,
            "complete": self.complete,
        }


@record
class Plan:
    """A whole fleet's plan: the target, every host's plan, the waves, and how the run ends."""

    inventory: str
    policy: str
    target: Target
    hosts: tuple[HostPlan, ...]
    waves: tuple[Wave, ...]
    rollout: Rollout
    source: PlanSource
    generated_at: str
    notes: tuple[str, ...] = ()
    unreachable: str = "fail"
    knowledge: KnowledgeStamp = field(default_factory=KnowledgeStamp.current)
    """How current the NVIDIA knowledge the plan was judged with is (and any site overlay)."""

    def by_status(self, status: HostStatus) -> tuple[HostPlan, ...]:
        return tuple(h for h in self.hosts if h.status is status)

    @property
    def not_targeted(self) -> tuple[HostPlan, ...]:
        """The hosts the target's stack does not apply to (skipped, never planned)."""
        return tuple(h for h in self.hosts if not h.targeted)

    @property
    def batch_size(self) -> int:
        """Hosts per wave: ``--max-unavailable`` counts the targeted hosts only."""
        return self.rollout.batch_size(sum(1 for h in self.hosts if h.targeted))

    def summary(self) -> dict[str, int]:
        """``{"total": N, "<status>": count, ..., "waves": W, "not_targeted": S}``, zeros included.

        ``not_targeted`` counts the skipped hosts the target's stack does not apply to (they are in ``skipped`` too).
        """
        counts = {"total": len(self.hosts)}
        counts.update({s.value: 0 for s in HostStatus})
        for host in self.hosts:
            counts[host.status.value] += 1
        counts["waves"] = len(self.waves)
        counts["not_targeted"] = len(self.not_targeted)
        return counts

    @property
    def exit_code(self) -> PlanExit:
        """2 when a host needs steps or is blocked; else 1 if hosts could not be audited
        (0 with ``unreachable == "warn"``); else 0."""
        if any(h.steps or h.blockers for h in self.hosts):
            return PlanExit.CHANGES
        if any(h.status is HostStatus.INCONCLUSIVE for h in self.hosts):
            return PlanExit.ERROR  # "nothing to do" would claim what the plan could not tell
        missing = [h for h in self.hosts if h.status in (HostStatus.UNREACHABLE, HostStatus.ERROR)]
        if missing and self.unreachable == "fail":
            return PlanExit.ERROR
        return PlanExit.NOTHING

    @property
    def exit_reason(self) -> str:
        """One line saying why the plan exits as it does."""
        s = self.summary()
        changed = sum(1 for h in self.hosts if h.steps or h.blockers)
        missing = s["unreachable"] + s["error"]
        code = self.exit_code
        if code is PlanExit.CHANGES:
            return (
                f"changes planned: {_n(changed, 'host')} off target ({s['planned']} in {_n(len(self.waves), 'wave')}, "
                f"{s['blocked']} blocked, {s['skipped']} skipped), {missing} not audited"
                + (f", {s['inconclusive']} inconclusive" if s["inconclusive"] else "")
            )
        if code is PlanExit.ERROR and s["inconclusive"]:
            return f"no steps, but the plan could not tell for {_n(s['inconclusive'], 'host')} (inconclusive)"
        if code is PlanExit.ERROR:
            return f"nothing to do among the hosts audited, but {_n(missing, 'host')} could not be audited"
        if missing:
            return f"nothing to do; {_n(missing, 'host')} could not be audited (--unreachable warn)"
        if s["not_targeted"]:
            targeted = s["total"] - s["not_targeted"]
            return (
                f"nothing to do: all {_n(targeted, 'targeted host')} on the target "
                f"({s['not_targeted']} skipped: the stack does not apply to them)"
            )
        return f"nothing to do: all {_n(s['total'], 'host')} on the target"

    def to_json(self) -> dict[str, Any]:
        left_out: dict[str, list[str]] = {
            s.value: [h.name for h in self.hosts if h.status is s] for s in HostStatus if s.left_out
        }
        return {
            "schema": SCHEMA,
            "generated_at": self.generated_at,
            "inventory": self.inventory,
            "policy": self.policy,
            "source": self.source.to_json(),
            "knowledge": self.knowledge.to_json(),
            "target": self.target.to_json(),
            "rollout": {
                "max_unavailable": self.rollout.max_unavailable,
                "max_parallel": self.rollout.max_parallel,
                "batch_size": self.batch_size,
                "skip": list(self.rollout.skip),
            },
            "summary": self.summary(),
            "hosts": [h.to_json() for h in self.hosts],
            "waves": [w.to_json() for w in self.waves],
            "left_out": left_out,
            "notes": list(self.notes),
            "exit": {
                "code": int(self.exit_code),
                "reason": self.exit_reason,
                "codes": {str(int(c)): c.description for c in PlanExit},
            },
        }


def _n(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"
