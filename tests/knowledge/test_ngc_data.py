"""The NGC image tables (auditor/knowledge/ngc_*.yaml) follow the issue-17 schema, read with yaml directly.

These tests check the data's shape and provenance only, not the loader (another engineer owns it):
every row names its month, page, source and grade; every version parses; every month from 21.12 to
the table's newest month is accounted for; and nothing a user report (grade C) says becomes a value.
The few values pinned at the end are retyped from docs/research/ngc-images.md, not read from the YAML.
"""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

import pytest
import yaml
from packaging.version import InvalidVersion, Version

FILES = ("ngc_tensorrt", "ngc_tritonserver", "ngc_pytorch")
IMAGES = {
    "ngc_tensorrt": "nvcr.io/nvidia/tensorrt",
    "ngc_tritonserver": "nvcr.io/nvidia/tritonserver",
    "ngc_pytorch": "nvcr.io/nvidia/pytorch",
}
GRADES = ("A", "A*", "B", "C")
FIRST_MONTH = "21.12"
MONTH = re.compile(r"^\d{2}\.(0[1-9]|1[0-2])$")
DC_ENTRY = re.compile(r"^\d{3}\.\d{2}$")
DRIVER = re.compile(r"^\d{3}(\.\d{2,3}(\.\d{2})?)?$")
VERSION_FIELDS = ("tensorrt", "cuda", "cudnn", "driver", "min_cc", "python", "framework")
VALUE_FIELDS = (*VERSION_FIELDS, "dc", "os")
PROVENANCE_FIELDS = ("source", "tensorrt_source", "cudnn_source", "cuda_source", "driver_source", "framework_source")


def load(name: str) -> dict[str, Any]:
    text = resources.files("auditor.knowledge").joinpath(f"{name}.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    assert isinstance(data, dict), name
    return data


@pytest.fixture(scope="module", params=FILES)
def table(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    return request.param, load(request.param)


def months(first: str, last: str) -> list[str]:
    year, month = (int(part) for part in first.split("."))
    end = tuple(int(part) for part in last.split("."))
    out = []
    while (year, month) <= end:
        out.append(f"{year:02d}.{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def key(tag: str) -> tuple[int, int]:
    year, month = tag.split(".")
    return int(year), int(month)


def test_header(table: tuple[str, dict[str, Any]]) -> None:
    """Each file names its table, image, tag suffix, newest month and cited sources as the schema asks."""
    name, data = table
    assert data["table"] == name.replace("_", "-")
    assert data["title"]
    assert data["image"] == IMAGES[name]
    assert data["tag_suffix"] == "-py3"
    assert MONTH.match(str(data["newest_month"]))
    assert key(str(data["newest_month"])) >= key(FIRST_MONTH)
    for source_id, spec in data["sources"].items():
        assert str(spec["url"]).startswith("https://"), source_id
        assert spec["grade"] in GRADES, source_id
        assert spec.get("covers"), source_id
    for conflict in data.get("conflicts") or []:
        assert conflict["id"] and conflict["about"] and conflict["choice"], conflict
        assert conflict["sources"], conflict["id"]


def test_every_row_is_cited(table: tuple[str, dict[str, Any]]) -> None:
    """Every row has a YY.MM tag, the https page it was read from, a known source and a grade."""
    name, data = table
    for row in data["rows"]:
        where = f"{name} {row.get('tag')} {row.get('variant')}"
        assert MONTH.match(str(row["tag"])), where
        assert str(row["url"]).startswith("https://"), where
        assert row["grade"] in GRADES, where
        for field in PROVENANCE_FIELDS:
            if field in row:
                assert row[field] in data["sources"], f"{where}: {field} {row[field]!r}"


def test_versions_parse(table: tuple[str, dict[str, Any]]) -> None:
    """Every version a row gives parses as a PEP 440 version, and drivers look like 560 or 560.35.03."""
    name, data = table
    for row in data["rows"]:
        for field in VERSION_FIELDS:
            value = row.get(field)
            if value is None or (field == "cudnn" and value == "none"):
                continue
            assert isinstance(value, str), f"{name} {row['tag']} {field}: {value!r} is not a string"
            try:
                Version(value)
            except InvalidVersion:
                pytest.fail(f"{name} {row['tag']} {field}: {value!r} does not parse")
        if row.get("driver") is not None:
            assert DRIVER.match(row["driver"]), f"{name} {row['tag']} driver {row['driver']!r}"


def test_dc_entries(table: tuple[str, dict[str, Any]]) -> None:
    """A data-center branch list is null or a list of NNN.NN minimum releases, ascending."""
    name, data = table
    for row in data["rows"]:
        dc = row.get("dc")
        if dc is None:
            continue
        assert isinstance(dc, list), f"{name} {row['tag']}"
        for entry in dc:
            assert isinstance(entry, str) and DC_ENTRY.match(entry), f"{name} {row['tag']} dc {entry!r}"
        assert dc == sorted(dc, key=Version), f"{name} {row['tag']} dc not ascending"


def test_months_unique_and_ordered(table: tuple[str, dict[str, Any]]) -> None:
    """Within each variant (the plain image included) months are unique and in calendar order."""
    name, data = table
    by_variant: dict[Any, list[str]] = {}
    for row in data["rows"]:
        by_variant.setdefault(row.get("variant"), []).append(str(row["tag"]))
    for variant, tags in by_variant.items():
        assert len(tags) == len(set(tags)), f"{name} {variant}: duplicate months"
        assert tags == sorted(tags, key=key), f"{name} {variant}: months out of order"


def test_every_month_accounted_for(table: tuple[str, dict[str, Any]]) -> None:
    """Each month from 21.12 to newest_month is a plain-image row or listed as not published, none later."""
    name, data = table
    newest = str(data["newest_month"])
    plain = {str(row["tag"]) for row in data["rows"] if not row.get("variant")}
    skipped = {str(entry["tag"] if isinstance(entry, dict) else entry) for entry in data.get("not_published") or []}
    assert not plain & skipped, f"{name}: months both published and not"
    missing = [tag for tag in months(FIRST_MONTH, newest) if tag not in plain | skipped]
    assert not missing, f"{name}: months with no row and not in not_published: {missing}"
    later = [tag for tag in plain if key(tag) > key(newest)]
    assert not later, f"{name}: rows after newest_month {newest}: {later}"


def test_no_value_from_a_user_report(table: tuple[str, dict[str, Any]]) -> None:
    """A grade-C row or field source never carries a value: what only a user reports stays null."""
    name, data = table
    c_sources = {sid for sid, spec in data["sources"].items() if spec["grade"] == "C"}
    for row in data["rows"]:
        if row["grade"] == "C" or row.get("source") in c_sources:
            filled = [field for field in VALUE_FIELDS if row.get(field) not in (None, [])]
            assert not filled, f"{name} {row['tag']}: grade-C row has values {filled}"
        for field in ("tensorrt", "cudnn", "cuda", "driver", "framework"):
            if row.get(f"{field}_source") in c_sources:
                assert row.get(field) is None, f"{name} {row['tag']}: {field} from a grade-C source"


# Retyped from docs/research/ngc-images.md (the sentences read on the Triton notes).
TRITON_PINNED = {
    "21.12": ("11.5.0", "495", ["418.40", "440.33", "450.51", "460.27", "470.57"]),
    "22.05": ("11.7", "515", ["450.51", "470.57", "510.47"]),
    "23.05": ("12.1.1", "530", ["450.51", "470.57", "510.47", "515.65", "525.85", "530.30"]),
    "24.10": ("12.6.2", "560", ["470.57", "525.85", "535.86", "545.23"]),
    "26.08": ("13.4.1", None, []),
}


@pytest.mark.parametrize("tag", sorted(TRITON_PINNED))
def test_triton_months_pinned(tag: str) -> None:
    """A few Triton months keep the CUDA, driver floor and branch list their notes print."""
    rows = {row["tag"]: row for row in load("ngc_tritonserver")["rows"] if not row.get("variant")}
    cuda, driver, dc = TRITON_PINNED[tag]
    assert (rows[tag]["cuda"], rows[tag]["driver"], rows[tag]["dc"]) == (cuda, driver, dc)


def test_tensorrt_months_without_notes_stay_unknown() -> None:
    """TensorRT months only user reports or the OSS build tags describe keep tensorrt unknown (trt-Q6, ngc-oss-tags)."""
    rows = {row["tag"]: row for row in load("ngc_tensorrt")["rows"]}
    for tag in ("22.01", "22.04", "22.08", "23.04", "24.02", "25.01"):
        assert rows[tag]["tensorrt"] is None, tag
    assert rows["24.05"]["tensorrt"] == "10.0.1.6"
    assert rows["24.06"]["cuda"] is None  # Triton and MXNet disagree (ngc-siblings)
