"""What the ``auditor`` door does before any command runs, and how it reports bad input.

``preflight`` resolves the targets (exit 2 on a bad inventory or limit, ``--list-hosts``
answered) and checks every file the run would write; ``fail`` prints located input errors.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the door imports ``fail`` for every command: the rest loads only for audits
    import socket

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


@contextlib.contextmanager
def wake_on_signals() -> Iterator[None]:
    """While the block runs (inside the running event loop), a signal wakes the loop.

    The kernel may hand a signal sent to the process to any of its threads (the resolver's,
    say). Python runs the handler in the main thread only once that thread evaluates again,
    and the loop's ``select`` is not interrupted by a signal another thread took: without a
    wake-up it sleeps until its next timer, which for a hung host is its probe clock. So the
    signal also writes a byte to a socket the loop reads (``signal.set_wakeup_fd``); the
    handler itself stays whatever was installed. Off the main thread, where Python delivers
    no signals, it does nothing.
    """
    import asyncio
    import signal
    import socket
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    loop = asyncio.get_running_loop()
    wake, woken = socket.socketpair()
    wake.setblocking(False)
    woken.setblocking(False)
    loop.add_reader(woken.fileno(), _drain, woken)
    previous = signal.set_wakeup_fd(wake.fileno(), warn_on_full_buffer=False)
    try:
        yield
    finally:
        signal.set_wakeup_fd(previous)
        loop.remove_reader(woken.fileno())
        wake.close()
        woken.close()


def _drain(sock: socket.socket) -> None:
    """Read the wake-up bytes; waking the loop was their only purpose."""
    with contextlib.suppress(OSError):
        while sock.recv(4096):
            pass
