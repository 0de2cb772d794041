"""``auditor inventory``: the hosts an inventory resolves to, without contacting any.

Like ``ansible-inventory --list``, in auditor's terms: each host's address, port,
user, every group it belongs to (through children) and its merged variables.
``--ssh`` adds what ``~/.ssh/config`` makes of each host (like ``ssh -G``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from typing import Any

from auditor.inventory import Host, load_inventories
from auditor.inventory.patterns import select
from auditor.text import clean, count


def add_parser(subparsers: argparse._SubParsersAction, summary: str, epilog: str) -> None:
    parser = subparsers.add_parser(
        "inventory",
        help=summary,
        description="Resolve Ansible inventories as Ansible does and print the hosts, their groups and variables.",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "-i",
        "--inventory",
        metavar="INV",
        action="append",
        required=True,
        help="inventory file, directory or host1,host2 list (repeat to merge, in order)",
    )
    parser.add_argument("-l", "--limit", metavar="PATTERN", help="only the hosts an Ansible pattern selects")
    parser.add_argument(
        "--json", action="store_true", help='print {"hosts": {NAME: {address, port, user, groups, vars}}}'
    )
    parser.add_argument(
        "--ssh",
        action="store_true",
        help="also show the effective SSH settings of each host from ~/.ssh/config (like ssh -G)",
    )
    parser.add_argument("-F", "--ssh-config", metavar="FILE", help="ssh client config for --ssh ('none' for none)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    inventory = load_inventories(args.inventory)
    selection = select(inventory, args.limit)
    for pattern in selection.unmatched:
        print(f"auditor: warning: --limit: {pattern!r} matches no group or host", file=sys.stderr)
    effective: dict[str, dict[str, Any]] = {}
    if args.ssh:
        from auditor.transport.sshconfig import config_paths, resolve  # asyncssh's config parser: only when asked

        paths = config_paths(args.ssh_config)
        effective = {h.name: resolve(h.address, paths, h.user, h.port).to_json() for h in selection.hosts}
    if args.json:
        document = {"hosts": {h.name: host_json(h, effective.get(h.name)) for h in selection.hosts}}
        sys.stdout.write(json.dumps(document, indent=2, default=_json_default) + "\n")
    else:
        sys.stdout.write(render_table(selection.hosts, effective))
    return 0


def host_json(host: Host, ssh: dict[str, Any] | None = None) -> dict[str, Any]:
    """One host as ``auditor inventory --json`` prints it."""
    entry: dict[str, Any] = {
        "address": host.address,
        "port": host.port,
        "user": host.user,
        "groups": list(host.groups),
        "vars": dict(host.vars),
    }
    if ssh is not None:
        entry["ssh"] = ssh
    return entry


def render_table(hosts: tuple[Host, ...], effective: dict[str, dict[str, Any]]) -> str:
    """Aligned columns: name, address:port, user, groups (and the SSH view with ``--ssh``); every cell cleaned."""
    rows: list[tuple[str, ...]] = [("HOST", "ADDRESS", "USER", "GROUPS")]
    for host in hosts:
        address = host.address if host.port is None else f"{host.address}:{host.port}"
        rows.append((host.name, address, host.user or "-", ",".join(host.groups)))
    if effective:
        rows = [(*rows[0], "SSH (EFFECTIVE)")] + [
            (*row, _ssh_cell(effective[host.name])) for row, host in zip(rows[1:], hosts, strict=True)
        ]
    rows = [tuple(clean(cell, 1 << 16) for cell in row) for row in rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.append(count(len(hosts), "host"))
    return "\n".join(lines) + "\n"


def _ssh_cell(ssh: dict[str, Any]) -> str:
    cell = f"{ssh['user']}@{ssh['hostname']}:{ssh['port']}"
    if ssh["proxy_jump"]:
        cell += f" via {ssh['proxy_jump']}"
    if ssh["proxy_command"]:
        cell += f" via proxy command {ssh['proxy_command']!r}"
    return cell


def _json_default(value: object) -> str:
    """YAML dates and other non-JSON values, as text (dates in ISO 8601)."""
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return str(value)
