"""Policy files: one read and validated (every problem found at once, located, with did-you-mean),
several merged in order, with the waivers file (``load_policies``).

The shape is documented in ``auditor.policy``; this module only turns YAML into its
values. Unknown keys, wrong types, bad versions, unknown built-in checks, bounds that
contradict each other (min above max, a target outside the bounds) and malformed
engine templates are all ``InputError``s carrying ``file:line``.
"""

from __future__ import annotations

import datetime
import re
import string
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from auditor import versions
from auditor.errors import InputError, InputErrors, Location
from auditor.facts.images import BadReference, parse_reference
from auditor.findings import Action, Severity
from auditor.knowledge import tensorrt as trt_kb
from auditor.policy.model import (
    COMPONENTS,
    CONSISTENT_COMPONENTS,
    EMPTY_POLICY,
    MIG_MODES,
    SCHEMA,
    Bounds,
    Disabled,
    ImagePin,
    MigRequirement,
    Policy,
    RequiredEngine,
    RequiredPlugin,
    RequiredReference,
    Rule,
    Selector,
    Stack,
    Waiver,
)
from auditor.policy.waivers import load_waivers
from auditor.records import record
from auditor.yamlsrc import (
    YamlList,
    YamlMap,
    as_text,
    check_keys,
    did_you_mean,
    load_yaml,
    require_list,
    require_map,
    type_name,
)

TOP_KEYS = ("schema", "name", "description", "stacks", "rules")
BOUND_KEYS = ("min", "max", "deny", "allow", "version", "target", "required")
SELECT_KEYS = ("groups", "hosts", "gpus")
STACK_KEYS = ("description", "image", *COMPONENTS, "engines", "reference", "plugins")
RULE_KEYS = (
    "id",
    "description",
    "select",
    "stack",
    *COMPONENTS,
    "image",
    "engines",
    "gpus",
    "consistent",
    "disable",
    "severity",
    "action",
    "remediation",
    "reference",
    "plugins",
    "mig",
)
PLACEHOLDERS = ("cc", "sm", "gpu")
_RULE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_REFERENCE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$")
_PLUGIN_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:+-]{0,127}$")  # a registered creator name (EfficientNMS_TRT)
_MIG_PROFILE = re.compile(r"^[1-9]\d?g\.\d{1,4}gb(?:\+[a-z0-9]{1,16}){0,4}$")  # 3g.71gb, 1g.18gb+me
MIG_KEYS = ("mode", "profiles")
MAX_MIG_INSTANCES = 8  # GPU instances per GPU: seven on today's GPUs, eight memory slices


@record
class PolicyFile:
    """What one file contributes before merging."""

    path: str
    name: str
    stacks: tuple[Stack, ...]
    rules: tuple[Rule, ...]


def read_policy_file(path: str | Path, checks: Collection[str]) -> PolicyFile:
    """Read and validate one policy file."""
    data = load_yaml(path)
    if data is None:
        raise InputError("policy is empty", Location(str(path), 1))
    return parse_policy_file(require_map(data, "a policy", Location(str(path), 1)), str(path), checks)


class _Errors(list[InputError]):
    """Collects located problems; ``attempt`` runs a parser and keeps its errors."""

    def attempt(self, parse: Any, *args: Any) -> Any:
        try:
            return parse(*args)
        except InputError as exc:
            self.extend(exc.problems)
        return None


def parse_policy_file(data: YamlMap, source: str, checks: Collection[str]) -> PolicyFile:
    """Validate parsed YAML as one policy file."""
    errors = _Errors(check_keys(data, TOP_KEYS, "the policy", required=("schema", "rules")))
    if "schema" in data and data["schema"] != SCHEMA:
        errors.append(InputError(f"schema must be {SCHEMA!r}, got {data['schema']!r}", data.loc("schema")))
    stacks: list[Stack] = []
    if "stacks" in data:
        node = errors.attempt(require_map, data["stacks"], "'stacks'", data.loc("stacks"))
        for name, raw in (node or {}).items():
            assert node is not None
            stack = errors.attempt(_stack, name, raw, node.loc(name))
            if stack is not None:
                stacks.append(stack)
    rules: list[Rule] = []
    items: YamlList | None = None
    if "rules" in data:
        items = errors.attempt(require_list, data["rules"], "'rules'", data.loc("rules"))
    seen: dict[str, Location] = {}
    for index, raw in enumerate(items if items is not None else []):
        assert items is not None
        where = items.loc(index)
        rule_id = raw.get("id") if isinstance(raw, dict) else None
        if isinstance(rule_id, str):  # checked before the rule itself, so a broken duplicate still counts
            if rule_id in seen:
                errors.append(InputError(f"rule id {rule_id!r} is used twice (also at {seen[rule_id]})", where))
            seen[rule_id] = where
        rule = errors.attempt(_rule, raw, where, index, checks)
        if rule is not None:
            rules.append(rule)
    if errors:
        raise InputErrors(errors)
    name = data.get("name")
    return PolicyFile(
        path=source, name=str(name) if name else Path(source).stem, stacks=tuple(stacks), rules=tuple(rules)
    )


def _stack(name: str, raw: Any, where: Location) -> Stack:
    node = require_map(raw, f"stack {name!r}", where)
    errors = _Errors(check_keys(node, STACK_KEYS, f"stack {name!r}"))
    bounds = [
        b for c in COMPONENTS if c in node and (b := errors.attempt(_bounds, c, node[c], node.loc(c))) is not None
    ]
    image, pin = (errors.attempt(_image, node["image"], node.loc("image")) if "image" in node else None) or (None, None)
    engines = errors.attempt(_engines, node["engines"], node.loc("engines")) if "engines" in node else ()
    reference = errors.attempt(_reference, node["reference"], node.loc("reference")) if "reference" in node else None
    plugins = errors.attempt(_plugins, node["plugins"], node.loc("plugins")) if "plugins" in node else ()
    if errors:
        raise InputErrors(errors)
    return Stack(
        name=name,
        bounds=tuple(bounds),
        location=where,
        image=image,
        image_location=node.loc("image") if "image" in node else None,
        engines=engines or (),
        description=str(node["description"]) if node.get("description") else None,
        reference=reference,
        plugins=plugins or (),
        image_pin=pin,
    )


def _rule(raw: Any, where: Location, index: int, checks: Collection[str]) -> Rule:
    what = f"rule #{index + 1}"
    node = require_map(raw, what, where)
    errors = _Errors(check_keys(node, RULE_KEYS, what))
    rule_id = f"rule-{index + 1}"
    if "id" in node:
        text = errors.attempt(as_text, node["id"], "'id'", node.loc("id"))
        if text is not None and not _RULE_ID.match(text):
            errors.append(InputError(f"'id' must be letters, digits, '.', '_' or '-', got {text!r}", node.loc("id")))
        rule_id = text or rule_id
    select = errors.attempt(_selector, node["select"], node.loc("select")) if "select" in node else Selector()
    bounds = [
        b for c in COMPONENTS if c in node and (b := errors.attempt(_bounds, c, node[c], node.loc(c))) is not None
    ]
    stack = errors.attempt(as_text, node["stack"], "'stack'", node.loc("stack")) if "stack" in node else None
    image, pin = (errors.attempt(_image, node["image"], node.loc("image")) if "image" in node else None) or (None, None)
    engines = errors.attempt(_engines, node["engines"], node.loc("engines")) if "engines" in node else ()
    reference = errors.attempt(_reference, node["reference"], node.loc("reference")) if "reference" in node else None
    plugins = errors.attempt(_plugins, node["plugins"], node.loc("plugins")) if "plugins" in node else ()
    mig = errors.attempt(_mig, node["mig"], node.loc("mig")) if "mig" in node else None
    gpu_count, count_loc = None, None
    if "gpus" in node:
        gpus = errors.attempt(require_map, node["gpus"], "'gpus'", node.loc("gpus"))
        if gpus is not None:
            errors.extend(check_keys(gpus, ("count",), "'gpus'"))
            count = gpus.get("count")
            if "count" in gpus and (isinstance(count, bool) or not isinstance(count, int) or count < 0):
                errors.append(InputError(f"'count' must be a whole number, got {type_name(count)}", gpus.loc("count")))
            elif "count" in gpus:
                gpu_count, count_loc = count, gpus.loc("count")
    consistent = errors.attempt(_consistent, node["consistent"], node.loc("consistent")) if "consistent" in node else ()
    disable = errors.attempt(_disable, node["disable"], node.loc("disable"), checks) if "disable" in node else ()
    severity = (
        errors.attempt(_enum, Severity, node["severity"], "'severity'", node.loc("severity"))
        if "severity" in node
        else None
    )
    action = errors.attempt(_enum, Action, node["action"], "'action'", node.loc("action")) if "action" in node else None
    remediation = (
        errors.attempt(as_text, node["remediation"], "'remediation'", node.loc("remediation"))
        if "remediation" in node
        else None
    )
    if errors:
        raise InputErrors(errors)
    description = node.get("description")
    return Rule(
        id=rule_id,
        select=select or Selector(),
        bounds=tuple(bounds),
        gpu_count=gpu_count,
        location=where,
        gpu_count_location=count_loc,
        description=str(description) if description else None,
        stack=stack,
        stack_location=node.loc("stack") if stack else None,
        image=image,
        image_location=node.loc("image") if "image" in node else None,
        engines=engines or (),
        consistent=consistent or (),
        consistent_location=node.loc("consistent") if consistent else None,
        disable=disable or (),
        severity=severity,
        action=action,
        remediation=remediation,
        reference=reference,
        plugins=plugins or (),
        image_pin=pin,
        mig=mig,
    )


def _selector(raw: Any, where: Location) -> Selector:
    node = require_map(raw, "'select'", where)
    errors = _Errors(check_keys(node, SELECT_KEYS, "'select'"))
    values = {
        key: errors.attempt(_text_list, node[key], f"'{key}'", node.loc(key)) for key in SELECT_KEYS if key in node
    }
    if errors:
        raise InputErrors(errors)
    return Selector(**{k: v for k, v in values.items() if v is not None})


def _bounds(component: str, raw: Any, where: Location) -> Bounds:
    if not isinstance(raw, (dict, list)) and raw is not None and not isinstance(raw, bool):
        raw = {"version": raw}  # a scalar pins a version: cuda: "12.2"
    node = require_map(raw, f"'{component}'", where)
    errors = _Errors(check_keys(node, BOUND_KEYS, f"'{component}'"))
    fields: dict[str, Any] = {}
    locations = {"component": where}
    for key in ("min", "max", "version", "target"):
        if key in node:
            value = errors.attempt(_version, node[key], f"'{component}.{key}'", node.loc(key))
            if value is not None:
                fields[key], locations[key] = value, node.loc(key)
    for key in ("deny", "allow"):
        if key in node:
            items = errors.attempt(_text_list, node[key], f"'{component}.{key}'", node.loc(key))
            bad = [i for i in items or () if not versions.is_version(i)]
            for item in bad:
                errors.append(
                    InputError(f"an entry of '{component}.{key}' must be a version, got {item!r}", node.loc(key))
                )
            if items is not None and not bad:
                fields[key], locations[key] = items, node.loc(key)
    if "required" in node:
        if not isinstance(node["required"], bool):
            errors.append(
                InputError(f"'required' must be true or false, got {type_name(node['required'])}", node.loc("required"))
            )
        else:
            fields["required"], locations["required"] = node["required"], node.loc("required")
    if "min" in fields and "max" in fields and not versions.at_most(fields["min"], fields["max"]):
        errors.append(InputError(f"'{component}': min {fields['min']} is above max {fields['max']}", where))
    if "target" in fields:
        errors.extend(_check_target(component, fields, locations["target"]))
    if errors:
        raise InputErrors(errors)
    return Bounds(component=component, where=locations, **fields)


def _check_target(component: str, fields: dict[str, Any], where: Location) -> list[InputError]:
    """A target the bounds themselves would flag is a contradiction in the policy."""
    target = fields["target"]
    problems = []
    if fields.get("min") and not versions.at_least(target, fields["min"]):
        problems.append(f"is below min {fields['min']}")
    if fields.get("max") and not versions.at_most(target, fields["max"]):
        problems.append(f"is above max {fields['max']}")
    if any(versions.matches(target, d) for d in fields.get("deny", ())):
        problems.append("is on the deny list")
    if fields.get("allow") and not any(versions.matches(target, a) for a in fields["allow"]):
        problems.append("is not in allow")
    if fields.get("version") and not versions.matches(target, fields["version"]):
        problems.append(f"does not match version {fields['version']}")
    return [InputError(f"'{component}.target' {target} {p}", where) for p in problems]


def _image(raw: Any, where: Location) -> tuple[str | None, ImagePin | None]:
    """``image:``: an NGC image the knowledge base judges (``REPO:YY.MM[-suffix]``), and/or a registry digest pin
    (``REPO[:TAG]@sha256:<64 hex>``, ``REPO@sha256:<64 hex>``). Returns (image to judge, pin); a pinned image whose
    tag the knowledge base cannot judge (an internal image, ``latest``) is pinned only."""
    text = as_text(raw, "'image'", where)
    if "@" not in text:
        try:
            trt_kb.parse_image(text)
        except trt_kb.BadImage as exc:
            raise InputError(f"'image': {exc}", where) from None
        return text, None
    try:
        reference = parse_reference(text)
    except BadReference as exc:
        raise InputError(f"'image': {exc}", where) from None
    if reference.digest is None:
        raise InputError(f"'image': {text!r}: a pin is REPO[:TAG]@sha256:<64 hex digits>", where)
    pin = ImagePin(reference.repository, reference.digest, reference.tag, where)
    if reference.tag is None:
        return None, pin
    tagged = f"{reference.repository}:{reference.tag}"
    try:
        trt_kb.parse_image(tagged)
    except trt_kb.BadImage:
        return None, pin
    return tagged, pin


def _mig(raw: Any, where: Location) -> MigRequirement:
    """``mig: enabled|disabled`` or ``mig: {mode, profiles}``; profiles a list (one per GPU instance) or a
    mapping profile -> count (mig-parted's ``mig-devices`` form), only with MIG enabled."""
    if isinstance(raw, str):
        raw = {"mode": raw}
    node = require_map(raw, "'mig'", where)
    errors = _Errors(check_keys(node, MIG_KEYS, "'mig'", required=("mode",)))
    mode = (
        errors.attempt(_enum_text, node["mode"], MIG_MODES, "'mig.mode'", node.loc("mode")) if "mode" in node else None
    )
    profiles: list[str] = []
    if "profiles" in node:
        loc = node.loc("profiles")
        value = node["profiles"]
        if isinstance(value, dict):
            counts = require_map(value, "'mig.profiles'", loc)
            for name, number in counts.items():
                if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= MAX_MIG_INSTANCES:
                    errors.append(
                        InputError(
                            f"'mig.profiles': the count of {name!r} must be 1 to {MAX_MIG_INSTANCES}", counts.loc(name)
                        )
                    )
                else:
                    profiles += [str(name)] * number
        else:
            profiles += list(errors.attempt(_text_list, value, "'mig.profiles'", loc) or ())
        for name in profiles:
            if not _MIG_PROFILE.match(name):
                errors.append(
                    InputError(f"'mig.profiles': {name!r} is not a MIG profile like 3g.71gb or 1g.18gb+me", loc)
                )
        if len(profiles) > MAX_MIG_INSTANCES:
            errors.append(
                InputError(f"'mig.profiles': {len(profiles)} GPU instances, a GPU has at most {MAX_MIG_INSTANCES}", loc)
            )
        if mode == "disabled" and profiles:
            errors.append(InputError("'mig.profiles' need 'mode: enabled'", loc))
    if errors:
        raise InputErrors(errors)
    assert mode is not None
    return MigRequirement(
        mode=mode,
        location=where,
        profiles=tuple(sorted(profiles)),
        profiles_location=node.loc("profiles") if "profiles" in node else None,
    )


def _enum_text(raw: Any, choices: Sequence[str], what: str, where: Location) -> str:
    text = as_text(raw, what, where)
    if text not in choices:
        raise InputError(
            f"{what} must be one of {', '.join(choices)}, got {text!r}{did_you_mean(text, choices)}", where
        )
    return text


def _engines(raw: Any, where: Location) -> tuple[RequiredEngine, ...]:
    items = require_list(raw, "'engines'", where)
    errors, result = _Errors(), []
    for index, item in enumerate(items):
        loc = items.loc(index)
        text = errors.attempt(as_text, item, "an engine path", loc)
        if text is None:
            continue
        if not text.startswith("/"):
            errors.append(InputError(f"engine path {text!r} must be absolute", loc))
            continue
        try:
            names = [field for _, field, _, _ in string.Formatter().parse(text) if field is not None]
        except ValueError as exc:
            errors.append(InputError(f"engine path {text!r}: {exc}", loc))
            continue
        unknown = [n for n in names if n not in PLACEHOLDERS]
        for name in unknown:
            errors.append(
                InputError(
                    f"engine path {text!r}: unknown placeholder {{{name}}}{did_you_mean(name, PLACEHOLDERS)} "
                    f"(known: {{cc}}, {{sm}}, {{gpu}})",
                    loc,
                )
            )
        if not unknown:
            result.append(RequiredEngine(text, loc))
    if errors:
        raise InputErrors(errors)
    return tuple(result)


def _reference(raw: Any, where: Location) -> RequiredReference:
    """``reference: NAME``: a plan name in the engine library (``auditor engines list``)."""
    text = as_text(raw, "'reference'", where)
    if not _REFERENCE_NAME.match(text):
        raise InputError(
            f"'reference' must be an engine name (letters, digits, '.', '_', '+' or '-'), got {text!r}", where
        )
    return RequiredReference(text, where)


def _plugins(raw: Any, where: Location) -> tuple[RequiredPlugin, ...]:
    """``plugins: [EfficientNMS_TRT, ...]``: the creator names a host's TensorRT plugin registry must hold."""
    items = require_list(raw, "'plugins'", where)
    errors, result = _Errors(), []
    seen: dict[str, Location] = {}
    for index, item in enumerate(items):
        loc = items.loc(index)
        text = errors.attempt(as_text, item, "a plugin name", loc)
        if text is None:
            continue
        if not _PLUGIN_NAME.match(text):
            errors.append(
                InputError(f"'plugins': {text!r} is not a plugin name (letters, digits, '_', '.', ':', '+', '-')", loc)
            )
        elif text in seen:
            errors.append(InputError(f"'plugins': {text!r} is listed twice (also at {seen[text]})", loc))
        else:
            seen[text] = loc
            result.append(RequiredPlugin(text, loc))
    if not items:
        errors.append(InputError("'plugins' names no plugin (leave it out instead)", where))
    if errors:
        raise InputErrors(errors)
    return tuple(result)


def _consistent(raw: Any, where: Location) -> tuple[str, ...]:
    items = _text_list(raw, "'consistent'", where)
    errors = [
        InputError(f"'consistent': unknown component {i!r}{did_you_mean(i, CONSISTENT_COMPONENTS)}", where)
        for i in items
        if i not in CONSISTENT_COMPONENTS
    ]
    if errors:
        raise InputErrors(errors)
    return items


def _disable(raw: Any, where: Location, checks: Collection[str]) -> tuple[Disabled, ...]:
    node = require_map(raw, "'disable'", where)
    errors, result = _Errors(), []
    for check, reason in node.items():
        loc = node.loc(check)
        if check not in checks:
            errors.append(InputError(f"'disable': unknown built-in check {check!r}{did_you_mean(check, checks)}", loc))
            continue
        text = errors.attempt(as_text, reason, f"the reason for disabling {check!r}", loc)
        if text is not None and not text.strip():
            errors.append(InputError(f"disabling {check!r} needs a reason", loc))
        elif text is not None:
            result.append(Disabled(check, text.strip(), loc))
    if errors:
        raise InputErrors(errors)
    return tuple(result)


def _enum(kind: Any, raw: Any, what: str, where: Location) -> Any:
    text = as_text(raw, what, where)
    choices = [member.value for member in kind]
    if text not in choices:
        raise InputError(
            f"{what} must be one of {', '.join(choices)}, got {text!r}{did_you_mean(text, choices)}", where
        )
    return kind(text)


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


def load_policy(path: str | Path, *, checks: Collection[str]) -> Policy:
    """Read and validate one policy file; every problem is reported at once, with file:line."""
    return load_policies([path], checks=checks)


def load_policies(
    paths: Iterable[str | Path],
    waivers: str | Path | None = None,
    as_of: datetime.date | None = None,
    *,
    checks: Collection[str],
) -> Policy:
    """Read, validate and merge policy files in order, then the waivers file.

    ``checks`` are the built-in check ids a rule's ``disable:`` may name (the evaluator's
    table: ``auditor.evaluate.switches.CHECK_IDS``); the language does not fix them.
    Every problem in every file is raised together (``InputErrors``). Stack
    references are resolved after merging, so a site file may use a base file's stacks.
    """
    errors: list[InputError] = []
    files: list[PolicyFile] = []
    for path in paths:
        try:
            files.append(read_policy_file(path, checks))
        except InputError as exc:
            errors.extend(exc.problems)
    waiver_list: tuple[Waiver, ...] = ()
    if waivers is not None:
        try:
            waiver_list = load_waivers(waivers)
        except InputError as exc:
            errors.extend(exc.problems)
    stacks, rules, replaced = _merge(files)
    try:
        rules = _resolve_stacks(rules, stacks)
    except InputError as exc:
        errors.extend(exc.problems)
    if errors:
        raise InputErrors(errors)
    names = [f.name for f in files]
    return Policy(
        name=" + ".join(names) if names else EMPTY_POLICY.name,
        source=", ".join(f.path for f in files),
        rules=tuple(rules),
        stacks=tuple(stacks.values()),
        files=tuple(f.path for f in files),
        waivers=waiver_list,
        waivers_file=str(waivers) if waivers is not None else None,
        as_of=as_of,
        replaced=tuple(replaced),
    )


def _merge(files: Sequence[PolicyFile]) -> tuple[dict[str, Stack], list[Rule], list[str]]:
    stacks: dict[str, Stack] = {}
    rules: list[Rule] = []
    replaced: list[str] = []
    for policy_file in files:
        for stack in policy_file.stacks:
            if stack.name in stacks:
                replaced.append(f"stack {stack.name!r} at {stack.location} replaces {stacks[stack.name].location}")
            stacks[stack.name] = stack
        for rule in policy_file.rules:
            index = next((i for i, r in enumerate(rules) if r.id == rule.id), None)
            if index is None:
                rules.append(rule)
            else:
                replaced.append(f"rule {rule.id!r} at {rule.location} replaces {rules[index].location}")
                rules[index] = rule
    return stacks, rules, replaced


def _resolve_stacks(rules: list[Rule], stacks: Mapping[str, Stack]) -> list[Rule]:
    """Fold each rule's stack into it: the stack's bounds, image and engines, unless the rule sets them."""
    errors: list[InputError] = []
    resolved = []
    for rule in rules:
        if rule.stack is None:
            resolved.append(rule)
            continue
        stack = stacks.get(rule.stack)
        if stack is None:
            hint = did_you_mean(rule.stack, stacks) or (
                f"; defined: {', '.join(stacks)}" if stacks else "; no stacks are defined"
            )
            errors.append(InputError(f"rule {rule.id!r}: unknown stack {rule.stack!r}{hint}", rule.stack_location))
            continue
        own = {b.component for b in rule.bounds}
        bounds = tuple(b for b in stack.bounds if b.component not in own) + rule.bounds
        order = {c: i for i, c in enumerate(COMPONENTS)}
        own_image = rule.image_location is not None  # the rule's own image: neither the stack's image nor its pin
        resolved.append(
            replace(
                rule,
                bounds=tuple(sorted(bounds, key=lambda b: order[b.component])),
                image=rule.image if own_image else stack.image,
                image_pin=rule.image_pin if own_image else stack.image_pin,
                image_location=rule.image_location or stack.image_location,
                engines=rule.engines or stack.engines,
                reference=rule.reference or stack.reference,
                plugins=rule.plugins or stack.plugins,
            )
        )
    if errors:
        raise InputErrors(errors)
    return resolved
