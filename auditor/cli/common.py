"""What the ``auditor`` door does before any command runs, and how it reports bad input.

``preflight`` resolves the targets (exit 2 on a bad inventory or limit, ``--list-hosts``
answered) and checks every file the run would write; ``fail`` prints located input errors.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the door imports ``fail`` for every command: the rest loads only for audits
    from auditor.errors import InputError


def preflight(args: argparse.Namespace) -> int | None:
    """Before any command that audits: resolve the targets (exit 2 on a bad inventory or limit).

    Keeps the selection on ``args`` for ``targets_from``; answers ``--list-hosts``
    itself (the exit code), else returns None and the command runs.
    """
    from auditor.audit.demo import DEMO_FLEET
    from auditor.audit.options import warn_unmatched
    from auditor.audit.targets import fleet_label, list_targets
    from auditor.cli.local import preflight_local

    label = preflight_local(args)
    if label is not None:  # --local: one host, this machine; nothing to resolve
        check_outputs(args, label)
        return None
    fleet = str(DEMO_FLEET) if args.demo else args.simulate
    args.selection = list_targets(inventory=args.inventory, fleet=fleet, limit=getattr(args, "limit", None))
    warn_unmatched(args.selection.unmatched)
    if not getattr(args, "list_hosts", False):
        if fleet:
            from auditor.simulate.fleet import load_fleet  # the fleet file's format: only for --simulate and --demo

            check_outputs(args, fleet_label(load_fleet(fleet)))
        else:
            check_outputs(args, args.selection.source)
        return None
    hosts = args.selection.hosts
    sys.stdout.write("\n".join([f"  hosts ({len(hosts)}):", *(f"    {host.name}" for host in hosts)]) + "\n")
    return 0


def check_outputs(args: argparse.Namespace, inventory: str) -> None:
    """Every file the run would write, and the key it would use, checked now (``auditor.cli.paths``).

    ``inventory`` is the report's inventory label, for report paths with ``{inventory}``.
    """
    from auditor.audit.options import retry_file
    from auditor.cli.paths import check_paths, history_path  # not cli.history: that loads Rich's tables
    from auditor.report.formats import OutputSpec, check_specs

    specs = [spec for spec in getattr(args, "format", None) or () if isinstance(spec, OutputSpec)]
    check_specs(specs, inventory)
    records = getattr(args, "records_history", False) and not getattr(args, "no_history", False)
    check_paths(args, retry_file=retry_file(args), history=history_path(args) if records else None)


def fail(error: InputError) -> int:
    """Print located input errors, one per line, and return exit code 2."""
    for problem in error.problems:
        print(f"auditor: {problem}", file=sys.stderr)
    return 2
