"""Ansible inventories: the hosts to audit, their groups, variables and how to reach them.

``load_inventories(["prod.ini", "extra/"])`` reads INI, YAML and
``ansible-inventory --list`` JSON inventories, directories of them, and
``host1,host2`` lists, with ``group_vars/`` and ``host_vars/`` beside them, merged
in Ansible's order (``auditor.inventory.model``). Each host becomes a ``Host``
with the connection variables Ansible's ssh connection reads; where Ansible
accepts two names the later one wins, as there:

- address: ``ansible_host``, ``ansible_ssh_host`` (else the inventory name);
- port: ``ansible_port``, ``ansible_ssh_port``; user: ``ansible_user``, ``ansible_ssh_user``;
- key: ``ansible_private_key_file``, ``ansible_ssh_private_key_file``;
- ``ProxyJump`` / ``ProxyCommand`` (``-J``, ``-o``) from ``ansible_ssh_common_args``
  and ``ansible_ssh_extra_args``; other ssh options there are ignored.

A connection variable may refer to other variables as ``{{ name }}``; any other
Jinja is refused (auditor does not run templates) with the host's location.

The package owns the inventory files (``sources``, ``ini_format``, ``yaml_format``,
``varsdirs``, ``model``), host names (``hostnames``, ``ranges``) and ``--limit`` host
patterns (``patterns``). It is the bottom layer: it imports only the foundations
(``auditor.errors``, ``auditor.text``, ``auditor.yamlsrc``).
"""

from __future__ import annotations

import functools
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.errors import InputError, InputErrors, Location
from auditor.inventory import hostnames
from auditor.records import record

if TYPE_CHECKING:  # the file formats (and YAML) load when an inventory is read, not for ``Host`` alone
    from auditor.inventory.model import ResolvedHost

__all__ = ["Host", "Inventory", "load_inventories", "load_inventory"]


@record
class Host:
    """One target: where to connect and what the inventory says about it.

    ``port``/``user``/``key_file`` are None when the inventory leaves them to
    ``~/.ssh/config`` and OpenSSH's defaults. ``groups`` lists every group the
    host belongs to through children too (``all`` left out; ``ungrouped`` for a
    host in no group), sorted.
    """

    name: str
    address: str
    port: int | None = None
    user: str | None = None
    key_file: str | None = None
    groups: tuple[str, ...] = ()
    vars: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)
    proxy_jump: str | None = None
    proxy_command: str | None = None

    def in_group(self, group: str) -> bool:
        """True for ``all`` and for every group the host belongs to, through children too."""
        return group == "all" or group in self.groups


@record
class Inventory:
    """Hosts in declaration order; every group's hosts (through children) in Ansible's order."""

    hosts: tuple[Host, ...]
    groups: Mapping[str, tuple[str, ...]]
    source: str

    @functools.cached_property
    def _by_name(self) -> dict[str, Host]:
        return {host.name: host for host in self.hosts}

    def host(self, name: str) -> Host:
        """The host called ``name`` (KeyError if absent)."""
        return self._by_name[name]

    @classmethod
    def from_hosts(cls, hosts: Sequence[Host], source: str) -> Inventory:
        """An inventory of hosts that carry their own groups (a simulated fleet, say)."""
        groups: dict[str, list[str]] = {"all": [h.name for h in hosts], "ungrouped": []}
        for host in hosts:
            if not host.groups:
                groups["ungrouped"].append(host.name)
            for group in host.groups:
                groups.setdefault(group, []).append(host.name)
        return cls(hosts=tuple(hosts), groups={g: tuple(n) for g, n in groups.items()}, source=source)


def load_inventory(path: str | Path) -> Inventory:
    """One inventory source (file, directory or host list); see ``load_inventories``."""
    return load_inventories([str(path)])


def load_inventories(sources: Sequence[str]) -> Inventory:
    """Read sources in order into one inventory. Every problem is an located ``InputError``."""
    from auditor.inventory.sources import load_sources

    resolved = load_sources(sources)
    hosts: list[Host] = []
    errors: list[InputError] = []
    for entry in resolved.hosts:
        try:
            hosts.append(_make_host(entry))
        except InputError as exc:
            errors.append(InputError(f"host {entry.name!r}: {exc.message}", entry.where or Location(resolved.source)))
    if errors:
        raise InputErrors(errors)
    return Inventory(hosts=tuple(hosts), groups=resolved.groups, source=resolved.source)


def _make_host(entry: ResolvedHost) -> Host:
    variables = entry.vars

    def pick(*names: str) -> Any:
        value = None
        for name in names:
            if variables.get(name) is not None:
                value = _render(variables[name], name, entry)
        return value

    port = pick("ansible_port", "ansible_ssh_port")
    if port is not None:
        try:
            port = int(port)
        except (TypeError, ValueError):
            raise InputError(f"ansible_port must be a number, got {port!r}") from None
        if not 0 < port < 65536:
            raise InputError(f"ansible_port {port} is out of range")
    user = pick("ansible_user", "ansible_ssh_user")
    key_file = pick("ansible_private_key_file", "ansible_ssh_private_key_file")
    ssh_args = " ".join(str(a) for a in (pick("ansible_ssh_common_args"), pick("ansible_ssh_extra_args")) if a)
    proxy_jump, proxy_command = _proxies(ssh_args)
    address = str(pick("ansible_host", "ansible_ssh_host") or entry.name)
    _check_names(entry.name, address, None if user is None else str(user), proxy_jump, proxy_command)
    return Host(
        name=entry.name,
        address=address,
        port=port,
        user=None if user is None else str(user),
        key_file=None if key_file is None else _expanded(str(key_file)),
        groups=tuple(g for g in entry.groups if g != "all"),
        vars=dict(variables),
        proxy_jump=proxy_jump,
        proxy_command=proxy_command,
    )


@functools.lru_cache(maxsize=64)
def _expanded(key_file: str) -> str:
    """``~`` expanded: a fleet names one key file for all its hosts, and this runs once for it."""
    return str(Path(key_file).expanduser())


_PLAIN_NAME = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_.:-]*")  # letters, digits and . _ : - (not first): no rule refuses


def _check_names(name: str, address: str, user: str | None, proxy_jump: str | None, proxy_command: str | None) -> None:
    """OpenSSH's rules for what reaches ssh and ProxyCommand expansions (``hostnames``); InputError if broken."""
    plain = _PLAIN_NAME.fullmatch
    if plain(name) and plain(address) and (user is None or plain(user)) and not proxy_jump and not proxy_command:
        return  # nearly every host: nothing any rule of ``hostnames`` looks for
    problems = [f"inventory name {problem}" for problem in [hostnames.name_problem(name)] if problem] + [
        f"address {problem}" for problem in [hostnames.address_problem(address)] if problem
    ]
    if user is not None:
        problems += [f"ansible_user {problem}" for problem in [hostnames.user_problem(user)] if problem]
    for hop in (proxy_jump or "").split(","):
        if hop.strip():
            hop_user, hop_address, _ = hostnames.parse_hop(hop.strip())
            problems += [f"ProxyJump host {p}" for p in [hostnames.address_problem(hop_address)] if p]
            if hop_user is not None:
                problems += [f"ProxyJump user {p}" for p in [hostnames.user_problem(hop_user)] if p]
    if proxy_command:
        problems += [p for p in [hostnames.proxy_command_problem(proxy_command)] if p]
    if problems:
        raise InputError("; ".join(problems))


_REFERENCE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def _render(value: Any, name: str, entry: ResolvedHost, depth: int = 0) -> Any:
    """``{{ variable }}`` references in a connection variable, resolved from the host's vars."""
    if not isinstance(value, str) or "{" not in value:
        return value
    magic = {"inventory_hostname": entry.name, "inventory_hostname_short": entry.name.split(".")[0]}

    def lookup(match: re.Match[str]) -> str:
        key = match.group(1)
        if key in magic:
            return magic[key]
        if key not in entry.vars:
            raise InputError(f"{name} refers to {{{{ {key} }}}}, which is not defined for this host")
        if depth >= 5:
            raise InputError(f"{name}: variables refer to each other too deeply")
        return str(_render(entry.vars[key], key, entry, depth + 1))

    rendered = _REFERENCE.sub(lookup, value)
    if "{{" in rendered or "{%" in rendered:
        raise InputError(f"{name} is a Jinja template ({value!r}); auditor resolves only {{{{ variable }}}} references")
    return rendered


def _proxies(ssh_args: str) -> tuple[str | None, str | None]:
    """ProxyJump and ProxyCommand from ssh command-line arguments (first one wins, like ssh)."""
    if not ssh_args:
        return None, None
    try:
        tokens = shlex.split(ssh_args)
    except ValueError as exc:
        raise InputError(f"cannot split ansible_ssh_common_args/extra_args: {exc}") from None
    found: dict[str, str] = {}
    options: list[str] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        for flag, key in (("-o", None), ("-J", "proxyjump")):
            if token == flag and index + 1 < len(tokens):
                index += 1
                value = tokens[index]
            elif token.startswith(flag) and len(token) > 2:
                value = token[2:]
            else:
                continue
            options.append(f"{key}={value}" if key else value)
        index += 1
    for option in options:
        parts = re.split(r"\s*=\s*|\s+", option.strip(), maxsplit=1)
        key, value = parts[0].lower(), (parts[1].strip() if len(parts) > 1 else "")
        if key in ("proxyjump", "proxycommand") and key not in found:
            found[key] = value
    jump = found.get("proxyjump")
    command = found.get("proxycommand")
    return (None if not jump or jump.lower() == "none" else jump), (
        None if not command or command.lower() == "none" else command
    )
