"""Built-in checks: what NVIDIA's own compatibility rules say about a host, policy or not.

Each check has an id (``auditor.policy.BUILTIN_CHECKS``), runs on every host, and
cites the knowledge table and URL its verdict rests on. A policy rule can switch a
check off for the hosts it selects (``disable: {check: reason}``); the check then
leaves an informational finding saying so, with the rule's ``file:line``, so a
switched-off check is never invisible. Missing facts make a check inconclusive,
never a pass.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field

from auditor import versions
from auditor.facts.model import DriverStatus, Facts
from auditor.findings import Action, Finding, Severity
from auditor.knowledge import compat, tables
from auditor.knowledge import cuda as cuda_kb
from auditor.knowledge.answers import Answer, GpuSpec, Mode
from auditor.policy.model import Disabled
from auditor.text import count

BUILTIN = "built-in"
EOL_SOON_DAYS = 180  # a branch this close to end of life gets an informational finding


@dataclass
class Run:
    """One host's built-in checks: what ran, what was found, what a policy switched off."""

    facts: Facts
    today: datetime.date
    disabled: Mapping[str, tuple[str, Disabled]] = field(default_factory=dict)
    checks: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    not_applicable: list[tuple[str, str]] = field(default_factory=list)

    def wants(self, check: str) -> bool:
        """Record ``check`` as run, or as switched off (not applicable, with its visible finding); True to run it."""
        off = self.disabled.get(check)
        if off is None:
            self.checks.append(check)
            return True
        rule_id, disabled = off
        if all(check != done for done, _ in self.not_applicable):
            self.not_applicable.append(
                (check, f"switched off by rule {rule_id!r} ({disabled.location}): {disabled.reason}")
            )
        self.findings.append(
            Finding(
                rule=check,
                severity=Severity.INFO,
                action=Action.NONE,
                message=f"built-in check switched off by rule {rule_id!r}: {disabled.reason}",
                source=str(disabled.location),
            )
        )
        return False

    def add(self, finding: Finding) -> None:
        self.findings.append(finding)

    def inconclusive(self, check: str, message: str, source: str = BUILTIN) -> None:
        self.findings.append(inconclusive(check, message, source))


def state_cite(state: str) -> str:
    """The driver-states row for ``state`` ("mismatch", "no-gpu"), as a finding's source."""
    table = tables.table("driver_states")
    return table.cite(next((r for r in table.rows if r["state"] == state), None))


def inconclusive(rule: str, message: str, source: str = BUILTIN) -> Finding:
    """A check that could not be evaluated: investigate, never a pass or a violation."""
    return Finding(
        rule=rule,
        severity=Severity.MEDIUM,
        action=Action.INVESTIGATE,
        message=f"could not evaluate: {message}",
        source=source,
        inconclusive=True,
    )


def run_builtin_checks(run: Run, driver_required: bool) -> None:
    """Every built-in check, in a fixed order."""
    _driver_state(run, driver_required)
    driver = run.facts.driver
    if driver.status is not DriverStatus.OK or not driver.version or not versions.is_version(driver.version):
        return
    gpus = gpu_specs(run.facts)
    _driver_eol(run, driver.version)
    _driver_arch(run, driver.version, gpus)
    _cuda_driver(run, driver.version, gpus)
    _cuda_arch(run, gpus)
    # the TensorRT and container checks live beside this module and build on its Run
    from auditor.builtin_tensorrt import tensorrt_checks
    from auditor.container_checks import running_containers

    tensorrt_checks(run, driver.version, gpus)
    running_containers(run, driver.version, gpus)


def gpu_specs(facts: Facts) -> list[GpuSpec]:
    """One spec per distinct GPU model on the host (name and reported compute capability)."""
    seen: dict[tuple[str | None, str | None], GpuSpec] = {}
    for gpu in facts.gpus.devices:
        key = (gpu.name, gpu.compute_capability)
        seen.setdefault(key, GpuSpec(gpu.name, gpu.compute_capability))
    return list(seen.values())


def sentence(text: str, end: str = "") -> str:
    """``text`` as a sentence (first letter capital, one full stop), then ``end``; "" stays ""."""
    text = text.strip().rstrip(".")
    return f"{text[:1].upper()}{text[1:]}.{end}" if text else end.lstrip()


def first_source(answer: Answer) -> str:
    return answer.sources[0] if answer.sources else BUILTIN


# -- driver state ------------------------------------------------------------------------------


def _driver_state(run: Run, required: bool) -> None:
    facts, driver = run.facts, run.facts.driver
    if driver.status is DriverStatus.MISMATCH or driver.mismatch:
        if run.wants("driver.mismatch"):
            run.add(
                Finding(
                    rule="driver.mismatch",
                    severity=Severity.CRITICAL,
                    action=Action.REBOOT,
                    message="kernel module and user-space driver differ (NVML: Driver/library version mismatch)",
                    expected=f"kernel module {driver.version}" if driver.version else "matching versions",
                    actual=f"kernel module {driver.kernel_module or '?'}, library {driver.version or '?'}",
                    source=state_cite("mismatch"),
                    remediation="Reboot the host (or reload the nvidia kernel modules) to load the installed driver.",
                )
            )
    elif driver.status is DriverStatus.NOT_INSTALLED:
        if run.wants("driver.installed"):
            run.add(
                Finding(
                    rule="driver.installed",
                    severity=Severity.HIGH if required else Severity.MEDIUM,
                    action=Action.UPGRADE if required else Action.INVESTIGATE,
                    message="no NVIDIA driver is installed",
                    expected="an NVIDIA driver",
                    actual="none",
                    source=state_cite("not-installed"),
                    remediation="Install the NVIDIA driver the policy asks for.",
                )
            )
    elif driver.status is DriverStatus.NOT_LOADED:
        if run.wants("driver.loaded"):
            run.add(
                Finding(
                    rule="driver.loaded",
                    severity=Severity.HIGH,
                    action=Action.REBOOT,
                    message="NVIDIA driver installed but its kernel module is not loaded",
                    expected="nvidia kernel module loaded",
                    actual="not loaded",
                    source=state_cite("not-loaded"),
                    remediation="Reboot, or load the module (modprobe nvidia) and check dmesg for why it failed.",
                )
            )
    elif driver.status is DriverStatus.PERMISSION_DENIED:
        run.inconclusive("driver.status", "the audit user may not query the driver (check /dev/nvidia* permissions)")
    elif driver.status is DriverStatus.UNKNOWN:
        run.inconclusive("driver.status", f"driver state unknown: {driver.error or facts.section_error('driver')}")
    if driver.status is DriverStatus.OK and run.wants("gpu.visible"):
        if facts.gpus.count == 0:
            run.add(
                Finding(
                    rule="gpu.visible",
                    severity=Severity.HIGH,
                    action=Action.INVESTIGATE,
                    message="the driver is loaded but no GPU is visible",
                    expected="at least one GPU",
                    actual="0",
                    source=state_cite("no-gpu"),
                    remediation="Check the GPU is seated and powered (lspci, dmesg for Xid errors); a reset or reboot may bring it back.",
                )
            )
        elif facts.gpus.count is None:
            run.inconclusive("gpu.visible", f"GPUs could not be listed: {facts.gpus.error}")


# -- driver lifecycle and architecture -----------------------------------------------------------------


def _driver_eol(run: Run, driver: str) -> None:
    if not run.wants("driver.eol"):
        return
    info = cuda_kb.branch_info(driver)
    if info is None:
        branch = versions.branch(driver)
        newest = cuda_kb.newest_branch()
        what = (
            f"R{branch} is newer than the knowledge base"
            if branch > newest
            else f"R{branch} is not in the knowledge base"
        )
        run.inconclusive(
            "driver.eol", f"{what} ({tables.as_of_text()}): its type and end of life are not known", BUILTIN
        )
        return
    when = info.eol_date()
    if not info.is_past_eol(run.today) and (when is None or (when - run.today).days > EOL_SOON_DAYS):
        return  # the common case on a fleet: decided without building any text
    supported = ", ".join(
        f"R{b.branch} ({b.type_label}, {b.eol_text()})" for b in cuda_kb.supported_branches(run.today)
    )
    if info.is_past_eol(run.today):
        run.add(
            Finding(
                rule="driver.eol",
                severity=Severity.MEDIUM,
                action=Action.INVESTIGATE,
                message=f"driver branch R{info.branch} ({info.type_label}) is past {info.eol_text()}",
                expected="a driver branch NVIDIA still supports",
                actual=f"R{info.branch} ({driver})",
                source=info.cite,
                remediation=f"Move to a supported branch: {supported}." if supported else "Move to a supported branch.",
            )
        )
        return
    if when is not None:  # within EOL_SOON_DAYS of its end of life
        run.add(
            Finding(
                rule="driver.eol",
                severity=Severity.INFO,
                action=Action.NONE,
                message=f"driver branch R{info.branch} reaches end of life in {when:%B %Y} ({count((when - run.today).days, 'day')})",
                actual=f"R{info.branch} ({driver})",
                source=info.cite,
                remediation=f"Plan the move to a supported branch: {supported}." if supported else None,
            )
        )


def _driver_arch(run: Run, driver: str, gpus: list[GpuSpec]) -> None:
    """The branch must run each GPU: at or above its architecture's (and system's) first branch,
    at or below its last (Volta: R580); what the knowledge base cannot tell is inconclusive."""
    if not gpus or not run.wants("driver.arch"):
        return
    for gpu in gpus:
        answer = compat.driver_on_gpu(driver, gpu)
        if answer.mode is Mode.UNKNOWN:
            run.inconclusive("driver.arch", answer.reasons[0], first_source(answer))
        elif answer.mode is Mode.INCOMPATIBLE:
            run.add(driver_arch_finding(answer, driver))


def driver_arch_finding(answer: Answer, driver: str) -> Finding:
    """The finding of a driver that cannot drive a GPU: a rollback above the last branch, else an upgrade."""
    last = answer.details.get("last_driver_branch")
    if last is not None:
        return Finding(
            rule="driver.arch",
            severity=Severity.CRITICAL,
            action=Action.ROLLBACK,
            message=answer.reasons[0],
            expected=f"R{last} or older",
            actual=f"R{versions.branch(driver)} ({driver})",
            source=first_source(answer),
            remediation=f"Roll the driver back to the newest R{last} release, the last branch for this GPU.",
        )
    floor = answer.details.get("system_floor") or f"R{answer.details.get('first_driver_branch')}"
    return Finding(
        rule="driver.arch",
        severity=Severity.CRITICAL,
        action=Action.UPGRADE,
        message=answer.reasons[0],
        expected=f"{floor} or newer",
        actual=f"R{versions.branch(driver)} ({driver})",
        source=first_source(answer),
        remediation=sentence(answer.fix or "upgrade the driver") + " This driver cannot drive the GPU.",
    )


# -- CUDA toolkits --------------------------------------------------------------------------------------


def _cuda_driver(run: Run, driver: str, gpus: list[GpuSpec]) -> None:
    cuda = run.facts.cuda
    if not cuda.toolkits and not cuda.compat:
        if cuda.error:
            run.inconclusive("cuda.driver", f"CUDA toolkits could not be listed: {cuda.error}")
        return
    if not run.wants("cuda.driver"):
        return
    gpu = _eligibility_gpu(gpus)
    for toolkit in cuda.toolkits:
        if not toolkit.version or not versions.is_version(toolkit.version):
            run.inconclusive("cuda.driver", f"CUDA toolkit at {toolkit.path} reported no readable version")
            continue
        answer = compat.cuda_on_driver(toolkit.version, driver, gpu)
        cuda_driver_finding(run, f"CUDA {toolkit.version} ({toolkit.path})", toolkit.version, driver, answer)
    _stale_compat(run, driver)


def _eligibility_gpu(gpus: list[GpuSpec]) -> GpuSpec | None:
    """The GPU that decides forward-compatibility eligibility: a non-data-center one if any."""
    if not gpus:
        return None
    return next((g for g in gpus if g.model is None or not g.model.datacenter), gpus[0])


def cuda_driver_finding(
    run: Run, what: str, cuda: str, driver: str, answer: Answer, check: str = "cuda.driver"
) -> None:
    source = first_source(answer)
    if answer.mode is Mode.NATIVE:
        return
    if answer.mode is Mode.UNKNOWN:
        run.inconclusive(check, answer.reasons[0], source)
        return
    if answer.mode is Mode.MINOR_VERSION:
        run.add(
            Finding(
                rule=check,
                severity=Severity.LOW,
                action=Action.INVESTIGATE,
                message=f"{what} runs on driver {driver} only through minor-version compatibility",
                expected=f"driver >= {answer.details.get('cuda_floor')} (native)",
                actual=driver,
                source=source,
                remediation=sentence(answer.fix or "", end=" Until then: ") + "; ".join(answer.caveats) + ".",
            )
        )
        return
    if answer.mode is Mode.FORWARD_COMPAT:
        installed = _usable_compat(run, cuda, driver)
        if installed is not None:
            run.add(
                Finding(
                    rule=check,
                    severity=Severity.INFO,
                    action=Action.NONE,
                    message=f"{what} runs on driver {driver} through forward compatibility ({installed})",
                    actual=driver,
                    source=source,
                    remediation="Make sure the loader uses it (LD_LIBRARY_PATH or ld.so config); remove it after a driver upgrade.",
                )
            )
            return
        packages = answer.details.get("compat_packages") or []
        run.add(
            Finding(
                rule=check,
                severity=Severity.HIGH,
                action=Action.UPGRADE,
                message=f"{what} needs a newer driver or a cuda-compat package on driver {driver}",
                expected=f"driver >= {answer.details.get('cuda_floor')}" + (f", or {packages[0]}" if packages else ""),
                actual=driver,
                source=source,
                remediation=sentence(answer.fix or ""),
            )
        )
        return
    run.add(
        Finding(
            rule=check,
            severity=Severity.HIGH,
            action=Action.UPGRADE,
            message=f"driver {driver} cannot run {what}: " + "; ".join(answer.reasons[:2]),
            expected=f"driver >= {answer.details.get('cuda_floor')}" if answer.details.get("cuda_floor") else None,
            actual=driver,
            source=source,
            remediation=sentence(answer.fix or "upgrade the driver"),
        )
    )


def _usable_compat(run: Run, cuda: str, driver: str) -> str | None:
    """An installed cuda-compat package that runs ``cuda`` on this driver's branch, if any."""
    branch = versions.branch(driver)
    usable = set(cuda_kb.compat_packages(cuda, branch))
    for package in run.facts.cuda.compat:
        if package.cuda and versions.is_version(package.cuda):
            name = "cuda-compat-" + versions.major_minor(package.cuda).replace(".", "-")
            if name in usable:
                return f"{name} at {package.path}"
    return None


def _stale_compat(run: Run, driver: str) -> None:
    """A cuda-compat package the driver no longer needs (NVIDIA: remove it after upgrading)."""
    native = cuda_kb.driver_cuda_version(driver)
    if native is None:
        return
    for package in run.facts.cuda.compat:
        if (
            package.active is not False  # one the loader never uses changes nothing (seen on a real H200)
            and package.cuda
            and versions.is_version(package.cuda)
            and versions.parse(versions.major_minor(package.cuda)) <= versions.parse(native)
        ):
            table = tables.table("forward_compat")
            rule = next((r for r in table.section("rules") if r["id"] == "remove-after-upgrade"), None)
            run.add(
                Finding(
                    rule="cuda.driver",
                    severity=Severity.LOW,
                    action=Action.INVESTIGATE,
                    message=f"cuda-compat for CUDA {package.cuda} at {package.path} is not needed on driver {driver} (native CUDA {native})",
                    expected="no cuda-compat package for a CUDA the driver runs natively",
                    actual=package.path,
                    source=table.cite(rule),
                    remediation="Remove the package: older compat packages are not supported on newer drivers.",
                )
            )


def _cuda_arch(run: Run, gpus: list[GpuSpec]) -> None:
    toolkits = [t for t in run.facts.cuda.toolkits if t.version and versions.is_version(t.version)]
    if not toolkits or not gpus or not run.wants("cuda.arch"):
        return
    for gpu in gpus:
        for toolkit in toolkits:
            assert toolkit.version is not None
            answer = compat.cuda_on_gpu(toolkit.version, gpu)
            if answer.mode is Mode.UNKNOWN:
                run.inconclusive("cuda.arch", answer.reasons[0])
                break
            if answer.mode is not Mode.INCOMPATIBLE:
                continue
            too_new = "last_cuda_major" in answer.details
            run.add(
                Finding(
                    rule="cuda.arch",
                    severity=Severity.HIGH,
                    action=Action.ROLLBACK if too_new else Action.UPGRADE,
                    message=f"CUDA {toolkit.version} at {toolkit.path} cannot build for {gpu.label}: {answer.reasons[0]}",
                    expected=f"CUDA {answer.details['last_cuda_major']}.x"
                    if too_new
                    else f"CUDA >= {answer.details.get('first_cuda')}",
                    actual=toolkit.version,
                    source=first_source(answer),
                    remediation=sentence(answer.fix or ""),
                )
            )


def tensorrt_build_major(facts: Facts) -> int | None:
    """The CUDA major of the installed TensorRT build (see ``builtin_tensorrt.tensorrt_build_major``)."""
    from auditor.builtin_tensorrt import tensorrt_build_major as build_major

    return build_major(facts)
