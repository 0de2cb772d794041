"""NVIDIA compatibility knowledge: cited data tables (YAML beside this file) and queries.

Each table names its sources and grades each row (A: NVIDIA docs page; A*: a
verbatim copy of one; B: NVIDIA-authored elsewhere; C: third-party). Tables are
loaded once, on first use.
"""

from __future__ import annotations

import fnmatch
import functools
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from auditor import versions


@dataclass(frozen=True)
class Table:
    """One knowledge table: its name, sources and rows."""

    name: str
    sources: tuple[str, ...]
    rows: tuple[dict[str, Any], ...]

    def cite(self) -> str:
        """``table (first source)``, for a finding's ``source`` field."""
        return f"knowledge:{self.name} ({self.sources[0]})" if self.sources else f"knowledge:{self.name}"


@functools.cache
def table(name: str) -> Table:
    """Load ``<name>.yaml`` from this package (cached)."""
    text = resources.files(__package__).joinpath(f"{name}.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    return Table(name=data["table"], sources=tuple(data.get("sources", ())), rows=tuple(data["rows"]))


@dataclass(frozen=True)
class GpuModel:
    """A GPU product as the knowledge base knows it."""

    product: str
    compute_capability: str
    datacenter: bool
    grade: str


def gpu_model(name: str) -> GpuModel | None:
    """The product an NVML/nvidia-smi GPU name belongs to ("NVIDIA A100-SXM4-80GB" -> A100)."""
    lowered = name.strip().lower()
    for row in table("gpus").rows:
        if any(fnmatch.fnmatchcase(lowered, pattern.lower()) for pattern in row["names"]):
            return GpuModel(row["product"], str(row["cc"]), bool(row["datacenter"]), str(row["grade"]))
    return None


def driver_cuda_version(driver_version: str) -> str | None:
    """The newest CUDA a driver supports natively (535.104.05 -> "12.2"), or None if unknown."""
    branch = versions.branch(driver_version)
    for row in table("driver_branches").rows:
        if row["branch"] == branch:
            return str(row["cuda"])
    return None
