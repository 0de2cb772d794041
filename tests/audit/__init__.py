"""Tests of ``auditor.audit``."""
