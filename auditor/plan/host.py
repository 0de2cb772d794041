"""One host's plan: the steps from its audited facts to the target, what blocks it, and its rollback.

Steps come in a fixed order: driver, the reboot it needs, cuda-compat packages
the new driver makes stale, CUDA toolkit, a cuda-compat package the result needs,
cuDNN, TensorRT, then one rebuild per engine that will not load afterwards. The
resulting stack (what changes plus what stays) is then judged by the same
knowledge queries the audit uses (``auditor.knowledge.compat``, ``auditor.knowledge.images``):

* an architecture the target's driver branch, CUDA or TensorRT no longer supports,
  a combination only forward compatibility would run on a GPU that is not a
  data-center one, components that do not work together, and a driver the plan
  would install whose branch is past end of life are **blockers**, each with its
  reason and source; a policy rule selecting the host that switches the matching
  built-in check off (``disable:``) turns that blocker into a warning naming the rule;
* minor-version compatibility, a kept end-of-life driver, and anything the
  knowledge base cannot tell are **warnings**: never silently compatible.

An NGC image in the target (``image``) carries its own CUDA, cuDNN and TensorRT:
the host needs only a driver that runs it (forward compatibility counts on
data-center GPUs, since NGC containers ship the cuda-compat libraries), and the
engines are judged against the image's TensorRT unless the target also pins the
host's TensorRT. The plan never picks a version the target does not name: when
what stays cannot work with what changes, that is a blocker whose fix names what
to add to the target.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from auditor import versions
from auditor.errors import Location
from auditor.evaluate.check import gpu_specs
from auditor.evaluate.checks.bounds import bounds_findings
from auditor.evaluate.checks.containers import CHECK_ID as CONTAINER_CHECK
from auditor.evaluate.checks.containers import judge_container
from auditor.evaluate.checks.driver_state import state_cite
from auditor.evaluate.checks.tensorrt import tensorrt_build_major
from auditor.facts.images import BadReference, parse_reference, parse_repo_digest
from auditor.facts.model import DriverStatus, Facts
from auditor.facts.stack import stack_of
from auditor.findings import Action, Verdict
from auditor.inventory import Host
from auditor.knowledge import compat, compat_tensorrt, tables
from auditor.knowledge import cuda as cuda_kb
from auditor.knowledge import tensorrt as trt_kb
from auditor.knowledge.answers import Answer, GpuSpec, Mode
from auditor.knowledge.images import image_on
from auditor.plan.model import (
    COMPONENT_LABELS,
    COMPONENTS,
    Blocker,
    BlockerKind,
    ComponentTarget,
    EngineRecord,
    HostPlan,
    HostStatus,
    ImageRecord,
    PlanStep,
    PlanWarning,
    Rollback,
    StepAction,
    Target,
)
from auditor.plan.packages import package_plan
from auditor.plan.rebuilds import engine_steps
from auditor.policy.model import Disabled, Policy, Rule, Selector
from auditor.report.model import HostReport


@dataclass
class _Work:
    """What one host's plan collects while it is made."""

    disabled: dict[str, tuple[str, Disabled]]
    steps: list[PlanStep] = field(default_factory=list)
    blockers: list[Blocker] = field(default_factory=list)
    warnings: list[PlanWarning] = field(default_factory=list)

    def block(self, blocker: Blocker, check: str | None) -> None:
        """A blocker, or a warning when a rule selecting the host switched ``check`` off."""
        off = self.disabled.get(check) if check else None
        if off is None:
            if blocker not in self.blockers:
                self.blockers.append(blocker)
            return
        rule_id, disabled = off
        self.warn(
            f"accepted by rule {rule_id!r} ({check} switched off: {disabled.reason}): {blocker.reason}",
            str(disabled.location),
        )

    def warn(self, message: str, source: str | None = None, details: Sequence[str] = ()) -> None:
        warning = PlanWarning(message, source, tuple(details))
        if warning not in self.warnings:
            self.warnings.append(warning)

    def unknown(self, message: str, source: str | None = None) -> None:
        """What the plan could not tell: a warning that keeps the host from being compliant."""
        warning = PlanWarning(message, source, (), unknown=True)
        if warning not in self.warnings:
            self.warnings.append(warning)


def plan_host(report: HostReport, host: Host, target: Target, policy: Policy) -> HostPlan:
    """The plan for one audited host (status planned, compliant, blocked, unreachable or error).

    Skipping is decided fleet-wide (``auditor.plan.make_plan``), after this.
    """
    if report.facts is None:
        status = HostStatus.ERROR if report.verdict is Verdict.ERROR else HostStatus.UNREACHABLE
        return HostPlan(report.name, report.groups, status, note=report.reason or status.value)
    facts = report.facts
    gpus = gpu_specs(facts)
    names = [g.name for g in facts.gpus.devices if g.name]
    disabled: dict[str, tuple[str, Disabled]] = {}
    for rule in policy.rules_for(host, names):
        for off in rule.disable:
            disabled.setdefault(off.check, (rule.id, off))
    work = _Work(disabled)
    current = {c: _current(c, facts) for c in COMPONENTS}
    after = dict(current)
    changes: dict[str, PlanStep] = {}
    for component in COMPONENTS:
        wanted = target.component(component)
        if wanted is None:
            continue
        step = _component_step(work, wanted, current[component], facts, target)
        if step is not None:
            changes[component] = step
            after[component] = step.to
    if "driver" in changes:
        work.steps.append(changes["driver"])
    _reboot(work, facts, changes.get("driver"), after["driver"])
    kept_compat = _stale_compat(work, facts, after["driver"]) if "driver" in changes else _active_compat(facts)
    if "cuda" in changes:
        work.steps.append(changes["cuda"])
    replaced = changes["cuda"].from_ if "cuda" in changes else None
    _judge(work, facts, gpus, after, kept_compat, target, policy.today(), "driver" in changes, replaced)
    for component in ("cudnn", "tensorrt"):
        if component in changes:
            work.steps.append(changes[component])
    if target.component("tensorrt") is not None or target.image or target.engines:
        work.steps.extend(engine_steps(work.unknown, facts, gpus, after["tensorrt"], current["tensorrt"], target))
    if "driver" in changes:
        _containers(work, facts, gpus, current["driver"], after["driver"])
    work.steps.sort(key=lambda s: _ORDER[s.action if s.action in _ORDER else s.component])
    packaged = package_plan(facts, work.steps, after["cuda"], target.component("driver") is not None)
    for blocker in packaged.blockers:
        work.block(blocker, None)
    work.warnings.extend(w for w in packaged.warnings if w not in work.warnings)
    if work.blockers:
        status = HostStatus.BLOCKED
    elif work.steps:
        status = HostStatus.PLANNED
    elif any(w.unknown for w in work.warnings):
        status = HostStatus.INCONCLUSIVE
    else:
        status = HostStatus.COMPLIANT
    return HostPlan(
        name=report.name,
        groups=report.groups,
        status=status,
        gpu=stack_of(facts).gpu,
        steps=tuple(work.steps),
        blockers=tuple(work.blockers),
        warnings=tuple(work.warnings),
        rollback=replace(_rollback(facts), packages=tuple(packaged.rollback)),
        packages=tuple(packaged.installs),
    )


# Stable order of steps: driver, reboot, compat removal, toolkit, compat install, cuDNN, TensorRT, engines.
_ORDER: dict[object, int] = {
    "driver": 0,
    StepAction.REBOOT: 1,
    StepAction.REMOVE_COMPAT: 2,
    "cuda": 3,
    "cuda-compat": 4,
    "cudnn": 5,
    "tensorrt": 6,
    StepAction.REBUILD_ENGINE: 7,
}


def _current(component: str, facts: Facts) -> str | None:
    """The version the host runs now (the default toolkit for CUDA); None when absent or unreadable."""
    if component == "driver":
        value = facts.driver.version
    elif component == "cuda":
        toolkit = facts.cuda.default_toolkit
        value = toolkit.version if toolkit else None
    elif component == "cudnn":
        value = facts.cudnn.version
    else:
        value = facts.tensorrt.version
    return value if value and versions.is_version(value) else None


def _component_step(
    work: _Work, wanted: ComponentTarget, now: str | None, facts: Facts, target: Target
) -> PlanStep | None:
    """The step moving one component onto the target, or None when it is on target (or cannot move)."""
    component, label = wanted.component, COMPONENT_LABELS[wanted.component]
    if wanted.bounds is not None:
        rule = Rule(
            id=f"stack {target.name}", select=Selector(), bounds=(wanted.bounds,), gpu_count=None, location=Location("")
        )
        findings = bounds_findings(rule, wanted.bounds, facts)
        for finding in (f for f in findings if f.inconclusive):
            work.unknown(f"{label}: {finding.message}", finding.source)
        live = [f for f in findings if not f.inconclusive]
        if not live:
            return None
        why = "; ".join(f.message for f in live)
        source = live[0].source
    else:
        installed = [v for v in _installed(component, facts) if versions.is_version(v)]
        if any(versions.matches(v, wanted.version or "") for v in installed):
            return None
        why = f"{label} {', '.join(installed) or 'not installed'} is not {wanted.version}"
        source = wanted.source
    if wanted.version is None:
        work.block(
            Blocker(
                BlockerKind.UNPINNED,
                component,
                f"{why}, and {wanted.source} names no {label} version to move to",
                source,
                f"give the stack's {component} a target: (or use --set {component}=VERSION)",
            ),
            None,
        )
        return None
    to = wanted.version
    if now is None:
        action = StepAction.INSTALL
    elif versions.parse(to) >= versions.parse(now):
        action = StepAction.UPGRADE
    else:
        action = StepAction.DOWNGRADE
    return PlanStep(action, component, now, to, f"{why}; target {to} ({wanted.source})", source=source)


def _installed(component: str, facts: Facts) -> list[str]:
    if component == "cuda":
        return [t.version for t in facts.cuda.toolkits if t.version]
    value = _current(component, facts)
    return [value] if value else []


def _reboot(work: _Work, facts: Facts, driver_step: PlanStep | None, driver_after: str | None) -> None:
    module = facts.driver.kernel_module
    if driver_step is not None:
        reason = f"load the kernel module of driver {driver_after} (a new driver takes effect after a reboot)"
        work.steps.append(PlanStep(StepAction.REBOOT, "driver", module, driver_after, reason))
    elif facts.driver.status is DriverStatus.MISMATCH or facts.driver.mismatch:
        reason = f"the loaded kernel module {module or '?'} differs from the installed driver {facts.driver.version or '?'} (NVML: Driver/library version mismatch)"
        work.steps.append(
            PlanStep(StepAction.REBOOT, "driver", module, facts.driver.version, reason, source=state_cite("mismatch"))
        )
    elif facts.driver.status is DriverStatus.NOT_LOADED:
        reason = "the installed driver's kernel module is not loaded"
        work.steps.append(
            PlanStep(StepAction.REBOOT, "driver", None, facts.driver.version, reason, source=state_cite("not-loaded"))
        )


def _active_compat(facts: Facts) -> list[str]:
    """cuda-compat packages the loader may use, as ``cuda-compat-X-Y`` names."""
    return [
        "cuda-compat-" + versions.major_minor(p.cuda).replace(".", "-")
        for p in facts.cuda.compat
        if p.active is not False and p.cuda and versions.is_version(p.cuda)
    ]


def _stale_compat(work: _Work, facts: Facts, driver: str | None) -> list[str]:
    """Remove-compat steps for packages the new driver runs natively; returns the packages kept."""
    native = cuda_kb.driver_cuda_version(driver) if driver else None
    table = tables.table("forward_compat")
    rule = next((r for r in table.section("rules") or [] if r["id"] == "remove-after-upgrade"), None)
    kept = []
    for package in facts.cuda.compat:
        if package.active is False or not package.cuda or not versions.is_version(package.cuda):
            continue
        name = "cuda-compat-" + versions.major_minor(package.cuda).replace(".", "-")
        if native and versions.parse(versions.major_minor(package.cuda)) <= versions.parse(native):
            reason = f"driver {driver} runs CUDA {native} natively; {rule['text'] if rule else 'remove it'}"
            work.steps.append(
                PlanStep(
                    StepAction.REMOVE_COMPAT,
                    "cuda-compat",
                    package.cuda,
                    None,
                    reason,
                    path=package.path,
                    source=table.cite(rule),
                )
            )
        else:
            kept.append(name)
    return kept


# -- the resulting stack, judged by the knowledge base ----------------------------------------------


def _judge(
    work: _Work,
    facts: Facts,
    gpus: list[GpuSpec],
    after: dict[str, str | None],
    compat_kept: list[str],
    target: Target,
    today: datetime.date,
    driver_changes: bool,
    cuda_replaced: str | None,
) -> None:
    driver, cuda, trt = after["driver"], after["cuda"], after["tensorrt"]
    # A check runs when the target names one of its components: what the target leaves
    # alone and what it does not touch is the audit's business, not the plan's.
    named = {c for c in COMPONENTS if target.component(c) is not None}
    if not gpus:
        seen = "no GPU is visible" if facts.gpus.count == 0 else "the GPUs could not be listed"
        work.unknown(f"{seen}: the architecture gates of the target were not checked")
    if driver is None and (named or target.image):
        work.unknown("no driver version: what the target needs of the driver was not checked")
    for gpu in gpus:
        if driver and "driver" in named:
            _gate(work, compat.driver_on_gpu(driver, gpu), "driver", "driver.arch")
        if cuda and "cuda" in named:
            _gate(work, compat.cuda_on_gpu(cuda, gpu), "cuda", "cuda.arch")
        if trt and "tensorrt" in named:
            _gate(work, compat_tensorrt.tensorrt_on(trt, gpu=gpu), "tensorrt", "tensorrt.arch")
    if driver:
        if cuda and named & {"cuda", "driver"}:
            _cuda_driver(work, cuda, driver, gpus, compat_kept)
        _toolkits_kept(work, facts, cuda, driver, driver_changes, replaced=cuda_replaced)
        if "driver" in named:
            _eol(work, driver, today, driver_changes)
    if trt and named & {"tensorrt", "driver", "cuda"}:
        _tensorrt(work, facts, trt, driver, cuda)
    if trt and named & {"tensorrt", "cudnn"}:
        _tensorrt_cudnn(work, trt, after["cudnn"])
    if target.image:
        _image(work, target, driver, gpus)


def _gate(work: _Work, answer: Answer, component: str, check: str) -> None:
    if answer.mode is Mode.INCOMPATIBLE:
        work.block(Blocker(BlockerKind.ARCHITECTURE, component, answer.reasons[0], _source(answer), answer.fix), check)
    elif answer.mode is Mode.UNKNOWN:
        work.unknown(f"could not tell: {answer.reasons[0]}", _source(answer) if answer.sources else None)


def _source(answer: Answer) -> str | None:
    return answer.sources[0] if answer.sources else None


def _eligibility_gpu(gpus: Sequence[GpuSpec]) -> GpuSpec | None:
    """The GPU that decides forward compatibility: a non-data-center (or unknown) one if any."""
    return next((g for g in gpus if g.model is None or not g.model.datacenter), gpus[0] if gpus else None)


def _cuda_driver(work: _Work, cuda: str, driver: str, gpus: list[GpuSpec], compat_kept: list[str]) -> None:
    answer = compat.cuda_on_driver(cuda, driver, _eligibility_gpu(gpus))
    what = f"CUDA {cuda} on driver {driver}"
    if answer.mode is Mode.MINOR_VERSION:
        work.warn(f"{what} runs through minor-version compatibility", _source(answer), answer.caveats)
    elif answer.mode is Mode.FORWARD_COMPAT:
        packages = list(answer.details.get("compat_packages") or [])
        have = next((p for p in packages if p in compat_kept), None)
        if have is None and packages:
            work.steps.append(
                PlanStep(
                    StepAction.INSTALL,
                    "cuda-compat",
                    None,
                    packages[0],
                    f"{what} runs only through forward compatibility ({answer.reasons[-1]}); point the loader at it",
                    source=_source(answer),
                )
            )
        work.warn(f"{what} runs only through forward compatibility", _source(answer), answer.caveats)
    elif answer.mode is Mode.INCOMPATIBLE:
        fc_only = bool(cuda_kb.compat_packages(cuda, versions.branch(driver)))
        kind = BlockerKind.FORWARD_COMPAT if fc_only else BlockerKind.INCOMPATIBLE
        reason = f"{what}: " + "; ".join(answer.reasons[:2])
        if fc_only:
            reason = f"{what} would only run through forward compatibility, and " + answer.reasons[-1].removeprefix(
                "but "
            )
        fix = f"pin the driver in the target to {answer.details.get('cuda_floor')} or newer (CUDA {cuda}'s minimum)"
        work.block(Blocker(kind, "cuda", reason, _source(answer), fix), "cuda.driver")
    elif answer.mode is Mode.UNKNOWN:
        work.unknown(f"could not tell whether {what} runs: {answer.reasons[0]}", _source(answer))


def _toolkits_kept(
    work: _Work, facts: Facts, cuda: str | None, driver: str, driver_changes: bool, replaced: str | None
) -> None:
    """Toolkits besides the one the plan installs or replaces stay: say so when the new driver cannot run one."""
    if not driver_changes:
        return
    for toolkit in facts.cuda.toolkits:
        version = toolkit.version
        if not version or not versions.is_version(version) or version in (cuda, replaced):
            continue
        answer = compat.cuda_on_driver(version, driver)
        if answer.mode in (Mode.INCOMPATIBLE, Mode.FORWARD_COMPAT):
            work.warn(
                f"CUDA {version} at {toolkit.path} stays installed and will not run natively on driver {driver}",
                _source(answer),
            )


def _eol(work: _Work, driver: str, today: datetime.date, driver_changes: bool) -> None:
    info = cuda_kb.branch_info(driver)
    if info is None or not info.is_past_eol(today):
        return
    what = f"driver branch R{info.branch} ({info.type_label}) is past {info.eol_text()}"
    supported = ", ".join(f"R{b.branch}" for b in cuda_kb.supported_branches(today))
    if driver_changes:
        fix = f"target a supported branch ({supported})" if supported else "target a supported branch"
        work.block(Blocker(BlockerKind.DRIVER_EOL, "driver", f"the target {what}", info.cite, fix), "driver.eol")
    else:
        work.warn(f"the host keeps driver {driver}: {what}", info.cite)


def _tensorrt(work: _Work, facts: Facts, trt: str, driver: str | None, cuda: str | None) -> None:
    if trt_kb.trt_release(trt) is None:
        work.unknown(
            f"TensorRT {trt} is not in the knowledge base ({tables.as_of_text()}): "
            "its CUDA, driver and cuDNN needs were not checked"
        )
        return
    if driver:
        build = None if cuda else tensorrt_build_major(facts)
        answer = compat_tensorrt.tensorrt_on(trt, driver=driver, cuda=cuda, build_major=build)
        if answer.mode is Mode.INCOMPATIBLE or answer.mode is Mode.FORWARD_COMPAT:
            reason = f"TensorRT {trt}: " + "; ".join(answer.reasons[:2])
            work.block(
                Blocker(BlockerKind.INCOMPATIBLE, "tensorrt", reason, _source(answer), answer.fix), "tensorrt.cuda"
            )
        elif answer.mode is Mode.MINOR_VERSION and not answer.details.get("tensorrt_floor_met"):
            work.warn(f"TensorRT {trt} runs through minor-version compatibility", _source(answer), answer.caveats)
        elif answer.mode is Mode.UNKNOWN:
            work.unknown(f"could not tell whether TensorRT {trt} runs here: {answer.reasons[0]}", _source(answer))


def _tensorrt_cudnn(work: _Work, trt: str, cudnn: str | None) -> None:
    release = trt_kb.trt_release(trt)
    need = release.cudnn_version if release else None
    if release is None or release.cudnn_status != "required" or not need:
        return
    major = versions.parse(need).release[0]
    fits = cudnn is not None and versions.parse(cudnn).release[0] == major and versions.at_least(cudnn, need)
    if not fits:
        have = f"cuDNN {cudnn}" if cudnn else "no cuDNN"
        work.block(
            Blocker(
                BlockerKind.INCOMPATIBLE,
                "cudnn",
                f"TensorRT {trt} needs cuDNN {need} or a newer {major}.x; the host would have {have}",
                release.cite,
                f"add cuDNN to the target (--set cudnn={need} or newer {major}.x)",
            ),
            "tensorrt.cudnn",
        )


def _image(work: _Work, target: Target, driver: str | None, gpus: list[GpuSpec]) -> None:
    image = target.image or ""
    found = trt_kb.lookup_image(image)
    box = found.container
    if box is None or not box.known:
        why = found.why or (box.row.get("note") if box else "") or "only user reports describe it"
        work.unknown(f"{image}: {why}; what it needs was not checked ({tables.as_of_text()})", target.image_source)
        return
    for gpu in gpus:
        answer = image_on(image, gpu=gpu)
        if answer.mode is Mode.INCOMPATIBLE:
            reasons = [r for r in answer.reasons[1:] if "needs" in r or "no longer" in r or "removed" in r]
            reason = f"{image}: " + "; ".join(reasons or answer.reasons[1:2])
            work.block(Blocker(BlockerKind.ARCHITECTURE, "image", reason, _source(answer), answer.fix), "tensorrt.arch")
    if not driver:
        return
    answer = image_on(image, driver)
    what = f"{image} on driver {driver}"
    if answer.mode is Mode.MINOR_VERSION:
        work.warn(f"{what} runs through minor-version compatibility", _source(answer), answer.caveats)
    elif answer.mode is Mode.FORWARD_COMPAT:
        outside = [g for g in gpus if g.model is None or not g.model.datacenter]
        if outside:
            work.block(
                Blocker(
                    BlockerKind.FORWARD_COMPAT,
                    "image",
                    f"{what} would only run through forward compatibility, which needs a data-center GPU; "
                    f"{outside[0].label} is not one (or not in the knowledge base)",
                    _source(answer),
                    answer.fix,
                ),
                "cuda.driver",
            )
        else:
            work.warn(f"{what} runs through forward compatibility (the container carries cuda-compat)", _source(answer))
    elif answer.mode is Mode.INCOMPATIBLE:
        reason = f"{what}: " + "; ".join(answer.reasons[1:3])
        work.block(Blocker(BlockerKind.INCOMPATIBLE, "image", reason, _source(answer), answer.fix), "cuda.driver")
    elif answer.mode is Mode.UNKNOWN:
        work.unknown(f"could not tell whether {what} runs: " + "; ".join(answer.reasons[1:2]), _source(answer))


def _containers(work: _Work, facts: Facts, gpus: list[GpuSpec], now: str | None, driver: str | None) -> None:
    """A driver change must not break a running container: each image judged on the new driver as the
    audit's containers.image check judges it. One that runs now and would not afterwards blocks the plan;
    one that does not run now either is a warning; what cannot be told keeps the host inconclusive."""
    if driver is None:
        return
    for container in facts.containers.running:
        after = judge_container(container.name, container.image, driver, gpus)
        if after is None or after.action is Action.NONE:
            continue
        if after.inconclusive:
            work.unknown(f"after the change to driver {driver}: {after.message}", after.source)
            continue
        before = judge_container(container.name, container.image, now, gpus) if now else None
        if before is not None and before.action not in (Action.NONE, Action.INVESTIGATE):
            work.warn(f"still after the change to driver {driver}: {after.message}", after.source)
            continue
        work.block(
            Blocker(
                BlockerKind.CONTAINER,
                "driver",
                f"the change to driver {driver} would break a running container: {after.message}",
                after.source,
                after.expected or "pick a driver the running containers' images support",
            ),
            CONTAINER_CHECK,
        )


def _rollback(facts: Facts) -> Rollback:
    stack = stack_of(facts)
    return Rollback(
        driver=stack.driver,
        kernel_module=stack.kernel_module,
        cuda=stack.cuda,
        cuda_toolkits=stack.cuda_toolkits,
        cudnn=stack.cudnn,
        tensorrt=stack.tensorrt,
        cuda_compat=tuple(p.path for p in facts.cuda.compat),
        engines=tuple(EngineRecord(e.path, e.header_version, e.sha256) for e in facts.engines.items if e.exists),
        images=running_images(facts),
    )


def running_images(facts: Facts) -> tuple[ImageRecord, ...]:
    """Each running container's image by registry digest: the one matching its reference's repository, else its first."""
    records = []
    for container in facts.containers.running:
        digests = list(container.digests or ())
        try:
            repository = parse_reference(container.image or "").canonical
        except BadReference:
            repository = None
        own = [d for d in digests if parse_repo_digest(d).canonical == repository]
        chosen = own or digests
        records.append(ImageRecord(container.name, container.image, chosen[0] if chosen else None))
    return tuple(records)
