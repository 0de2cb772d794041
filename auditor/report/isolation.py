"""One host costs only itself: the boundary around every per-host step after the probe returned.

Parsing, evaluation, the fleet-level checks, history, planning, each report writer
and the interactive display all run host by host through this module. An exception
in one of them (auditor's own bug, met on input no test foresaw) becomes that
host's ``error`` verdict, naming the step (``AuditStep.EVALUATE`` ...) and the exception;
the traceback goes to the crash log (``auditor.crashlog``) and one warning line to
the log. Every other host keeps its result, and every requested format is written.

* ``attempt`` runs one host's step and turns an exception into a ``HostError``
  (``isolated``: into what a fallback makes of it);
* ``failed_report`` is a host's report replaced by that error (the verdict ``error``);
* ``render_isolated`` renders a whole document (a report, a plan) and, when that
  raises, finds the hosts whose rendering fails and renders them as error rows
  (``stand_in``), so one host cannot cost a format its file.

Only ``Exception`` is caught: ``KeyboardInterrupt`` and cancellation pass through.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from auditor import crashlog
from auditor.findings import Verdict
from auditor.report.model import HostReport
from auditor.text import clean
from auditor.transport.outcome import AuditStep, HostError

log = logging.getLogger(__name__)

T = TypeVar("T")


def internal_error(step: AuditStep, host: str, exc: BaseException, detail: str = "") -> HostError:
    """``exc``, met at ``step`` on ``host``, as that host's error; the traceback goes to the crash log."""
    where = f"{step.value} ({detail})" if detail else step.value
    path = crashlog.record(exc, f"host {host}: step {where}")
    what = clean(f"{type(exc).__name__}: {exc}", 300)
    log.warning("host %s: internal error at step %s: %s (traceback in %s)", clean(host, 200), where, what, path)
    return HostError(step, f"internal error{' in ' + detail if detail else ''}: {what} (traceback in {path})")


def isolated(
    step: AuditStep, host: str, run: Callable[[], T], fallback: Callable[[HostError], T], detail: str = ""
) -> T:
    """``run()``; if it raises, ``fallback`` of the host's error (see ``internal_error``)."""
    try:
        return run()
    except Exception as exc:
        return fallback(internal_error(step, host, exc, detail))


def attempt(step: AuditStep, host: str, run: Callable[[], T], detail: str = "") -> T | HostError:
    """``run()``, or the host's error if it raises (see ``internal_error``)."""
    try:
        return run()
    except Exception as exc:
        return internal_error(step, host, exc, detail)


def failed_report(report: HostReport, error: HostError) -> HostReport:
    """``report`` as an ``error`` verdict for ``error``: no findings, no facts, only what is safe to show."""
    return HostReport(
        report.host,
        Verdict.ERROR,
        error=error,
        timing=report.timing,
        stderr=report.stderr,
        failing_since=report.failing_since,
    )


def assessed(step: AuditStep, report_of: Callable[[], HostReport], stand_in: HostReport) -> HostReport:
    """A host's report from ``report_of``; if that raises, ``stand_in`` (name, address, groups) as an error."""
    return isolated(step, stand_in.name, report_of, lambda error: failed_report(stand_in, error))


class _Document(Protocol):
    @property
    def hosts(self) -> Sequence[Any]: ...


D = TypeVar("D", bound=_Document)


def render_isolated(
    render: Callable[[D], T],
    document: D,
    label: str,
    stand_in: Callable[[Any, HostError], Any] = failed_report,
    step: AuditStep = AuditStep.REPORT,
    narrow: Callable[[D, tuple[Any, ...]], D] | None = None,
) -> T:
    """``render(document)``, degrading per host when it raises.

    On failure each host is rendered alone; a host that fails alone is replaced by
    ``stand_in(host, error)`` (an error at ``step`` naming ``label``, the format), and the
    document is rendered again. When no single host is to blame the first exception
    propagates: the format as a whole is broken. ``narrow(document, hosts)`` is the
    document with only ``hosts`` (default: ``hosts`` replaced; a plan drops the others
    from its waves too).
    """
    with_hosts = narrow or _with_hosts
    try:
        return render(document)
    except Exception as whole:
        hosts = list(document.hosts)
        fixed: list[Any] = []
        blamed = False
        for host in hosts:
            try:
                render(with_hosts(document, (host,)))
                fixed.append(host)
            except Exception as exc:
                blamed = True
                fixed.append(stand_in(host, internal_error(step, host.name, exc, label)))
        if not blamed:
            raise whole
        return render(with_hosts(document, tuple(fixed)))


def _with_hosts(document: D, hosts: tuple[Any, ...]) -> D:
    return dataclasses.replace(document, hosts=hosts)  # type: ignore[type-var]
