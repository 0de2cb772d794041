"""The node-local gate: this machine audited as one host of a fleet, without SSH (``auditor report --local``).

The probe runs here exactly as on a remote host (``python3 -S -c BOOTSTRAP`` with the probe on
stdin: ``auditor.probe.program.run_local``), with the request the policy asks of this host
(its engine templates, its reference engines); its output goes through the same
``assess`` -> fleet checks -> ``Report`` path a fleet run takes, so checks, findings,
verdicts, report formats and exit codes are the fleet's. The one host is named after this
machine (``socket.gethostname()``; with ``--root`` the root's ``/etc/hostname``, else the
directory's name), or ``name``; ``groups`` put it in policy groups, as an inventory would.
"""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from auditor.audit.run import policy_request
from auditor.errors import InputError
from auditor.inventory import Host
from auditor.inventory.hostnames import name_problem
from auditor.policy.model import Policy
from auditor.probe.program import ProbeCall, run_local
from auditor.report.assess import apply_consistency, assess
from auditor.report.model import Report
from auditor.transport.outcome import AuditStep, HostError, ProbeOutcome, Timing

LABEL = "local"
"""What reports name the inventory of a local run."""
_GROUP = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def local_name(root: str | None = None, name: str | None = None) -> str:
    """The host name a local run reports: ``name``, else the root's ``/etc/hostname`` (or the root's
    directory name), else this machine's hostname. ``InputError`` for a name an inventory could not hold."""
    if name is None and root is not None:
        try:
            name = Path(root, "etc/hostname").read_text(encoding="utf-8", errors="replace").strip().splitlines()[0]
        except (OSError, IndexError):
            name = Path(root).resolve().name or "root"
    elif name is None:
        name = socket.gethostname() or "localhost"
    problem = name_problem(name)
    if problem is not None:
        raise InputError(f"--name {name!r}: host name {problem}")
    return name


def local_host(root: str | None = None, name: str | None = None, groups: Sequence[str] = ()) -> Host:
    """This machine as an inventory host (address ``localhost``) in ``groups``; ``InputError`` for a bad group."""
    for group in groups:
        if not _GROUP.match(group):
            raise InputError(f"--group {group!r}: a group name is letters, digits, '_' and '-', starting with a letter")
    chosen = tuple(sorted(set(groups))) or ("ungrouped",)  # as an inventory lists a host in no group
    return Host(local_name(root, name), "localhost", groups=chosen, vars={"local": True})


def probe_here(call: ProbeCall, root: str | None, python: str | None, timeout: float) -> ProbeOutcome:
    """Run the probe on this machine; what it printed as a ``ProbeOutcome`` (a timeout or an interpreter
    that cannot start is the outcome's error, as a remote host's would be)."""
    started = time.monotonic()
    try:
        result = run_local(root=root, request=call.request, python=python, timeout=timeout, program=call.program)
    except subprocess.TimeoutExpired:
        return ProbeOutcome(
            error=HostError(AuditStep.PROBE, f"timed out after {timeout:g}s", timed_out=True),
            timing=Timing(probe_s=time.monotonic() - started),
        )
    except OSError as exc:
        return ProbeOutcome(
            error=HostError(AuditStep.PROBE, f"could not start the probe: {exc.strerror or exc}"),
            timing=Timing(probe_s=time.monotonic() - started),
        )
    return ProbeOutcome(
        stdout=result.stdout,
        stderr=result.stderr,
        exit_status=result.returncode if result.returncode >= 0 else -1,
        exit_signal=None if result.returncode >= 0 else _signal_name(-result.returncode),
        timing=Timing(connect_s=0.0, probe_s=time.monotonic() - started),
    )


def _signal_name(number: int) -> str:
    """``KILL`` for 9, as SSH names the signal that ended a remote command."""
    try:
        return signal.Signals(number).name.removeprefix("SIG")
    except ValueError:
        return str(number)


def audit_local(
    policy: Policy, host: Host, root: str | None = None, python: str | None = None, timeout: float = 120.0
) -> Report:
    """Probe this machine as ``host`` and judge it as a fleet run judges a host: the ``Report`` of one host."""
    started = time.monotonic()
    asked = policy_request(policy)(host)
    call = asked if isinstance(asked, ProbeCall) else ProbeCall(asked)
    outcome = probe_here(call, root, python, timeout)
    report = assess(host, outcome, policy)
    return Report(
        inventory=LABEL if root is None else f"{LABEL} (root {root})",
        policy=policy.name,
        hosts=apply_consistency(policy, [report]),
        duration_s=time.monotonic() - started,
        notes=policy.notes,
    )
