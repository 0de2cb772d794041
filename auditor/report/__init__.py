"""Reports: what an audit found, as one value, and everything that becomes of it.

Owns the report (``model``: ``Report``, ``HostReport``), how a probe outcome becomes a
host's report (``assess``) inside the per-host boundary (``isolation``), the exit codes
and ``--fail-on`` (``exitcodes``, ``thresholds``), the history (``history``, SQLite) and
what changed between runs (``drift``), the writers (``writers/``: table, json, md, html,
junit, prom, csv, one module each, all rendering a ``Report`` and nothing else),
``--format`` (``formats``) and atomic file writes (``files``). It imports the layers
below it (inventory, transport's outcome records, facts, knowledge, policy, evaluate);
nothing of the plan or the front ends.
"""
