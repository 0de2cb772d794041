"""Tests of ``auditor.plan``."""
