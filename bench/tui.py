"""How fast the interactive audit answers keys while 2,000 hosts stream in (headless).

    python bench/tui.py [--hosts 2000] [--rate 250] [--runs 3]

The app runs headless (``App.run_test``) over a ``ReplaySource`` that replays the
recorded demo audit as N hosts, each going QUEUED, CONNECTING, PROBING, DONE like a
real sweep, finishing ``--rate`` hosts a second (250/s is a fast sweep: the controller
spends about 2.7 ms of CPU per host, docs/research/perf-anchors.md, so one core tops out
near 370/s). While they stream in, keys are sent the way a terminal sends them (into
the driver's queue) and the latency is measured from sending the key to the first
frame painted with its effect (cursor moved, sort applied, detail shown...): the
app's queue, the handler, the table sync it waits behind, and the render.

The baseline is the same keys on the same 2,000-host table when nothing streams in,
measured in the same run; the ratios say what streaming costs. Target (DESIGN.md):
keys answered within 100 ms while 2,000 hosts stream in.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual import events

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from auditor.inventory import Host  # noqa: E402 (after the path is set)
from auditor.report.model import HostReport  # noqa: E402
from auditor.tui.app import AuditApp  # noqa: E402
from auditor.tui.recorded import load_reports  # noqa: E402
from auditor.tui.source import ReplaySource  # noqa: E402

RECORDED = ROOT / "tests" / "fixtures" / "tui" / "demo-report.json"
SIZE = (160, 48)
GAP_S = 0.02  # between one key's frame and the next key: a fast typist, not a flood


def fleet(hosts: int) -> list[HostReport]:
    """``hosts`` reports cycling through the recorded demo's verdicts, each under its own name."""
    base = load_reports(RECORDED)
    out = []
    for i in range(hosts):
        report = base[i % len(base)]
        host = Host(f"gpu-{i:04d}-{report.name}", f"10.{i // 250}.{i % 250}.1", groups=report.groups)
        out.append(dataclasses.replace(report, host=host))
    return out


class BenchApp(AuditApp):
    """The real app; it only notes when each frame is painted, to time keys to their effect."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.waiter: tuple[Callable[[], bool], asyncio.Future[float]] | None = None
        self.flushes: list[float] = []
        self.actions_done = 0

    async def run_action(self, *args: Any, **kwargs: Any) -> bool:
        # Every binding runs through here: counting completions tells "the key was handled".
        try:
            return await super().run_action(*args, **kwargs)
        finally:
            self.actions_done += 1

    def _display(self, screen: Any, renderable: Any) -> None:
        super()._display(screen, renderable)
        if renderable is not None and self.waiter is not None:
            done, future = self.waiter
            if not future.done() and done():
                future.set_result(time.perf_counter())


def instrument_flush(app: BenchApp) -> None:
    """Time every table sync (the batched catch-up with the model)."""
    main = app.main
    original = main.flush

    def timed(ages: bool = False) -> None:
        started = time.perf_counter()
        original(ages)
        app.flushes.append(time.perf_counter() - started)

    main.flush = timed  # type: ignore[method-assign]


def key_effects(app: BenchApp) -> list[tuple[str, Callable[[], Callable[[], bool]]]]:
    """Keys to press, each with a factory that, just before the press, says how its effect will show.

    A key counts as answered at the first frame painted after its binding ran and its
    effect is in the model and the table (a sort synced, the detail shown...).
    """
    main = app.main

    def moved() -> Callable[[], bool]:
        # The action moves the cursor before it returns; rows may reorder under it while hosts stream in,
        # so its index is no witness: the action having run is, and the frame painted after it.
        return lambda: True

    def sort_changes() -> Callable[[], bool]:
        before = (app.model.sort, app.model.reverse)
        return lambda: (app.model.sort, app.model.reverse) != before and not app.model.reshape

    def view_toggles() -> Callable[[], bool]:
        before = app.model.needs_action_only
        return lambda: app.model.needs_action_only != before and not app.model.reshape

    def detail_is(shown: bool) -> Callable[[], Callable[[], bool]]:
        return lambda: lambda: main.detail.display is shown

    def marks_change() -> Callable[[], bool]:
        before = len(app.model.marked)
        return lambda: len(app.model.marked) != before

    return [
        ("j", moved),
        ("j", moved),
        ("k", moved),
        ("G", moved),
        ("g", moved),
        ("space", marks_change),
        ("s", sort_changes),
        ("S", sort_changes),
        ("ctrl+z", view_toggles),
        ("ctrl+z", view_toggles),
        ("enter", detail_is(True)),
        ("j", moved),
        ("escape", detail_is(False)),
    ]


async def press(app: BenchApp, key: str, done: Callable[[], bool]) -> float:
    """Send ``key`` as a terminal would; seconds until the first frame that shows ``done``."""
    future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
    before = app.actions_done
    app.waiter = (lambda: app.actions_done > before and done(), future)
    started = time.perf_counter()
    assert app._driver is not None
    app._driver.send_message(events.Key(key, key if len(key) == 1 else None))
    try:
        return await asyncio.wait_for(future, 10) - started
    except asyncio.TimeoutError:
        raise SystemExit(f"key {key!r}: its effect never showed") from None
    finally:
        app.waiter = None


async def press_keys(
    app: BenchApp, until: Callable[[], bool], at_least: int, by_key: dict[str, list[float]]
) -> list[float]:
    latencies: list[float] = []
    effects = key_effects(app)
    while not until() or len(latencies) < at_least:
        key, arm = effects[len(latencies) % len(effects)]
        latency = await press(app, key, arm())
        latencies.append(latency)
        by_key.setdefault(key, []).append(latency)
        await asyncio.sleep(GAP_S)
    return latencies


async def one_run(hosts: int, rate: float) -> dict[str, Any]:
    app = BenchApp(ReplaySource(fleet(hosts), name="bench", rate=rate), policy="bench")
    async with app.run_test(size=SIZE) as pilot:
        while app._main is None or not app.sweeping:
            await asyncio.sleep(0.005)
        instrument_flush(app)
        await pilot.pause(0.2)  # the QUEUED burst lands first: 2,000 rows at once
        streamed_from = app.model.sweep.finished
        by_key: dict[str, list[float]] = {}
        streaming = await press_keys(app, until=lambda: not app.sweeping, at_least=10, by_key=by_key)
        streamed = app.model.sweep.finished - streamed_from
        flushes = list(app.flushes)
        await pilot.pause(0.5)
        app.flushes.clear()
        idle = await press_keys(app, until=lambda: True, at_least=len(key_effects(app)) * 3, by_key={})
        return {"streaming": streaming, "idle": idle, "flushes": flushes, "streamed": streamed, "by_key": by_key}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(values: list[float]) -> dict[str, float]:
    return {"p50": statistics.median(values), "p95": pct(values, 0.95), "max": max(values)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=250.0, help="hosts finished per second (default 250)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rows: list[dict[str, dict[str, float]]] = []
    by_key: dict[str, list[float]] = {}
    for run in range(args.runs):
        result = asyncio.run(one_run(args.hosts, args.rate))
        stream, idle = summary(result["streaming"]), summary(result["idle"])
        flush = summary(result["flushes"])
        rows.append({"streaming": stream, "idle": idle, "flush": flush})
        for key, values in result["by_key"].items():
            by_key.setdefault(key, []).extend(values)
        print(
            f"run {run + 1}: {len(result['streaming'])} keys while {result['streamed']} hosts streamed in, "
            f"{len(result['idle'])} keys idle, {len(result['flushes'])} table syncs"
        )
        for name, s in (("streaming", stream), ("idle (baseline)", idle), ("table sync", flush)):
            print(
                f"  {name:<16} p50 {s['p50'] * 1000:6.1f} ms  p95 {s['p95'] * 1000:6.1f} ms  max {s['max'] * 1000:6.1f} ms"
            )
    print(f"\nmedian of {args.runs} runs, {args.hosts} hosts at {args.rate:g} hosts/s ({SIZE[0]}x{SIZE[1]}):")
    for name in ("streaming", "idle", "flush"):
        line = "  ".join(
            f"{q} {statistics.median(r[name][q] for r in rows) * 1000:6.1f} ms" for q in ("p50", "p95", "max")
        )
        print(f"  {name:<10} {line}")
    for q in ("p50", "p95", "max"):
        ratio = statistics.median(r["streaming"][q] / r["idle"][q] for r in rows)
        print(f"  key latency {q} streaming/idle: {ratio:.2f}x")
    print(
        "  while streaming, per key (all runs): "
        + ", ".join(
            f"{key} p50 {statistics.median(v) * 1000:.0f}/max {max(v) * 1000:.0f} ms"
            for key, v in sorted(by_key.items())
        )
    )
    worst = max(r["streaming"]["p95"] for r in rows)
    print(f"  target: keys within 100 ms while streaming; worst p95 {worst * 1000:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
