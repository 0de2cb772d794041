"""Tests of ``auditor.probe``."""
