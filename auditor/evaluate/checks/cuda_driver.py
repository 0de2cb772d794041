"""Built-in check ``cuda.driver``: the driver runs every installed CUDA toolkit.

Natively, through minor-version compatibility (low, investigate), or through an
installed cuda-compat package (forward compatibility, data-center GPUs only); a
cuda-compat package the driver no longer needs is flagged too. ``cuda_driver_finding``
words an answer for the TensorRT check as well.
"""

from __future__ import annotations

from auditor import versions
from auditor.evaluate.check import Check, Run, first_source, sentence
from auditor.evaluate.switches import SWITCHES
from auditor.findings import Action, Finding, Severity
from auditor.knowledge import compat, tables
from auditor.knowledge import cuda as cuda_kb
from auditor.knowledge.answers import Answer, GpuSpec, Mode


def cuda_driver(run: Run) -> None:
    """Each installed toolkit on the driver, and the cuda-compat packages the driver no longer needs."""
    driver, gpus = run.driver_version, run.gpus
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


CHECK = Check(
    id="cuda.driver",
    reads=("driver", "gpus", "cuda"),
    judge=cuda_driver,
    switches=SWITCHES["cuda_driver"],
)
