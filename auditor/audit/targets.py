"""What an audit reaches: inventories or a simulated fleet, ``--limit``, and how to reach the hosts.

``list_targets`` answers which hosts an audit would contact without contacting them;
``open_targets`` resolves them (``~/.ssh/config``, known_hosts, a simulated fleet started
here and stopped on exit) into ``Targets``: the hosts and their ``SshOptions``.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.inventory import Host, Inventory, load_inventories
from auditor.inventory.hostnames import parse_hop
from auditor.inventory.patterns import Selection, select
from auditor.records import record
from auditor.transport.hostkeys import KNOWN_HOSTS_FILES, HostKeyTrust
from auditor.transport.options import SshOptions, default_accept_new_file
from auditor.transport.sshconfig import SshTarget, config_paths
from auditor.transport.sshconfig import resolve as resolve_ssh

if TYPE_CHECKING:  # a simulated fleet's file format loads only for --simulate and --demo
    from auditor.simulate.fleet import Fleet


@record
class Targets:
    """The hosts of one audit and how to reach them; ``name`` labels reports.

    ``unmatched`` lists the parts of ``--limit`` that matched no host (worth a warning).
    """

    name: str
    hosts: tuple[Host, ...]
    options: SshOptions
    unmatched: tuple[str, ...] = ()


@record
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
        from auditor.simulate.fleet import load_fleet

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
        from auditor.simulate.fleet import load_fleet
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
