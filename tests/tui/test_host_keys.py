"""Unknown host keys over real SSH: collected during the sweep, reviewed after it, trusted only when accepted."""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import AsyncIterator
from pathlib import Path

import asyncssh
from textual.widgets import DataTable

from auditor.audit.targets import Targets, open_targets
from auditor.findings import Verdict
from auditor.policy.model import EMPTY_POLICY
from auditor.transport.hostkeys import HostKeyTrust
from auditor.tui.app import AuditApp
from auditor.tui.host_keys import accepted_keys_file
from auditor.tui.screens.host_keys import HostKeyScreen
from auditor.tui.screens.main import MainScreen
from auditor.tui.source import live_source
from tests.support.demo import FAST_PROBE_TIMEOUT
from tests.support.paths import FIXTURES
from tests.support.tui import settle

FLEET = FIXTURES / "tui" / "keys-fleet.yaml"
NEW = "new-01"


@contextlib.asynccontextmanager
async def fleet_forgetting(name: str) -> AsyncIterator[Targets]:
    """The simulated fleet with ``name``'s pinned key left out of known_hosts: its key is unknown."""
    async with open_targets(fleet=str(FLEET), probe_timeout=FAST_PROBE_TIMEOUT) as targets:
        host = next(h for h in targets.hosts if h.name == name)
        path = targets.options.host_keys.files[0]
        lines = Path(path).read_text().splitlines()
        kept = "".join(line + "\n" for line in lines if not line.startswith(f"[{host.address}]:{host.port} "))
        options = dataclasses.replace(targets.options, host_keys=HostKeyTrust.from_text(kept, path))
        yield dataclasses.replace(targets, options=options)


def pinned_fingerprint(targets_file: str, address: str, port: int) -> str:
    """The fingerprint of the key the simulated host really has (from the fleet's own known_hosts)."""
    for line in Path(targets_file).read_text().splitlines():
        if line.startswith(f"[{address}]:{port} "):
            key = asyncssh.import_public_key(line.split(" ", 1)[1])
            return f"{key.get_algorithm()} {key.get_fingerprint('sha256')}"
    raise AssertionError("no pinned key")


def keys_app() -> AuditApp:
    return AuditApp(live_source(lambda: fleet_forgetting(NEW), EMPTY_POLICY), policy=EMPTY_POLICY.name)


async def open_review(pilot: object, app: AuditApp) -> HostKeyScreen:
    await pilot.press("K")  # type: ignore[attr-defined]
    for _ in range(200):
        if isinstance(app.screen, HostKeyScreen):
            break
        await pilot.pause(0.02)  # type: ignore[attr-defined]
    assert isinstance(app.screen, HostKeyScreen)
    return app.screen


async def test_an_unknown_key_is_reviewed_after_the_sweep_and_accepting_it_audits_the_host() -> None:
    """The sweep ends the host unreachable at host-key; K shows the key it offers; a + Enter trusts that key, writes it to auditor's own known_hosts and probes the host again."""
    app = keys_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        report = app.model.rows[NEW].report
        assert report is not None and report.verdict is Verdict.UNREACHABLE and report.error is not None
        assert report.error.step.value == "host-key" and report.error.host_key is not None
        assert any(n.title == "Host keys to review" for n in app._notifications)
        assert app.check_action("host_keys", ()) is True
        screen = await open_review(pilot, app)
        host = app.model.rows[NEW].host
        assert app.session is not None
        expected = pinned_fingerprint(app.session.targets.options.host_keys.files[0], host.address, host.port or 22)  # type: ignore[attr-defined]
        table = screen.query_one(DataTable)
        shown = f"{table.get_cell(NEW, 'type')} {table.get_cell(NEW, 'fingerprint')}"
        assert shown == expected
        await pilot.press("a", "enter")
        await settle(pilot, sweeps=2)
        assert isinstance(app.screen, MainScreen)
        row = app.model.rows[NEW]
        assert row.report is not None and row.report.error is None and row.report.facts is not None  # audited
        written = accepted_keys_file().read_text()
        assert f"[{host.address}]:{host.port} ssh-ed25519 " in written
        assert oct(os.stat(accepted_keys_file()).st_mode & 0o777) == "0o600"
        assert app.check_action("host_keys", ()) is False


async def test_a_rejected_key_is_not_trusted_and_not_offered_again() -> None:
    """x + Enter writes nothing, starts no sweep, and K is hidden until the host is probed again."""
    app = keys_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await open_review(pilot, app)
        await pilot.press("x", "enter")
        await settle(pilot)
        assert app.sweeps == 1 and not accepted_keys_file().exists()
        assert app.check_action("host_keys", ()) is False
        assert app.model.rows[NEW].report.verdict is Verdict.UNREACHABLE  # type: ignore[union-attr]
