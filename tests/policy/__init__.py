"""Tests of ``auditor.policy``."""
