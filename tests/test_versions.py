"""Version comparison rules policies rely on (prefix ceilings, whole-version floors)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auditor import versions


def test_floor_compares_whole_versions() -> None:
    """min 12.2 admits 12.2.0 and newer, not 12.1.1; driver builds compare numerically."""
    assert versions.at_least("12.2.0", "12.2")
    assert versions.at_least("535.104.05", "535.54.03")
    assert not versions.at_least("12.1.1", "12.2")
    assert not versions.at_least("535.54.03", "535.104.05")


def test_ceiling_admits_what_it_prefixes() -> None:
    """max 580 admits every 580.x build; max 12.2 admits 12.2.2 but not 12.3."""
    assert versions.at_most("580.95.05", "580")
    assert versions.at_most("12.2.2", "12.2")
    assert not versions.at_most("590.44.01", "580")
    assert not versions.at_most("12.3.0", "12.2")


def test_deny_entry_matches_branch_or_build() -> None:
    """A deny entry of "550" covers the branch; "550.54.14" only that build; "535.*" works too."""
    assert versions.matches("550.54.14", "550")
    assert versions.matches("550.54.14", "550.54.14")
    assert not versions.matches("550.54.15", "550.54.14")
    assert versions.matches("535.104.05", "535.*")


@pytest.mark.parametrize("bad", ["", " ", "N/A", "535.104.05-beta", "1..2", "v12", "12.x", "[N/A]"])
def test_non_numeric_versions_are_rejected(bad: str) -> None:
    """Only dotted integers are versions; NVIDIA's placeholder strings are never guessed at."""
    assert not versions.is_version(bad)


@given(st.text(max_size=40))
def test_parse_never_raises_anything_but_badversion(text: str) -> None:
    """Arbitrary host-supplied text either parses or raises BadVersion."""
    try:
        versions.parse(text)
    except versions.BadVersion:
        pass
