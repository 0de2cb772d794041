"""One audit for any front end: what to reach, running it, and what it tells a front end meanwhile.

Owns the targets (``targets``: inventories or a simulated fleet, ``--limit``, SSH options,
known hosts), the run (``run``: probe every host, assess each, the fleet-level checks,
the report), its events (``events``: pure values the TUI reads without importing SSH) and
the demo's files (``demo``). It sits above everything it puts together (transport, probe,
report, simulate, reference) and below the front ends, ``auditor.cli`` and ``auditor.tui``.
"""
