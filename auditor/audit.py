"""One audit, whichever front end drives it: targets in, per-host events and a report out.

``open_targets`` turns what the user pointed at (inventories, a fleet file, the
demo) and ``--limit`` into hosts and connection options; ``audit`` streams ``AuditEvent``s as hosts
progress, each finished host already assessed; ``collect`` gathers them into the
``Report`` every writer renders.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.errors import ReportWriteError
from auditor.inventory import Host, Inventory, load_inventories
from auditor.inventory.hostnames import parse_hop
from auditor.inventory.patterns import Selection, select
from auditor.policy.model import Policy
from auditor.probe.program import ProbeCall, remote_command
from auditor.probe.request import encode_request
from auditor.report.assess import apply_consistency, assess
from auditor.report.files import write_atomic
from auditor.report.model import HostReport, Report
from auditor.simulate import load_fleet
from auditor.simulate.fleet import Fleet
from auditor.transport.hostkeys import KNOWN_HOSTS_FILES, HostKeyTrust, default_accept_new_file
from auditor.transport.options import SshOptions
from auditor.transport.outcome import HostState
from auditor.transport.runner import Payload, run_probes
from auditor.transport.sshconfig import SshTarget, config_paths
from auditor.transport.sshconfig import resolve as resolve_ssh

log = logging.getLogger(__name__)

DEMO_DIR = Path(__file__).parent / "demo"
DEMO_FLEET = DEMO_DIR / "demo-fleet.yaml"
DEMO_POLICY = DEMO_DIR / "demo.yaml"
DEMO_POLICIES = (DEMO_POLICY, DEMO_DIR / "demo-site.yaml")  # merged in this order
DEMO_WAIVERS = DEMO_DIR / "demo-waivers.yaml"


@dataclass(frozen=True)
class Targets:
    """The hosts of one audit and how to reach them; ``name`` labels reports.

    ``unmatched`` lists the parts of ``--limit`` that matched no host (worth a warning).
    """

    name: str
    hosts: tuple[Host, ...]
    options: SshOptions
    unmatched: tuple[str, ...] = ()


@dataclass(frozen=True)
class AuditEvent:
    """A host changed state; ``report`` is set when it finished (DONE or FAILED)."""

    host: Host
    state: HostState
    report: HostReport | None = None


@dataclass(frozen=True)
class SshSettings:
    """What the command line says about reaching hosts; None leaves the default.

    ``ssh_config`` is ``-F`` (``"none"`` disables ``~/.ssh/config``); ``known_hosts``
    replaces the default known_hosts files; ``accept_new`` trusts unknown keys and
    keeps them in ``accept_new_file`` (default ``hostkeys.default_accept_new_file()``).
    """

    forks: int | None = None
    connect_timeout: float | None = None
    auth_timeout: float | None = None
    probe_timeout: float | None = None
    user: str | None = None
    private_key: str | None = None
    ssh_config: str | None = None
    known_hosts: tuple[str, ...] | None = None
    accept_new: bool = False
    accept_new_file: str | None = None
    max_startups: int | None = None
    retries: int | None = None
    max_output: int | None = None
    retry_file: str | None = None

    def overrides(self) -> dict[str, Any]:
        """The ``SshOptions`` fields these settings set."""
        pairs = (
            ("forks", self.forks),
            ("connect_timeout", self.connect_timeout),
            ("auth_timeout", self.auth_timeout),
            ("probe_timeout", self.probe_timeout),
            ("username", self.user),
            ("key_file", None if self.private_key is None else str(Path(self.private_key).expanduser())),
            ("max_startups", self.max_startups),
            ("retries", self.retries),
            ("max_output", self.max_output),
            ("retry_file", self.retry_file),
        )
        return {key: value for key, value in pairs if value is not None}


def list_targets(
    inventory: str | Sequence[str] | None = None, fleet: str | None = None, limit: str | None = None
) -> Selection:
    """The hosts an audit would contact, without contacting them (``--list-hosts``)."""
    if fleet is not None:
        return select(_fleet_inventory(load_fleet(fleet)), limit)
    return select(load_inventories(_sources(inventory)), limit)


@contextlib.asynccontextmanager
async def open_targets(
    inventory: str | Sequence[str] | None = None,
    fleet: str | None = None,
    limit: str | None = None,
    settings: SshSettings | None = None,
    selection: Selection | None = None,
    **overrides: Any,
) -> AsyncIterator[Targets]:
    """Resolve inventories (real SSH) or a fleet file (started here, stopped on exit), then ``limit``.

    Files and the limit are validated before anything connects; errors are
    ``InputError``s. ``selection`` is ``list_targets``'s answer when the caller has
    it already. ``overrides`` set ``SshOptions`` fields directly (tests).
    """
    settings = settings or SshSettings()
    options_set = {**settings.overrides(), **{k: v for k, v in overrides.items() if v is not None}}
    if fleet is not None:
        from auditor.simulate.server import SimulatedFleet  # starts listeners: only when asked

        parsed = load_fleet(fleet)
        chosen = selection or select(_fleet_inventory(parsed), limit)
        names = {host.name for host in chosen.hosts}
        parsed = dataclasses.replace(parsed, hosts=tuple(h for h in parsed.hosts if h.name in names))
        async with SimulatedFleet(parsed) as sim:
            options = sim.options(**options_set)
            yield Targets(fleet_label(parsed), sim.hosts, options, chosen.unmatched)
        return
    chosen = selection or select(load_inventories(_sources(inventory)), limit)
    accept_new_file = None
    if settings.accept_new:
        accept_new_file = (
            Path(settings.accept_new_file).expanduser() if settings.accept_new_file else default_accept_new_file()
        )
    config = config_paths(settings.ssh_config)
    username = options_set.get("username")
    # Resolved once, before connecting: a broken ~/.ssh/config is a usage error found now, and
    # the known_hosts files it names for these hosts are loaded with the others.
    ssh_targets = (
        {h.name: resolve_ssh(h.address, config, h.user or username, h.port) for h in chosen.hosts} if config else {}
    )
    if settings.known_hosts is not None:
        files: tuple[str, ...] = tuple(settings.known_hosts)
    else:
        files = tuple(dict.fromkeys([*KNOWN_HOSTS_FILES, *_config_known_hosts(chosen.hosts, ssh_targets, config)]))
    host_keys = HostKeyTrust.load(files, accept_new_file=accept_new_file)
    options = SshOptions(host_keys=host_keys, config=config, ssh_targets=ssh_targets, **options_set)
    yield Targets(chosen.source, chosen.hosts, options, chosen.unmatched)


def _config_known_hosts(hosts: Sequence[Host], targets: Mapping[str, SshTarget], config: Sequence[str]) -> list[str]:
    """``UserKnownHostsFile``/``GlobalKnownHostsFile`` that ~/.ssh/config names for the hosts and their jump hosts."""
    files = [f for target in targets.values() for f in target.known_hosts_files]
    jumps = {h.proxy_jump or targets[h.name].proxy_jump for h in hosts if h.name in targets}
    for spec in filter(None, jumps):
        for hop in spec.split(","):
            user, address, port = parse_hop(hop.strip())
            files.extend(resolve_ssh(address, config, user, port).known_hosts_files)
    return files


def _sources(inventory: str | Sequence[str] | None) -> list[str]:
    if inventory is None:
        raise ValueError("open_targets needs an inventory or a fleet")
    return [inventory] if isinstance(inventory, str) else list(inventory)


def fleet_label(fleet: Fleet) -> str:
    """How reports name a simulated fleet's run."""
    return f"{fleet.name} (simulated)"


def _fleet_inventory(fleet: Fleet) -> Inventory:
    """A fleet file's hosts, groups and vars, for --limit and offline work (addresses come when it starts)."""
    return Inventory.from_hosts(
        [
            Host(h.name, h.name, groups=tuple(sorted(set(h.groups))), vars={"simulated": True, **h.vars})
            for h in fleet.hosts
        ],
        fleet.source,
    )


def policy_request(policy: Policy) -> Callable[[Host], str | ProbeCall]:
    """Per-host probe requests: the engine templates of every rule that may select the host.

    GPU-model selectors are judged only after probing, so a rule limited to one GPU
    model still sends its templates; evaluation then ignores what does not apply.
    A policy with reference engines sends their plans in the program
    (``auditor.reference.shipment.reference_calls``).
    """
    if policy.references:
        from auditor.reference.library import load_library
        from auditor.reference.shipment import reference_calls

        return reference_calls(policy, load_library(policy.engine_library))
    cache: dict[tuple[str, ...], str] = {}

    def request(host: Host) -> str:
        engines = tuple(policy.engine_templates_for(host))
        if engines not in cache:
            cache[engines] = encode_request(engines=engines)
        return cache[engines]

    return request


async def audit(
    hosts: Sequence[Host],
    policy: Policy,
    options: SshOptions,
    request: str | Callable[[Host], str | ProbeCall] | None = None,
) -> AsyncIterator[AuditEvent]:
    """Probe and assess every host; events arrive as hosts progress.

    Fleet-level checks (group consistency) need every host: ``collect`` adds them.
    When the sweep finishes, the hosts that could not be audited (unreachable or
    error) are written to ``options.retry_file``, one name a line, for
    ``--limit @FILE`` (an empty file when every host was audited).
    """
    incomplete: set[str] = set()
    asked = request or policy_request(policy)

    def payload(host: Host) -> Payload:
        call = asked(host) if callable(asked) else asked
        return probe_payload(call if isinstance(call, ProbeCall) else ProbeCall(call))

    async for event in run_probes(hosts, options, payload):
        report = assess(event.host, event.outcome, policy) if event.outcome is not None else None
        if report is not None and report.verdict.incomplete:
            incomplete.add(report.name)
        yield AuditEvent(event.host, event.state, report)
    if options.retry_file:
        write_retry_file(Path(options.retry_file), [h.name for h in hosts if h.name in incomplete])


def probe_payload(call: ProbeCall) -> Payload:
    """What the transport sends for ``call``: the host's python3 reading the probe program on stdin."""
    return Payload(remote_command(call.request), call.source)


def write_retry_file(path: Path, names: Sequence[str]) -> None:
    """Replace ``path`` with ``names``, one per line (``write_atomic``: a unique temporary name, so two runs never race)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, "".join(f"{name}\n" for name in names))
    except OSError as exc:
        log.warning("could not write the retry file %s: %s", path, exc.strerror or exc)
    except ReportWriteError as exc:
        log.warning("could not write the retry file: %s", exc)


async def collect(
    targets: Targets,
    policy: Policy,
    on_event: Callable[[AuditEvent], None] | None = None,
    request: str | Callable[[Host], str | ProbeCall] | None = None,
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
        notes=(*policy.notes, *targets.options.host_keys.notes()),
    )
