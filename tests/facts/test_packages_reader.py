"""The ``packages`` section read strictly: package names, versions and lock patterns of their known shapes only."""

from __future__ import annotations

import json

import pytest

from auditor.facts.model import FactsError, PackageManager
from auditor.facts.reader import parse_facts


def read(section: object) -> object:
    return parse_facts(json.dumps({"schema": "auditor.facts/1", "packages": section})).packages


def test_a_probe_without_the_section_is_not_collected() -> None:
    """Facts from an older probe (no section) say so instead of claiming an empty package list."""
    facts = parse_facts(json.dumps({"schema": "auditor.facts/1"})).packages
    assert facts.collected is False and facts.error and facts.manager is None


def test_valid_section_becomes_typed_values() -> None:
    """Manager, installed packages, locks, cache and the repositories' offers become typed values."""
    facts = read(
        {
            "manager": "dnf",
            "installed": [{"name": "nvidia-driver", "version": "3:580.95.05-1.el9", "arch": "x86_64", "held": True}],
            "locks": [{"pattern": "nvidia-driver-3:580.95.05-1.el9.*", "exclude": False}],
            "cached": [
                {"name": "nvidia-driver", "version": "580.82.07-1.el9", "arch": "x86_64", "path": "/var/cache/x.rpm"}
            ],
            "availability": {
                "source": "dnf -C repoquery",
                "names": ["nvidia-driver"],
                "lists": True,
                "versions": [{"name": "nvidia-driver", "version": "3:580.95.05-1.el9", "sources": ["cuda"]}],
                "error": None,
            },
        }
    )
    assert facts.manager is PackageManager.DNF and facts.package("nvidia-driver").held
    assert facts.availability.known and facts.availability.offered("nvidia-driver")[0].sources == ("cuda",)


@pytest.mark.parametrize(
    ("section", "fragment"),
    [
        ({"manager": "pacman"}, "unknown package manager"),
        (
            {"installed": [{"name": "nvidia-driver", "version": "{{ lookup('pipe', 'id') }}"}]},
            "must be a package version",
        ),
        ({"installed": [{"name": "-o Dpkg::Pre-Invoke=x", "version": "1-1"}]}, "must be a package name"),
        ({"installed": [{"name": "x"}]}, "$.packages.installed[0].version is required"),
        ({"locks": [{"pattern": "x; rm -rf /"}]}, "must be a version lock pattern"),
        ({"cached": [{"name": "x", "version": "1-1"}]}, "path is required"),
        ({"availability": {"versions": [{"name": "x", "version": "1", "priority": 10**9}]}}, "out of range"),
        ({"availability": {"names": ["ok", "not ok"]}}, "must be a package name"),
        ({"availability": "yes"}, "availability must be an object"),
    ],
)
def test_malformed_values_are_refused_with_their_path(section: dict, fragment: str) -> None:
    """A name, version, pattern or number outside its shape is a FactsError naming where it is."""
    with pytest.raises(FactsError) as caught:
        read(section)
    assert fragment in str(caught.value)
