"""``auditor check``: validate inventory, policies and waivers without contacting any host.

Every problem in every file is reported at once, located (exit 2). Without an inventory
(``-i``, ``--simulate``, ``--demo``) the policy files and waivers are checked alone: what a
policy author runs first. A valid set prints the rules and, with an inventory, which rules apply to which hosts, the engines each host will be asked to
test-load, the built-in checks switched off and the waivers in force, then
warnings (expired waivers, rules or waivers that match no host, selector groups
the inventory does not have, a stack or rule whose driver bounds admit drivers
below its own image's floor, an engine path that would serve several GPU models
with one plan). Warnings exit 0, or 2 with ``--strict``.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from typing import Any

from auditor import versions
from auditor.audit.options import add_policy_options, resolve_policy
from auditor.errors import InputError, InputErrors
from auditor.inventory import Host, load_inventories
from auditor.policy.model import Bounds, Policy, Rule, engine_path
from auditor.records import record
from auditor.report.exitcodes import ExitCode
from auditor.text import clean, count
from auditor.yamlsrc import did_you_mean

EPILOG = """\
exit codes:
  0   inventory, policies and waivers are valid (warnings may be printed)
  2   a file is invalid (every problem is listed as file:line), or --strict and a warning
"""


def add_parser(subparsers: argparse._SubParsersAction, summary: str, epilog: str) -> None:
    parser = subparsers.add_parser(
        "check",
        help=summary,
        description="Validate the inventory (or fleet), the policy files and the waivers, and show which "
        "rules apply to which hosts; without an inventory, the policy files and waivers alone. No host is contacted.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    group = parser.add_argument_group("targets")
    source = group.add_mutually_exclusive_group()
    source.add_argument(
        "-i",
        "--inventory",
        metavar="INV",
        action="append",
        help="Ansible inventory (repeat to merge, as Ansible does); without one (nor --simulate, --demo) the "
        "policy files and waivers are checked alone",
    )
    source.add_argument("--simulate", metavar="FLEET", help="a simulated fleet file (auditor.fleet/1)")
    source.add_argument("--demo", action="store_true", help="the built-in demo fleet, policy and waivers")
    add_policy_options(group)
    parser.add_argument("--strict", action="store_true", help="treat warnings as errors (exit 2)")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    parser.set_defaults(run=run)


@record
class CheckedHost:
    """A host as ``check`` sees it: GPU models are known only for simulated fleets."""

    host: Host
    gpus: tuple[tuple[str, str], ...] | None = None  # (model, compute capability); None: unknown


@dataclass
class HostRules:
    """What the audit will ask of one host."""

    rules: list[str] = field(default_factory=list)
    maybe: list[str] = field(default_factory=list)  # rules whose GPU selector decides after probing
    engines: list[str] = field(default_factory=list)
    disabled: list[str] = field(default_factory=list)
    waivers: list[str] = field(default_factory=list)


def run(args: argparse.Namespace) -> int:
    checked, policy, source = _load(args)
    asked = {t.host.name: rules_for_host(policy, t) for t in checked}
    warnings = find_warnings(policy, checked, asked, _groups(checked) if source is not None else None)
    if args.format == "json":
        sys.stdout.write(json.dumps(_json(source, policy, checked, asked, warnings), indent=2) + "\n")
    else:
        sys.stdout.write(render(source, policy, checked, asked, warnings))
    if warnings and args.strict:
        print(f"auditor: --strict: {len(warnings)} warning(s)", file=sys.stderr)
        return int(ExitCode.USAGE)
    return int(ExitCode.OK)


def _load(args: argparse.Namespace) -> tuple[list[CheckedHost], Policy, str | None]:
    """Every file validated; all problems raised together. The source is None without an inventory."""
    from auditor.audit.demo import DEMO_FLEET

    errors: list[InputError] = []
    checked: list[CheckedHost] = []
    targets = bool(args.inventory or args.simulate or args.demo)
    if not targets and not args.policy and args.waivers is None:
        raise InputError(
            "nothing to check: name policy files (-p), waivers (--waivers) or an inventory (-i, --simulate, --demo)"
        )
    source = None
    try:
        if args.inventory:
            source = ", ".join(args.inventory)
            checked = [CheckedHost(h) for h in load_inventories(args.inventory).hosts]
        elif targets:
            from auditor.simulate.fleet import load_fleet

            source = args.simulate or str(DEMO_FLEET)
            fleet = load_fleet(source)
            checked = [
                CheckedHost(
                    Host(h.name, "simulated", groups=h.groups), tuple((g.model, g.compute_capability) for g in h.gpus)
                )
                for h in fleet.hosts
            ]
    except InputError as exc:
        errors.extend(exc.problems)
    policy = None
    try:
        policy = resolve_policy(args)
    except InputError as exc:
        errors.extend(exc.problems)
    if errors or policy is None:
        raise InputErrors(errors)
    return checked, policy, source


def rules_for_host(policy: Policy, entry: CheckedHost) -> HostRules:
    """The rules, engines, switched-off checks and waivers that will apply to one host."""
    rules = HostRules()
    host = entry.host
    applying: list[Rule] = []
    for rule in policy.rules:
        if not rule.select.matches_host(host):
            continue
        if entry.gpus is None and rule.select.gpus:
            rules.maybe.append(f"{rule.id} (if a GPU matches {', '.join(rule.select.gpus)})")
            continue
        if entry.gpus is not None and not rule.select.matches_gpus([m for m, _ in entry.gpus]):
            continue
        rules.rules.append(rule.id)
        applying.append(rule)
    for rule in applying:
        for engine in rule.engines:
            if entry.gpus:
                for model, cc in dict.fromkeys(entry.gpus):
                    rules.engines.append(f"{engine_path(engine.template, model, cc)}  ({rule.id}: {engine.template})")
            else:
                rules.engines.append(f"{engine.template}  ({rule.id}, expanded per GPU by the probe)")
        for off in rule.disable:
            rules.disabled.append(f"{off.check} ({rule.id}, {off.location}: {off.reason})")
    today = policy.today()
    for waiver in policy.waivers:
        if any(_glob(host.name, p) for p in waiver.hosts):
            state = f"EXPIRED {waiver.expires}" if waiver.expired(today) else f"until {waiver.expires}"
            rules.waivers.append(f"{waiver.finding} ({state}, {waiver.owner}, {waiver.location})")
    return rules


def _glob(name: str, pattern: str) -> bool:
    import fnmatch

    return fnmatch.fnmatchcase(name, pattern)


def _groups(checked: list[CheckedHost]) -> set[str]:
    return {g for t in checked for g in t.host.groups} | {"all"}


def find_warnings(
    policy: Policy, checked: list[CheckedHost], asked: dict[str, HostRules], groups: set[str] | None
) -> list[str]:
    """Things that are valid but probably wrong, each located.

    ``groups`` None: no inventory was given, so nothing is said about the hosts and groups
    rules and waivers select.
    """
    warnings = [
        f"{w.location}: waiver for {w.finding!r} on {', '.join(w.hosts)} EXPIRED {w.expires} (owner {w.owner}): the findings it covered count again"
        for w in policy.expired_waivers()
    ]
    if groups is None:
        return warnings + contradicting_bounds(policy)
    for rule in policy.rules:
        for group in rule.select.groups:
            if group not in groups:
                warnings.append(
                    f"{rule.location}: rule {rule.id!r} selects group {group!r}, which the inventory does not have{did_you_mean(group, groups)}"
                )
        used = any(rule.id in p.rules or any(m.startswith(rule.id + " ") for m in p.maybe) for p in asked.values())
        if not used:
            warnings.append(f"{rule.location}: rule {rule.id!r} selects no host of this inventory")
    warnings += contradicting_bounds(policy)
    warnings += shared_engine_paths(policy, checked, asked)
    names = [t.host.name for t in checked]
    for waiver in policy.waivers:
        if not any(_glob(n, p) for n in names for p in waiver.hosts):
            warnings.append(
                f"{waiver.location}: waiver for {waiver.finding!r} matches no host ({', '.join(waiver.hosts)})"
            )
    return warnings


def contradicting_bounds(policy: Policy) -> list[str]:
    """Stacks and rules whose driver bounds admit drivers below the floor of their own image.

    A driver the bounds accept but the image cannot run natively is a contradiction the audit
    would only find host by host (forward compatibility covers data-center GPUs on the branches
    the image's notes list, never the rest).
    """
    from auditor.knowledge import tensorrt as trt_kb
    from auditor.knowledge.images import image_driver_floor

    found = []
    owners: list[tuple[str, str | None, tuple[Bounds, ...], object]] = [
        *((f"stack {s.name!r}", s.image, s.bounds, s.image_location or s.location) for s in policy.stacks),
        *((f"rule {r.id!r}", r.image, r.bounds, r.image_location or r.location) for r in policy.rules if not r.stack),
    ]
    for owner, image, bounds, where in owners:
        box = trt_kb.container(image) if image else None
        floor = image_driver_floor(box) if box is not None else None
        if floor is None:
            continue
        for bound in (b for b in bounds if b.component == "driver"):
            admitted = [(k, getattr(bound, k)) for k in ("min", "version", "target") if getattr(bound, k)]
            admitted += [("allow", a) for a in bound.allow]
            low = [(k, v) for k, v in admitted if not versions.at_least(v, floor[0])]
            if bound.max and not versions.at_least(bound.max + ".999", floor[0]):
                low.append(("max", bound.max))
            for key, value in low:
                found.append(
                    f"{bound.cite(key)}: {owner}: driver {key} {value} is below the floor {floor[0]} of its own "
                    f"image {image} ({where}; {floor[1]}): hosts within the bounds may not run the image"
                )
    return found


def shared_engine_paths(policy: Policy, checked: list[CheckedHost], asked: dict[str, HostRules]) -> list[str]:
    """Engine templates that expand to one path for several GPU models: TensorRT supports a plan only on
    the GPU model it was built on (same compute capability loads, with a warning), so ``{gpu}`` is needed."""
    from auditor.knowledge import tensorrt as trt_kb

    rule_text = trt_kb.portability_rule("same-cc-other-model")
    found = []
    for rule in policy.rules:
        served: dict[str, set[str]] = {}
        for entry in checked:
            if rule.id not in asked[entry.host.name].rules or not entry.gpus:
                continue
            for engine in rule.engines:
                for model, cc in entry.gpus:
                    served.setdefault(f"{engine.template}\0{engine_path(engine.template, model, cc)}", set()).add(model)
        for key, models in sorted(served.items()):
            if len(models) < 2:
                continue
            template, path = key.split("\0")
            where = next((str(e.location) for e in rule.engines if e.template == template), str(rule.location))
            found.append(
                f"{where}: engine {template} of rule {rule.id!r} is one plan ({path}) for {len(models)} GPU models "
                f"({', '.join(sorted(models))}); TensorRT supports a plan only on the GPU model it was built on"
                + (f" ({rule_text[0]})" if rule_text else "")
                + ": use {gpu} in the path"
            )
    return found


def render(
    source: str | None, policy: Policy, checked: list[CheckedHost], asked: dict[str, HostRules], warnings: list[str]
) -> str:
    """The human-readable check result (without an inventory: the policy alone, no hosts)."""
    lines = [
        f"targets:  {source} ({count(len(checked), 'host')})"
        if source is not None
        else "targets:  none (the policy alone; -i, --simulate or --demo adds hosts to check it against)"
    ]
    lines.append(
        f"policy:   {', '.join(policy.files) or '(none: built-in checks only)'} ({count(len(policy.rules), 'rule')}, {count(len(policy.stacks), 'stack')})"
    )
    if policy.waivers_file:
        lines.append(f"waivers:  {policy.waivers_file} ({len(policy.waivers)})")
    lines.append(f"as of:    {policy.today().isoformat()}")
    lines += [f"merge:    {line}" for line in policy.replaced]
    lines.append("")
    lines.append("rules")
    for rule in policy.rules:
        lines.append(f"  {rule.id}  {rule.location}")
        lines.append(f"      selects {_describe_select(rule)}")
        for item in _describe_rule(rule):
            lines.append(f"      {item}")
    if source is not None:
        lines += ["", "hosts"]
    for entry in checked:
        plan = asked[entry.host.name]
        gpus = (
            ", ".join(f"{m} (CC {cc})" for m, cc in dict.fromkeys(entry.gpus))
            if entry.gpus
            else "GPUs known after probing"
        )
        lines.append(f"  {entry.host.name}  [{', '.join(entry.host.groups)}]  {gpus}")
        lines.append(f"      rules: {', '.join(plan.rules) or '(none: built-in checks only)'}")
        for label, items in (
            ("maybe", plan.maybe),
            ("engine", plan.engines),
            ("off", plan.disabled),
            ("waiver", plan.waivers),
        ):
            lines += [f"      {label}: {item}" for item in items]
    lines.append("")
    if warnings:
        lines.append(f"warnings ({len(warnings)})")
        lines += [f"  {w}" for w in warnings]
        lines.append("")
    files = len(policy.files) + (1 if policy.waivers_file else 0) + (1 if source is not None else 0)
    lines.append(f"valid: {count(files, 'file')} checked; no host was contacted")
    return "\n".join(clean(line, 1 << 16) for line in lines) + "\n"  # names and groups reach a terminal


def _describe_select(rule: Rule) -> str:
    parts = [
        *([f"groups {', '.join(rule.select.groups)}"] if rule.select.groups else []),
        *([f"hosts {', '.join(rule.select.hosts)}"] if rule.select.hosts else []),
        *([f"GPUs {', '.join(rule.select.gpus)}"] if rule.select.gpus else []),
    ]
    return "; ".join(parts) or "every host"


def _describe_rule(rule: Rule) -> list[str]:
    items = []
    if rule.stack:
        items.append(f"stack {rule.stack} ({rule.stack_location})")
    for bounds in rule.bounds:
        extra = [f"deny {', '.join(bounds.deny)}"] if bounds.deny else []
        extra += [f"target {bounds.target}"] if bounds.target else []
        extra += ["optional"] if not bounds.required else []
        items.append(f"{bounds.component}: {', '.join([bounds.describe(), *extra])}  ({bounds.cite('component')})")
    if rule.image:
        items.append(f"image {rule.image} ({rule.image_location})")
    if rule.image_pin is not None:
        items.append(f"image pinned {rule.image_pin.reference} ({rule.image_pin.location})")
    if rule.mig is not None:
        profiles = f", profiles {' '.join(rule.mig.profiles)}" if rule.mig.profiles else ""
        items.append(f"mig {rule.mig.mode}{profiles} ({rule.mig.location})")
    if rule.gpu_count is not None:
        items.append(f"gpus.count {rule.gpu_count} ({rule.gpu_count_location})")
    for engine in rule.engines:
        items.append(f"engine {engine.template} ({engine.location})")
    if rule.consistent:
        items.append(f"consistent {', '.join(rule.consistent)} ({rule.consistent_location})")
    for off in rule.disable:
        items.append(f"off {off.check}: {off.reason} ({off.location})")
    overrides = [
        f"{k} {v}"
        for k, v in (("severity", rule.severity and rule.severity.value), ("action", rule.action and rule.action.value))
        if v
    ]
    if overrides or rule.remediation:
        items.append(", ".join(overrides + ([f"remediation {rule.remediation!r}"] if rule.remediation else [])))
    return items


def _json(
    source: str | None, policy: Policy, checked: list[CheckedHost], asked: dict[str, HostRules], warnings: list[str]
) -> dict[str, Any]:
    return {
        "valid": True,
        "targets": source,
        "policy": list(policy.files),
        "waivers": policy.waivers_file,
        "as_of": policy.today().isoformat(),
        "merge": list(policy.replaced),
        "rules": [{"id": r.id, "location": str(r.location)} for r in policy.rules],
        "hosts": {
            name: {
                "rules": p.rules,
                "maybe": p.maybe,
                "engines": p.engines,
                "disabled": p.disabled,
                "waivers": p.waivers,
            }
            for name, p in asked.items()
        },
        "warnings": warnings,
    }
