"""The demo fleet, its policy and waivers as the tests use them, and one audit of a fleet file over real SSH."""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from auditor.audit.run import collect
from auditor.audit.targets import open_targets
from auditor.evaluate.registry import CHECK_IDS
from auditor.policy.files import load_policies
from auditor.policy.model import Policy
from auditor.report.model import Report
from tests.support.paths import ROOT

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
