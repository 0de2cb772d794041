"""The policy language's values: rules, their selectors and bounds, stacks, waivers, and the merged policy.

Everything is frozen and keeps the ``file:line`` it was written at, so findings can cite it.
"""

from __future__ import annotations

import datetime
import fnmatch
from collections.abc import Sequence
from dataclasses import field

from auditor.errors import Location
from auditor.findings import Action, Severity
from auditor.inventory import Host
from auditor.knowledge import gpus as gpus_kb
from auditor.records import record

SCHEMA = "auditor.policy/1"
COMPONENTS = ("driver", "cuda_driver", "cuda", "cudnn", "tensorrt")
CONSISTENT_COMPONENTS = COMPONENTS


@record
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

    def describe(self) -> str:
        """``>= 535.104.05, <= 580`` and friends: what a finding expects, what ``auditor check`` lists."""
        parts = [
            *([f">= {self.min}"] if self.min else []),
            *([f"<= {self.max}"] if self.max else []),
            *([f"{self.version}"] if self.version else []),
            *([f"one of {', '.join(self.allow)}"] if self.allow else []),
        ]
        return ", ".join(parts) or "any version"


@record
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


@record
class RequiredEngine:
    """An engine a host must load: a path template with ``{cc}``, ``{sm}``, ``{gpu}`` placeholders."""

    template: str
    location: Location


def engine_path(template: str, gpu_name: str, compute_capability: str) -> str:
    """The path an engine template names for one GPU: ``/m/{sm}.plan`` with "8.0" gives ``/m/sm80.plan``.

    ``{cc}`` is the compute capability ("8.0"), ``{sm}`` its SM name ("sm80"), ``{gpu}`` the
    GPU name as a slug ("nvidia-a100-sxm4-80gb"), as the probe expands them on the host.
    """
    return template.format(cc=compute_capability, sm=gpus_kb.sm(compute_capability), gpu=gpus_kb.slug(gpu_name))


@record
class RequiredPlugin:
    """A TensorRT plugin (its registered creator name) a host's TensorRT registry must hold."""

    name: str
    location: Location


@record
class RequiredReference:
    """A reference engine (by library name) every selected host must load and run correctly."""

    name: str
    location: Location


@record
class ImagePin:
    """``image: REPO[:TAG]@sha256:...``: the registry digest every running container of ``repository`` must run."""

    repository: str
    digest: str
    tag: str | None
    location: Location

    @property
    def reference(self) -> str:
        """The pinned reference as written (``REPO[:TAG]@sha256:...``)."""
        return f"{self.repository}{':' + self.tag if self.tag else ''}@{self.digest}"


MIG_MODES = ("enabled", "disabled")


@record
class MigRequirement:
    """``mig: {mode, profiles}``: the MIG mode every GPU of a selected host must be in and, with MIG on,
    the GPU instances each must have (profile names, one per instance: a multiset, order-free)."""

    mode: str
    location: Location
    profiles: tuple[str, ...] = ()
    profiles_location: Location | None = None


@record
class Disabled:
    """A built-in check switched off for a rule's hosts, with the reason a reviewer reads."""

    check: str
    reason: str
    location: Location


@record
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
    plugins: tuple[RequiredPlugin, ...] = ()
    image_pin: ImagePin | None = None


@record
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
    plugins: tuple[RequiredPlugin, ...] = ()
    image_pin: ImagePin | None = None
    mig: MigRequirement | None = None


@record
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


@record
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

    def plugins_for(self, host: Host) -> bool:
        """True when a rule that may apply to ``host`` requires TensorRT plugins (GPU selectors are judged after
        probing): the probe then lists the plugin registries."""
        return any(rule.plugins and rule.select.matches_host(host) for rule in self.rules)

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
