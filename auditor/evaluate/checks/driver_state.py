"""Built-in checks ``driver.mismatch``, ``driver.installed``, ``driver.loaded`` and ``gpu.visible``.

What state the NVIDIA driver is in: a kernel module that differs from the user-space driver
(reboot), no driver, a driver whose module is not loaded, a loaded driver that sees no GPU.
A state the probe could not tell is inconclusive (``driver.status``).
"""

from __future__ import annotations

from auditor.evaluate.check import Check, Run
from auditor.evaluate.switches import SWITCHES
from auditor.facts.model import DriverStatus
from auditor.findings import Action, Finding, Severity
from auditor.knowledge import tables


def state_cite(state: str) -> str:
    """The driver-states row for ``state`` ("mismatch", "no-gpu"), as a finding's source."""
    table = tables.table("driver_states")
    return table.cite(next((r for r in table.rows if r["state"] == state), None))


def driver_state(run: Run) -> None:
    """The driver's state, as a finding when it is not loaded and healthy (an upgrade only where a rule requires a driver)."""
    facts, driver, required = run.facts, run.facts.driver, run.driver_required
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


CHECK = Check(
    id="driver.state",
    reads=("driver", "gpus"),
    judge=driver_state,
    switches=SWITCHES["driver_state"],
    needs_driver=False,
)
