"""Pre-upgrade planning: what must change on each host, in what order, and how to roll back.

Owns the plan's values (``model``), its target (``target``: a policy stack, ``--set``),
one host's steps, blockers and warnings (``host``, with engine rebuilds in ``rebuilds``),
the waves (``waves``), a fleet's plan (``fleet.make_plan``) and its writers (``writers/``:
table, md, data). Pure: nothing here contacts a host; ``auditor plan`` and the TUI's plan
view drive it. It imports the layers below it, the report included (a plan is made from
host reports), and asks the evaluator's checks the same questions an audit asks.
"""
