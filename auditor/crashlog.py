"""The crash log: where tracebacks of internal errors go, so the screen gets one line.

``$XDG_STATE_HOME/auditor/crash.log`` (``statedir``), appended to, one entry per
failure with its time and what was being done. The CLI's last line of defence writes
here, and so does the per-host boundary (``auditor.report.isolation``), whose failures cost
one host and must still leave their traceback somewhere a developer can read it.
"""

from __future__ import annotations

import traceback
from datetime import datetime, timezone

from auditor.statedir import state_dir

UNWRITABLE = "(could not write a log; rerun with --debug)"


def log_path() -> str:
    """Where the crash log is (it may not exist yet)."""
    return str(state_dir() / "crash.log")


def record(exc: BaseException, context: str = "") -> str:
    """Append ``exc``'s traceback (with ``context``, what was being done) to the crash log.

    Returns the log's path, or ``UNWRITABLE`` when it cannot be written (never raises).
    """
    path = state_dir() / "crash.log"
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8", errors="replace") as handle:
            handle.write(f"--- {stamp}{': ' + context if context else ''}\n")
            traceback.print_exception(type(exc), exc, exc.__traceback__, file=handle)
        return str(path)
    except OSError:
        return UNWRITABLE
