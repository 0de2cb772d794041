"""From probe outcomes to host reports: parse the facts, evaluate, pick the verdict; then the fleet-level checks.

``assess`` makes one host's report; ``apply_consistency`` adds, once every host is in,
what ``auditor.evaluate.consistency`` finds across groups, each host's part inside its
own boundary (``auditor.report.isolation``).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import replace
from functools import partial

from auditor.evaluate.consistency import Profile, consistency_rules, drift, profile
from auditor.evaluate.host import evaluate
from auditor.facts.model import Facts, FactsError
from auditor.facts.reader import parse_facts
from auditor.findings import Finding, Verdict, verdict_of
from auditor.inventory import Host
from auditor.policy.model import Policy
from auditor.policy.waivers import apply_waivers
from auditor.report.isolation import assessed, attempt, failed_report
from auditor.report.model import HostReport
from auditor.text import clean, clean_bytes, escape_bytes
from auditor.transport.outcome import AuditStep, HostError, ProbeOutcome

NO_PYTHON_STATUS = 127
OUTPUT_EXCERPT = 2048  # bytes of unusable probe output a failed host's report keeps, to show what came back


def assess(host: Host, outcome: ProbeOutcome, policy: Policy) -> HostReport:
    """The verdict for one host. Never raises for anything the host sent.

    Unusable output is a ``parse`` error; an exception in auditor's own parsing or
    evaluation code (a bug the host's input found) is an ``error`` verdict at step
    ``parse`` or ``evaluate``, its traceback in the crash log (``auditor.report.isolation``).
    """
    stderr = clean_bytes(outcome.stderr, limit=16384)

    def failed(verdict: Verdict, error: HostError) -> HostReport:
        return HostReport(
            host,
            verdict,
            error=error,
            timing=outcome.timing,
            stderr=stderr,
            output=escape_bytes(outcome.stdout, OUTPUT_EXCERPT) if outcome.stdout else "",
        )

    if outcome.error is not None:
        transport = outcome.error.step.transport or outcome.error.timed_out
        return failed(Verdict.UNREACHABLE if transport else Verdict.ERROR, outcome.error)
    if outcome.exit_status not in (0, None) or outcome.exit_signal:
        tail = clean(stderr.strip().splitlines()[-1], 300) if stderr.strip() else "no message"
        if outcome.exit_signal:
            name = clean(outcome.exit_signal, 40)
            message = f"probe killed by signal SIG{name.removeprefix('SIG')}: {tail}"
        elif outcome.exit_status == NO_PYTHON_STATUS:
            message = "no python3 on this host (the probe needs Python 3.6 or newer)"
        else:
            message = f"probe exited with status {outcome.exit_status}: {tail}"
        return failed(Verdict.ERROR, HostError(AuditStep.PROBE, message))
    facts = attempt(AuditStep.PARSE, host.name, lambda: _parse(outcome.stdout))
    if isinstance(facts, HostError):
        return failed(Verdict.ERROR, facts)
    evaluation = attempt(AuditStep.EVALUATE, host.name, lambda: evaluate(policy, host, facts))
    if isinstance(evaluation, HostError):
        return failed(Verdict.ERROR, evaluation)
    return HostReport(
        host,
        verdict_of(evaluation.findings),
        findings=evaluation.findings,
        checks=evaluation.checks,
        not_applicable=evaluation.not_applicable,
        facts=facts,
        timing=outcome.timing,
        stderr=stderr,
    )


def _parse(stdout: bytes) -> Facts | HostError:
    """The facts, or the host's parse error when its output is not valid ``auditor.facts/1``."""
    try:
        return parse_facts(stdout)
    except FactsError as exc:
        return HostError(AuditStep.PARSE, clean(str(exc), 500))


def apply_consistency(policy: Policy, reports: Sequence[HostReport]) -> tuple[HostReport, ...]:
    """``reports`` with drift findings (waivers applied) and the checks that ran added.

    Each host's part (is it selected, which versions it runs, its findings merged) runs
    inside the per-host boundary: a host whose part raises becomes an ``error`` at step
    ``consistency`` and is left out of the comparison; the others are compared without it.
    """
    rules = consistency_rules(policy)
    if not rules:
        return tuple(reports)
    failed: dict[str, HostReport] = {}
    profiles: list[tuple[Host, Profile]] = []
    for report in reports:
        if report.facts is None:
            continue
        found = attempt(AuditStep.CONSISTENCY, report.name, partial(profile, rules, report.host, report.facts))
        if isinstance(found, HostError):
            failed[report.name] = failed_report(report, found)
        else:
            profiles.append((report.host, found))
    extra, checks = drift(rules, profiles)
    result = []
    today = policy.today()
    for report in reports:
        added, ran = extra.get(report.name, []), checks.get(report.name, [])
        if report.name in failed:
            result.append(failed[report.name])
        elif not added and not ran:
            result.append(report)
        else:
            merge = partial(_merged, policy, report, added, ran, today)
            result.append(assessed(AuditStep.CONSISTENCY, merge, report))
    return tuple(result)


def _merged(
    policy: Policy, report: HostReport, extra: list[Finding], checks: list[str], today: datetime.date
) -> HostReport:
    added = apply_waivers(policy.waivers, report.name, extra, today)
    findings = report.findings + added
    return replace(
        report,
        findings=findings,
        checks=report.checks + tuple(dict.fromkeys(checks)),
        verdict=verdict_of(findings) if report.facts is not None else report.verdict,
    )
