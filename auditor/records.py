"""``@record``: the frozen dataclasses that carry facts, findings, policies, plans and reports.

``@record`` is ``@dataclass(frozen=True)`` (``@record(slots=True)``: with ``slots=True``)
without the methods Python compiles for each dataclass when its class is created. Python
3.11's dataclasses write every generated method as source and compile it one ``exec`` at a
time: six for a frozen dataclass, for each of the ~110 records an ``auditor report``
imports, about a fifth of the command's own start-up (measured with callgrind). A record
instead has:

* ``__eq__``, ``__hash__`` and ``__repr__``: three functions of this module, shared by every
  record. Equal when both are of the same class and every field compared
  (``field(compare=...)``) is equal, ``NotImplemented`` against anything else; the hash of
  the fields hashed (``field(hash=...)``, else the compared ones); ``Name(field=value, ...)``
  over the fields shown (``field(repr=...)``).
* ``__setattr__`` and ``__delattr__``: two shared functions that raise
  ``FrozenInstanceError``, for every attribute (a dataclass lets a subclass that is not a
  dataclass set attributes of its own; a record does not). ``__getstate__`` and
  ``__setstate__`` of a slotted record are the frozen dataclass's too, so ``copy`` and
  ``pickle`` work.
* ``__init__``: the one the dataclass would generate, written and compiled the first time
  the class is instantiated (or its signature asked for), not when it is defined: a command
  compiles the initialisers of the records it makes, not of every record it imports. A
  record without a docstring gets it at once (dataclass writes its doc from the signature).

A method the class body defines itself is kept, as ``dataclass`` keeps it (``__setattr__``
and ``__delattr__`` are refused, as for any frozen dataclass). Everything else is the
dataclass's own: fields, defaults and factories, ``__post_init__``, ``kw_only``,
``fields``, ``replace``, ``asdict`` and ``match``. Not supported: ``InitVar`` fields.
``dataclasses`` keeps the class's parameters as it was called (``frozen=False``,
``init=False``): immutability and the initialiser are this module's.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from operator import attrgetter
from typing import TYPE_CHECKING, Any, TypeVar, overload

if TYPE_CHECKING:  # typing has it from 3.11; the type checker knows it either way, nothing runs it
    from typing_extensions import dataclass_transform
else:

    def dataclass_transform(**_options: Any) -> Callable[[Any], Any]:
        return lambda decorator: decorator


_T = TypeVar("_T", bound=type)
_MISSING = dataclasses.MISSING


@overload
def record(cls: _T, /) -> _T: ...


@overload
def record(*, slots: bool = ...) -> Callable[[_T], _T]: ...


@dataclass_transform(frozen_default=True)
def record(cls: _T | None = None, /, *, slots: bool = False) -> _T | Callable[[_T], _T]:
    """Make ``cls`` a frozen dataclass with value equality, hashing and repr (module docstring)."""

    def make(cls: _T) -> _T:
        own = cls.__dict__
        for name in ("__setattr__", "__delattr__"):
            if name in own:
                raise TypeError(f"Cannot overwrite attribute {name} in class {cls.__name__}")
        explicit_hash = "__hash__" in own and not (own["__hash__"] is None and "__eq__" in own)
        keep = {name for name in ("__eq__", "__repr__", "__init__") if name in own}
        keep |= {"__hash__"} if explicit_hash else set()
        documented = bool(cls.__doc__)
        if not documented:  # dataclass would write it from a signature there is no __init__ for yet
            cls.__doc__ = "-"
        made: Any = dataclasses.dataclass(init=False, eq=False, repr=False, slots=slots)(cls)
        fields = dataclasses.fields(made)
        _check_order(made, fields)
        made._record_compared = _values([f.name for f in fields if f.compare])
        made._record_hashed = _values([f.name for f in fields if (f.compare if f.hash is None else f.hash)])
        made._record_shown = tuple(f.name for f in fields if f.repr)
        shared = {"__eq__": _eq, "__hash__": _hash, "__repr__": _repr, "__init__": _lazy_init(made)}
        for name, method in shared.items():
            if name not in keep:
                setattr(made, name, method)
        made.__setattr__, made.__delattr__ = _refuse_assignment, _refuse_deletion
        if slots:
            made.__getstate__, made.__setstate__ = _getstate, _setstate
        if "__init__" not in keep:
            made.__signature__ = _SIGNATURE
            if not documented:
                _initialiser(made)
                import inspect  # only for a record without a docstring: the doc dataclass would write

                made.__doc__ = made.__name__ + str(inspect.signature(made)).replace(" -> None", "")
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


def _refuse_assignment(self: Any, name: str, value: Any) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")


def _refuse_deletion(self: Any, name: str) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")


def _getstate(self: Any) -> list[Any]:
    return [getattr(self, f.name) for f in dataclasses.fields(self)]


def _setstate(self: Any, state: list[Any]) -> None:
    for f, value in zip(dataclasses.fields(self), state, strict=True):
        object.__setattr__(self, f.name, value)


def _check_order(cls: Any, fields: tuple[dataclasses.Field[Any], ...]) -> None:
    """Refuse at once what the dataclass would: a field without a default after one with; and InitVars."""
    seen_default = False
    for f in fields:
        if f.init and not f.kw_only:
            if f.default is not _MISSING or f.default_factory is not _MISSING:
                seen_default = True
            elif seen_default:
                raise TypeError(f"non-default argument {f.name!r} follows default argument")
    for f in cls.__dataclass_fields__.values():  # fields() leaves InitVars out
        if isinstance(f.type, dataclasses.InitVar) or (isinstance(f.type, str) and "InitVar" in f.type):
            raise TypeError(f"{cls.__name__}.{f.name}: a record has no InitVar fields")


def _lazy_init(cls: Any) -> Callable[..., None]:
    """An ``__init__`` that puts the real one in its place, then runs it."""

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        _initialiser(cls)(self, *args, **kwargs)

    __init__.__qualname__ = f"{cls.__qualname__}.__init__"
    __init__._record_lazy = True  # type: ignore[attr-defined]
    return __init__


class _Signature:
    """``cls.__signature__``: writes the record's ``__init__`` if it is still lazy, then lets
    ``inspect`` read the signature from it (``None`` means: look at ``__init__``)."""

    def __get__(self, instance: Any, owner: Any) -> None:
        _initialiser(owner)


_SIGNATURE = _Signature()


def _initialiser(cls: Any) -> Callable[..., None]:
    """``cls.__init__``, written and compiled first if it is still the lazy one."""
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is not None:
            break
    if not getattr(init, "_record_lazy", False):
        return init  # type: ignore[no-any-return]
    written = _write_init(klass)
    type.__setattr__(klass, "__init__", written)
    return written


class _Factory:
    """The default of a parameter whose field has a ``default_factory`` (as dataclass shows it)."""

    def __repr__(self) -> str:
        return "<factory>"


_FACTORY = _Factory()


def _write_init(cls: Any) -> Callable[..., None]:
    """The ``__init__`` dataclass(frozen=True) writes for ``cls``: same parameters, annotations and body."""
    names: dict[str, Any] = {"_object_setattr": object.__setattr__, "_FACTORY": _FACTORY, "_return_type": None}
    positional: list[str] = []
    keyword: list[str] = []
    body: list[str] = []
    for f in dataclasses.fields(cls):
        names[f"_type_{f.name}"] = f.type
        if f.default_factory is not _MISSING:
            names[f"_dflt_{f.name}"] = f.default_factory
            value = f"_dflt_{f.name}() if {f.name} is _FACTORY else {f.name}" if f.init else f"_dflt_{f.name}()"
            default = "=_FACTORY"
        elif f.default is not _MISSING:
            names[f"_dflt_{f.name}"] = f.default
            value = f.name if f.init else f"_dflt_{f.name}"
            default = f"=_dflt_{f.name}"
        else:
            value, default = f.name, ""
        if f.init:
            (keyword if f.kw_only else positional).append(f"{f.name}:_type_{f.name}{default}")
        elif f.default is _MISSING and f.default_factory is _MISSING:
            continue  # dataclass leaves such a field unset too
        body.append(f"_object_setattr(__record_self__,{f.name!r},{value})")
    if hasattr(cls, "__post_init__"):
        body.append("__record_self__.__post_init__()")
    parameters = ",".join(["__record_self__", *positional, *(["*", *keyword] if keyword else [])])
    lines = "\n  ".join(body or ["pass"])
    source = f"def __create_fn__({','.join(names)}):\n def __init__({parameters})->_return_type:\n  {lines}\n return __init__"
    namespace: dict[str, Any] = {}
    module = sys.modules.get(cls.__module__)  # as dataclass does: annotations resolve in the class's module
    code = compile(source, "<string>", "exec", dont_inherit=True)  # not this module's annotations future
    exec(code, module.__dict__ if module is not None else {}, namespace)  # noqa: S102 - built from field names, as dataclass builds it
    init: Callable[..., None] = namespace["__create_fn__"](**names)
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    return init
