"""One registry of checks: every check module is registered once, and its ids are the ones a policy may switch off."""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil

from auditor.evaluate import checks, switches
from auditor.evaluate.check import Check
from auditor.evaluate.registry import BUILTIN_CHECKS, CHECK_IDS, RULE_CHECKS
from auditor.facts.model import Facts


def test_every_check_module_is_registered_once() -> None:
    """Each module in evaluate/checks defines one CHECK, and the registry lists each exactly once."""
    modules = [importlib.import_module(f"{checks.__name__}.{m.name}") for m in pkgutil.iter_modules(checks.__path__)]
    defined = [module.CHECK for module in modules]
    assert all(isinstance(check, Check) for check in defined)
    registered = [*BUILTIN_CHECKS, *RULE_CHECKS]
    assert sorted(c.id for c in registered) == sorted(c.id for c in defined)
    assert len({c.id for c in registered}) == len(registered)


def test_built_in_and_rule_checks_are_told_apart_by_whether_a_rule_asks() -> None:
    """Built-in checks run on every host and name what a policy may switch off; rule checks say when a rule asks."""
    assert all(c.asks is None and c.switches for c in BUILTIN_CHECKS)
    assert all(c.asks is not None and not c.switches for c in RULE_CHECKS)
    assert list(CHECK_IDS)[:4] == ["driver.mismatch", "driver.loaded", "driver.installed", "gpu.visible"]
    assert {"driver.arch", "containers.image", "tensorrt.cudnn"} <= set(CHECK_IDS)


def test_the_switch_table_policies_are_read_with_is_the_registry_s() -> None:
    """``auditor check`` validates ``disable:`` against ``switches.CHECK_IDS`` without importing a check: the
    same ids, in the same order, as the registered built-in checks; each built-in check's ids are its own."""
    registered = [name for check in BUILTIN_CHECKS for name in check.switches]
    assert registered == list(CHECK_IDS)  # every table entry belongs to a registered check, in running order
    owners = {check.id: check for check in BUILTIN_CHECKS}
    for module, ids in switches.SWITCHES.items():
        check = importlib.import_module(f"{checks.__name__}.{module}").CHECK
        assert check.id in owners and check.switches is ids, module


def test_every_check_reads_sections_the_facts_have() -> None:
    """What a check says it reads are sections of the probe's facts."""
    sections = {f.name for f in dataclasses.fields(Facts)}
    for check in (*BUILTIN_CHECKS, *RULE_CHECKS):
        assert check.reads and set(check.reads) <= sections, check.id
