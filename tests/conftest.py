"""Shared fixtures: the bundled knowledge and a private state directory for every test, one demo audit per session.

Constants and helpers the tests import live in ``tests/support/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from auditor.report.model import Report
from tests.support.demo import DEMO_FLEET, demo_policy, run_fleet

# Timing-based health checks flake on a loaded 2-core CI machine; the properties are what matter.
settings.register_profile("auditor", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("auditor")


@pytest.fixture(autouse=True)
def bundled_knowledge(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test starts and ends on the bundled knowledge: a site overlay is process-wide state."""
    from auditor.knowledge import tables

    monkeypatch.delenv("AUDITOR_KNOWLEDGE", raising=False)
    tables.use_overlay(None)
    yield
    tables.use_overlay(None)


@pytest.fixture(autouse=True)
def private_state_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """History, retry files, accepted host keys and logs go to a temporary XDG_STATE_HOME, never the user's.

    Subprocesses a test starts inherit it too.
    """
    state = tmp_path_factory.mktemp("xdg-state")
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    return state


@pytest.fixture(scope="session")
def demo_report() -> Report:
    """The demo fleet audited once per test session (about four seconds)."""
    return run_fleet(DEMO_FLEET, demo_policy())
