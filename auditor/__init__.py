"""auditor: a fleet auditor for NVIDIA GPU inference nodes.

The core (inventory, policy, facts, evaluation, reports) is plain Python with no
terminal UI or SSH imports; ``auditor.transport.runner`` and ``auditor.simulate`` are the SSH
edges, ``auditor.tui`` the interactive front end, ``auditor.cli`` the command line.
"""

__version__ = "0.1.0"
