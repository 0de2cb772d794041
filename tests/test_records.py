"""``@record``: frozen dataclasses whose equality, hash and repr behave as the generated ones do."""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import field
from pathlib import Path
from typing import Any

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


def _full(make: Any) -> Any:
    """One class body made twice: by ``@record`` and by ``@dataclass(frozen=True)``, to compare them."""

    @make
    class Full:
        name: str
        size: int = 2
        tags: list[str] = field(default_factory=list)
        derived: int = field(default=0, init=False)
        made: list[int] = field(default_factory=lambda: [1], init=False)
        _: dataclasses.KW_ONLY
        flag: bool = False
        label: str = field(default_factory=str)

        def __post_init__(self) -> None:
            object.__setattr__(self, "derived", self.size * 10)

    return Full


Full, GeneratedFull = _full(record), _full(dataclasses.dataclass(frozen=True))


@record(slots=True)
class Lazy:
    """Never instantiated before the laziness test looks at it."""

    value: int
    items: tuple[int, ...] = ()


@record
class Undocumented:
    value: int
    items: tuple[int, ...] = ()


@record
class Child(Full):
    extra: int = 7


@dataclasses.dataclass(frozen=True)
class GeneratedChild(GeneratedFull):
    extra: int = 7


def test_init_is_the_one_dataclass_writes() -> None:
    """Parameters, defaults, factories, ``init=False`` fields, keyword-only fields and ``__post_init__``."""
    import inspect
    import typing

    assert str(inspect.signature(Full)) == str(inspect.signature(GeneratedFull))
    assert typing.get_type_hints(Full.__init__) == typing.get_type_hints(GeneratedFull.__init__)
    for args, kwargs in [(("a",), {}), (("a", 5, ["t"]), {"flag": True, "label": "l"})]:
        made, generated = Full(*args, **kwargs), GeneratedFull(*args, **kwargs)
        assert dataclasses.astuple(made) == dataclasses.astuple(generated)
    one, two = Full("a"), Full("a")
    assert one.tags == [] and one.tags is not two.tags and one.made is not two.made  # a factory call each
    assert one.derived == 20 and Full("a", 3).derived == 30
    with pytest.raises(TypeError, match="positional"):
        Full("a", 1, [], True)  # type: ignore[misc]
    with pytest.raises(TypeError, match="missing"):
        Full()  # type: ignore[call-arg]
    assert Child("c").extra == 7 and Child("c", 4, extra=1).derived == 40
    assert str(inspect.signature(Child)) == str(inspect.signature(GeneratedChild))


def test_init_is_compiled_when_first_needed() -> None:
    """Importing a record compiles nothing; the first instance or signature writes ``__init__`` once."""
    import inspect

    assert getattr(Lazy.__dict__["__init__"], "_record_lazy", False)
    assert str(inspect.signature(Lazy)) == "(value: 'int', items: 'tuple[int, ...]' = ()) -> None"
    written = Lazy.__dict__["__init__"]
    assert not getattr(written, "_record_lazy", False) and written.__qualname__ == "Lazy.__init__"
    assert Lazy(1) == Lazy(1, ()) and Lazy.__dict__["__init__"] is written


def test_a_record_without_a_docstring_is_documented_as_a_dataclass_is() -> None:
    assert Undocumented.__doc__ == "Undocumented(value: 'int', items: 'tuple[int, ...]' = ())"


def test_slotted_records_copy_and_pickle() -> None:
    import pickle

    # Our own objects round-tripped, nothing untrusted unpickled:
    assert pickle.loads(pickle.dumps(Slotted(5))) == Slotted(5) and copy.copy(Slotted(6)) == Slotted(6)  # noqa: S301
    assert pickle.loads(pickle.dumps(Pair("a", 2))) == Pair("a", 2)  # noqa: S301
    with pytest.raises(dataclasses.FrozenInstanceError):
        del Slotted(1).value


def test_what_a_dataclass_refuses_a_record_refuses_at_once() -> None:
    with pytest.raises(TypeError, match="non-default argument 'b' follows default argument"):

        @record
        class _Bad:
            a: int = 0
            b: int

    with pytest.raises(TypeError, match="Cannot overwrite attribute __setattr__"):

        @record
        class _Mutable:
            a: int

            def __setattr__(self, name: str, value: object) -> None: ...

    with pytest.raises(TypeError, match="InitVar"):

        @record
        class _Init:
            a: dataclasses.InitVar[int]
