"""Process exit codes of the headless commands: one meaning each, documented and tested.

The ladder (docs/research/anchors-audit.md convention 1): 0 clean, 1 findings at
or above ``--fail-on``, 2 usage or input error before any host is contacted, 3 audit
incomplete, 4 internal error (a report that could not be written included), 130
interrupted. When findings and incompleteness coexist the code is 1, and every report
carries both counts.

The exit codes and the decision a run ends with are here; how a run reaches one
(``--fail-on`` thresholds, ``decide``) is ``auditor.report.thresholds``.

``--fail-on`` takes verdicts and severities, comma-separated (the two vocabularies
share no word); a host fails when it reaches any of them:

* a verdict (``warn``, ``upgrade``, ``reboot``, ``rollback``): its evaluated findings
  make it that verdict or a more urgent one;
* a severity (``info`` ... ``critical``): one of its findings is that severe or worse,
  whatever its action.

The default, ``upgrade,critical``, fails on every host that needs an upgrade, a reboot
or a rollback, and on any critical finding even when its action is only to
investigate (a reference engine that computes the wrong answer, say).

Either way only live findings count: waived ones never, and a check that could not be
evaluated (``Finding.inconclusive``) is never a failure: like an unreachable host it
makes the audit *incomplete* (exit 3 under ``--unreachable fail``, the default).
"""

from __future__ import annotations

import dataclasses
import enum
import textwrap

from auditor.findings import Severity
from auditor.records import record


class ExitCode(enum.IntEnum):
    """``auditor report`` exit codes (``auditor plan`` has its own). Each member has a ``description``."""

    description: str

    def __new__(cls, value: int, description: str) -> ExitCode:
        member = int.__new__(cls, value)
        member._value_ = value
        member.description = description
        return member

    OK = 0, "audit complete; no host at or above --fail-on"
    FINDINGS = 1, "at least one host at or above --fail-on (unreachable hosts may exist too)"
    USAGE = (
        2,
        "usage or input error (bad flag; invalid inventory, policy or fleet file, with file:line; "
        "a malformed --limit or one matching no host; a report path, history, retry or accept-new file "
        "whose directory is missing; an unusable --private-key; tui or demo without a terminal); "
        "no host was contacted, nothing was created",
    )
    INCOMPLETE = (
        3,
        "audit incomplete: hosts unreachable or errored, or checks that could not be evaluated, "
        "and none at or above --fail-on (0 with --unreachable warn); also: the run did not start "
        "because another run held the history lock past --lock-timeout",
    )
    INTERNAL = (
        4,
        "internal error, including a report or history entry that could not be written (the reports written "
        "then say 4 too); a host whose data auditor fails on is that host's error verdict instead",
    )
    INTERRUPTED = (
        130,
        "interrupted (SIGINT/SIGTERM); the reports written are marked incomplete (during start-up: one line, "
        "nothing written)",
    )


VERDICT_LEVELS = ("warn", "upgrade", "reboot", "rollback")

SEVERITY_LEVELS = tuple(s.value for s in Severity)

FAIL_ON_CHOICES = VERDICT_LEVELS + SEVERITY_LEVELS

DEFAULT_FAIL_ON = "upgrade,critical"

UNREACHABLE_CHOICES = ("fail", "warn")

DEFAULT_UNREACHABLE = "fail"


@record
class ExitDecision:
    """The exit code of one run and why; every report shows it."""

    code: ExitCode
    reason: str
    fail_on: str = DEFAULT_FAIL_ON
    unreachable: str = DEFAULT_UNREACHABLE
    failing: tuple[str, ...] = ()
    """Hosts at or above ``--fail-on``."""
    incomplete: tuple[str, ...] = ()
    """Hosts that could not be (fully) evaluated."""

    def failed(self, why: str) -> ExitDecision:
        """This decision overridden by an internal error (exit 4, ``why``); an interrupted run stays 130."""
        if self.code is ExitCode.INTERRUPTED:
            return self
        return dataclasses.replace(self, code=ExitCode.INTERNAL, reason=f"internal error: {why}")

    def to_json(self) -> dict[str, object]:
        return {
            "code": int(self.code),
            "reason": self.reason,
            "fail_on": self.fail_on,
            "unreachable": self.unreachable,
            "failing_hosts": list(self.failing),
            "incomplete_hosts": list(self.incomplete),
        }


def legend() -> dict[str, str]:
    """``{"0": "...", ...}`` for the JSON report and ``--help``."""
    return {str(int(code)): code.description for code in ExitCode}


def help_text() -> str:
    """The exit-code table as it appears at the end of ``--help``."""
    lines = ["exit codes:"]
    for code in ExitCode:
        lines += textwrap.wrap(
            code.description, width=96, initial_indent=f"  {int(code):<5}", subsequent_indent=" " * 7
        )
    return "\n".join(lines)
