"""One audit, whichever front end drives it: targets in, per-host events and a report out.

``open_targets`` turns what the user pointed at (an inventory, a fleet file, the
demo) into hosts and connection options; ``audit`` streams ``AuditEvent``s as hosts
progress, each finished host already assessed; ``collect`` gathers them into the
``Report`` every writer renders.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.assess import assess
from auditor.consistency import apply_consistency
from auditor.inventory import Host, load_inventory
from auditor.outcome import HostState
from auditor.policy import Policy
from auditor.probe import encode_request
from auditor.report import HostReport, Report
from auditor.runner import ConnectOptions, load_known_hosts, run_probes
from auditor.simulate import load_fleet

DEMO_DIR = Path(__file__).parent / "demo"
DEMO_FLEET = DEMO_DIR / "demo-fleet.yaml"
DEMO_POLICY = DEMO_DIR / "demo.yaml"
DEMO_POLICIES = (DEMO_POLICY, DEMO_DIR / "demo-site.yaml")  # merged in this order
DEMO_WAIVERS = DEMO_DIR / "demo-waivers.yaml"


@dataclass(frozen=True)
class Targets:
    """The hosts of one audit and how to reach them; ``name`` labels reports."""

    name: str
    hosts: tuple[Host, ...]
    options: ConnectOptions


@dataclass(frozen=True)
class AuditEvent:
    """A host changed state; ``report`` is set when it finished (DONE or FAILED)."""

    host: Host
    state: HostState
    report: HostReport | None = None


@contextlib.asynccontextmanager
async def open_targets(
    inventory: str | None = None,
    fleet: str | None = None,
    forks: int | None = None,
    connect_timeout: float | None = None,
    probe_timeout: float | None = None,
) -> AsyncIterator[Targets]:
    """Resolve an inventory (real SSH) or a fleet file (started here, stopped on exit).

    Files are validated before anything connects; errors are ``InputError``s.
    """
    overrides: dict[str, Any] = {
        key: value
        for key, value in (("forks", forks), ("connect_timeout", connect_timeout), ("probe_timeout", probe_timeout))
        if value is not None
    }
    if fleet is not None:
        from auditor.simulate.server import SimulatedFleet  # starts listeners: only when asked

        parsed = load_fleet(fleet)
        async with SimulatedFleet(parsed) as sim:
            yield Targets(name=f"{parsed.name} (simulated)", hosts=sim.hosts, options=sim.options(**overrides))
        return
    if inventory is None:
        raise ValueError("open_targets needs an inventory or a fleet")
    loaded = load_inventory(inventory)
    known_hosts, files = load_known_hosts()
    options = ConnectOptions(known_hosts=known_hosts, known_hosts_files=files, **overrides)
    yield Targets(name=inventory, hosts=loaded.hosts, options=options)


def policy_request(policy: Policy) -> Callable[[Host], str]:
    """Per-host probe requests: the engine templates of every rule that may select the host.

    GPU-model selectors are judged only after probing, so a rule limited to one GPU
    model still sends its templates; evaluation then ignores what does not apply.
    """
    cache: dict[tuple[str, ...], str] = {}

    def request(host: Host) -> str:
        engines = tuple(policy.engine_templates_for(host))
        if engines not in cache:
            cache[engines] = encode_request(engines=engines)
        return cache[engines]

    return request


async def audit(
    hosts: Sequence[Host], policy: Policy, options: ConnectOptions, request: str | Callable[[Host], str] | None = None
) -> AsyncIterator[AuditEvent]:
    """Probe and assess every host; events arrive as hosts progress.

    Fleet-level checks (group consistency) need every host: ``collect`` adds them.
    """
    async for event in run_probes(hosts, options, request or policy_request(policy)):
        report = assess(event.host, event.outcome, policy) if event.outcome is not None else None
        yield AuditEvent(event.host, event.state, report)


async def collect(
    targets: Targets,
    policy: Policy,
    on_event: Callable[[AuditEvent], None] | None = None,
    request: str | Callable[[Host], str] | None = None,
) -> Report:
    """Run a whole audit and return its report (hosts in inventory order)."""
    started = time.monotonic()
    done: dict[str, HostReport] = {}
    async for event in audit(targets.hosts, policy, targets.options, request):
        if on_event is not None:
            on_event(event)
        if event.report is not None:
            done[event.host.name] = event.report
    hosts = apply_consistency(policy, [done[h.name] for h in targets.hosts if h.name in done])
    return Report(
        inventory=targets.name,
        policy=policy.name,
        hosts=hosts,
        duration_s=time.monotonic() - started,
        notes=policy.notes,
    )
