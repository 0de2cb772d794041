"""Shared fixtures: paths to the bundled files and one demo audit run over real SSH."""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from auditor.audit.run import collect
from auditor.audit.targets import open_targets
from auditor.evaluate.registry import CHECK_IDS
from auditor.policy.files import load_policies
from auditor.policy.model import Policy
from auditor.report.model import Report

# Timing-based health checks flake on a loaded 2-core CI machine; the properties are what matter.
settings.register_profile("auditor", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("auditor")

ROOT = Path(__file__).resolve().parent.parent
DEMO_FLEET = ROOT / "inventories" / "demo-fleet.yaml"
DEMO_POLICY = ROOT / "policies" / "demo.yaml"
DEMO_POLICIES = (DEMO_POLICY, ROOT / "policies" / "demo-site.yaml")  # merged in this order, as --demo does
DEMO_WAIVERS = ROOT / "policies" / "demo-waivers.yaml"
DEMO_AS_OF = datetime.date(2026, 11, 21)  # end of life and waiver expiry are judged on this date
FAST_PROBE_TIMEOUT = 6.0  # the demo's hanging host is cut off by this (real probes take ~3 s on a loaded 2-core box)


def demo_policy() -> Policy:
    """The demo's merged policy and waivers, judged on DEMO_AS_OF."""
    return load_policies(DEMO_POLICIES, waivers=DEMO_WAIVERS, as_of=DEMO_AS_OF, checks=CHECK_IDS)


def run_fleet(
    fleet: Path | str, policy: Path | str | Policy | Sequence[Path] | None = None, **options: float
) -> Report:
    """Audit a fleet file over the simulated SSH fleet and return the report."""
    from auditor.policy.model import EMPTY_POLICY

    if policy is None:
        loaded = replace(EMPTY_POLICY, as_of=DEMO_AS_OF)
    elif isinstance(policy, Policy):
        loaded = policy
    else:
        loaded = load_policies(
            [policy] if isinstance(policy, (str, Path)) else policy, as_of=DEMO_AS_OF, checks=CHECK_IDS
        )

    async def go() -> Report:
        async with open_targets(
            fleet=str(fleet), probe_timeout=options.pop("probe_timeout", FAST_PROBE_TIMEOUT), **options
        ) as targets:
            return await collect(targets, loaded)

    return asyncio.run(go())


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
