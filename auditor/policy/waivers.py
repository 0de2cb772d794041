"""Waivers: findings accepted for a while, in their own file, reviewed like code.

``schema: auditor.waivers/1``::

    schema: auditor.waivers/1
    waivers:
      - finding: "driver.eol"            # a finding's rule id, or a glob ("fleet-driver/driver.*")
        hosts: ["t4-edge-*"]             # host-name globs (a single string is fine)
        reason: "Edge boxes move to R580 with the Q1 hardware refresh."
        owner: "edge-ops@example.com"
        expires: 2027-03-31              # holds through this date, lapses the day after

Every key is required. A waived finding stays in every output, marked ``waived``
with the waiver (reason, owner, expiry, file:line), and no longer counts toward the
host's verdict. An **expired** waiver fails loudly rather than silently: the findings
it covered count again, each says the waiver expired (and where it is), and the
report carries a run-level note. It is not an input error, so an expiry date can
never stop an audit (the urgent one included) from running; ``auditor check``
lists expired waivers and ``--strict`` makes them fatal there.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from auditor.errors import InputError, InputErrors, Location
from auditor.findings import Finding
from auditor.policy.model import Waiver
from auditor.yamlsrc import as_text, check_keys, load_yaml, require_list, require_map, type_name

SCHEMA = "auditor.waivers/1"
WAIVER_KEYS = ("finding", "hosts", "reason", "owner", "expires")


def load_waivers(path: str | Path) -> tuple[Waiver, ...]:
    """Read and validate a waivers file; every problem at once, located."""
    data = load_yaml(path)
    where = Location(str(path), 1)
    if data is None:
        raise InputError("waivers file is empty", where)
    node = require_map(data, "a waivers file", where)
    errors = check_keys(node, ("schema", "waivers"), "the waivers file", required=("schema", "waivers"))
    if "schema" in node and node["schema"] != SCHEMA:
        errors.append(InputError(f"schema must be {SCHEMA!r}, got {node['schema']!r}", node.loc("schema")))
    waivers: list[Waiver] = []
    if "waivers" in node:
        try:
            items = require_list(node["waivers"], "'waivers'", node.loc("waivers"))
        except InputError as exc:
            errors.append(exc)
            items = None
        for index, raw in enumerate(items if items is not None else []):
            assert items is not None
            try:
                waivers.append(_waiver(raw, items.loc(index), index))
            except InputError as exc:
                errors.extend(exc.problems)
    if errors:
        raise InputErrors(errors)
    return tuple(waivers)


def _waiver(raw: Any, where: Location, index: int) -> Waiver:
    what = f"waiver #{index + 1}"
    node = require_map(raw, what, where)
    errors = check_keys(node, WAIVER_KEYS, what, required=WAIVER_KEYS)
    values: dict[str, Any] = {}
    for key in ("finding", "reason", "owner"):
        if key in node:
            try:
                text = as_text(node[key], f"'{key}'", node.loc(key)).strip()
                if not text:
                    raise InputError(f"'{key}' must not be empty", node.loc(key))
                values[key] = text
            except InputError as exc:
                errors.append(exc)
    if "hosts" in node:
        raw_hosts = node["hosts"]
        try:
            if isinstance(raw_hosts, str):
                values["hosts"] = (raw_hosts,)
            else:
                hosts = require_list(raw_hosts, "'hosts'", node.loc("hosts"))
                values["hosts"] = tuple(as_text(h, "a host pattern", hosts.loc(i)) for i, h in enumerate(hosts))
                if not values["hosts"]:
                    raise InputError("'hosts' must name at least one host pattern", node.loc("hosts"))
        except InputError as exc:
            errors.append(exc)
    if "expires" in node:
        try:
            values["expires"] = _date(node["expires"], node.loc("expires"))
        except InputError as exc:
            errors.append(exc)
    if errors:
        raise InputErrors(errors)
    return Waiver(location=where, **values)


def _date(raw: Any, where: Location) -> datetime.date:
    if isinstance(raw, datetime.datetime):
        return raw.date()
    if isinstance(raw, datetime.date):
        return raw
    if isinstance(raw, str):
        try:
            return datetime.date.fromisoformat(raw.strip())
        except ValueError:
            pass
    raise InputError(f"'expires' must be a date like 2027-03-31, got {type_name(raw)} {raw!r}", where)


def apply_waivers(
    waivers: Iterable[Waiver], host_name: str, findings: Iterable[Finding], today: datetime.date
) -> tuple[Finding, ...]:
    """Mark the findings a waiver covers: waived while it holds, loudly unwaived once expired.

    The first matching waiver decides (file order); a valid waiver wins over an
    expired one for the same finding.
    """
    waivers = list(waivers)
    result = []
    for finding in findings:
        matching = [w for w in waivers if w.matches(host_name, finding.rule)]
        active = next((w for w in matching if not w.expired(today)), None)
        if active is not None:
            result.append(replace(finding, waived=True, waiver=describe(active, "active")))
        elif matching:
            lapsed = matching[0]
            result.append(
                replace(
                    finding,
                    waiver=describe(lapsed, "expired"),
                    message=f"{finding.message} [waiver EXPIRED {lapsed.expires.isoformat()}, {lapsed.location}]",
                )
            )
        else:
            result.append(finding)
    return tuple(result)


def describe(waiver: Waiver, status: str) -> dict[str, str]:
    """The ``waiver`` object a finding carries in every output."""
    return {
        "reason": waiver.reason,
        "owner": waiver.owner,
        "expires": waiver.expires.isoformat(),
        "source": str(waiver.location),
        "status": status,
    }
