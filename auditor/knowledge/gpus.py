"""GPU products: NVML/nvidia-smi names to compute capability, architecture and class."""

from __future__ import annotations

import fnmatch
import re
from typing import Any

from auditor.knowledge import tables
from auditor.records import record


@record
class GpuModel:
    """A GPU product as the knowledge base knows it; ``row`` is the table row it came from."""

    product: str
    compute_capability: str | None
    """None for a row whose capability no usable source gives (grade C: never a value)."""
    arch: str
    gpu_class: str
    """``datacenter``, ``workstation``, ``consumer`` or ``embedded`` (the table's ``class``)."""
    grade: str
    row: Any = None

    @property
    def datacenter(self) -> bool:
        """True for data-center GPUs, the only class cuda-compat forward compatibility serves."""
        return self.gpu_class == "datacenter"

    @property
    def cite(self) -> str:
        """The table and URL this product's facts come from."""
        return tables.table("gpus").cite(self.row)


@tables.memo
def gpu_model(name: str) -> GpuModel | None:
    """The product an NVML/nvidia-smi GPU name belongs to ("NVIDIA A100-SXM4-80GB" -> A100), or None."""
    lowered = " ".join(name.split()).lower()
    if not lowered:
        return None
    for row in tables.table("gpus").rows:
        if any(_matches(lowered, pattern.lower()) for pattern in row["names"]):
            cc = str(row["cc"]) if row.get("cc") is not None else None
            return GpuModel(row["product"], cc, str(row["arch"]), str(row["class"]), str(row["grade"]), row)
    return None


def _matches(name: str, pattern: str) -> bool:
    """``fnmatchcase``, asked only when ``name`` starts with the pattern's text before its first wildcard.

    Every other pattern cannot match, and a pattern asked is compiled to a regular expression
    (``fnmatch``): the table's rows before a fleet's product were ~5 ms of every audit's start-up.
    """
    literal = len(pattern)
    for wildcard in "*?[":
        found = pattern.find(wildcard)
        if 0 <= found < literal:
            literal = found
    return name.startswith(pattern[:literal]) and fnmatch.fnmatchcase(name, pattern)


def products() -> list[str]:
    """Every product name the table knows (for did-you-mean suggestions)."""
    return [str(row["product"]) for row in tables.table("gpus").rows]


def closest_names(name: str, limit: int = 3) -> list[str]:
    """The known names closest to ``name`` (difflib), for an unknown-GPU error.

    Candidates are the products, the example names as printed and the name patterns
    without wildcards, so "NVIDIA GeForce GTX 1080 Ti" suggests "NVIDIA GeForce GTX 1080".
    """
    candidates: dict[str, str] = {}
    for row in tables.table("gpus").rows:
        for text in [row["product"], *(row.get("examples") or []), *row["names"]]:
            text = str(text)
            if "*" not in text and "?" not in text:
                candidates.setdefault(text.lower(), text)
    import difflib  # only to suggest a GPU name for an unknown one

    found = difflib.get_close_matches(" ".join(name.split()).lower(), list(candidates), n=limit, cutoff=0.5)
    return [candidates[f] for f in found]


def slug(name: str) -> str:
    """The ``{gpu}`` engine-path placeholder: lowercase, runs of non-alphanumerics -> ``-``.

    "NVIDIA A100-SXM4-80GB" -> "nvidia-a100-sxm4-80gb". The probe computes the same.
    """
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def sm(compute_capability: str) -> str:
    """The ``{sm}`` placeholder: "8.0" -> "sm80", "10.3" -> "sm103"."""
    return "sm" + compute_capability.replace(".", "")
