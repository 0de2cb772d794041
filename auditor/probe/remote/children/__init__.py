"""The programs the probe runs in a child interpreter, one file each (see ``auditor.probe.remote.child``).

Each runs as ``python3 -c`` code with its own arguments; the shipped probe embeds their
sources. This ``__init__`` is not shipped; it makes them importable for tests and type checks.
"""
