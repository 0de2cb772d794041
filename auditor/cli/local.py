"""``auditor report --local``: the arguments of a node-local gate, checked before the probe runs, and the run.

The audit itself is ``auditor.audit.local``; here the flags are checked (exit 2 before
anything runs: a ``--root`` or ``--python`` that does not exist, ``--limit``, local-only
flags without ``--local``) and turned into the one host and the report.
"""

from __future__ import annotations

import argparse

from auditor.audit.local import LABEL, audit_local, local_host
from auditor.audit.options import DEFAULT_PROBE_TIMEOUT
from auditor.cli.probe import check_probe_args
from auditor.errors import InputError
from auditor.policy.model import Policy
from auditor.report.model import Report

LOCAL_ONLY = ("root", "python", "name", "group")


def preflight_local(args: argparse.Namespace) -> str | None:
    """For ``--local``: the flags that do not apply refused, ``--root``/``--python``/``--name``/``--group``
    checked, the history off unless ``--history`` names one; returns the report's inventory label.
    Without ``--local``: the local-only flags refused. ``InputError`` (exit 2) for each problem."""
    if not getattr(args, "local", False):
        given = [f"--{name}" for name in LOCAL_ONLY if getattr(args, name, None)]
        if given:
            raise InputError(f"{', '.join(given)}: only with --local")
        return None
    for flag in ("limit", "list_hosts"):
        if getattr(args, flag, None):
            raise InputError(f"--{flag.replace('_', '-')} does not apply to --local (one host: this machine)")
    check_probe_args(args)
    args.local_host = local_host(args.root, args.name, args.group or ())
    if not args.history:
        args.no_history = True
    return LABEL if args.root is None else f"{LABEL} (root {args.root})"


def local_report(args: argparse.Namespace, policy: Policy) -> Report:
    """The one-host report of this machine (the host ``preflight_local`` made)."""
    host = getattr(args, "local_host", None) or local_host(args.root, args.name, args.group or ())
    timeout = args.probe_timeout if args.probe_timeout is not None else DEFAULT_PROBE_TIMEOUT
    return audit_local(policy, host, root=args.root, python=args.python, timeout=timeout)
