"""Rule checks ``<rule>/mig.mode``, ``<rule>/mig.pending`` and ``<rule>/mig.profiles``: MIG as the policy asks.

``mig: {mode: enabled|disabled, profiles: [...]}``. Per GPU (the ``mig`` section: NVML's or
nvidia-smi's current and pending mode, ``nvidia-smi mig -lgi``'s GPU instances):

* a pending mode that differs from the current one takes effect only after a GPU reset or a
  reboot: reboot (whatever the policy asks, the GPU is about to change);
* a current mode other than the policy's: investigate (``nvidia-smi -i N -mig 1``); a GPU
  without MIG where the policy wants it on: investigate; where it wants it off: nothing;
* with MIG on and ``profiles`` given, each GPU's GPU instances (as a multiset of profile
  names) must equal them: investigate (create them with ``nvidia-smi mig -cgi ... -C``).

What the probe could not tell (an older probe without the section, a mode not reported, the
instances not listed) is inconclusive, never a pass. NVIDIA's commands and what they mean:
knowledge ``runtime_states`` (the MIG User Guide).
"""

from __future__ import annotations

from collections import Counter

from auditor.evaluate.check import Check, Run, inconclusive
from auditor.facts.model import MigDevice
from auditor.findings import Action, Finding, Severity
from auditor.knowledge import tables


def _cite(source: str, state: str) -> str:
    table = tables.table("runtime_states")
    row = next((r for r in table.rows if r["state"] == state), None)
    return f"{source}; {table.cite(row)}"


def _command(state: str) -> str:
    table = tables.table("runtime_states")
    return str(next(r for r in table.rows if r["state"] == state)["command"])


def _gpu(device: MigDevice) -> str:
    return f"GPU {device.index if device.index is not None else '?'}"


def _profiles(profiles: tuple[str, ...] | list[str]) -> str:
    counted = Counter(profiles)
    return ", ".join(f"{n}x {p}" if n > 1 else p for p, n in sorted(counted.items())) or "none"


def mig(run: Run) -> None:
    """The host's GPUs against the rule's ``mig:``."""
    rule, facts = run.asking, run.facts
    want = rule.mig
    assert want is not None
    mode_id, pending_id, profiles_id = f"{rule.id}/mig.mode", f"{rule.id}/mig.pending", f"{rule.id}/mig.profiles"
    run.checks.append(mode_id)
    if want.profiles:
        run.checks.append(profiles_id)
    source = str(want.location)
    section = facts.mig
    if not section.collected:
        run.findings.append(inconclusive(mode_id, "the probe did not report MIG (an older probe)", source))
        return
    if not section.devices:
        if facts.gpus.count != 0:
            why = section.error or facts.gpus.error or "no GPU list"
            run.findings.append(inconclusive(mode_id, f"MIG could not be read: {why}", source))
        return
    unknown = []
    for device in section.devices:
        gpu = _gpu(device)
        if (
            device.pending in ("enabled", "disabled")
            and device.current in ("enabled", "disabled")
            and device.pending != device.current
        ):
            run.findings.append(
                Finding(
                    rule=pending_id,
                    severity=Severity.MEDIUM,
                    action=Action.REBOOT,
                    message=f"{gpu}: MIG mode {device.current}, pending {device.pending} (takes effect after a GPU reset or a reboot)",
                    expected=f"MIG {want.mode}",
                    actual=f"current {device.current}, pending {device.pending}",
                    source=_cite(source, "mig-pending"),
                    remediation=f"Reset the GPU or reboot the host: {_command('mig-pending')}.",
                )
            )
        if device.supported is False:
            if want.mode == "enabled":
                run.findings.append(
                    Finding(
                        rule=mode_id,
                        severity=Severity.HIGH,
                        action=Action.INVESTIGATE,
                        message=f"{gpu} has no MIG, the policy wants MIG enabled",
                        expected="MIG enabled",
                        actual="MIG not supported",
                        source=source,
                        remediation="Select MIG-capable GPUs (A100, A30, H100, H200 and newer data-center GPUs) for this rule.",
                    )
                )
            continue
        if device.current not in ("enabled", "disabled"):
            unknown.append(gpu)
            continue
        if device.current != want.mode:
            run.findings.append(
                Finding(
                    rule=mode_id,
                    severity=Severity.HIGH,
                    action=Action.INVESTIGATE,
                    message=f"{gpu}: MIG {device.current}, the policy wants it {want.mode}",
                    expected=f"MIG {want.mode}",
                    actual=f"MIG {device.current}",
                    source=_cite(source, "mig-mode"),
                    remediation=f"Run: sudo nvidia-smi -i {device.index if device.index is not None else '<GPU>'} "
                    f"-mig {1 if want.mode == 'enabled' else 0}"
                    + (", then create the GPU instances." if want.mode == "enabled" else "."),
                )
            )
            continue
        if want.mode == "enabled" and want.profiles:
            if device.instances is None:
                why = section.error or "its GPU instances were not listed"
                run.findings.append(inconclusive(profiles_id, f"{gpu}: {why}", source))
                continue
            have = sorted(i.profile for i in device.instances)
            if have != list(want.profiles):
                run.findings.append(
                    Finding(
                        rule=profiles_id,
                        severity=Severity.HIGH,
                        action=Action.INVESTIGATE,
                        message=f"{gpu}: GPU instances {_profiles(have)}, the policy wants {_profiles(want.profiles)}",
                        expected=_profiles(want.profiles),
                        actual=_profiles(have),
                        source=_cite(str(want.profiles_location or source), "mig-profiles"),
                        remediation=f"Recreate the GPU instances: {_command('mig-profiles')}.",
                    )
                )
    if unknown:
        why = section.error or "the driver did not report the MIG mode"
        run.findings.append(inconclusive(mode_id, f"{', '.join(unknown)}: {why}", source))


CHECK = Check(id="mig", reads=("mig", "gpus"), judge=mig, asks=lambda rule: rule.mig is not None)
