"""Tests of ``auditor.facts``."""
