"""Tests of ``auditor.tui``."""
