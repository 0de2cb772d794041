"""Tests of ``auditor.knowledge``."""
