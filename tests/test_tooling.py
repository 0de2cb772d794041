"""Lint, format and type checks run with the tests, so CI and developers run the same gate."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def tool(name: str) -> str:
    found = shutil.which(name) or str(Path(sys.executable).parent / name)
    if not Path(found).exists():
        pytest.skip(f"{name} is not installed (pip install -e '.[test]')")
    return found


@pytest.mark.parametrize("args", [["check"], ["format", "--check"]])
def test_ruff(args: list[str]) -> None:
    """ruff finds nothing to complain about (rules and their reasons: pyproject.toml)."""
    paths = [p for p in ("auditor", "tests", "bench") if (ROOT / p).is_dir()]
    result = subprocess.run([tool("ruff"), *args, *paths], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy() -> None:
    """The package type-checks, the probe's unannotated Python 3.6 bodies included (its 3.6 syntax: vermin)."""
    result = subprocess.run([tool("mypy")], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_import_contracts() -> None:
    """The packages keep their layers, the front ends stay apart, the core never imports Textual or asyncssh,
    and no imports go round in a circle (the contracts: pyproject.toml, [tool.importlinter])."""
    result = subprocess.run([tool("lint-imports"), "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
