"""What every check is made of: ``Check`` (its id, the facts it reads, the function that judges) and ``Run``.

A check records in a ``Run`` what it checked (``wants``, ``checks``) and what it found
(``add``, ``inconclusive``); missing facts make a check inconclusive, never a pass. The
registry of checks is ``auditor.evaluate.registry``; the checks themselves live one per
module in ``auditor.evaluate.checks``.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from auditor import versions
from auditor.facts.model import DriverStatus, Facts
from auditor.findings import Action, Finding, Severity
from auditor.knowledge.answers import Answer, GpuSpec
from auditor.policy.model import Disabled, Rule
from auditor.records import record

BUILTIN = "built-in"


@record
class Check:
    """One check of the registry (``auditor.evaluate.registry``): an id, the facts it reads, and its judge.

    ``judge(run)`` records in ``run`` what it checked and what it found. ``id`` names a
    built-in check (``driver.arch``; ``switches`` lists every id a policy's ``disable:``
    may name for it, with what each checks, and ``needs_driver`` skips it on a host whose
    driver version cannot be read), or, for a check a policy rule asks for, the part its
    ids carry after the rule's (``<rule>/image``; ``asks(rule)`` says whether the rule
    asks for it). ``reads`` names the fact sections it reads.
    """

    id: str
    reads: tuple[str, ...]
    judge: Callable[[Run], None]
    switches: Mapping[str, str] = field(default_factory=dict)
    needs_driver: bool = True
    asks: Callable[[Rule], bool] | None = None


@dataclass
class Run:
    """One host's evaluation: its facts, what ran, what was found, what a policy switched off.

    ``driver_required`` is true when a rule selecting the host requires a driver. For the
    checks one rule asks for, ``rule`` is that rule and ``findings`` its own (the rule's
    severity, action and remediation then apply to them); ``checks`` is the host's.
    """

    facts: Facts
    today: datetime.date
    disabled: Mapping[str, tuple[str, Disabled]] = field(default_factory=dict)
    driver_required: bool = False
    rule: Rule | None = None
    checks: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    not_applicable: list[tuple[str, str]] = field(default_factory=list)

    @property
    def driver(self) -> str | None:
        """The driver's version when the driver is loaded and its version readable, else None."""
        driver = self.facts.driver
        if driver.status is not DriverStatus.OK or not driver.version or not versions.is_version(driver.version):
            return None
        return driver.version

    @property
    def driver_version(self) -> str:
        """``driver`` for the checks that need it (the registry runs them only when there is one)."""
        version = self.driver
        assert version is not None, "a check that needs the driver ran without one"
        return version

    @functools.cached_property
    def gpus(self) -> list[GpuSpec]:
        """One spec per distinct GPU model on the host (``gpu_specs``)."""
        return gpu_specs(self.facts)

    def for_rule(self, rule: Rule) -> Run:
        """A run for the checks ``rule`` asks for: the host's checks list, the rule's own findings."""
        return Run(self.facts, self.today, self.disabled, self.driver_required, rule, checks=self.checks)

    @property
    def asking(self) -> Rule:
        """The rule whose checks this run is for (only rule checks ask)."""
        assert self.rule is not None, "a rule check ran outside a rule"
        return self.rule

    def wants(self, check: str) -> bool:
        """Record ``check`` as run, or as switched off (not applicable, with its visible finding); True to run it."""
        off = self.disabled.get(check)
        if off is None:
            self.checks.append(check)
            return True
        rule_id, disabled = off
        if all(check != done for done, _ in self.not_applicable):
            self.not_applicable.append(
                (check, f"switched off by rule {rule_id!r} ({disabled.location}): {disabled.reason}")
            )
        self.findings.append(
            Finding(
                rule=check,
                severity=Severity.INFO,
                action=Action.NONE,
                message=f"built-in check switched off by rule {rule_id!r}: {disabled.reason}",
                source=str(disabled.location),
            )
        )
        return False

    def add(self, finding: Finding) -> None:
        self.findings.append(finding)

    def inconclusive(self, check: str, message: str, source: str = BUILTIN) -> None:
        self.findings.append(inconclusive(check, message, source))


def inconclusive(rule: str, message: str, source: str = BUILTIN) -> Finding:
    """A check that could not be evaluated: investigate, never a pass or a violation."""
    return Finding(
        rule=rule,
        severity=Severity.MEDIUM,
        action=Action.INVESTIGATE,
        message=f"could not evaluate: {message}",
        source=source,
        inconclusive=True,
    )


def gpu_specs(facts: Facts) -> list[GpuSpec]:
    """One spec per distinct GPU model on the host (name and reported compute capability)."""
    seen: dict[tuple[str | None, str | None], GpuSpec] = {}
    for gpu in facts.gpus.devices:
        key = (gpu.name, gpu.compute_capability)
        seen.setdefault(key, GpuSpec(gpu.name, gpu.compute_capability))
    return list(seen.values())


def sentence(text: str, end: str = "") -> str:
    """``text`` as a sentence (first letter capital, one full stop), then ``end``; "" stays ""."""
    text = text.strip().rstrip(".")
    return f"{text[:1].upper()}{text[1:]}.{end}" if text else end.lstrip()


def first_source(answer: Answer) -> str:
    return answer.sources[0] if answer.sources else BUILTIN
