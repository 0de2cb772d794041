"""Tests of ``auditor.simulate``."""
