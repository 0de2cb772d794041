"""Making untrusted text safe to keep: control characters out, length bounded.

Everything a host sends passes through ``clean`` once, when its facts are parsed,
so every writer downstream sees printable text only. Each writer still escapes
for its own medium (Rich markup, HTML, XML, CSV).
"""

from __future__ import annotations

import re

# C0/C1 controls, DEL, and the Unicode bidirectional overrides used to disguise text.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_NEWLINES = re.compile("[\r\n\t]+")


def clean(text: str, limit: int = 4096, keep_newlines: bool = False) -> str:
    """``text`` with control characters removed (tabs/newlines become spaces unless kept)."""
    text = _UNSAFE.sub("", text)
    if not keep_newlines:
        text = _NEWLINES.sub(" ", text)
    return text if len(text) <= limit else text[:limit] + "…"


def clean_bytes(data: bytes, limit: int = 65536) -> str:
    """Bytes from a host (stderr, say) as safe text; invalid UTF-8 is replaced, not fatal."""
    return clean(data[:limit].decode("utf-8", "replace"), limit=limit, keep_newlines=True)


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``"1 host"``, ``"2 hosts"``: a number and its noun, singular only for exactly one.

    ``plural`` is for nouns that do not just take an ``s`` (``count(n, "entry", "entries")``).
    """
    return f"{n} {noun if n == 1 else plural or noun + 's'}"
