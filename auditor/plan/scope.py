"""Which hosts a stack target applies to (``--to STACK``): the ones the policy gives that stack.

A policy gives a stack to hosts through rules (``stack: serving-2026`` under a
``select:``). Planning towards a stack is planning for those hosts only:

* a host a rule using the stack selects is **targeted**;
* a host no such rule selects, but a rule using *another* stack does, is pinned to
  that stack: it is skipped, and the reason names the stack, the rule and its line;
* a host no rule using the stack selects is skipped too, the reason naming the
  rules that do use it; when no rule uses the stack at all, the stack is free to
  plan towards and every host not pinned to another stack is targeted.

A selector with GPU models (``gpus: ["*H100*"]``) needs the host's GPU names; for a
host that could not be audited they are unknown, and a rule that may select it
keeps it targeted (it stays in the plan as unreachable or error), since skipping it
would claim what nobody saw. A target from ``--set`` alone names no stack and
targets every host.
"""

from __future__ import annotations

from collections.abc import Sequence

from auditor.inventory import Host
from auditor.policy.model import Policy, Rule


def _selects(rule: Rule, host: Host, gpus: Sequence[str] | None) -> bool | None:
    """True or False; None when only the GPU names (unknown: ``gpus`` None) could tell."""
    if not rule.select.matches_host(host):
        return False
    if gpus is None:
        return None if rule.select.gpus else True
    return rule.select.matches_gpus(gpus)


def skip_reason(policy: Policy, stack: str, host: Host, gpus: Sequence[str] | None) -> str | None:
    """Why ``stack`` does not apply to ``host`` (see the module docstring), or None when it does.

    ``gpus`` are the GPU names the host's probe reported (None: not audited).
    """
    own = [rule for rule in policy.rules if rule.stack == stack]
    if any(_selects(rule, host, gpus) is not False for rule in own):
        return None
    for rule in policy.rules:
        if rule.stack and rule.stack != stack and _selects(rule, host, gpus):
            where = rule.stack_location or rule.location
            return f"pinned to stack {rule.stack} by rule {rule.id} ({where})"
    if own:
        rules = ", ".join(f"{rule.id} at {rule.stack_location or rule.location}" for rule in own)
        return f"no rule using stack {stack} selects it ({rules})"
    return None
