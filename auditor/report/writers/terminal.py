"""What every rendering for a terminal shares: the verdicts' colours, cleaned Rich text, and a console to draw into.

Host-supplied strings go into Rich ``Text`` objects, never markup strings, and are
``clean``-ed first: no escape sequence, line separator or bidirectional control reaches
the terminal. The table report, the plan table, ``auditor history`` and ``auditor diff``
and the TUI's legend all draw with these.
"""

from __future__ import annotations

import io
from collections.abc import Callable

from rich.console import Console
from rich.text import Span, Text

from auditor.findings import Verdict
from auditor.text import clean

VERDICT_STYLE = {
    Verdict.ERROR: "bold magenta",
    Verdict.UNREACHABLE: "bold bright_black",
    Verdict.ROLLBACK: "bold red",
    Verdict.REBOOT: "bold yellow",
    Verdict.UPGRADE: "bold dark_orange",
    Verdict.WARN: "yellow",
    Verdict.OK: "green",
}


def clean_text(text: Text) -> Text:
    """A Rich ``Text`` with every part ``clean``-ed (newlines kept), its styles where they were.

    For renderables assembled from many strings (the plan): cut at every style boundary,
    each piece lies wholly inside or outside each span, so its spans survive the cleaning.
    """
    plain = text.plain
    if clean(plain, len(plain), keep_newlines=True) == plain:
        return text
    offsets = sorted({0, len(plain), *(i for span in text.spans for i in (span.start, span.end))})
    out = Text(style=text.style, justify=text.justify, overflow=text.overflow, no_wrap=text.no_wrap, end=text.end)
    for part in text.divide(offsets[1:-1]):
        piece = clean(part.plain, len(part.plain), keep_newlines=True)
        start = len(out.plain)
        out.append(piece)
        out.spans.extend(Span(start, start + len(piece), span.style) for span in part.spans)
    return out


def console_text(draw: Callable[[Console], None], width: int | None = None, color: bool = False) -> str:
    """What ``draw`` prints on a Rich console, as text with trailing blanks trimmed.

    Shared by the text writers (report and plan): one width, colour and wrapping policy.
    """
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=width or 140,
        color_system="standard" if color else None,
        highlight=False,
        emoji=False,
        soft_wrap=False,
    )
    draw(console)
    lines = buffer.getvalue().split("\n")  # "\n" only: str.splitlines would also break at U+2028 and friends
    if lines and not lines[-1]:
        lines.pop()
    if not color:  # a last net: nothing but printable text leaves (coloured output is cleaned at its inputs)
        lines = [clean(line, len(line)) for line in lines]
    return "\n".join(line.rstrip() for line in lines) + "\n"
