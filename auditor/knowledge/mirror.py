"""The bundled tables as JSON, beside their YAML: the same data, loaded ~10x faster.

    python -m auditor.knowledge.mirror          # rewrite mirror/<table>.json after editing a table

YAML is the source (people edit it, its marks give file:line); its values reach the
auditor through ``tables.bundled``, which reads ``mirror/<table>.json`` (``tables._mirrored``) instead when the
mirror records the SHA-256 of the YAML text as it is now, and the YAML otherwise. An
edited table is therefore never shadowed by a stale mirror (it is only slower to load
until the mirror is rewritten), and ``tests/knowledge/test_mirror.py`` fails until it is.
libyaml builds the bundled tables' values in ~11 ms of an ``auditor report`` run;
``json`` the same values in ~1 ms.
"""

from __future__ import annotations

import datetime
import json
import os
from typing import Any

from auditor.knowledge import tables


def render(name: str) -> str:
    """The mirror file of table ``name``: its YAML's digest and values (``ValueError`` if JSON cannot hold them).

    Two kinds of YAML value have no JSON type, and are written as a one-key object that
    ``tables._unmarked`` turns back: a mapping with a key that is not a string (``driver: {12: ...}``,
    CUDA majors) as ``{"\\u0000pairs": [[key, value], ...]}``, and a date as
    ``{"\\u0000date": "YYYY-MM-DD"}``. Anything else JSON cannot hold (a timestamp, a set), or a
    value that would not read back equal, keeps the table YAML only.
    """
    text = tables._read(f"{name}.yaml")
    data = tables._safe_load(text)
    try:
        encoded = json.dumps(
            {"yaml_sha256": tables.yaml_digest(text), "data": _marked(data)}, ensure_ascii=False, sort_keys=True
        )
        same = tables._mirrored_text(encoded) == data
    except (TypeError, ValueError):
        same = False
    if not same:
        raise ValueError(f"{name}.yaml: holds values JSON cannot (a timestamp, a set); it is read from its YAML")
    return encoded + "\n"


def _marked(node: Any) -> Any:
    """``node`` with each mapping whose keys are not all strings, and each date, in the mirror's marked form."""
    if isinstance(node, dict):
        if all(type(key) is str for key in node):
            return {key: _marked(value) for key, value in node.items()}
        return {tables._PAIRS: [[key, _marked(value)] for key, value in node.items()]}
    if isinstance(node, list):
        return [_marked(item) for item in node]
    if type(node) is datetime.date:
        return {tables._DATE: node.isoformat()}
    return node


def main() -> int:
    os.makedirs(tables.MIRROR, exist_ok=True)
    for name in tables.bundled_table_names():
        path = tables.mirror_path(name)
        try:
            text = render(name)
        except ValueError as exc:  # loaded from its YAML, as before mirrors existed
            if os.path.exists(path):
                os.remove(path)
            print(f"not mirrored: {exc}")
            continue
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        print(f"wrote {os.path.relpath(path)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
