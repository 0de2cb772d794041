"""The exceptions auditor raises on purpose.

    AuditorError                 anything auditor reports to a person
    ├── InputError               a file or flag the user gave is wrong (exit 2); carries file:line
    │   └── InputErrors          several located InputErrors found in one pass
    └── ReportWriteError         a requested report could not be written (exit 4)

A host's own failures (unreachable, bad probe output) are never exceptions that
leave the runner: they become part of that host's result, so one host cannot stop
the others.
"""

from __future__ import annotations

from collections.abc import Iterable

from auditor.records import record


class AuditorError(Exception):
    """Base class: a message a person can act on."""


@record
class Location:
    """Where in a user's file a problem is: ``path:line`` (line is 1-based, 0 if unknown)."""

    path: str
    line: int = 0

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path


class InputError(AuditorError):
    """A user-supplied file or flag is invalid. Always found before any host is contacted."""

    def __init__(self, message: str, location: Location | None = None) -> None:
        self.message = message
        self.location = location
        super().__init__(f"{location}: {message}" if location else message)

    @property
    def problems(self) -> list[InputError]:
        """Each located problem this error stands for (itself; ``InputErrors``: all it gathered)."""
        return [self]


class InputErrors(InputError):
    """Several located problems, reported together so the user can fix them in one go."""

    def __init__(self, errors: Iterable[InputError]) -> None:
        self.errors = [problem for error in errors for problem in error.problems]
        super().__init__("\n".join(str(e) for e in self.errors))

    @property
    def problems(self) -> list[InputError]:
        return list(self.errors)


class ReportWriteError(AuditorError):
    """A report the user asked for could not be written."""
