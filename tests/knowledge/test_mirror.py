"""The JSON mirror of the bundled tables: current, equal to the YAML, and never trusted when stale."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest

from auditor.knowledge import mirror, tables


@pytest.mark.parametrize("name", tables.bundled_table_names())
def test_every_bundled_table_has_a_current_mirror_equal_to_its_yaml(name: str) -> None:
    path = Path(tables.mirror_path(name))
    on_disk = path.read_text(encoding="utf-8") if path.exists() else None
    try:
        expected = mirror.render(name)
    except ValueError:  # a table JSON cannot hold stays YAML only
        assert on_disk is None, f"{name}: JSON cannot hold it; run `python -m auditor.knowledge.mirror`"
        return
    assert on_disk == expected, f"{name}: stale mirror; run `python -m auditor.knowledge.mirror`"
    text = tables._read(f"{name}.yaml")
    assert tables._mirrored(name, text) == tables._safe_load(text)


def test_a_mirror_that_does_not_match_the_yaml_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name = "driver_states"
    text = tables._read(f"{name}.yaml")
    stale = json.loads(Path(tables.mirror_path(name)).read_text(encoding="utf-8"))
    stale["data"]["rows"] = stale["data"]["rows"][:1]  # what an old mirror of an edited table would hold
    (tmp_path / f"{name}.json").write_text(json.dumps(stale))
    monkeypatch.setattr(tables, "MIRROR", str(tmp_path))
    assert tables._mirrored(name, text) == stale["data"]  # it matches the YAML's digest: used
    assert tables._mirrored(name, text + "\n# edited\n") is None  # the YAML changed: ignored
    (tmp_path / f"{name}.json").write_text("{not json")
    assert tables._mirrored(name, text) is None


def test_bundled_tables_load_the_same_with_and_without_the_mirror(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with_mirror = {name: tables.bundled(name) for name in tables.bundled_table_names()}
    tables.bundled.cache_clear()
    monkeypatch.setattr(tables, "MIRROR", str(tmp_path))  # an empty directory: no mirror at all
    try:
        assert {name: tables.bundled(name) for name in tables.bundled_table_names()} == with_mirror
    finally:
        tables.bundled.cache_clear()


@pytest.mark.parametrize(
    "yaml_text", ["table: x\nat: 2026-12-04 10:30:00\n", "table: x\nnames: !!set {a, b}\n"], ids=["timestamp", "set"]
)
def test_a_table_json_cannot_hold_is_refused(monkeypatch: pytest.MonkeyPatch, yaml_text: str) -> None:
    monkeypatch.setattr(tables, "_read", lambda file_name: yaml_text)
    with pytest.raises(ValueError, match="JSON cannot"):
        mirror.render("x")


def test_integer_keys_and_dates_are_mirrored_and_read_back_as_yaml_gives_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """``driver: {12: ..., 13: ...}`` (CUDA majors) and dates have no JSON type: the mirror marks them, and
    what it reads back is the YAML's values, key types included; a string key that looks like a mark is refused."""
    text = "table: x\nas_of: 2026-12-04\nrows:\n- driver: {12: '525.60', 13: '580'}\n  '12': text key\n  mixed: {1: a, b: 2}\n"
    monkeypatch.setattr(tables, "_read", lambda file_name: text)
    rendered = mirror.render("x")
    assert tables.TYPED in rendered
    values = tables._mirrored_text(rendered)
    assert values == tables._safe_load(text)
    assert list(values["rows"][0]["driver"]) == [12, 13] and values["as_of"] == datetime.date(2026, 12, 4)
    assert list(values["rows"][0]["mixed"]) == [1, "b"] and "12" in values["rows"][0]
    monkeypatch.setattr(tables, "_read", lambda file_name: 'table: x\nodd: {"\\0date": "2026-12-04"}\n')
    with pytest.raises(ValueError, match="JSON cannot"):
        mirror.render("x")
