"""A compatibility answer: how (or whether) software runs, why, on what sources, and the fix.

The value every query of ``compat``, ``compat_tensorrt``, ``images`` and ``lookup`` returns,
and ``GpuSpec``, the GPU such a question is asked about.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import field
from typing import Any

from auditor.knowledge import gpus as gpus_kb
from auditor.records import record


class Mode(enum.Enum):
    """How (or whether) software runs; ordered from best to worst by ``rank``."""

    NATIVE = "native"
    """The driver meets the release's own minimum: the full feature set."""
    MINOR_VERSION = "minor-version"
    """Below the release's minimum but within its family's minor-version compatibility range."""
    FORWARD_COMPAT = "forward-compat"
    """Only with a cuda-compat package, and only on a data-center GPU."""
    INCOMPATIBLE = "incompatible"
    """It will not run."""
    UNKNOWN = "unknown"
    """The knowledge base cannot tell; never counted as compatible."""
    LOOKUP = "lookup"
    """One version alone: the answer is what it needs and what it can run."""

    @property
    def compatible(self) -> bool:
        """True for native and minor-version compatibility (and a lookup of a known version)."""
        return self in (Mode.NATIVE, Mode.MINOR_VERSION, Mode.LOOKUP)

    @property
    def rank(self) -> int:
        """0 for the best mode; ``combine`` keeps the highest."""
        return _RANK[self]


_RANK = {
    Mode.LOOKUP: 0,
    Mode.NATIVE: 1,
    Mode.MINOR_VERSION: 2,
    Mode.FORWARD_COMPAT: 3,
    Mode.UNKNOWN: 4,
    Mode.INCOMPATIBLE: 5,
}


@record
class Answer:
    """One compatibility answer with its reasons, caveats, sources and a suggested fix."""

    mode: Mode
    reasons: tuple[str, ...]
    sources: tuple[str, ...] = ()
    caveats: tuple[str, ...] = ()
    fix: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def compatible(self) -> bool:
        return self.mode.compatible

    def to_json(self) -> dict[str, Any]:
        """``{"compatible", "mode", "reasons", "caveats", "sources", "fix", "details"}``."""
        return {
            "compatible": self.compatible,
            "mode": self.mode.value,
            "reasons": list(self.reasons),
            "caveats": list(self.caveats),
            "sources": list(self.sources),
            "fix": self.fix,
            "details": dict(self.details),
        }


def combine(answers: Iterable[Answer]) -> Answer:
    """The worst mode of several answers, with every reason, caveat and source (deduplicated).

    ``details["worst_reasons"]`` keeps the reasons of the answers that decided the mode.
    """
    items = list(answers)
    if not items:
        return Answer(Mode.UNKNOWN, ("nothing to answer",))
    worst = max(items, key=lambda a: a.mode.rank)
    details: dict[str, Any] = {}
    for answer in items:
        details.update(answer.details)
    # the reasons behind the verdict alone (what a finding's message should say first)
    details["worst_reasons"] = unique(
        r for a in items if a.mode is worst.mode for r in (a.details.get("worst_reasons") or a.reasons)
    )
    fixes = [a.fix for a in items if a.fix and not a.compatible]
    return Answer(
        mode=worst.mode,
        reasons=unique(r for a in items for r in a.reasons),
        sources=unique(s for a in items for s in a.sources),
        caveats=unique(c for a in items for c in a.caveats),
        fix="; ".join(unique(fixes)) or worst.fix,
        details=details,
    )


def unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


@record
class GpuSpec:
    """A GPU as an answer needs it: a name (maybe unknown to the table) and/or a compute capability."""

    name: str | None = None
    compute_capability: str | None = None

    @property
    def model(self) -> gpus_kb.GpuModel | None:
        return gpus_kb.gpu_model(self.name) if self.name else None

    @property
    def cc(self) -> str | None:
        """The reported capability, else the table's for this product."""
        if self.compute_capability:
            return self.compute_capability
        model = self.model
        return model.compute_capability if model else None

    @property
    def label(self) -> str:
        if self.name:
            return f"{self.name} (CC {self.cc})" if self.cc else self.name
        return f"CC {self.cc}"
