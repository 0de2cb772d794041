"""``auditor.report/1`` as JSON: the machine contract every other writer mirrors.

Fields are only ever added to this schema, never renamed or removed; a change that
breaks readers gets ``auditor.report/2``. ``exit_code`` and ``exit`` say how the run
ended and why, ``exit_codes`` what every code means, so a script reading the file
needs no other documentation.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from json.encoder import encode_basestring
from typing import Any

from auditor.facts.model import Facts
from auditor.report.exitcodes import ExitCode, legend
from auditor.report.model import SCHEMA, Report

_Built = list[tuple[Report, ExitCode | None, dict[str, Any]]]
_shared: ContextVar[_Built | None] = ContextVar("shared_report_documents", default=None)


class JsonText:
    """JSON text that was already checked, written into a document as it is: a host's facts.

    ``Facts.document`` holds the probe's answer as strict JSON the facts reader vetted
    (or its cleaned re-encoding); the JSON report and the history write that text instead
    of decoding it into a tree and encoding the tree again, which was most of their work
    and, at ten thousand hosts, most of the memory a run peaked at. Only the writers of
    this module and ``auditor.report.history`` meet it: ``report_document`` decodes.
    """

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"JsonText({self.text[:40]!r}...)"


def _facts_text(facts: Facts) -> JsonText | dict[str, Any]:
    """The facts' text as it is; decoded when it may hold what strict JSON has not (``NaN``, ``Infinity``).

    ``Facts.document`` is strict JSON whenever the facts reader made it. Anything else (facts
    built another way) goes the decoded way: encoded again, a non-finite number raises, and
    that host alone becomes an error row (``auditor.report.isolation``) instead of every reader
    of the report meeting invalid JSON. Nearly always neither word is in the text at all.
    """
    text = facts.document.decode("utf-8")
    if "NaN" in text or "Infinity" in text:
        return facts.raw
    return JsonText(text)


@contextlib.contextmanager
def shared_documents() -> Iterator[None]:
    """While open, the JSON report and the history build the document of one ``Report`` once.

    ``auditor report`` stores the document in the history and writes it as the JSON report.
    Inside the block the same value is returned for the same report (the very object: a
    changed report is another one) and exit code, so its users must only read it. Nothing is
    kept once the block ends: a large run's documents do not outlive the writing.
    """
    token = _shared.set([])
    try:
        yield
    finally:
        _shared.reset(token)


def report_document(report: Report, exit_code: ExitCode | None = None) -> dict[str, Any]:
    """The report as plain JSON-ready data (``exit_code`` overrides ``report.exit``), a new value at each call."""
    return _document(report, exit_code, None)


def written_document(report: Report, exit_code: ExitCode | None = None) -> dict[str, Any]:
    """``report_document`` with each host's ``facts`` as ``JsonText``: what the JSON report and the history write.

    A new value at each call, except inside ``shared_documents``.
    """
    built = _shared.get()
    if built is None:
        return _document(report, exit_code, _facts_text)
    for seen, code, document in built:
        if seen is report and code == exit_code:
            return document
    document = _document(report, exit_code, _facts_text)
    built.append((report, exit_code, document))
    return document


def _document(report: Report, exit_code: ExitCode | None, facts: Callable[[Facts], Any] | None) -> dict[str, Any]:
    code = exit_code if exit_code is not None else (report.exit.code if report.exit else None)
    return {
        "schema": SCHEMA,
        "generated_at": report.generated_at,
        "inventory": report.inventory,
        "policy": report.policy,
        "duration_s": round(report.duration_s, 3),
        "complete": report.complete,
        "run_id": report.run_id,
        "exit_code": None if code is None else int(code),
        "exit": report.exit.to_json() if report.exit else None,
        "exit_codes": legend(),
        "notes": list(report.notes),
        "knowledge": report.knowledge.to_json(),
        "summary": report.summary(),
        "not_audited": list(report.not_audited),
        "hosts": [host.to_json(facts) for host in report.hosts],
    }


def render_json(report: Report, exit_code: ExitCode | None = None) -> str:
    """The report as indented, strict JSON text (ends with a newline).

    Each host's ``facts`` is the probe's answer as the facts reader kept it (``Facts.document``:
    strict JSON, on one line), the rest indented by two spaces. ``allow_nan=False``: a
    non-finite number raises ``ValueError`` instead of becoming ``Infinity``, which strict
    JSON parsers reject (the facts reader admits none).
    """
    return strict_json(written_document(report, exit_code)) + "\n"


def strict_json(value: Any) -> str:
    """``json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False)``, in about 40% of its CPU,
    with every ``JsonText`` written as its text.

    The standard library encodes indented JSON in Python generators, one per container
    (its C encoder cannot indent): at a thousand hosts that was the largest part of
    rendering a report. Here one function writes plain data (``dict`` with ``str`` keys,
    ``list``, ``str``, ``int``, finite ``float``, ``bool``, ``None``: what ``report_document``
    builds) with strings escaped by the same C escaper. Anything else (a tuple, a non-string
    key, a subclass, a non-finite float, absurd nesting) is left to ``json.dumps`` itself, so
    its output, or its error, is the standard library's (a ``JsonText`` then decoded first).
    """
    parts: list[str] = []
    try:
        _write(value, parts.append, "\n")
    except (_Unusual, RecursionError):
        return json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False, default=_decoded)
    return "".join(parts)


def _decoded(value: Any) -> Any:
    if type(value) is JsonText:
        return json.loads(value.text)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


class _Unusual(Exception):
    """A value ``_write`` leaves to ``json.dumps``."""


_quoted = encode_basestring  # ensure_ascii=False: json.dumps' own escaper (the C one)
_int_text = int.__repr__  # as json.dumps writes int (and subclasses it refuses here)
_float_text = float.__repr__


def _scalar(value: Any, kind: type) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if kind is int:
        return _int_text(value)
    if kind is float and value - value == 0.0:  # finite: inf - inf and nan - nan are nan
        return _float_text(value)
    raise _Unusual


def _write(value: Any, out: Callable[[str], Any], newline: str) -> None:
    """Append ``value``'s text to ``out``; ``newline`` is the line break and indent of its own level."""
    kind = type(value)
    if kind is dict:
        if not value:
            out("{}")
            return
        inner = newline + "  "
        separator = "{" + inner
        for key, item in value.items():
            if type(key) is not str:
                raise _Unusual
            item_kind = type(item)
            if item_kind is str:
                out(f"{separator}{_quoted(key)}: {_quoted(item)}")
            elif item_kind is dict or item_kind is list:
                out(f"{separator}{_quoted(key)}: ")
                _write(item, out, inner)
            elif item_kind is JsonText:
                out(f"{separator}{_quoted(key)}: {item.text}")
            else:
                out(f"{separator}{_quoted(key)}: {_scalar(item, item_kind)}")
            separator = "," + inner
        out(newline + "}")
    elif kind is list:
        if not value:
            out("[]")
            return
        inner = newline + "  "
        separator = "[" + inner
        for item in value:
            item_kind = type(item)
            if item_kind is str:
                out(separator + _quoted(item))
            elif item_kind is dict or item_kind is list:
                out(separator)
                _write(item, out, inner)
            elif item_kind is JsonText:
                out(separator + item.text)
            else:
                out(separator + _scalar(item, item_kind))
            separator = "," + inner
        out(newline + "]")
    elif kind is str:
        out(_quoted(value))
    elif kind is JsonText:
        out(value.text)
    else:
        out(_scalar(value, kind))
