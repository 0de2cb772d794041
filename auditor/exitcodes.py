"""Process exit codes of the headless commands: one meaning each, documented and tested."""

from __future__ import annotations

import enum
from collections.abc import Iterable

from auditor.findings import Verdict


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
        "a --limit matching no host); no host was contacted",
    )
    INCOMPLETE = 3, "audit incomplete: some hosts unreachable or errored, and none at or above --fail-on"
    INTERNAL = 4, "internal error, including a report that could not be written"
    INTERRUPTED = 130, "interrupted (SIGINT/SIGTERM)"


FAIL_ON_CHOICES = ("warn", "upgrade", "reboot", "rollback")
DEFAULT_FAIL_ON = "upgrade"


def exit_code_for(verdicts: Iterable[Verdict], fail_on: str = DEFAULT_FAIL_ON) -> ExitCode:
    """The exit code for a finished audit: findings beat incompleteness (both are in the report)."""
    threshold = Verdict(fail_on)
    verdicts = list(verdicts)
    if any(not v.incomplete and v.rank <= threshold.rank for v in verdicts):
        return ExitCode.FINDINGS
    if any(v.incomplete for v in verdicts):
        return ExitCode.INCOMPLETE
    return ExitCode.OK


def legend() -> dict[str, str]:
    """``{"0": "...", ...}`` for the JSON report and ``--help``."""
    return {str(int(code)): code.description for code in ExitCode}


def help_text() -> str:
    """The exit-code table as it appears at the end of ``--help``."""
    lines = ["exit codes:"]
    lines += [f"  {int(code):<4}{code.description}" for code in ExitCode]
    return "\n".join(lines)
