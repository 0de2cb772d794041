"""Tests of ``auditor.transport``."""
