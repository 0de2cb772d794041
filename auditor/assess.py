"""From a probe outcome to a host report: parse the facts, evaluate, pick the verdict."""

from __future__ import annotations

from auditor.evaluate import evaluate
from auditor.facts.model import Facts, FactsError
from auditor.facts.reader import parse_facts
from auditor.findings import Verdict, verdict_of
from auditor.inventory import Host
from auditor.isolation import attempt
from auditor.policy.model import Policy
from auditor.report import HostReport
from auditor.text import clean, clean_bytes
from auditor.transport.outcome import HostError, ProbeOutcome, Step

NO_PYTHON_STATUS = 127


def assess(host: Host, outcome: ProbeOutcome, policy: Policy) -> HostReport:
    """The verdict for one host. Never raises for anything the host sent.

    Unusable output is a ``parse`` error; an exception in auditor's own parsing or
    evaluation code (a bug the host's input found) is an ``error`` verdict at step
    ``parse`` or ``evaluate``, its traceback in the crash log (``auditor.isolation``).
    """
    stderr = clean_bytes(outcome.stderr, limit=16384)

    def failed(verdict: Verdict, error: HostError) -> HostReport:
        return HostReport(
            host.name, host.address, host.groups, verdict, error=error, timing=outcome.timing, stderr=stderr
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
        return failed(Verdict.ERROR, HostError(Step.PROBE, message))
    facts = attempt(Step.PARSE, host.name, lambda: _parse(outcome.stdout))
    if isinstance(facts, HostError):
        return failed(Verdict.ERROR, facts)
    evaluation = attempt(Step.EVALUATE, host.name, lambda: evaluate(policy, host, facts))
    if isinstance(evaluation, HostError):
        return failed(Verdict.ERROR, evaluation)
    return HostReport(
        host.name,
        host.address,
        host.groups,
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
        return HostError(Step.PARSE, clean(str(exc), 500))
