"""The test suite: one package per package of auditor (tests/<package>/), shared helpers in tests/support/."""
