"""Packages in a plan: the exact versions it installs, and whether its rollback can really happen.

From the probe's ``packages`` section (``auditor.facts.model.PackageFacts``) and the plan's steps,
for every component the plan changes (driver, CUDA toolkit, cuDNN, TensorRT):

* **rollback**: the component's installed packages at their current versions, each with where
  it can be installed from again. A configured repository that offers that version
  (``repository``) or its file in the local package cache (``cache``: apt and dnf install such
  a version only from the file, never by ``NAME=VERSION``, as recorded) will do; neither
  (``none``) is a **blocker**, and so is a component the package manager did not install (no
  package carries it: a ``.run`` installer, a mounted driver), since the rollback could not
  reinstall it. When the probe was not asked, or the host has no repository metadata at all
  (``apt-get update`` never ran), the answer is ``unknown``: a warning that keeps the host from
  being called compliant, never a silent yes.
* **installs**: the exact package versions that carry the target: the host's own packages of
  that component, renamed where the name carries the branch or major (``nvidia-driver-535`` ->
  ``nvidia-driver-580``), at the version the repositories offer for the target (TensorRT and
  cuDNN 8 builds on the CUDA line the host will have). A target no repository offers is a
  **blocker** (``unavailable``), and so is an apt pin of priority 1000 or more on another version
  (``pinned``): Ansible's apt module then refuses the exact version (recorded,
  docs/research/workflows.md D).
* a driver package that is not held (apt) or version-locked (dnf) is a **warning**: a branch
  package keeps updating within its branch on the next ``apt-get upgrade``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from auditor import versions
from auditor.facts.model import CachedPackage, Facts, InstalledPackage, OfferedVersion, PackageFacts
from auditor.knowledge import packages as names_kb
from auditor.plan.model import (
    COMPONENT_LABELS,
    COMPONENTS,
    Blocker,
    BlockerKind,
    PackageSource,
    PackageVersion,
    PlanStep,
    PlanWarning,
    StepAction,
)

PIN_PRIORITY = 1000
"""From this apt pin priority on, a pin wins over the version Ansible's apt module asks for (recorded at 1000)."""
CHANGES = (StepAction.INSTALL, StepAction.UPGRADE, StepAction.DOWNGRADE)
"""Steps that install a component's packages."""


@dataclass
class PackagePlan:
    """What the packages say about one host's plan: installs, the rollback's packages, blockers, warnings."""

    installs: list[PackageVersion] = field(default_factory=list)
    rollback: list[PackageVersion] = field(default_factory=list)
    blockers: list[Blocker] = field(default_factory=list)
    warnings: list[PlanWarning] = field(default_factory=list)

    def warn(self, message: str, source: str | None = None, unknown: bool = False) -> None:
        warning = PlanWarning(message, source, (), unknown)
        if warning not in self.warnings:
            self.warnings.append(warning)


def request_names(components: Sequence[tuple[str, str]]) -> list[str]:
    """The package names a probe is asked about for targets ``(component, version)`` (see ``candidate_names``)."""
    found: dict[str, None] = {}
    for component, version in components:
        if component in COMPONENTS and versions.is_version(version):
            found.update(dict.fromkeys(names_kb.candidate_names(component, version)))
    return list(found)


def package_plan(facts: Facts, steps: Sequence[PlanStep], cuda_after: str | None, driver_targeted: bool) -> PackagePlan:
    """The packages of one host's plan (module docstring); ``cuda_after`` is the toolkit the host will run."""
    result = PackagePlan()
    packages = facts.packages
    changed = [s for s in steps if s.component in COMPONENTS and s.action in CHANGES and s.to]
    if not packages.collected:
        if changed:
            result.warn(
                "whether the rollback can be installed, and which packages carry the target: the facts have no "
                "package section (a probe or stored run from before it)",
                unknown=True,
            )
        return result
    if packages.manager is None:
        if changed:
            result.warn(
                "how to install the plan's versions: no package manager found "
                f"({packages.error or 'no dpkg or rpm database'}), so they cannot be installed or rolled back by "
                "packages",
                unknown=True,
            )
        return result
    for step in changed:
        installed = [p for p in packages.installed if names_kb.component_of(p.name) == step.component]
        if step.component == "cuda" and step.from_ and versions.is_version(step.from_):
            line = "-" + versions.major_minor(step.from_).replace(".", "-")  # toolkits live side by side
            installed = [p for p in installed if p.name.endswith(line)]
        if step.action is not StepAction.INSTALL:
            _rollback(result, packages, step, installed)
        _installs(result, packages, step, installed, cuda_after)
    if driver_targeted:
        _holds(result, packages)
    return result


def _label(component: str) -> str:
    return COMPONENT_LABELS.get(component, component)


def _rollback(result: PackagePlan, packages: PackageFacts, step: PlanStep, installed: list[InstalledPackage]) -> None:
    label, manager = _label(step.component), _manager(packages)
    if not installed:
        result.blockers.append(
            Blocker(
                BlockerKind.ROLLBACK,
                step.component,
                f"{label} {step.from_} is not installed from a package ({manager} knows no {step.component} package): "
                "a rollback could not install it again",
                names_kb.SOURCES.get(step.component),
                f"install {label} {step.from_} from the package repository first, or plan its rollback by hand",
            )
        )
        return
    availability = packages.availability
    unknown = None
    if availability is None:
        unknown = (
            "the probe was not asked which versions the repositories offer (a stored run or the interactive audit: "
            "`auditor plan --to STACK` asks)"
        )
    elif availability.error:
        unknown = f"the repositories could not be read: {availability.error}"
    elif availability.lists is False:
        unknown = "the host has no repository metadata (apt-get update never ran, or its lists were removed)"
    for package in installed:
        cached = _cached(packages, package)
        if cached is not None:
            source, path = PackageSource.CACHE, cached.path
        elif unknown is not None:
            source, path = PackageSource.UNKNOWN, None
        elif any(v.version == package.version for v in availability.offered(package.name)):  # type: ignore[union-attr]
            source, path = PackageSource.REPOSITORY, None
        else:
            source, path = PackageSource.NONE, None
        if source is PackageSource.CACHE and unknown is None and _offered(packages, package):
            source, path = PackageSource.REPOSITORY, None  # a repository is the better source when both have it
        result.rollback.append(
            PackageVersion(step.component, package.name, package.version, manager, package.arch, source, path)
        )
    gone = [p for p in result.rollback if p.component == step.component and p.source is PackageSource.NONE]
    if gone:
        listed = ", ".join(f"{p.name} {p.version}" for p in gone)
        result.blockers.append(
            Blocker(
                BlockerKind.ROLLBACK,
                step.component,
                f"the rollback to {label} {step.from_} cannot be installed: no configured repository offers {listed}, "
                "and no package file of it is in the local cache",
                names_kb.SOURCES.get(step.component),
                "keep the current version installable before upgrading (a local repository, or its package file in "
                "the cache), or accept that this host cannot be rolled back",
            )
        )
    from_cache = [r for r in result.rollback if r.component == step.component and r.source is PackageSource.CACHE]
    if from_cache:
        where = sorted({os.path.dirname(r.path or "") for r in from_cache})
        result.warn(
            f"the rollback to {label} {step.from_} comes only from the local package cache "
            f"({', '.join(r.name for r in from_cache)} in {', '.join(where)}): the playbook installs those files; "
            "cleaning the cache (apt-get clean, dnf clean packages) would lose them"
        )
    if unknown is not None:
        result.warn(f"whether the rollback to {label} {step.from_} can be installed: {unknown}", unknown=True)


def _cached(packages: PackageFacts, package: InstalledPackage) -> CachedPackage | None:
    return next(
        (
            c
            for c in packages.cached
            if c.name == package.name
            and names_kb.same_version(package.version, c.version)
            and (c.arch is None or package.arch is None or c.arch == package.arch)
        ),
        None,
    )


def _offered(packages: PackageFacts, package: InstalledPackage) -> bool:
    availability = packages.availability
    return availability is not None and any(v.version == package.version for v in availability.offered(package.name))


def _installs(
    result: PackagePlan,
    packages: PackageFacts,
    step: PlanStep,
    installed: list[InstalledPackage],
    cuda_after: str | None,
) -> None:
    label, manager, to = _label(step.component), _manager(packages), step.to or ""
    availability = packages.availability
    if availability is None or not availability.known:
        why = "the probe was not asked" if availability is None else availability.error or "no repository metadata"
        result.warn(
            f"which packages carry {label} {to}: {why}; the playbook has no exact versions for it", unknown=True
        )
        return
    wanted = _wanted_names(step, installed, cuda_after)
    if not wanted:  # nothing installed to follow: what the repositories offer at the target, most usual first
        offered = [
            n for n in names_kb.candidate_names(step.component, to) if _pick(availability.offered(n), to, cuda_after)
        ]
        # one driver flavour, one toolkit, one cuDNN build; TensorRT is its libraries and bindings together
        wanted = offered if step.component == "tensorrt" else offered[:1]
    if not wanted:
        result.blockers.append(
            Blocker(
                BlockerKind.UNAVAILABLE,
                step.component,
                f"no configured repository offers a package of {label} {to}",
                names_kb.SOURCES.get(step.component),
                f"add the repository that carries {label} {to}, or target a version the repositories offer",
            )
        )
        return
    missing, pins = [], []
    for name in wanted:
        choice = _pick(availability.offered(name), to, cuda_after)
        if choice is None:
            missing.append(name)
            continue
        result.installs.append(PackageVersion(step.component, name, choice.version, manager, choice.arch))
        pin = _pin(availability.offered(name), choice)
        if pin is not None:
            pins.append((pin, choice.version))
    if pins:
        _pinned(result, pins, step.component)
    if missing:
        have = sorted(
            {v.version for n in missing for v in availability.offered(n)}, key=lambda v: names_kb.upstream(v) or v
        )
        result.blockers.append(
            Blocker(
                BlockerKind.UNAVAILABLE,
                step.component,
                f"no configured repository offers {', '.join(missing)} at {label} {to}"
                + (f" (offered: {', '.join(have[-6:])})" if have else ""),
                names_kb.SOURCES.get(step.component),
                f"add the repository that carries {label} {to}, or target a version the repositories offer",
            )
        )


def _wanted_names(step: PlanStep, installed: list[InstalledPackage], cuda_after: str | None) -> list[str]:
    """The host's packages of the component, as the names that carry the target (CUDA: its metapackages only)."""
    to = step.to or ""
    chosen = [p.name for p in installed]
    if step.component == "cuda":
        target_xy = "-".join(versions.major_minor(to).split("."))
        chosen = [p.name for p in installed if names_kb.is_cuda_meta(p.name)]
        # toolkits are installed side by side: follow only the one the plan replaces (or any, for a new line)
        same_line = [n for n in chosen if n.endswith(f"-{target_xy}")]
        source = [
            n for n in chosen if step.from_ and n.endswith("-" + "-".join(versions.major_minor(step.from_).split(".")))
        ]
        chosen = same_line or source or chosen[:1]
    if step.component == "driver":
        chosen = [p.name for p in installed if names_kb.driver_name_is_primary(p.name)] or chosen
    if step.component == "cudnn":
        chosen = [n for n in chosen if "-dev" not in n and "-headers" not in n and "-samples" not in n] or chosen
    return list(dict.fromkeys(names_kb.renamed(step.component, n, to, cuda_after) for n in chosen))


def _pick(offered: Sequence[OfferedVersion], to: str, cuda_after: str | None) -> OfferedVersion | None:
    """The offered version that carries ``to``: for builds that name a CUDA line, the host's line, else its
    newest minor of the same CUDA major; among equals the newest package revision."""
    fitting = [v for v in offered if (u := names_kb.upstream(v.version)) and versions.matches(u, to)]
    lines = [(v, names_kb.cuda_line(v.version)) for v in fitting]
    if any(line for _, line in lines) and cuda_after and versions.is_version(cuda_after):
        mine = versions.major_minor(cuda_after)
        exact = [v for v, line in lines if line == mine]
        major = [v for v, line in lines if line and line.split(".")[0] == mine.split(".")[0]]
        fitting = exact or sorted(major, key=lambda v: versions.parse(names_kb.cuda_line(v.version) or "0"))[-1:]
    if not fitting:
        return None
    return max(fitting, key=lambda v: (versions.parse(names_kb.upstream(v.version) or "0"), v.version))


def _pin(offered: Sequence[OfferedVersion], choice: OfferedVersion) -> OfferedVersion | None:
    """The apt pin (priority 1000 or more) on another version that would keep ``choice`` from being installed."""
    pins = [v for v in offered if v.priority is not None and v.priority >= PIN_PRIORITY and v.version != choice.version]
    if pins and (choice.priority or 0) < PIN_PRIORITY:
        return max(pins, key=lambda v: v.priority or 0)
    return None


def _pinned(result: PackagePlan, pins: list[tuple[OfferedVersion, str]], component: str) -> None:
    """One blocker for the component's pinned packages: ``pins`` are (the pinned version, the version wanted)."""
    held = ", ".join(f"{pin.name} at {pin.version} (priority {pin.priority})" for pin, _ in pins)
    wanted = ", ".join(sorted({want for _, want in pins}))
    result.blockers.append(
        Blocker(
            BlockerKind.PINNED,
            component,
            f"apt pins hold {held}: Ansible's apt module refuses to install {wanted} while they are there "
            "(docs/research/workflows.md D)",
            names_kb.HOLD_SOURCE,
            "remove or widen the pins in /etc/apt/preferences.d before the rollout; the playbook holds the "
            "new versions afterwards",
        )
    )


def _holds(result: PackagePlan, packages: PackageFacts) -> None:
    driver = [p for p in packages.installed if names_kb.component_of(p.name) == "driver"]
    loose = [p.name for p in driver if names_kb.driver_name_is_primary(p.name) and not p.held]
    if not loose:
        return
    how = (
        "version-locked (dnf versionlock)"
        if packages.manager and not packages.manager.debian
        else "held (apt-mark hold)"
    )
    result.warn(
        f"driver package{'s' if len(loose) > 1 else ''} {', '.join(loose)} not {how}: a branch package keeps "
        "updating within its branch on the next upgrade of the host's packages",
        names_kb.HOLD_SOURCE,
    )


def _manager(packages: PackageFacts) -> str:
    return packages.manager.value if packages.manager else "?"
