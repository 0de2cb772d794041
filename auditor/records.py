"""``@record``: the frozen dataclasses that carry facts, findings, policies, plans and reports.

``@record`` is ``@dataclass(frozen=True)`` (``@record(slots=True)``: with ``slots=True``)
whose ``__eq__``, ``__hash__`` and ``__repr__`` are the three functions of this module
instead of three generated for each class. Python 3.11's dataclasses write each generated
method as source and compile it when the class is created; for the ~110 records an
``auditor report`` imports, these three were 160 M instructions of every start-up (a tenth
of the command's own start-up, measured with callgrind). They behave as the generated ones do:

* equal when both are of the same class and every field compared (``field(compare=...)``)
  is equal, ``NotImplemented`` against anything else;
* the hash of the fields hashed (``field(hash=...)``, else the compared ones);
* ``Name(field=value, ...)`` over the fields shown (``field(repr=...)``).

A method the class body defines itself is kept, as ``dataclass`` keeps it. Everything else
is the dataclass's own: ``__init__``, immutability (``FrozenInstanceError``), ``fields``,
``replace``, ``asdict`` and ``match``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from operator import attrgetter
from typing import TYPE_CHECKING, Any, TypeVar, overload

if TYPE_CHECKING:  # typing has it from 3.11; the type checker knows it either way, nothing runs it
    from typing_extensions import dataclass_transform
else:

    def dataclass_transform(**_options: Any) -> Callable[[Any], Any]:
        return lambda decorator: decorator


_T = TypeVar("_T", bound=type)


@overload
def record(cls: _T, /) -> _T: ...


@overload
def record(*, slots: bool = ...) -> Callable[[_T], _T]: ...


@dataclass_transform(frozen_default=True)
def record(cls: _T | None = None, /, *, slots: bool = False) -> _T | Callable[[_T], _T]:
    """Make ``cls`` a frozen dataclass with value equality, hashing and repr (module docstring)."""

    def make(cls: _T) -> _T:
        own = cls.__dict__
        explicit_hash = "__hash__" in own and not (own["__hash__"] is None and "__eq__" in own)
        keep = {name for name in ("__eq__", "__repr__") if name in own} | ({"__hash__"} if explicit_hash else set())
        made: Any = dataclasses.dataclass(frozen=True, eq=False, repr=False, slots=slots)(cls)
        fields = dataclasses.fields(made)
        made._record_compared = _values([f.name for f in fields if f.compare])
        made._record_hashed = _values([f.name for f in fields if (f.compare if f.hash is None else f.hash)])
        made._record_shown = tuple(f.name for f in fields if f.repr)
        for name, method in (("__eq__", _eq), ("__hash__", _hash), ("__repr__", _repr)):
            if name not in keep:
                setattr(made, name, method)
        return made  # type: ignore[no-any-return]

    return make if cls is None else make(cls)


def _values(names: list[str]) -> Callable[[Any], Any]:
    """The fields ``names`` of a record, as one value to compare or hash (C-level, no loop here)."""
    if not names:  # a function would bind to the instance as a method; a staticmethod does not
        return staticmethod(lambda _record: ())  # type: ignore[return-value]
    return attrgetter(*names)


def _eq(self: Any, other: Any) -> bool:
    if other.__class__ is self.__class__:
        compared = self._record_compared
        return compared(self) == compared(other)  # type: ignore[no-any-return]
    return NotImplemented


def _hash(self: Any) -> int:
    return hash(self._record_hashed(self))


def _repr(self: Any) -> str:
    shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._record_shown)
    return f"{self.__class__.__qualname__}({shown})"
