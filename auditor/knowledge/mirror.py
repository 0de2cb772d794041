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

import json
import os

from auditor.knowledge import tables


def render(name: str) -> str:
    """The mirror file of table ``name``: its YAML's digest and values (``ValueError`` if JSON cannot hold them)."""
    text = tables._read(f"{name}.yaml")
    data = tables._safe_load(text)
    try:
        same = json.loads(json.dumps(data)) == data
    except TypeError:  # a date
        same = False
    if not same:
        raise ValueError(f"{name}.yaml: holds values JSON cannot (a date, a non-string key); it is read from its YAML")
    return (
        json.dumps({"yaml_sha256": tables.yaml_digest(text), "data": data}, ensure_ascii=False, sort_keys=True) + "\n"
    )


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
