"""Every audit run kept in SQLite: the history behind ``auditor history``, ``diff`` and "failing since".

One database file (default ``$XDG_STATE_HOME/auditor/history.sqlite``, else
``~/.local/state/auditor/history.sqlite``) holds every run's whole
``auditor.report/1`` document (zlib-compressed) and one row per host and run for the
queries that must stay fast with a long history (since when is this host failing?).

Schema changes are numbered migrations (``MIGRATIONS``); ``PRAGMA user_version``
records how many have run and ``PRAGMA application_id`` marks the file as ours. Opening
a file applies the missing ones in one transaction each. A file from a newer auditor,
or one that is not an auditor history at all, is refused with a ``HistoryError``
(a usage error: exit 2, before any host is contacted).

Overlapping runs (a cron job still running when the next one starts) are serialized
by ``locked``: an exclusive ``flock`` on ``<history>.lock`` held for the whole run.
The second run waits up to its timeout, telling who holds the lock, then gives up
with ``HistoryLocked``. Readers (``auditor history``/``diff``) need no lock: SQLite's
own locking gives them a consistent view.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
import socket
import sqlite3
import sys
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor import __version__
from auditor.errors import AuditorError, InputError, Location
from auditor.records import record

if TYPE_CHECKING:  # reading runs (auditor history, diff) needs no report model: it loads when a run is written
    from auditor.report.model import Report

APPLICATION_ID = 0x41554454  # "AUDT": tells our files from any other SQLite database
BUSY_TIMEOUT_MS = 10_000


class HistoryError(InputError):
    """The history file cannot be used (not ours, newer schema, unreadable): exit 2."""


class HistoryLocked(AuditorError):
    """Another run held the history lock past the timeout (exit 3: nothing was audited)."""


def default_path() -> Path:
    """``$XDG_STATE_HOME/auditor/history.sqlite`` (XDG Base Directory spec), else under ``~/.local/state``."""
    state = os.environ.get("XDG_STATE_HOME")
    base = Path(state) if state and os.path.isabs(state) else Path.home() / ".local" / "state"
    return base / "auditor" / "history.sqlite"


# ---------------------------------------------------------------- schema and migrations


def _v1_runs(db: sqlite3.Connection) -> None:
    """One row per run with its whole report."""
    db.execute(
        """CREATE TABLE runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused, even after pruning
            generated_at TEXT NOT NULL,            -- ISO 8601 UTC
            inventory TEXT NOT NULL,
            policy TEXT NOT NULL,
            duration_s REAL NOT NULL,
            complete INTEGER NOT NULL,
            exit_code INTEGER,
            auditor_version TEXT NOT NULL,
            summary TEXT NOT NULL,                 -- JSON {"total": n, "<verdict>": n, ...}
            report BLOB NOT NULL                   -- zlib(auditor.report/1 JSON)
        )"""
    )
    db.execute("CREATE INDEX runs_inventory ON runs(inventory, id)")


def _v2_host_results(db: sqlite3.Connection) -> None:
    """Per host and run: verdict and reason, so "failing since" needs no report parsing; backfilled."""
    db.execute(
        """CREATE TABLE host_results (
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            host TEXT NOT NULL,
            verdict TEXT NOT NULL,
            reason TEXT NOT NULL,
            PRIMARY KEY (run_id, host)
        ) WITHOUT ROWID"""
    )
    db.execute("CREATE INDEX host_results_host ON host_results(host, run_id)")
    for run_id, blob in db.execute("SELECT id, report FROM runs").fetchall():
        document = _decode(blob)
        db.executemany(
            "INSERT OR IGNORE INTO host_results VALUES (?, ?, ?, ?)",
            [(run_id, h["name"], h["verdict"], h.get("reason") or "") for h in document.get("hosts", [])],
        )


MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_v1_runs, _v2_host_results)
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(db: sqlite3.Connection, path: str, target: int = SCHEMA_VERSION) -> int:
    """Bring ``db`` to schema ``target``; returns the version it had. Raises ``HistoryError``."""
    try:
        app_id = db.execute("PRAGMA application_id").fetchone()[0]
        version = db.execute("PRAGMA user_version").fetchone()[0]
        tables = db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise HistoryError(f"not an auditor history file ({exc})", Location(path)) from None
    if app_id not in (0, APPLICATION_ID) or (app_id == 0 and tables):
        raise HistoryError("not an auditor history file (another program's SQLite database)", Location(path))
    if version > len(MIGRATIONS):
        raise HistoryError(
            f"history schema {version} was written by a newer auditor (this one knows up to {len(MIGRATIONS)}); "
            "upgrade auditor or use another --history file",
            Location(path),
        )
    for number in range(version + 1, target + 1):
        db.execute("BEGIN IMMEDIATE")
        try:
            MIGRATIONS[number - 1](db)
            db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            db.execute(f"PRAGMA user_version = {number}")  # PRAGMAs take no parameters; number is ours
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    return version


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)  # strict JSON


def _encode(report: Report) -> bytes:
    """``report_document(report)`` as compact strict JSON, compressed.

    Each host's facts go in as the text ``Facts.document`` keeps (``JsonText``: strict JSON
    that the facts reader checked, and what ``report_document``'s ``facts`` decodes from):
    encoding the decoded tree again was most of the encoding's work. Decoding the stored
    text gives ``report_document(report)``.
    """
    from auditor.report.writers.json import written_document

    document = written_document(report)
    hosts = ",".join(_host_text(entry) for entry in document["hosts"])
    text = _compact({k: v for k, v in document.items() if k != "hosts"})
    return zlib.compress(f'{text[:-1]},"hosts":[{hosts}]}}'.encode(), 6)


def _host_text(entry: dict[str, Any]) -> str:
    """One host of the document as compact JSON, its ``facts`` the text the probe's answer was kept as.

    Facts the writer decoded (``JsonText`` is only for text that is surely strict JSON) are
    encoded with the rest, strictly: a non-finite number raises for this host alone.
    """
    from auditor.report.writers.json import JsonText

    facts = entry.get("facts")
    if type(facts) is not JsonText:
        return _compact(entry)
    keys = list(entry)
    at = keys.index("facts")
    before = _compact({k: entry[k] for k in keys[:at]})[:-1]  # "{..." (a lone "{" when facts comes first)
    after = _compact({k: entry[k] for k in keys[at + 1 :]})[1:]  # '...}' (a lone "}" when it comes last)
    return f'{before}{"," if at else ""}"facts":{facts.text}{"," if at < len(keys) - 1 else ""}{after}'


def _stored_blob(report: Report) -> bytes:
    """The compressed report document, a host that cannot be encoded stored as an ``error`` at step history."""
    from auditor.report.isolation import render_isolated
    from auditor.transport.outcome import AuditStep

    return render_isolated(_encode, report, "history", step=AuditStep.HISTORY)


def _decode(blob: bytes) -> dict[str, Any]:
    return json.loads(zlib.decompress(blob).decode("utf-8"))  # type: ignore[no-any-return]


# ---------------------------------------------------------------- the store


@record
class RunInfo:
    """One stored run, as ``auditor history`` lists it."""

    id: int
    generated_at: str
    inventory: str
    policy: str
    duration_s: float
    complete: bool
    exit_code: int | None
    summary: dict[str, int]

    def to_json(self) -> dict[str, object]:
        return dataclasses.asdict(self)


class History:
    """An open history database. Use as a context manager, or call ``close``."""

    def __init__(self, path: str | os.PathLike[str], create: bool = True) -> None:
        self.path = Path(path)
        if not create and not self.path.exists():
            raise HistoryError("no history yet (no run has been recorded here)", Location(str(self.path)))
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        except (OSError, sqlite3.Error) as exc:
            raise HistoryError(f"cannot open the history: {exc}", Location(str(self.path))) from None
        try:
            self.db.execute("PRAGMA foreign_keys = ON")
            migrate(self.db, str(self.path))
        except BaseException:
            self.db.close()
            raise

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    def failing_since(self, report: Report) -> dict[str, str]:
        """For each host of ``report`` that is not ok: when its current not-ok streak began.

        Earlier runs of the same inventory count back to the host's last ok verdict
        (runs that did not include the host neither break nor extend the streak); a
        host failing for the first time is failing since this report.
        """
        needing = [host.name for host in report.hosts if host.verdict.needs_action]
        if not needing:
            return {}
        # Per host that needs action: its last ok run of this inventory, then its first run after that one.
        # Both walk the host's rows in host_results_host (host, run_id) from an end and stop at the first
        # match, so a run costs what its failing hosts' streaks hold, not what the whole history holds.
        # The names go in a temporary table (any number of them, on any SQLite; the history file is not written).
        self.db.execute("CREATE TEMP TABLE IF NOT EXISTS failing_hosts (host TEXT NOT NULL)")
        self.db.execute("DELETE FROM temp.failing_hosts")
        self.db.executemany("INSERT INTO temp.failing_hosts VALUES (?)", [(name,) for name in needing])
        rows = self.db.execute(
            """SELECT w.host, (
                   SELECT r.generated_at FROM host_results h JOIN runs r ON r.id = h.run_id
                   WHERE h.host = w.host AND r.inventory = ?1 AND h.run_id > COALESCE((
                       SELECT o.run_id FROM host_results o JOIN runs ro ON ro.id = o.run_id
                       WHERE o.host = w.host AND o.verdict = 'ok' AND ro.inventory = ?1
                       ORDER BY o.run_id DESC LIMIT 1), 0)
                   ORDER BY h.run_id LIMIT 1)
               FROM temp.failing_hosts w""",
            (report.inventory,),
        ).fetchall()
        return {name: since or report.generated_at for name, since in rows}

    def with_failing_since(self, report: Report) -> Report:
        """``report`` with each not-ok host's ``failing_since`` filled in from history."""
        since = self.failing_since(report)
        hosts = tuple(
            h if h.failing_since == since.get(h.name) else dataclasses.replace(h, failing_since=since.get(h.name))
            for h in report.hosts
        )
        return dataclasses.replace(report, hosts=hosts)

    def record(self, report: Report) -> Report:
        """Store ``report`` as a new run; returns it with ``run_id`` set.

        A host whose part of the stored document cannot be built is stored as an
        ``error`` at step ``history`` (``auditor.report.isolation``), the others as they are.
        An SQLite error (a full disk, say) propagates as itself, the transaction rolled
        back; never as "cannot rollback" when SQLite already rolled it back.
        """
        summary = json.dumps(report.summary())
        code = int(report.exit.code) if report.exit else None
        with self._transaction():
            cursor = self.db.execute(
                "INSERT INTO runs (generated_at, inventory, policy, duration_s, complete, exit_code,"
                " auditor_version, summary, report) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    report.generated_at,
                    report.inventory,
                    report.policy,
                    report.duration_s,
                    int(report.complete),
                    code,
                    __version__,
                    summary,
                    b"",
                ),
            )
            run_id = int(cursor.lastrowid or 0)
            stored = dataclasses.replace(report, run_id=run_id)
            self.db.execute("UPDATE runs SET report = ? WHERE id = ?", (_stored_blob(stored), run_id))
            self.db.executemany(
                "INSERT INTO host_results VALUES (?, ?, ?, ?)",
                [(run_id, h.name, h.verdict.value, h.reason) for h in report.hosts],
            )
        return stored

    def amend(self, report: Report) -> None:
        """Replace the stored run ``report.run_id`` with ``report`` (its exit changed after recording)."""
        if report.run_id is None:
            raise ValueError("amend needs a recorded run")
        code = int(report.exit.code) if report.exit else None
        with self._transaction():
            self.db.execute(
                "UPDATE runs SET exit_code = ?, report = ? WHERE id = ?", (code, _stored_blob(report), report.run_id)
            )

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """One write transaction; rolled back on any error, unless SQLite already did (disk full, I/O error)."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
            self.db.execute("COMMIT")
        except BaseException:
            if self.db.in_transaction:
                with contextlib.suppress(sqlite3.Error):  # the first error is the one to report
                    self.db.execute("ROLLBACK")
            raise

    def runs(self, limit: int | None = None, inventory: str | None = None) -> list[RunInfo]:
        """Stored runs, newest first; ``HistoryError`` (naming the file) when the database is damaged."""
        query = "SELECT id, generated_at, inventory, policy, duration_s, complete, exit_code, summary FROM runs"
        params: list[object] = []
        if inventory is not None:
            query += " WHERE inventory = ?"
            params.append(inventory)
        query += " ORDER BY id DESC"
        if limit is not None:
            query += " LIMIT ?"
            params.append(limit)
        with self._reading("the list of runs"):
            rows = self.db.execute(query, params).fetchall()
        result = []
        for row in rows:
            with self._reading(f"run #{row[0]}"):
                summary = json.loads(row[7])
                if not isinstance(summary, dict):
                    raise ValueError("its summary is not an object")
                result.append(
                    RunInfo(
                        int(row[0]), str(row[1]), str(row[2]), str(row[3]), float(row[4]), bool(row[5]), row[6], summary
                    )
                )
        return result

    def document(self, run_id: int) -> dict[str, Any]:
        """The stored ``auditor.report/1`` document of a run; ``HistoryError`` if there is none or it is damaged."""
        with self._reading(f"run #{run_id}"):
            row = self.db.execute("SELECT report FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            known = [r.id for r in self.runs(limit=5)]
            hint = f" (latest: {', '.join(map(str, known))})" if known else " (the history is empty)"
            raise HistoryError(f"no run #{run_id} in the history{hint}", Location(str(self.path)))
        with self._reading(f"run #{run_id}"):
            document = _decode(row[0])
            hosts = document.get("hosts") if isinstance(document, dict) else None
            if not isinstance(hosts, list) or not all(
                isinstance(h, dict) and isinstance(h.get("name"), str) for h in hosts
            ):
                raise ValueError("its report is not an auditor.report/1 document")
        return document

    @contextlib.contextmanager
    def _reading(self, what: str) -> Iterator[None]:
        """Turn a damaged database or stored run into a ``HistoryError`` naming the file (exit 2), not a crash."""
        try:
            yield
        except (sqlite3.DatabaseError, zlib.error, UnicodeDecodeError, ValueError, TypeError) as exc:
            raise HistoryError(
                f"{what} is damaged in this history ({type(exc).__name__}: {exc}); "
                "the file was changed outside auditor: restore it from a backup or use another --history",
                Location(str(self.path)),
            ) from None

    def latest_id(self) -> int:
        """The newest run's number; ``HistoryError`` when there is none."""
        latest = self.runs(limit=1)
        if not latest:
            raise HistoryError("the history is empty: run `auditor report` first", Location(str(self.path)))
        return latest[0].id

    def latest_pair(self) -> tuple[int, int]:
        """The two newest complete runs of the newest run's inventory: (older, newer)."""
        latest = self.runs(limit=1)
        if not latest:
            raise HistoryError("the history is empty: run `auditor report` first", Location(str(self.path)))
        runs = [r for r in self.runs(inventory=latest[0].inventory) if r.complete][:2]
        if len(runs) < 2:
            raise HistoryError(
                f"only {len(runs)} complete run of {latest[0].inventory} in the history; diff needs two",
                Location(str(self.path)),
            )
        return runs[1].id, runs[0].id

    def prune(self, older_than_days: float, now: float | None = None) -> int:
        """Delete runs older than the given age (from ``now``, Unix time); returns how many went."""
        from auditor.report.model import parse_time

        cutoff = (time.time() if now is None else now) - older_than_days * 86400
        old = [r.id for r in self.runs() if parse_time(r.generated_at).timestamp() < cutoff]
        with self._transaction():
            self.db.executemany("DELETE FROM runs WHERE id = ?", [(i,) for i in old])
        if old:
            self.db.execute("VACUUM")
        return len(old)


# ---------------------------------------------------------------- the run lock


@contextlib.contextmanager
def locked(
    path: str | os.PathLike[str],
    timeout: float,
    on_wait: Callable[[str], None] | None = None,
    argv: Sequence[str] | None = None,
) -> Iterator[None]:
    """Hold the run lock of the history at ``path`` (``<path>.lock``) for the block.

    Waits up to ``timeout`` seconds (0: not at all) for another run to finish,
    calling ``on_wait`` once with a description of the holder; then raises
    ``HistoryLocked`` naming it. The lock is an ``flock``: the kernel drops it when
    its holder exits, however it exits, so a crashed run never leaves a stale lock.
    """
    from auditor.report.model import utc_now

    lock_path = Path(f"{path}.lock")
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise HistoryError(f"cannot create the run lock: {exc.strerror or exc}", Location(str(lock_path))) from None
    try:
        deadline = time.monotonic() + timeout
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _read_holder(fd)
                if time.monotonic() >= deadline:
                    raise HistoryLocked(
                        f"another auditor run holds {lock_path} ({holder}); this run was skipped. "
                        "Runs overlap: space them out, or wait longer with --lock-timeout SECONDS"
                    ) from None
                if not told and on_wait is not None:
                    on_wait(holder)
                    told = True
                time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
        holder = f"pid {os.getpid()} on {socket.gethostname()} since {utc_now()}: {' '.join(argv or sys.argv)}"
        os.ftruncate(fd, 0)
        os.pwrite(fd, holder.encode("utf-8", "replace")[:4096], 0)
        yield
    finally:
        os.close(fd)  # releases the flock


def _read_holder(fd: int) -> str:
    try:
        text = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip()
    except OSError:
        text = ""
    return text or "holder unknown"
