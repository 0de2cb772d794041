"""Options and plumbing shared by the subcommands: targets, policy, connection settings."""

from __future__ import annotations

import argparse
import contextlib
import datetime
import sys
from collections.abc import AsyncIterator
from dataclasses import replace

from auditor.audit import DEMO_FLEET, DEMO_POLICIES, DEMO_WAIVERS, Targets, open_targets
from auditor.errors import InputError
from auditor.policy import EMPTY_POLICY, Policy, load_policies
from auditor.reference.shipment import with_engine_library
from auditor.runner import DEFAULT_CONNECT_TIMEOUT, DEFAULT_FORKS, DEFAULT_PROBE_TIMEOUT

DEMO_PROBE_TIMEOUT = 8.0  # the demo's hanging host should not hold the demo for a minute


def add_target_options(parser: argparse.ArgumentParser) -> None:
    """``-i INV | --simulate FLEET | --demo``, ``-p POLICY`` and the connection knobs."""
    group = parser.add_argument_group("targets")
    source = group.add_mutually_exclusive_group(required=True)
    source.add_argument("-i", "--inventory", metavar="INV", help="Ansible YAML inventory to audit over SSH")
    source.add_argument("--simulate", metavar="FLEET", help="audit a simulated fleet file (auditor.fleet/1)")
    source.add_argument("--demo", action="store_true", help="audit the built-in demo fleet with the demo policy")
    add_policy_options(group)
    conn = parser.add_argument_group("connection")
    conn.add_argument(
        "-f",
        "--forks",
        type=_positive_int,
        default=None,
        metavar="N",
        help=f"hosts probed at once (default {DEFAULT_FORKS})",
    )
    conn.add_argument(
        "--timeout",
        type=_positive_float,
        default=None,
        metavar="S",
        help=f"connect timeout per host, through authentication (default {DEFAULT_CONNECT_TIMEOUT:g}s)",
    )
    conn.add_argument(
        "--probe-timeout",
        type=_positive_float,
        default=None,
        metavar="S",
        help=f"time the probe may run on a host (default {DEFAULT_PROBE_TIMEOUT:g}s; --demo {DEMO_PROBE_TIMEOUT:g}s)",
    )


def add_policy_options(group: argparse._ArgumentGroup) -> None:
    """``-p POLICY`` (repeatable, merged in order), ``--waivers FILE`` and ``--as-of DATE``."""
    group.add_argument(
        "-p",
        "--policy",
        metavar="POLICY",
        action="append",
        help="policy file; repeat to merge several, in order: later files add rules and stacks, and a "
        "rule or stack whose id is already defined replaces the earlier one (default: built-in checks "
        "only; --demo: the demo policy)",
    )
    group.add_argument(
        "--waivers",
        metavar="FILE",
        help="waivers file (auditor.waivers/1): accepted findings with reason, owner and expiry "
        "(--demo: the demo waivers)",
    )
    group.add_argument(
        "--library",
        metavar="DIR",
        help="the reference engine library for policies with 'reference:' (default: $XDG_DATA_HOME/auditor/engines)",
    )
    group.add_argument(
        "--as-of",
        metavar="DATE",
        type=_date,
        help="judge waiver expiry and driver end of life as of this date (YYYY-MM-DD; default: today, UTC)",
    )


def resolve_policy(args: argparse.Namespace) -> Policy:
    """The merged policy and waivers to apply; validated now, before any host is contacted."""
    paths = list(args.policy or [])
    waivers = getattr(args, "waivers", None)
    if getattr(args, "demo", False) and not paths:
        paths = [str(p) for p in DEMO_POLICIES]
        waivers = waivers or str(DEMO_WAIVERS)
    if not paths and waivers is None:
        return replace(EMPTY_POLICY, as_of=getattr(args, "as_of", None))
    policy = load_policies(paths, waivers=waivers, as_of=getattr(args, "as_of", None))
    policy = policy if paths else replace(policy, name=EMPTY_POLICY.name)
    return with_engine_library(policy, getattr(args, "library", None))  # reference engines checked now too


@contextlib.asynccontextmanager
async def targets_from(args: argparse.Namespace) -> AsyncIterator[Targets]:
    """The audit targets the arguments name (a simulated fleet is started and stopped here)."""
    fleet = str(DEMO_FLEET) if args.demo else args.simulate
    probe_timeout = args.probe_timeout
    if args.demo and probe_timeout is None:
        probe_timeout = DEMO_PROBE_TIMEOUT
    async with open_targets(
        inventory=args.inventory,
        fleet=fleet,
        forks=args.forks,
        connect_timeout=args.timeout,
        probe_timeout=probe_timeout,
    ) as targets:
        yield targets


def fail(error: InputError) -> int:
    """Print located input errors, one per line, and return exit code 2."""
    for problem in getattr(error, "errors", None) or [error]:
        print(f"auditor: {problem}", file=sys.stderr)
    return 2


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value


def _date(text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (expected YYYY-MM-DD)") from None
