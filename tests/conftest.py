"""Shared fixtures: paths to the bundled files and one demo audit run over real SSH."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from auditor.audit import collect, open_targets
from auditor.policy import load_policy
from auditor.report import Report

# Timing-based health checks flake on a loaded 2-core CI machine; the properties are what matter.
settings.register_profile("auditor", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("auditor")

ROOT = Path(__file__).resolve().parent.parent
DEMO_FLEET = ROOT / "inventories" / "demo-fleet.yaml"
DEMO_POLICY = ROOT / "policies" / "demo.yaml"
FAST_PROBE_TIMEOUT = 3.0  # the demo's hanging host is cut off by this


def run_fleet(fleet: Path | str, policy: Path | str | None = None, **options: float) -> Report:
    """Audit a fleet file over the simulated SSH fleet and return the report."""
    from auditor.policy import EMPTY_POLICY

    async def go() -> Report:
        async with open_targets(
            fleet=str(fleet), probe_timeout=options.pop("probe_timeout", FAST_PROBE_TIMEOUT), **options
        ) as targets:
            return await collect(targets, load_policy(policy) if policy else EMPTY_POLICY)

    return asyncio.run(go())


@pytest.fixture(autouse=True)
def private_state_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Retry files, accepted host keys and logs go to a temporary XDG_STATE_HOME, never the user's."""
    state = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    return state


@pytest.fixture(scope="session")
def demo_report() -> Report:
    """The demo fleet audited once per test session (about four seconds)."""
    return run_fleet(DEMO_FLEET, DEMO_POLICY)
