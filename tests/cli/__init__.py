"""Tests of ``auditor.cli``."""
