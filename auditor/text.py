"""Making untrusted text safe to keep and to show: controls out, lines unforgeable, length bounded.

``clean`` is the one cleaning function for untrusted text. Everything a host sends
passes through it when its facts are parsed, and every writer passes every string it
renders through it again (inventory names, groups and policy names are the user's,
but reach the same terminals and files), so no writer can print:

* C0 and C1 control characters and DEL (ESC starts terminal escape sequences);
* line breaks other than ``\\n`` that terminals, editors or parsers honour: CR, NEL
  (U+0085), LINE SEPARATOR (U+2028) and PARAGRAPH SEPARATOR (U+2029), which would
  forge a line in a table, a Markdown list, a CSV file or a Prometheus textfile;
* bidirectional controls (U+200E, U+200F, U+061C, U+202A-U+202E, U+2066-U+2069),
  which reorder what a reader sees ("Trojan Source", CVE-2021-42574).

Line breaks become spaces (or ``\\n`` with ``keep_newlines``). Each writer still
escapes what its own medium treats specially (Rich markup, HTML, XML, Markdown,
CSV formulas, Prometheus label values) after this.
"""

from __future__ import annotations

import re

_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
# C0 controls but tab/newline/CR, DEL, C1 controls but NEL, and the bidirectional controls.
_UNSAFE = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f{_BIDI}]")
_LINE_BREAKS = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
_BREAKS_AND_TABS = re.compile("[\r\n\t\x85\u2028\u2029]+")
# Everything ``clean`` changes (the union of the two above): a string shorter than its limit with no
# match here is one ``clean`` returns as it is (``is_clean``; the facts reader checks whole documents so).
NOT_CLEAN = re.compile(f"[\x00-\x1f\x7f-\x9f\u2028\u2029{_BIDI}]")


def clean(text: str, limit: int = 4096, keep_newlines: bool = False) -> str:
    """``text`` with unsafe characters removed and line breaks (and tabs) made spaces, cut at ``limit``.

    With ``keep_newlines`` every kind of line break becomes ``\\n`` and tabs stay.
    """
    text = _UNSAFE.sub("", text)
    text = _LINE_BREAKS.sub("\n", text) if keep_newlines else _BREAKS_AND_TABS.sub(" ", text)
    return text if len(text) <= limit else text[:limit] + "…"


def is_clean(text: str) -> bool:
    """True when ``clean`` would leave ``text`` as it is on one line (no control, break or bidi character)."""
    return NOT_CLEAN.search(text) is None


def clean_bytes(data: bytes, limit: int = 65536) -> str:
    """Bytes from a host (stderr, say) as safe text; invalid UTF-8 is replaced, not fatal."""
    return clean(data[:limit].decode("utf-8", "replace"), limit=limit, keep_newlines=True)


# What ``escape_bytes`` shows as an escape: every control but newline and tab, line
# breaks other than newline, and the bidirectional controls.
_ESCAPED = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029{_BIDI}]")


def escape_bytes(data: bytes, limit: int = 2048) -> str:
    """The first ``limit`` bytes of raw host output as they were sent, safe to show anywhere.

    Valid UTF-8 stays as text, newlines and tabs too; a byte that is not UTF-8 shows as
    ``\\xff`` and a control, line-break or bidi character as its Python escape (``\\x1b``,
    ``\\u202e``), so a reader sees what the host sent where ``clean`` would drop it. Output
    beyond ``limit`` is cut, and the cut says how many bytes there were. Still run the
    medium's own escaping (Rich ``Text``, HTML...) on the result.
    """
    text = data[:limit].decode("utf-8", "backslashreplace")
    text = _ESCAPED.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)
    return text if len(data) <= limit else f"{text}… (cut: {len(data):,} bytes in all)"


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``"1 host"``, ``"2 hosts"``: a number and its noun, singular only for exactly one.

    ``plural`` is for nouns that do not just take an ``s`` (``count(n, "entry", "entries")``).
    """
    return f"{n} {noun if n == 1 else plural or noun + 's'}"
