"""Policy files: which versions each group of hosts may run.

A policy (``schema: auditor.policy/1``) is a list of rules. Each rule selects hosts
(inventory groups, host-name globs, GPU-name globs; all hosts when ``select`` is
absent) and bounds component versions::

    schema: auditor.policy/1
    name: production
    rules:
      - id: baseline
        select: {groups: [serving]}
        driver:   {min: "535.104.05", max: "580", deny: ["550.54.14"]}
        cuda:     {min: "12.2"}          # installed toolkits
        cuda_driver: {min: "12.2"}       # the CUDA version the driver supports
        tensorrt: {min: "8.6.1", allow: ["8.6.1.6", "10.3.0.26"]}
        gpus:     {count: 8}

``min`` is a floor (below -> upgrade); ``max`` a ceiling and ``deny`` a deny list
(-> rollback), both matching by prefix (``max: "580"`` admits 580.95.05);
``allow`` lists the only versions accepted; ``required: false`` makes a missing
component acceptable. Every rule and bound keeps its ``file:line`` so findings
can cite it.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor import versions
from auditor.errors import InputError, InputErrors, Location
from auditor.inventory import Host
from auditor.yamlsrc import (
    YamlMap,
    as_text,
    check_keys,
    load_yaml,
    require_list,
    require_map,
    type_name,
)

SCHEMA = "auditor.policy/1"
COMPONENTS = ("driver", "cuda_driver", "cuda", "tensorrt")
BOUND_KEYS = ("min", "max", "deny", "allow", "required")
SELECT_KEYS = ("groups", "hosts", "gpus")
RULE_KEYS = ("id", "description", "select", *COMPONENTS, "gpus")
TOP_KEYS = ("schema", "name", "description", "rules")


@dataclass(frozen=True)
class Bounds:
    """Allowed versions of one component, with where each bound was written."""

    component: str
    min: str | None = None
    max: str | None = None
    deny: tuple[str, ...] = ()
    allow: tuple[str, ...] = ()
    required: bool = True
    where: dict[str, Location] = field(default_factory=dict, compare=False, hash=False)

    def cite(self, key: str) -> str:
        """``file:line`` of one bound (falls back to the component's line)."""
        return str(self.where.get(key) or self.where.get("component") or "")


@dataclass(frozen=True)
class Selector:
    """Which hosts a rule applies to: all listed criteria must hold; an empty list is "any"."""

    groups: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()
    gpus: tuple[str, ...] = ()

    def matches(self, host: Host, gpu_names: Sequence[str] = ()) -> bool:
        """True when ``host`` (with the GPU names its probe reported) is selected."""
        if self.groups and not any(host.in_group(g) for g in self.groups):
            return False
        if self.hosts and not any(fnmatch.fnmatchcase(host.name, p) for p in self.hosts):
            return False
        if self.gpus and not any(fnmatch.fnmatchcase(name.lower(), p.lower()) for p in self.gpus for name in gpu_names):
            return False
        return True


@dataclass(frozen=True)
class Rule:
    """One policy rule: a selector and the bounds it imposes."""

    id: str
    select: Selector
    bounds: tuple[Bounds, ...]
    gpu_count: int | None
    location: Location
    gpu_count_location: Location | None = None
    description: str | None = None


@dataclass(frozen=True)
class Policy:
    """A loaded, validated policy."""

    name: str
    source: str
    rules: tuple[Rule, ...]

    def rules_for(self, host: Host, gpu_names: Sequence[str] = ()) -> list[Rule]:
        """The rules that apply to ``host``, in file order."""
        return [rule for rule in self.rules if rule.select.matches(host, gpu_names)]


EMPTY_POLICY = Policy(name="(no policy: built-in checks only)", source="", rules=())


def load_policy(path: str | Path) -> Policy:
    """Read and validate a policy file; every problem is reported at once, with file:line."""
    data = load_yaml(path)
    where = Location(str(path), 1)
    if data is None:
        raise InputError("policy is empty", where)
    return parse_policy(require_map(data, "a policy", where), str(path))


def parse_policy(data: YamlMap, source: str) -> Policy:
    """Validate parsed YAML as a policy."""
    errors = check_keys(data, TOP_KEYS, "the policy", required=("schema", "rules"))
    if "schema" in data and data["schema"] != SCHEMA:
        errors.append(InputError(f"schema must be {SCHEMA!r}, got {data['schema']!r}", data.loc("schema")))
    rules: list[Rule] = []
    raw_rules = data.get("rules")
    if raw_rules is not None:
        try:
            items = require_list(raw_rules, "'rules'", data.loc("rules"))
        except InputError as exc:
            errors.append(exc)
            items = None
        seen: dict[str, Location] = {}
        for index, raw in enumerate(items or []):
            where = items.loc(index) if items is not None else data.loc("rules")
            rule_id = raw.get("id") if isinstance(raw, dict) else None
            if isinstance(rule_id, str):
                if rule_id in seen:
                    errors.append(InputError(f"rule id {rule_id!r} is used twice (also at {seen[rule_id]})", where))
                seen[rule_id] = where
            try:
                rules.append(_rule(raw, where, index))
            except InputErrors as exc:
                errors.extend(exc.errors)
            except InputError as exc:
                errors.append(exc)
    if errors:
        raise InputErrors(errors)
    name = data.get("name")
    return Policy(name=str(name) if name else Path(source).stem, source=source, rules=tuple(rules))


def _rule(raw: Any, where: Location, index: int) -> Rule:
    node = require_map(raw, f"rule #{index + 1}", where)
    errors = check_keys(node, RULE_KEYS, f"rule #{index + 1}")
    rule_id = as_text(node["id"], "'id'", node.loc("id")) if "id" in node else f"rule-{index + 1}"
    select = Selector()
    if "select" in node:
        try:
            select = _selector(node["select"], node.loc("select"))
        except InputErrors as exc:
            errors.extend(exc.errors)
        except InputError as exc:
            errors.append(exc)
    bounds = []
    for component in COMPONENTS:
        if component in node:
            try:
                bounds.append(_bounds(component, node[component], node.loc(component)))
            except InputErrors as exc:
                errors.extend(exc.errors)
            except InputError as exc:
                errors.append(exc)
    gpu_count, count_loc = None, None
    if "gpus" in node:
        try:
            gpus = require_map(node["gpus"], "'gpus'", node.loc("gpus"))
            errors.extend(check_keys(gpus, ("count",), "'gpus'"))
            if "count" in gpus:
                count = gpus["count"]
                if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                    errors.append(
                        InputError(f"'count' must be a whole number, got {type_name(count)}", gpus.loc("count"))
                    )
                else:
                    gpu_count, count_loc = count, gpus.loc("count")
        except InputError as exc:
            errors.append(exc)
    if errors:
        raise InputErrors(errors)
    description = node.get("description")
    return Rule(
        id=rule_id,
        select=select,
        bounds=tuple(bounds),
        gpu_count=gpu_count,
        location=where,
        gpu_count_location=count_loc,
        description=str(description) if description else None,
    )


def _selector(raw: Any, where: Location) -> Selector:
    node = require_map(raw, "'select'", where)
    errors = check_keys(node, SELECT_KEYS, "'select'")
    values: dict[str, tuple[str, ...]] = {}
    for key in SELECT_KEYS:
        if key in node:
            try:
                values[key] = _text_list(node[key], f"'{key}'", node.loc(key))
            except InputError as exc:
                errors.append(exc)
    if errors:
        raise InputErrors(errors)
    return Selector(**values)


def _bounds(component: str, raw: Any, where: Location) -> Bounds:
    node = require_map(raw, f"'{component}'", where)
    errors = check_keys(node, BOUND_KEYS, f"'{component}'")
    fields: dict[str, Any] = {}
    locations = {"component": where}
    for key in ("min", "max"):
        if key in node:
            try:
                fields[key] = _version(node[key], f"'{component}.{key}'", node.loc(key))
                locations[key] = node.loc(key)
            except InputError as exc:
                errors.append(exc)
    for key in ("deny", "allow"):
        if key in node:
            try:
                items = _text_list(node[key], f"'{component}.{key}'", node.loc(key))
                for item in items:
                    _version(item, f"an entry of '{component}.{key}'", node.loc(key))
                fields[key] = items
                locations[key] = node.loc(key)
            except InputError as exc:
                errors.append(exc)
    if "required" in node:
        if not isinstance(node["required"], bool):
            errors.append(
                InputError(f"'required' must be true or false, got {type_name(node['required'])}", node.loc("required"))
            )
        else:
            fields["required"] = node["required"]
            locations["required"] = node.loc("required")
    if "min" in fields and "max" in fields and not versions.at_most(fields["min"], fields["max"]):
        errors.append(InputError(f"'{component}': min {fields['min']} is above max {fields['max']}", where))
    if errors:
        raise InputErrors(errors)
    return Bounds(component=component, where=locations, **fields)


def _version(raw: Any, what: str, where: Location) -> str:
    text = as_text(raw, what, where)
    if not versions.is_version(text):
        raise InputError(f"{what} must be a version like 535.104.05 or 12.2, got {text!r}", where)
    return text


def _text_list(raw: Any, what: str, where: Location) -> tuple[str, ...]:
    if isinstance(raw, (str, int, float)) and not isinstance(raw, bool):
        return (as_text(raw, what, where),)
    items = require_list(raw, what, where)
    return tuple(as_text(item, f"an entry of {what}", items.loc(i)) for i, item in enumerate(items))
