"""Version comparison for driver, CUDA, cuDNN and TensorRT strings, on top of ``packaging``.

NVIDIA versions are dotted integers (``535.104.05``, ``8.6.1.6``, ``12.2``), which
PEP 440 parses as release tuples. Two rules make policies read the way ops write
them: a ceiling or deny entry matches by *prefix* (``max: "12.2"`` admits 12.2.2,
``deny: ["550"]`` denies the whole R550 branch, ``535.*`` works too), and floors
compare whole versions (``min: "12.2"`` admits 12.2.0 and anything newer).
"""

from __future__ import annotations

import functools
import re

from packaging.version import InvalidVersion, Version

_NUMERIC = re.compile(r"^\d+(\.\d+)*$")


class BadVersion(ValueError):
    """A string that is not a dotted numeric version."""


@functools.lru_cache(maxsize=4096)  # a fleet repeats a few versions on every host and check; Version is immutable
def parse(text: str) -> Version:
    """``535.104.05`` -> Version; anything but dotted integers raises ``BadVersion``."""
    cleaned = text.strip()
    if cleaned.endswith(".*"):
        cleaned = cleaned[:-2]
    if not _NUMERIC.match(cleaned):
        raise BadVersion(f"not a version: {text!r}")
    try:
        return Version(cleaned)
    except InvalidVersion:  # pragma: no cover - the regex admits only valid releases
        raise BadVersion(f"not a version: {text!r}") from None


def is_version(text: str) -> bool:
    """True when ``parse`` would accept ``text``."""
    try:
        parse(text)
    except BadVersion:
        return False
    return True


def matches(version: str, pattern: str) -> bool:
    """True when ``pattern``'s release parts are a prefix of ``version``'s (``550`` ~ 550.54.14)."""
    want = parse(pattern).release
    have = parse(version).release
    return have[: len(want)] == want


def at_least(version: str, floor: str) -> bool:
    """``version >= floor`` (whole-version comparison)."""
    return parse(version) >= parse(floor)


def at_most(version: str, ceiling: str) -> bool:
    """``version <= ceiling``, where a shorter ceiling admits everything it prefixes."""
    return parse(version) <= parse(ceiling) or matches(version, ceiling)


def branch(driver_version: str) -> int:
    """The driver branch number: ``535.104.05`` -> 535."""
    return parse(driver_version).release[0]


def major_minor(version: str) -> str:
    """``12.2.2`` -> ``12.2``."""
    release = parse(version).release
    return f"{release[0]}.{release[1] if len(release) > 1 else 0}"
