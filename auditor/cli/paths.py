"""The files a command line names, checked before any host is contacted and without creating anything.

A typo in an output path used to surface at the end of an audit (a report lost, exit 4)
or silently create a directory; a missing ``--private-key`` made every host
unreachable. Here each such flag is checked once, up front, and a problem is an
``InputError`` naming the flag and the path (exit 2):

- files auditor writes (``--history``, ``--retry-file``, ``--accept-new-file``, report
  paths): their directory must exist and be writable. Only auditor's own state
  directory (``$XDG_STATE_HOME/auditor``, the defaults' home) is created when missing;
- ``--private-key``: a private key that can be loaded (an encrypted one belongs in
  ssh-agent: auditor never prompts mid-run).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from auditor.errors import InputError, InputErrors
from auditor.report.files import check_writable
from auditor.report.history import default_path
from auditor.statedir import demo_state_dir, state_dir


def own_directories() -> set[Path]:
    """The directories auditor may create for its defaults: the state directory and the demo's inside it."""
    history = default_path().parent  # the same place, unless XDG_STATE_HOME is relative (the spec ignores it then)
    return {Path(os.path.abspath(p)) for p in (state_dir(), demo_state_dir(), history, history / demo_state_dir().name)}


def check_output(flag: str, path: str | Path) -> InputError | None:
    """Why ``path`` (given with ``flag``) cannot be written, as an error; None when it can.

    A file directly in one of ``own_directories`` may have its directory missing:
    it is created when first written. Anywhere else nothing is created.
    """
    target = Path(os.path.abspath(Path(path).expanduser()))
    if target.parent in own_directories() and not target.is_dir():
        return None
    problem = check_writable(target)
    return InputError(f"{flag} {problem}") if problem else None


def check_private_key(path: str) -> InputError | None:
    """Why ``--private-key PATH`` cannot be used, as an error; None when the key loads."""
    import asyncssh  # only when a key is named: the CLI's other paths need no SSH library

    try:
        asyncssh.load_keypairs([str(Path(path).expanduser())])
    except OSError as exc:
        return InputError(f"--private-key {path}: cannot read the key: {exc.strerror or exc}")
    except (asyncssh.KeyImportError, ValueError) as exc:
        hint = (
            "; load an encrypted key into ssh-agent (ssh-add) instead: auditor does not ask for passphrases"
            if "assphrase" in str(exc)
            else ""
        )
        return InputError(f"--private-key {path}: not a private key auditor can use: {exc}{hint}")
    return None


def check_paths(args: argparse.Namespace, retry_file: str | None = None, history: Path | None = None) -> None:
    """The key and the output files ``args`` names, all problems at once.

    ``retry_file`` and ``history`` are the files this run would write (None: none).
    """
    problems: list[InputError | None] = []
    if getattr(args, "private_key", None):
        problems.append(check_private_key(args.private_key))
    if history is not None:
        problems.append(check_output("--history", history))
    if retry_file:
        problems.append(check_output("--retry-file", retry_file))
    if getattr(args, "accept_new", False) and getattr(args, "accept_new_file", None):
        problems.append(check_output("--accept-new-file", args.accept_new_file))
    found = [p for p in problems if p is not None]
    if found:
        raise InputErrors(found)


def add_history_path(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """``--history PATH`` with the XDG default spelled out in the help."""
    parser.add_argument(
        "--history",
        metavar="PATH",
        help="history database; its directory must exist (default: $XDG_STATE_HOME/auditor/history.sqlite, "
        "else ~/.local/state/auditor/history.sqlite; the demo's: demo/history.sqlite there)",
    )


def history_path(args: argparse.Namespace) -> Path:
    """The history file the arguments name; ``--demo`` runs keep theirs apart (``demo/`` beside the default)."""
    if args.history:
        return Path(args.history).expanduser()
    default = default_path()
    return default.parent / demo_state_dir().name / default.name if getattr(args, "demo", False) else default
