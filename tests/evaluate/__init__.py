"""Tests of ``auditor.evaluate``."""
