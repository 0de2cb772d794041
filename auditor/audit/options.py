"""The command-line options both front ends take to name an audit: targets, policy, connection.

``auditor report`` and the other headless commands (``auditor.cli``) and ``auditor tui``
(``auditor.tui``) add these to their parsers and turn the parsed arguments into a policy
(``resolve_policy``) and targets (``targets_from``), so the two front ends ask the same
questions the same way without importing each other.

Adding the options costs only the standard library: the policy, targets and SSH machinery
are imported inside the functions that use them, so a command that never connects (``auditor
check``, ``compat``, ``--help``) does not load them (tests/test_import_hygiene.py).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import math
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.audit.demo import DEMO_FLEET, DEMO_POLICIES, DEMO_WAIVERS
from auditor.statedir import demo_state_dir, state_dir
from auditor.transport.options import (
    DEFAULT_AUTH_TIMEOUT,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_FORKS,
    DEFAULT_MAX_STARTUPS,
    DEFAULT_PROBE_TIMEOUT,
    DEFAULT_RETRIES,
    MAX_OUTPUT_BYTES,
    default_accept_new_file,
)

if TYPE_CHECKING:  # the policy, targets and SSH machinery load only when a command uses them (start-up time)
    from auditor.audit.targets import SshSettings, Targets
    from auditor.policy.model import Policy

DEMO_PROBE_TIMEOUT = 8.0  # the demo's hanging host should not hold the demo for a minute


def add_target_options(parser: argparse.ArgumentParser, local: bool = False) -> None:
    """``-i INV | --simulate FLEET | --demo`` (and ``--local`` when ``local``), ``-p POLICY`` and the connection knobs."""
    group = parser.add_argument_group("targets")
    source = group.add_mutually_exclusive_group(required=True)
    if local:
        source.add_argument(
            "--local",
            action="store_true",
            help="audit this machine, without SSH: the same checks, findings, reports and exit codes as a fleet "
            "run, for one host named after this machine (see 'local run'; no history unless --history is given)",
        )
    source.add_argument(
        "-i",
        "--inventory",
        metavar="INV",
        action="append",
        help="Ansible inventory to audit over SSH: INI, YAML, `ansible-inventory --list` JSON, a directory, "
        "or host1,host2 (repeat to merge, in order, as Ansible does)",
    )
    source.add_argument("--simulate", metavar="FLEET", help="audit a simulated fleet file (auditor.fleet/1)")
    source.add_argument(
        "--demo",
        action="store_true",
        help="audit the built-in demo fleet with the demo policy (its history and retry file are its own, in "
        "$XDG_STATE_HOME/auditor/demo)",
    )
    add_policy_options(group)
    add_selection_options(group)
    conn = parser.add_argument_group("connection")
    conn.add_argument(
        "-f",
        "--forks",
        type=positive_int,
        default=None,
        metavar="N",
        help=f"hosts probed at once (default {DEFAULT_FORKS})",
    )
    conn.add_argument(
        "--timeout",
        type=positive_float,
        default=None,
        metavar="S",
        help=f"time to connect to a host, through key exchange (default {DEFAULT_CONNECT_TIMEOUT:g}s)",
    )
    conn.add_argument(
        "--probe-timeout",
        type=positive_float,
        default=None,
        metavar="S",
        help=f"time the probe may run on a host (default {DEFAULT_PROBE_TIMEOUT:g}s; --demo {DEMO_PROBE_TIMEOUT:g}s)",
    )
    add_ssh_options(conn)


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
    add_knowledge_option(group)


def add_knowledge_option(group: argparse._ArgumentGroup | argparse.ArgumentParser) -> None:
    """``--knowledge DIR``: a site overlay of the NVIDIA knowledge base (default: $AUDITOR_KNOWLEDGE)."""
    group.add_argument(
        "--knowledge",
        metavar="DIR",
        help="site knowledge overlay: YAML files in the bundled format that add or override entries "
        "(a GPU, an internal image, a new release); validated before any host is contacted "
        "(default: $AUDITOR_KNOWLEDGE; see `auditor knowledge`)",
    )


def apply_knowledge(args: argparse.Namespace) -> None:
    """Load the site overlay ``--knowledge`` or ``$AUDITOR_KNOWLEDGE`` names, if any; ``InputError`` when invalid."""
    from auditor.knowledge import overlay_directory, tables

    directory = overlay_directory(getattr(args, "knowledge", None))
    if directory is None:
        tables.use_overlay(None)
        return
    from auditor.knowledge.overlay import load_overlay  # only when a site names an overlay

    tables.use_overlay(load_overlay(directory))


def resolve_policy(args: argparse.Namespace) -> Policy:
    """The merged policy and waivers to apply; validated now, before any host is contacted."""
    from auditor.policy.model import EMPTY_POLICY

    paths = list(args.policy or [])
    waivers = getattr(args, "waivers", None)
    if getattr(args, "demo", False) and not paths:
        paths = [str(p) for p in DEMO_POLICIES]
        waivers = waivers or str(DEMO_WAIVERS)
    if not paths and waivers is None:
        return replace(EMPTY_POLICY, as_of=getattr(args, "as_of", None))
    from auditor.evaluate.switches import CHECK_IDS
    from auditor.policy.files import load_policies

    policy = load_policies(paths, waivers=waivers, as_of=getattr(args, "as_of", None), checks=CHECK_IDS)
    policy = policy if paths else replace(policy, name=EMPTY_POLICY.name)
    if not policy.references:  # the engine library (and the probe's assembly) loads only for a policy that needs it
        return policy
    from auditor.reference.shipment import with_engine_library

    return with_engine_library(policy, getattr(args, "library", None))  # reference engines checked now too


@contextlib.asynccontextmanager
async def targets_from(args: argparse.Namespace) -> AsyncIterator[Targets]:
    """The audit targets the arguments name (a simulated fleet is started and stopped here)."""
    from auditor.audit.targets import open_targets

    fleet = str(DEMO_FLEET) if args.demo else args.simulate
    probe_timeout = args.probe_timeout
    if args.demo and probe_timeout is None:
        probe_timeout = DEMO_PROBE_TIMEOUT
    selection = getattr(args, "selection", None)
    async with open_targets(
        inventory=args.inventory,
        fleet=fleet,
        limit=getattr(args, "limit", None),
        settings=ssh_settings(args, probe_timeout),
        selection=selection,
    ) as targets:
        if selection is None:
            warn_unmatched(targets.unmatched)
        yield targets


# -- targeting and SSH (issue 9) -------------------------------------------------------------


def add_selection_options(group: argparse._ArgumentGroup) -> None:
    """``-l/--limit`` and ``--list-hosts``."""
    group.add_argument(
        "-l",
        "--limit",
        metavar="PATTERN",
        help="audit only the hosts an Ansible pattern selects: web:&gpu:!web01, gpu-*, ~regex, group[0:3], "
        "@file (a retry file); selecting no host exits 2, and so does a pattern Ansible would misread "
        "(an unbalanced [ or ], a bare !, & or ~)",
    )
    group.add_argument("--list-hosts", action="store_true", help="print the hosts that would be audited, and stop")
    group.set_defaults(preflight=True)


def add_ssh_options(conn: argparse._ArgumentGroup) -> None:
    """Authentication, host keys, ssh config, pacing, retries and the retry file."""
    conn.add_argument(
        "--auth-timeout",
        type=positive_float,
        default=None,
        metavar="S",
        help=f"time authentication may take on a host (default {DEFAULT_AUTH_TIMEOUT:g}s)",
    )
    conn.add_argument("-u", "--user", metavar="USER", help="remote user for hosts whose inventory names none")
    conn.add_argument(
        "--private-key",
        metavar="FILE",
        help="private key for hosts whose inventory names none (the agent is used too); loaded before any host "
        "is contacted: exit 2 if it cannot be (an encrypted key belongs in ssh-agent)",
    )
    conn.add_argument(
        "-F",
        "--ssh-config",
        metavar="FILE",
        help="ssh client config to apply instead of ~/.ssh/config ('none' for none)",
    )
    conn.add_argument(
        "--known-hosts",
        metavar="FILE",
        action="append",
        help="check host keys against this file instead of ~/.ssh/known_hosts and /etc/ssh/ssh_known_hosts "
        "(repeatable); a line that cannot be parsed is skipped with a warning naming FILE:LINE, as OpenSSH does",
    )
    conn.add_argument(
        "--accept-new",
        action="store_true",
        help="trust host keys seen for the first time (never changed ones), keep them in --accept-new-file, "
        "and say so on the report",
    )
    conn.add_argument(
        "--accept-new-file",
        metavar="FILE",
        help=f"where --accept-new keeps the keys it trusted; its directory must exist (default {default_accept_new_file()})",
    )
    conn.add_argument(
        "--max-startups",
        type=positive_int,
        default=None,
        metavar="N",
        help=f"unauthenticated connections at once to one address (default {DEFAULT_MAX_STARTUPS}; "
        "sshd drops some beyond its MaxStartups, 10 by default)",
    )
    conn.add_argument(
        "--retries",
        type=non_negative_int,
        default=None,
        metavar="N",
        help=f"extra attempts after a connection is reset before authentication (default {DEFAULT_RETRIES})",
    )
    conn.add_argument(
        "--max-output",
        type=positive_int,
        default=None,
        metavar="BYTES",
        help=f"largest probe output accepted from a host (default {MAX_OUTPUT_BYTES}); more is an error",
    )
    conn.add_argument(
        "--retry-file",
        metavar="FILE",
        help="write the hosts that could not be audited here, for --limit @FILE; its directory must exist "
        f"(default: {default_retry_file()}; --demo: {default_retry_file(demo=True)})",
    )
    conn.add_argument("--no-retry-file", action="store_true", help="do not write a retry file")


def default_retry_file(demo: bool = False) -> Path:
    """``$XDG_STATE_HOME/auditor/last.retry``: the unreachable and errored hosts of the last run.

    The demo keeps its own (``demo/last.retry``), so trying the demo never replaces a real run's.
    """
    return (demo_state_dir() if demo else state_dir()) / "last.retry"


def retry_file(args: argparse.Namespace) -> str | None:
    """The retry file this run writes (None with ``--no-retry-file``)."""
    if getattr(args, "no_retry_file", False):
        return None
    return getattr(args, "retry_file", None) or str(default_retry_file(demo=bool(getattr(args, "demo", False))))


def ssh_settings(args: argparse.Namespace, probe_timeout: float | None = None) -> SshSettings:
    """The connection settings the arguments give (absent ones left to the defaults)."""
    from auditor.audit.targets import SshSettings

    def arg(name: str) -> Any:
        return getattr(args, name, None)

    return SshSettings(
        forks=arg("forks"),
        connect_timeout=arg("timeout"),
        auth_timeout=arg("auth_timeout"),
        probe_timeout=probe_timeout if probe_timeout is not None else arg("probe_timeout"),
        user=arg("user"),
        private_key=arg("private_key"),
        ssh_config=arg("ssh_config"),
        known_hosts=tuple(arg("known_hosts")) if arg("known_hosts") else None,
        accept_new=bool(arg("accept_new")),
        accept_new_file=arg("accept_new_file"),
        max_startups=arg("max_startups"),
        retries=arg("retries"),
        max_output=arg("max_output"),
        retry_file=retry_file(args),
    )


def warn_unmatched(patterns: tuple[str, ...]) -> None:
    """One warning line per part of ``--limit`` that matched no host."""
    for pattern in patterns:
        print(f"auditor: warning: --limit: {pattern!r} matches no group or host", file=sys.stderr)


# -- argparse types ------------------------------------------------------------------------------
# Each raises ArgumentTypeError with a message a person can act on: for any other exception
# argparse prints "invalid <function name> value", which leaks our internal names.


def _number(text: str, kind: type[int] | type[float]) -> float:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {'a whole number' if kind is int else 'a number'}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def positive_int(text: str) -> int:
    """An argparse type: a whole number, 1 or more."""
    value = int(_number(text, int))
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {text}")
    return value


def non_negative_int(text: str) -> int:
    """An argparse type: a whole number, 0 or more."""
    value = int(_number(text, int))
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def positive_float(text: str) -> float:
    """An argparse type: a number (of seconds, days...) above 0."""
    value = _number(text, float)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
    return value


def non_negative_float(text: str) -> float:
    """An argparse type: a number of seconds, 0 or more."""
    value = _number(text, float)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def _date(text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (expected YYYY-MM-DD)") from None
