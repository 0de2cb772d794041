"""Where things are: the repository, the test suite, and its fixtures."""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
ROOT = TESTS.parent
FIXTURES = TESTS / "fixtures"
REAL = FIXTURES / "real"
"""What the probe and NVIDIA's tools printed on a real GPU machine (see its README)."""
