"""YAML loading that remembers where every value came from.

PyYAML's marks give each node a line; we keep them on the containers we build
(``YamlMap.key_lines``, ``YamlList.item_lines``) so that every later complaint can
say ``file:line``. Duplicate keys are errors (PyYAML would silently keep the last
one). Unquoted numbers keep their source text (``12.10`` is not ``12.1``), so
versions written without quotes still mean what the user typed.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from auditor.errors import InputError, Location

MAX_YAML_BYTES = 16 * 1024 * 1024  # a policy or inventory larger than this is a mistake


class YamlMap(dict[str, Any]):
    """A mapping from a YAML file, with the line of the mapping and of each key."""

    path: str = "<string>"
    line: int = 0
    key_lines: dict[str, int]

    def loc(self, key: str | None = None) -> Location:
        """Where this mapping, or one of its keys, was written."""
        if key is not None and key in getattr(self, "key_lines", {}):
            return Location(self.path, self.key_lines[key])
        return Location(self.path, self.line)


class YamlList(list[Any]):
    """A sequence from a YAML file, with the line of each item."""

    path: str = "<string>"
    line: int = 0
    item_lines: list[int]

    def loc(self, index: int | None = None) -> Location:
        """Where this list, or one of its items, was written."""
        if index is not None and 0 <= index < len(getattr(self, "item_lines", [])):
            return Location(self.path, self.item_lines[index])
        return Location(self.path, self.line)


class ScalarFloat(float):
    """A float that remembers how it was written (``12.10``), for version fields."""

    text: str = ""


def _make_loader(path: str) -> type[yaml.SafeLoader]:
    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Loader(base):  # type: ignore[valid-type,misc]
        pass

    def construct_map(loader: yaml.SafeLoader, node: yaml.MappingNode) -> YamlMap:
        result = YamlMap()
        result.path, result.line, result.key_lines = path, node.start_mark.line + 1, {}
        loader.flatten_mapping(node)
        for key_node, value_node in node.value:
            key = _construct(loader, key_node)
            if not isinstance(key, str):
                key = _text(key) if isinstance(key, (int, float)) else key
            if not isinstance(key, str):
                raise InputError(
                    f"keys must be strings, got {type(key).__name__}",
                    Location(path, key_node.start_mark.line + 1),
                )
            if key in result:
                raise InputError(
                    f"duplicate key {key!r} (first at line {result.key_lines[key]})",
                    Location(path, key_node.start_mark.line + 1),
                )
            result[key] = _construct(loader, value_node)
            result.key_lines[key] = key_node.start_mark.line + 1
        return result

    def construct_seq(loader: yaml.SafeLoader, node: yaml.SequenceNode) -> YamlList:
        result = YamlList(_construct(loader, child) for child in node.value)
        result.path, result.line = path, node.start_mark.line + 1
        result.item_lines = [child.start_mark.line + 1 for child in node.value]
        return result

    def construct_float(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> ScalarFloat:
        value = ScalarFloat(yaml.SafeLoader.construct_yaml_float(loader, node))
        value.text = str(node.value)
        return value

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_map)
    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, construct_seq)
    Loader.add_constructor("tag:yaml.org,2002:float", construct_float)
    return Loader


_STR_TAG = "tag:yaml.org,2002:str"


def _construct(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    """``loader.construct_object(node, deep=True)``; a plain string is the node's own text, as the
    constructor would return it, without its bookkeeping (an inventory is mostly names and strings)."""
    if node.tag == _STR_TAG and type(node) is yaml.ScalarNode:
        return node.value
    return loader.construct_object(node, deep=True)


def _text(value: object) -> str:
    if isinstance(value, ScalarFloat) and value.text:
        return value.text
    return str(value)


def parse_yaml(text: str, path: str) -> Any:
    """Parse YAML text; syntax errors become located ``InputError``s."""
    try:
        return yaml.load(text, Loader=_make_loader(path))  # noqa: S506 - SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        problem = exc.problem or exc.context or "invalid YAML"
        raise InputError(f"invalid YAML: {problem}", Location(path, line)) from None
    except yaml.YAMLError as exc:
        raise InputError(f"invalid YAML: {exc}", Location(path)) from None


def load_yaml(path: str | Path) -> Any:
    """Read and parse a YAML file; a missing, huge or malformed file is an ``InputError``."""
    return parse_yaml(read_text(path), str(path))


def read_text(path: str | Path) -> str:
    """A user's text file as UTF-8; a missing, unreadable, huge or non-UTF-8 file is an ``InputError``."""
    name = str(path)
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_YAML_BYTES + 1)
    except FileNotFoundError:
        raise InputError("file not found", Location(name)) from None
    except IsADirectoryError:
        raise InputError("is a directory, expected a YAML file", Location(name)) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", Location(name)) from None
    if len(data) > MAX_YAML_BYTES:
        raise InputError(f"larger than {MAX_YAML_BYTES} bytes", Location(name))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError("not valid UTF-8", Location(name, line)) from None
    return text


# -- validation helpers shared by every file format ---------------------------------------


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` when a close match exists, else ``""``."""
    import difflib  # only when there is a misspelling to suggest a fix for

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def require_map(node: Any, what: str, where: Location) -> YamlMap:
    """``node`` must be a mapping (``what`` names it in the error)."""
    if isinstance(node, YamlMap):
        return node
    if isinstance(node, dict):  # built programmatically (tests, JSON): no lines
        result = YamlMap(node)
        result.path, result.line, result.key_lines = where.path, where.line, {}
        return result
    raise InputError(f"{what} must be a mapping, got {type_name(node)}", where)


def require_list(node: Any, what: str, where: Location) -> YamlList:
    """``node`` must be a sequence."""
    if isinstance(node, YamlList):
        return node
    if isinstance(node, list):
        result = YamlList(node)
        result.path, result.line, result.item_lines = where.path, where.line, []
        return result
    raise InputError(f"{what} must be a list, got {type_name(node)}", where)


def check_keys(node: YamlMap, allowed: Iterable[str], what: str, required: Iterable[str] = ()) -> list[InputError]:
    """Unknown keys (with a did-you-mean) and missing required keys of a mapping."""
    allowed = list(allowed)
    errors = [
        InputError(f"unknown key {key!r} in {what}{did_you_mean(key, allowed)}", node.loc(key))
        for key in node
        if key not in allowed
    ]
    errors += [InputError(f"{what} needs the key {key!r}", node.loc()) for key in required if key not in node]
    return errors


def as_text(value: Any, what: str, where: Location) -> str:
    """A scalar as the text the user wrote (numbers keep their spelling)."""
    if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
        raise InputError(f"{what} must be a string, got {type_name(value)}", where)
    return _text(value)


def type_name(value: Any) -> str:
    """A YAML-flavoured name for a value's type, for error messages."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__
