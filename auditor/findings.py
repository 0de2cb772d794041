"""Verdicts, severities, actions and findings: the vocabulary every output shares.

A foundation: the policy names severities and actions, the evaluator makes findings,
reports and plans show them; so this sits below them all and imports nothing of auditor.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import field

from auditor.records import record


class Verdict(enum.Enum):
    """A host's overall state, most urgent first. ``rank`` orders them."""

    ERROR = "error"
    """The probe ran but its output could not be used."""
    UNREACHABLE = "unreachable"
    """Connect, auth, host key or timeout: the host could not be audited."""
    ROLLBACK = "rollback"
    """A version above the allowed range or on a deny list."""
    REBOOT = "reboot"
    """A driver/library mismatch or a pending kernel module."""
    UPGRADE = "upgrade"
    """Below a floor, a required component missing, or an engine that will not load."""
    WARN = "warn"
    """Something to look at; nothing blocks serving."""
    OK = "ok"
    """Everything the policy asks for holds."""

    @property
    def rank(self) -> int:
        """0 for the most urgent verdict (error), 6 for ok."""
        return _VERDICT_ORDER.index(self)

    @property
    def needs_action(self) -> bool:
        """True for every verdict but ok (warn included: somebody should look)."""
        return self is not Verdict.OK

    @property
    def incomplete(self) -> bool:
        """True when the host could not be evaluated at all."""
        return self in (Verdict.ERROR, Verdict.UNREACHABLE)


_VERDICT_ORDER = list(Verdict)


class Severity(enum.Enum):
    """How bad a finding is; the five bands InSpec users know."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """0 for info up to 4 for critical."""
        return _SEVERITY_ORDER.index(self)


_SEVERITY_ORDER = list(Severity)


class Action(enum.Enum):
    """What an operator does about a finding."""

    NONE = "none"
    """Informational: nothing to do."""
    INVESTIGATE = "investigate"
    """A person must look; the host verdict becomes warn."""
    UPGRADE = "upgrade"
    """Install or upgrade a component."""
    ROLLBACK = "rollback"
    """Go back to an allowed version."""
    REBOOT = "reboot"
    """Reboot to load the installed driver."""
    REBUILD_ENGINE = "rebuild-engine"
    """Rebuild a TensorRT engine for this host's stack."""

    @property
    def verdict(self) -> Verdict:
        """The host verdict a finding with this action implies."""
        return _ACTION_VERDICT[self]


_ACTION_VERDICT = {
    Action.NONE: Verdict.OK,
    Action.INVESTIGATE: Verdict.WARN,
    Action.UPGRADE: Verdict.UPGRADE,
    Action.REBUILD_ENGINE: Verdict.UPGRADE,
    Action.ROLLBACK: Verdict.ROLLBACK,
    Action.REBOOT: Verdict.REBOOT,
}


@record
class Finding:
    """One check's result on one host.

    ``source`` says what produced it: a policy ``file:line`` or a knowledge table
    and its URL. ``expected``/``actual`` are short human strings (versions, counts).
    ``inconclusive`` marks a check that could not be evaluated (missing facts):
    it asks a person to look, and is never counted as a pass or a violation.
    """

    rule: str
    severity: Severity
    action: Action
    message: str
    expected: str | None = None
    actual: str | None = None
    source: str | None = None
    remediation: str | None = None
    inconclusive: bool = False
    waived: bool = False
    waiver: dict[str, str] | None = field(default=None, compare=False)

    @property
    def verdict(self) -> Verdict:
        """The verdict this finding pushes its host towards (ok when waived)."""
        return Verdict.OK if self.waived else self.action.verdict

    def to_json(self) -> dict[str, object]:
        """The finding as it appears in ``auditor.report/1``."""
        return {
            "rule": self.rule,
            "severity": self.severity.value,
            "action": self.action.value,
            "message": self.message,
            "expected": self.expected,
            "actual": self.actual,
            "source": self.source,
            "remediation": self.remediation,
            "inconclusive": self.inconclusive,
            "waived": self.waived,
            "waiver": self.waiver,
        }


def verdict_of(findings: Iterable[Finding]) -> Verdict:
    """The most urgent verdict among the findings; ok when there are none."""
    return min((f.verdict for f in findings), key=lambda v: v.rank, default=Verdict.OK)


def main_finding(findings: Iterable[Finding]) -> Finding | None:
    """The finding that best explains the host's verdict (most urgent, then most severe)."""
    live = [f for f in findings if not f.waived and f.action is not Action.NONE]
    if not live:
        return None
    return min(live, key=lambda f: (f.verdict.rank, -f.severity.rank))
