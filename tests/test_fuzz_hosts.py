"""Hosts that lie, fuzzed: mutated real-GPU recordings never break the audit of the other hosts.

Each example takes the probe outputs recorded on a real H200 (``tests/fixtures/real/``),
mutates some of them (wrong types, huge and non-finite numbers, hostile Unicode,
missing and extra keys, values that steer deep into the checks) and runs them
through everything that follows the probe: parse and evaluate (``assess``), the
fleet-level checks, every report writer as ``auditor report`` renders them, the
planner and its writers, and the TUI's model, cells and detail pane. Whatever the host sent, every host
has a verdict, every format renders, the JSON is strict, and no line can be forged.

Derandomized with a bounded example count and no example database: the same
examples every run, a few seconds in CI, nothing to flake.
"""

from __future__ import annotations

import copy
import io
import json
import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console

from auditor.audit.events import AuditEvent
from auditor.cli.plan import renderer as plan_renderer
from auditor.evaluate.registry import CHECK_IDS
from auditor.findings import Verdict
from auditor.inventory import Host
from auditor.plan.fleet import failed_plan, make_plan, plan_with_hosts
from auditor.plan.model import PlanSource, Rollout
from auditor.plan.target import build_target
from auditor.policy.files import load_policy
from auditor.report.assess import apply_consistency, assess
from auditor.report.formats import FORMATS, renderer
from auditor.report.isolation import render_isolated
from auditor.report.model import Report
from auditor.text import is_clean
from auditor.transport.outcome import HostState, ProbeOutcome
from auditor.tui.cells import COLUMNS, row_cells
from auditor.tui.detail import render_detail
from auditor.tui.model import FleetModel
from tests.support.paths import FIXTURES, REAL

RECORDINGS = [
    json.loads((REAL / name).read_text())
    for name in ("probe.json", "probe-plain.json", "probe-engines.json", "probe-nocuda.json", "probe-denied.json")
]
POLICY = load_policy(FIXTURES / "fuzz-policy.yaml", checks=CHECK_IDS)
# Values that steer deep into the checks: every enum the reader knows, versions and near-versions.
STEERING = [
    "ok", "version-mismatch", "device-mismatch", "corrupt", "missing-plugin", "cuda-init-failure",
    "no-runtime", "timeout", "crashed", "not-found", "skipped", "wrong-output", "no-plan", "mismatch",
    "not-loaded", "permission-denied", "unknown", "9.0", "8.0", "12.2", "13.0", "580.95.05", "535.104.05",
    "10.13.3.9", "11.4.0.106", "8.6.1.6", "10.x", "abc", "", "0", "99999999999999999999.1", "1.2.3.4.5.6.7",
    "NVIDIA H200", "https://evil.example/x", "=cmd|calc", "a\u2028b", "\u202eevil", "\x1b[31mred",
]  # fmt: skip
HUGE = 10**401


def hostile_text() -> st.SearchStrategy[str]:
    """Unicode of every kind, weighted towards what breaks lines and terminals."""
    specials = st.sampled_from(["\u2028", "\u2029", "\x85", "\u202e", "\u2066", "\u061c", "\x1b", "\r", "\n", "|"])
    return st.one_of(
        st.text(max_size=40),
        st.lists(st.one_of(specials, st.text(max_size=3)), max_size=8).map("".join),
        st.sampled_from(STEERING),
        st.integers(min_value=200, max_value=5000).map(lambda n: "9" * n),  # long fields
    )


def json_values() -> st.SearchStrategy[Any]:
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.sampled_from([2**63, -(2**63) - 1, HUGE, 10**41]),
        st.floats(allow_nan=True, allow_infinity=True),
        hostile_text(),
    )
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
        max_leaves=8,
    )


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value in a document (keys and list indices)."""
    found = [path] if path else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*path, index))
    return found


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    """A real recording with one to four mutations: replace, delete, add a key, or steer a value."""
    document = copy.deepcopy(draw(st.sampled_from(RECORDINGS)))
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(document)
        path = draw(st.sampled_from(paths))
        parent: Any = document
        for step in path[:-1]:
            parent = parent[step]
        key = path[-1]
        action = draw(st.sampled_from(["replace", "delete", "add", "steer"]))
        if action == "delete":
            del parent[key]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.text(max_size=10))] = draw(json_values())
        elif action == "steer":
            parent[key] = draw(st.sampled_from(STEERING))
        else:
            parent[key] = draw(json_values())
    return document


def encode(document: dict[str, Any]) -> bytes:
    """The document as a host would send it: non-finite floats as 1e400/-1e400/NaN, huge integers as digits."""

    def plain(node: Any) -> Any:
        if isinstance(node, float) and not math.isfinite(node):
            return {"__float__": "nan" if math.isnan(node) else ("1e400" if node > 0 else "-1e400")}
        if isinstance(node, dict):
            return {k: plain(v) for k, v in node.items()}
        if isinstance(node, list):
            return [plain(v) for v in node]
        return node

    text = json.dumps(plain(document), ensure_ascii=False)
    for constant in ("nan", "1e400", "-1e400"):
        text = text.replace(json.dumps({"__float__": constant}), "NaN" if constant == "nan" else constant)
    return text.encode("utf-8", "surrogatepass")


def strict_json(text: str) -> Any:
    def refuse(name: str) -> None:
        raise AssertionError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


@settings(max_examples=40, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(mutated(), min_size=1, max_size=3))
def test_lying_hosts_cost_only_themselves(documents: list[dict[str, Any]]) -> None:
    """Whatever mutated facts some hosts send, every host gets a verdict, every writer renders, JSON stays strict."""
    rules = POLICY
    hosts = [Host(f"liar-{i}", f"10.0.0.{i + 1}", groups=("serving",)) for i in range(len(documents))]
    hosts.append(Host("honest", "10.0.1.1", groups=("serving",)))
    outputs = [encode(d) for d in documents] + [encode(RECORDINGS[0])]
    assessed = [
        assess(h, ProbeOutcome(stdout=out, exit_status=0), rules) for h, out in zip(hosts, outputs, strict=True)
    ]
    reports = apply_consistency(rules, assessed)
    assert [r.name for r in reports] == [h.name for h in hosts]
    honest = reports[-1]
    assert honest.verdict is not Verdict.ERROR and honest.facts is not None
    for report in reports:
        assert report.verdict is not Verdict.ERROR or report.error is not None  # an error always says why

    full = Report("fuzz", rules.name, reports, generated_at="2026-11-21T06:00:00Z")
    for name in FORMATS:
        text = render_isolated(renderer(name), full, name)
        if name == "json":
            document = strict_json(text)
            assert [h["name"] for h in document["hosts"]] == [h.name for h in hosts]
        if name == "prom":
            list(text_string_to_metric_families(text))  # parses
        if name in ("table", "md", "csv", "prom"):
            lines = text.split("\r\n" if name == "csv" else "\n")  # CSV rows end CRLF (RFC 4180)
            assert all(is_clean(line) for line in lines), name

    target = build_target(rules, "serving", [])
    plan = make_plan(
        reports, {h.name: h for h in hosts}, target, rules, Rollout(), PlanSource("audit", full.generated_at), "fuzz"
    )
    assert [h.name for h in plan.hosts] == [h.name for h in hosts]
    for name in ("table", "md", "json", "ansible"):
        text = render_isolated(
            plan_renderer(name), plan, name, lambda h, e: failed_plan(h.name, h.groups, e), narrow=plan_with_hosts
        )
        if name == "json":
            strict_json(text)

    model = FleetModel()
    model.add_hosts(hosts)
    for host, report in zip(hosts, reports, strict=True):
        model.apply(AuditEvent(host, HostState.DONE, report), 1.0)
    model.complete(reports)
    assert len(model.visible()) == len(hosts)
    for row in model.rows.values():
        assert row.report is not None
        cells = row_cells(row, marked=False, now=2.0)
        assert all(cell.cell_len <= column.max_width for column in COLUMNS for cell in [cells[column.key]])
        detail = Console(file=io.StringIO(), width=120, color_system=None)
        detail.print(render_detail(row, 2.0))
        assert "\x1b" not in detail.file.getvalue()  # type: ignore[attr-defined]
