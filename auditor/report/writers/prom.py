"""The report as a Prometheus textfile for node_exporter's textfile collector.

Rendered by ``prometheus_client`` (escaping of label values and HELP text, one HELP
and TYPE per family, in the exposition format node_exporter parses). Rules the
research found other tools broke (docs/research/anchors-audit.md convention 12):

* no sample carries a client-side timestamp (node_exporter rejects the whole file);
* ``auditor_last_run_timestamp_seconds`` says when the audit ran, so a dead cron job
  is alertable (``time() - auditor_last_run_timestamp_seconds > ...``);
* every family has the same HELP and TYPE in every file we write, so several
  inventories may each write their own ``.prom`` into one directory (the
  ``inventory`` label keeps their series apart);
* the file is replaced atomically by the caller (``auditor.report.files``).

Audited nodes are the ``host`` label; ``instance`` stays the node_exporter that
serves the file. Label values come from hosts and are untrusted: each is cleaned
(``auditor.text.clean``: no control character, line separator or bidirectional
control, which would forge or disguise a line for a person reading the file), then
the library escapes it as the exposition format says (``\\``, ``\"``, ``\n``); no
unbounded text (messages) becomes a label.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily
from prometheus_client.registry import Collector

from auditor.facts.stack import stack_of
from auditor.findings import Verdict
from auditor.report.model import Report, parse_time
from auditor.text import clean

PREFIX = "auditor"
LABEL_LIMIT = 256  # label values are index keys: a host cannot make them unbounded


class _ReportCollector(Collector):
    def __init__(self, report: Report) -> None:
        self.report = report

    def collect(self) -> Iterator[GaugeMetricFamily | InfoMetricFamily]:
        report = self.report
        inv = label(report.inventory)
        generated = parse_time(report.generated_at).timestamp()

        def gauge(name: str, doc: str, labels: list[str]) -> GaugeMetricFamily:
            return GaugeMetricFamily(f"{PREFIX}_{name}", doc, labels=["inventory", *labels])

        last = gauge("last_run_timestamp_seconds", "When the last audit ran (Unix time).", [])
        last.add_metric([inv], generated)
        yield last
        duration = gauge("last_run_duration_seconds", "How long the last audit took.", [])
        duration.add_metric([inv], round(report.duration_s, 3))
        yield duration
        as_of = datetime.datetime.fromisoformat(report.knowledge.as_of).replace(tzinfo=datetime.timezone.utc)
        knowledge = gauge(
            "knowledge_as_of_timestamp_seconds",
            "The date up to which the NVIDIA knowledge behind the verdicts was read (Unix time).",
            ["overlay"],
        )
        knowledge.add_metric([inv, report.knowledge.overlay or ""], as_of.timestamp())
        yield knowledge
        complete = gauge("last_run_complete", "1 if the last audit ran to the end, 0 if it was interrupted.", [])
        complete.add_metric([inv], 1.0 if report.complete else 0.0)
        yield complete
        if report.exit is not None:
            code = gauge("last_run_exit_code", "Exit code of the last audit (see auditor --help).", [])
            code.add_metric([inv], float(int(report.exit.code)))
            yield code

        summary = report.summary()
        hosts = gauge("hosts", "Hosts per verdict in the last audit.", ["verdict"])
        for verdict in Verdict:
            hosts.add_metric([inv, verdict.value], float(summary[verdict.value]))
        yield hosts

        verdicts = gauge(
            "host_verdict", "1 for the host's verdict in the last audit, 0 for the others.", ["host", "verdict"]
        )
        needs = gauge("host_needs_action", "1 if the host's verdict is not ok.", ["host"])
        since = gauge(
            "host_failing_since_timestamp_seconds",
            "When the host's current run of not-ok verdicts began (Unix time; from history).",
            ["host"],
        )
        findings = gauge(
            "host_findings",
            "Live findings (not waived) per host and severity.",
            ["host", "severity"],
        )
        finding = gauge(
            "finding",
            "1 per finding in the last audit.",
            ["host", "rule", "severity", "action", "waived", "inconclusive"],
        )
        stack = InfoMetricFamily(
            f"{PREFIX}_host_stack",
            "Versions on the host as the probe reported them (empty: unknown or absent).",
            labels=["inventory", "host"],
        )
        gpus = gauge("host_gpus", "GPUs the host's driver reports.", ["host"])
        for host in report.hosts:
            name = label(host.name)
            for verdict in Verdict:
                verdicts.add_metric([inv, name, verdict.value], 1.0 if host.verdict is verdict else 0.0)
            needs.add_metric([inv, name], 1.0 if host.verdict.needs_action else 0.0)
            if host.failing_since:
                since.add_metric([inv, name], parse_time(host.failing_since).timestamp())
            per_severity: dict[str, int] = {}
            for f in host.findings:
                if not f.waived:
                    per_severity[f.severity.value] = per_severity.get(f.severity.value, 0) + 1
                finding.add_metric(
                    [
                        inv,
                        name,
                        label(f.rule),
                        f.severity.value,
                        f.action.value,
                        str(f.waived).lower(),
                        str(f.inconclusive).lower(),
                    ],
                    1.0,
                )
            for severity, count in sorted(per_severity.items()):
                findings.add_metric([inv, name, severity], float(count))
            if host.facts is not None:
                s = stack_of(host.facts)
                stack.add_metric(
                    [inv, name],
                    {
                        "driver": label(s.driver),
                        "kernel_module": label(s.kernel_module),
                        "cuda_driver": label(s.cuda_driver),
                        "cuda": label(s.cuda),
                        "cudnn": label(s.cudnn),
                        "tensorrt": label(s.tensorrt),
                        "gpu": label(s.gpu),
                    },
                )
                if s.gpu_count is not None:
                    gpus.add_metric([inv, name], float(s.gpu_count))
        yield from (verdicts, needs, since, findings, finding, stack, gpus)


def label(value: str | None) -> str:
    """A label value: cleaned and bounded (the library escapes it); "" for None."""
    return clean(value or "", LABEL_LIMIT)


def render_prom(report: Report) -> str:
    """The report as Prometheus text exposition format (ends with a newline)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_ReportCollector(report))
    return generate_latest(registry).decode("utf-8")
