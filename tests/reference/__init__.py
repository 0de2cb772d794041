"""Tests of ``auditor.reference``."""
