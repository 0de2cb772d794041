"""Policies: which versions each group of hosts may run, and what else they must satisfy.

A policy file (``schema: auditor.policy/1``) names **stacks** (the components a
deployment is built on) and **rules** that select hosts and bound what they run::

    schema: auditor.policy/1
    name: production
    stacks:
      trt86:                              # the golden trio, and the engines built on it
        image: nvcr.io/nvidia/tensorrt:23.08-py3
        driver: {min: "535.104.05", max: "535", target: "535.183.01"}
        cuda: "12.2"                      # a scalar pins a version (prefix match)
        cudnn: {min: "8.9"}
        tensorrt: "8.6.1.6"
        engines: ["/models/resnet50/{sm}.plan"]
        reference: ref-fp32               # a reference engine from the library must load and compute right
    rules:
      - id: serving
        select: {groups: [serving], hosts: ["gpu-*"], gpus: ["*A100*"]}
        stack: trt86                      # the stack's bounds; the rule's own keys override them
        gpus: {count: 8}
        consistent: [driver, tensorrt]    # one version across each selected group, else warn
        disable: {driver.eol: "R535 stays until the Q3 refresh (OPS-1234)"}
        severity: critical                # of this rule's findings
        action: rollback                  # overrides the action of this rule's findings
        remediation: "Follow runbook GPU-7."

Bounds (``driver``, ``cuda_driver`` = the CUDA the driver supports, ``cuda`` =
installed toolkits, ``cudnn``, ``tensorrt``): ``min`` a floor (below -> upgrade);
``max`` a ceiling and ``deny`` a deny list (-> rollback), both by prefix;
``version`` a pin (prefix); ``allow`` the only accepted versions; ``target`` the
version remediation names for an upgrade or a rollback; ``required: false`` makes a
missing component acceptable.

Several files merge in the order given (``load_policies``): stacks and rules of
later files follow earlier ones, and a later stack or rule whose name or id is
already defined **replaces** the earlier one in place (``Policy.replaced`` lists
each replacement). A rule's ``stack`` may name a stack from any of the files.
Every rule, bound and key keeps its ``file:line`` so findings can cite it.
"""

from __future__ import annotations

import datetime
import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from auditor.errors import InputError, InputErrors, Location
from auditor.findings import Action, Severity
from auditor.inventory import Host

SCHEMA = "auditor.policy/1"
COMPONENTS = ("driver", "cuda_driver", "cuda", "cudnn", "tensorrt")
CONSISTENT_COMPONENTS = COMPONENTS
BUILTIN_CHECKS = {
    "driver.mismatch": "kernel module and user-space driver are the same version (else reboot)",
    "driver.loaded": "the installed driver's kernel module is loaded (else reboot)",
    "driver.installed": "an NVIDIA driver is installed",
    "gpu.visible": "the loaded driver sees at least one GPU",
    "driver.eol": "the driver branch is not past end of life (else warn)",
    "driver.arch": "the driver branch runs the GPU: its architecture's first and last branch, and system floors (HGX)",
    "cuda.driver": "the driver runs every installed CUDA toolkit (native, minor-version, or cuda-compat)",
    "cuda.arch": "every installed CUDA toolkit builds for the GPU architecture",
    "tensorrt.arch": "TensorRT supports the GPU architecture",
    "tensorrt.cuda": "TensorRT has a build for the installed CUDA and the driver meets its floor",
    "tensorrt.cudnn": "the cuDNN TensorRT needs is installed (TensorRT before 8.6; optional from 8.6)",
    "containers.image": "every running container's image runs on the host's driver and GPU (floor, forward "
    "compatibility, GPU class)",
}


@dataclass(frozen=True)
class Bounds:
    """Allowed versions of one component, with where each bound was written."""

    component: str
    min: str | None = None
    max: str | None = None
    deny: tuple[str, ...] = ()
    allow: tuple[str, ...] = ()
    version: str | None = None
    target: str | None = None
    required: bool = True
    where: dict[str, Location] = field(default_factory=dict, compare=False, hash=False)

    def cite(self, key: str) -> str:
        """``file:line`` of one bound (falls back to the component's line)."""
        return str(self.where.get(key) or self.where.get("component") or "")

    @property
    def keys(self) -> list[str]:
        """The bound keys that are set, in checking order."""
        return [k for k in ("min", "max", "deny", "allow", "version") if getattr(self, k)]


@dataclass(frozen=True)
class Selector:
    """Which hosts a rule applies to: all listed criteria must hold; an empty list is "any"."""

    groups: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()
    gpus: tuple[str, ...] = ()

    def matches_host(self, host: Host) -> bool:
        """True when the group and host-name criteria hold (GPU models are known only after probing)."""
        if self.groups and not any(host.in_group(g) for g in self.groups):
            return False
        return not (self.hosts and not any(fnmatch.fnmatchcase(host.name, p) for p in self.hosts))

    def matches_gpus(self, gpu_names: Sequence[str]) -> bool:
        """True when no GPU criterion is given or a GPU name matches one (case-insensitive)."""
        if not self.gpus:
            return True
        return any(fnmatch.fnmatchcase(name.lower(), p.lower()) for p in self.gpus for name in gpu_names)

    def matches(self, host: Host, gpu_names: Sequence[str] = ()) -> bool:
        """True when ``host`` (with the GPU names its probe reported) is selected."""
        return self.matches_host(host) and self.matches_gpus(gpu_names)


@dataclass(frozen=True)
class RequiredEngine:
    """An engine a host must load: a path template with ``{cc}``, ``{sm}``, ``{gpu}`` placeholders."""

    template: str
    location: Location


@dataclass(frozen=True)
class RequiredReference:
    """A reference engine (by library name) every selected host must load and run correctly."""

    name: str
    location: Location


@dataclass(frozen=True)
class Disabled:
    """A built-in check switched off for a rule's hosts, with the reason a reviewer reads."""

    check: str
    reason: str
    location: Location


@dataclass(frozen=True)
class Stack:
    """A named set of component bounds, an image and required engines that rules reuse."""

    name: str
    bounds: tuple[Bounds, ...]
    location: Location
    image: str | None = None
    image_location: Location | None = None
    engines: tuple[RequiredEngine, ...] = ()
    description: str | None = None
    reference: RequiredReference | None = None


@dataclass(frozen=True)
class Rule:
    """One policy rule: a selector and everything it asks of the hosts it selects."""

    id: str
    select: Selector
    bounds: tuple[Bounds, ...]
    gpu_count: int | None
    location: Location
    gpu_count_location: Location | None = None
    description: str | None = None
    stack: str | None = None
    stack_location: Location | None = None
    image: str | None = None
    image_location: Location | None = None
    engines: tuple[RequiredEngine, ...] = ()
    consistent: tuple[str, ...] = ()
    consistent_location: Location | None = None
    disable: tuple[Disabled, ...] = ()
    severity: Severity | None = None
    action: Action | None = None
    remediation: str | None = None
    reference: RequiredReference | None = None


@dataclass(frozen=True)
class Waiver:
    """An accepted finding: which finding (glob of rule ids) on which hosts, why, who, until when."""

    finding: str
    hosts: tuple[str, ...]
    reason: str
    owner: str
    expires: datetime.date
    location: Location

    def expired(self, today: datetime.date) -> bool:
        """A waiver holds through its expiry date and lapses the day after."""
        return today > self.expires

    def matches(self, host_name: str, rule: str) -> bool:
        """True when the finding ``rule`` on ``host_name`` is the one this waiver names."""
        return fnmatch.fnmatchcase(rule, self.finding) and any(fnmatch.fnmatchcase(host_name, p) for p in self.hosts)


@dataclass(frozen=True)
class Policy:
    """A loaded, validated, merged policy, with its waivers and the date it is judged on."""

    name: str
    source: str
    rules: tuple[Rule, ...]
    stacks: tuple[Stack, ...] = ()
    files: tuple[str, ...] = ()
    waivers: tuple[Waiver, ...] = ()
    waivers_file: str | None = None
    as_of: datetime.date | None = None
    replaced: tuple[str, ...] = ()
    """One line per stack or rule a later file replaced (``auditor check`` shows them)."""
    engine_library: str | None = None
    """Where the reference engines come from (``--library``; None: the default library)."""

    def rules_for(self, host: Host, gpu_names: Sequence[str] = ()) -> list[Rule]:
        """The rules that apply to ``host``, in merged order."""
        return [rule for rule in self.rules if rule.select.matches(host, gpu_names)]

    def today(self) -> datetime.date:
        """The date waivers and end of life are judged on: ``as_of``, else today (UTC)."""
        return self.as_of or datetime.datetime.now(datetime.timezone.utc).date()

    def engine_templates_for(self, host: Host) -> list[str]:
        """Engine templates of every rule that may apply to ``host`` (GPU selectors are judged after probing)."""
        seen: dict[str, None] = {}
        for rule in self.rules:
            if rule.select.matches_host(host):
                for engine in rule.engines:
                    seen.setdefault(engine.template)
        return list(seen)

    def references_for(self, host: Host) -> list[str]:
        """Reference engine names of every rule that may apply to ``host`` (GPU selectors are judged after probing)."""
        seen: dict[str, None] = {}
        for rule in self.rules:
            if rule.reference is not None and rule.select.matches_host(host):
                seen.setdefault(rule.reference.name)
        return list(seen)

    @property
    def references(self) -> tuple[RequiredReference, ...]:
        """Every reference engine requirement, in rule order (one per rule that has one)."""
        return tuple(rule.reference for rule in self.rules if rule.reference is not None)

    def expired_waivers(self) -> list[Waiver]:
        """Waivers past their expiry date on ``today()``."""
        today = self.today()
        return [w for w in self.waivers if w.expired(today)]

    @property
    def notes(self) -> tuple[str, ...]:
        """Run-level notices for every report: expired waivers fail loudly here too."""
        today = self.today()
        return tuple(
            f"EXPIRED WAIVER {w.location}: {w.finding} on {', '.join(w.hosts)} expired {w.expires.isoformat()} "
            f"(owner {w.owner}); the findings it covered count again"
            for w in self.waivers
            if w.expired(today)
        )


EMPTY_POLICY = Policy(name="(no policy: built-in checks only)", source="", rules=())


def load_policy(path: str | Path) -> Policy:
    """Read and validate one policy file; every problem is reported at once, with file:line."""
    return load_policies([path])


def load_policies(
    paths: Iterable[str | Path], waivers: str | Path | None = None, as_of: datetime.date | None = None
) -> Policy:
    """Read, validate and merge policy files in order, then the waivers file.

    Every problem in every file is raised together (``InputErrors``). Stack
    references are resolved after merging, so a site file may use a base file's stacks.
    """
    from auditor.policy_file import PolicyFile, read_policy_file
    from auditor.waivers import load_waivers

    errors: list[InputError] = []
    files: list[PolicyFile] = []
    for path in paths:
        try:
            files.append(read_policy_file(path))
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


def _merge(files: Sequence[object]) -> tuple[dict[str, Stack], list[Rule], list[str]]:
    stacks: dict[str, Stack] = {}
    rules: list[Rule] = []
    replaced: list[str] = []
    for policy_file in files:
        for stack in policy_file.stacks:  # type: ignore[attr-defined]
            if stack.name in stacks:
                replaced.append(f"stack {stack.name!r} at {stack.location} replaces {stacks[stack.name].location}")
            stacks[stack.name] = stack
        for rule in policy_file.rules:  # type: ignore[attr-defined]
            index = next((i for i, r in enumerate(rules) if r.id == rule.id), None)
            if index is None:
                rules.append(rule)
            else:
                replaced.append(f"rule {rule.id!r} at {rule.location} replaces {rules[index].location}")
                rules[index] = rule
    return stacks, rules, replaced


def _resolve_stacks(rules: list[Rule], stacks: Mapping[str, Stack]) -> list[Rule]:
    """Fold each rule's stack into it: the stack's bounds, image and engines, unless the rule sets them."""
    from auditor.yamlsrc import did_you_mean

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
        resolved.append(
            replace(
                rule,
                bounds=tuple(sorted(bounds, key=lambda b: order[b.component])),
                image=rule.image or stack.image,
                image_location=rule.image_location or stack.image_location,
                engines=rule.engines or stack.engines,
                reference=rule.reference or stack.reference,
            )
        )
    if errors:
        raise InputErrors(errors)
    return resolved
