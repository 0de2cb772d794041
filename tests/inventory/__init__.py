"""Tests of ``auditor.inventory``."""
