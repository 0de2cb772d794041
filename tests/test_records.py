"""``@record``: frozen dataclasses whose equality, hash and repr behave as the generated ones do."""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import field
from pathlib import Path

import pytest

from auditor.records import record


@record
class Pair:
    name: str
    count: int = 0
    note: str = field(default="", compare=False)
    secret: str = field(default="", repr=False)
    cache: tuple[int, ...] = field(default=(), hash=False)


@dataclasses.dataclass(frozen=True)
class GeneratedPair:
    name: str
    count: int = 0
    note: str = field(default="", compare=False)
    secret: str = field(default="", repr=False)
    cache: tuple[int, ...] = field(default=(), hash=False)


@record(slots=True)
class Slotted:
    value: int


@record
class Empty:
    pass


@record
class Shown:
    value: int

    def __repr__(self) -> str:
        return f"<{self.value}>"


def test_equality_and_hash_follow_the_fields_compared_and_hashed() -> None:
    """Equal fields are equal records with equal hashes; ``compare=False`` and ``hash=False`` are honoured."""
    one, two = Pair("a", 1, note="x"), Pair("a", 1, note="y")
    assert one == two and hash(one) == hash(two) and len({one, two}) == 1
    assert one != Pair("a", 2) and one != Pair("b", 1) and hash(one) != hash(Pair("a", 2))
    cached = Pair("a", 1, cache=(1,))
    assert cached != one and hash(cached) == hash(one)  # compared, not hashed
    assert Empty() == Empty() and hash(Empty()) == hash(Empty())


def test_records_of_another_class_are_never_equal() -> None:
    """The same field values in another class compare unequal, both ways, as a dataclass's do."""
    assert Pair("a", 1) != GeneratedPair("a", 1) and GeneratedPair("a", 1) != Pair("a", 1)
    assert Pair("a", 1).__eq__(("a", 1)) is NotImplemented


@pytest.mark.parametrize(
    "values", [("a",), ("a", 2), ("it's", 3, "n", "hidden", (1, 2))], ids=["default", "two", "quoted"]
)
def test_repr_is_what_the_dataclass_writes(values: tuple[object, ...]) -> None:
    """``Name(field=value, ...)``, fields with ``repr=False`` left out: the generated repr, character for character."""
    assert repr(Pair(*values)).removeprefix("Pair") == repr(GeneratedPair(*values)).removeprefix("GeneratedPair")
    assert repr(Slotted(3)) == "Slotted(value=3)" and repr(Empty()) == "Empty()"


def test_a_method_the_class_defines_is_kept() -> None:
    """A ``__repr__`` written in the class body wins, as with ``dataclass``."""
    assert repr(Shown(4)) == "<4>"


def test_records_stay_frozen_dataclasses() -> None:
    """Assignment is refused; fields, replace, asdict, slots, match and copying work as for any frozen dataclass."""
    pair = Pair("a", 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        pair.count = 2  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        Slotted(1).value = 2  # type: ignore[misc]
    assert dataclasses.is_dataclass(pair) and [f.name for f in dataclasses.fields(pair)][:2] == ["name", "count"]
    assert dataclasses.replace(pair, count=5) == Pair("a", 5)
    assert dataclasses.asdict(pair)["name"] == "a"
    assert not hasattr(Slotted(1), "__dict__")
    match pair:
        case Pair(name, count):
            assert (name, count) == ("a", 1)
    assert copy.deepcopy(pair) == pair and copy.deepcopy(Slotted(2)) == Slotted(2)


def test_every_frozen_dataclass_of_the_package_is_a_record() -> None:
    """A new frozen dataclass gets the shared methods too (what the probe ships to hosts stays standalone)."""
    package = Path(__file__).resolve().parents[1] / "auditor"
    offenders = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if "remote" not in path.parts and path.name != "records.py" and "dataclass(frozen=True" in path.read_text()
    ]
    assert offenders == []
