"""The registry: every check auditor runs, in the order it runs them.

A new check is one module in ``auditor.evaluate.checks`` that defines its ``CHECK``, and
one line here. ``BUILTIN_CHECKS`` run on every host (a policy may switch them off by the
ids in their ``switches``: ``CHECK_IDS``); ``RULE_CHECKS`` run for each policy rule that
selects the host and asks for them. Fleet-level consistency, which needs every host, is
``auditor.evaluate.consistency``.
"""

from __future__ import annotations

from auditor.evaluate import switches
from auditor.evaluate.check import Check
from auditor.evaluate.checks import (
    bounds,
    container_toolkit,
    containers,
    cuda_arch,
    cuda_driver,
    driver_arch,
    driver_eol,
    driver_state,
    engine_loads,
    gpu_count,
    image,
    image_digest,
    image_tags,
    mig,
    plugins,
    reference,
    tensorrt,
)

BUILTIN_CHECKS: tuple[Check, ...] = (
    driver_state.CHECK,
    driver_eol.CHECK,
    driver_arch.CHECK,
    cuda_driver.CHECK,
    cuda_arch.CHECK,
    tensorrt.CHECK,
    containers.CHECK,
    image_tags.CHECK,
    container_toolkit.CHECK,
)
RULE_CHECKS: tuple[Check, ...] = (
    bounds.CHECK,
    gpu_count.CHECK,
    image.CHECK,
    engine_loads.CHECK,
    reference.CHECK,
    plugins.CHECK,
    image_digest.CHECK,
    mig.CHECK,
)
CHECK_IDS = switches.CHECK_IDS
"""Every built-in check id a policy's ``disable:`` may name, with what it checks: the table each built-in check
takes its ``switches`` from (``auditor.evaluate.switches``), which reading a policy uses without importing a check."""
