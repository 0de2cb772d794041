"""Where auditor keeps what outlives a run: ``$XDG_STATE_HOME/auditor`` (``~/.local/state/auditor``)."""

from __future__ import annotations

import os
from pathlib import Path


def state_dir() -> Path:
    """The state directory (not created here: writers create it when they first write)."""
    return Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "auditor"


def demo_state_dir() -> Path:
    """Where the demo keeps its history and retry file (``state_dir()/demo``), apart from real audits' state."""
    return state_dir() / "demo"
