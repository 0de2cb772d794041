"""Writing report files so that no reader ever sees half of one.

``write_atomic`` writes a temporary file in the target's own directory (a rename is
only atomic within one filesystem), flushes it to disk, gives it the permissions a
plain ``open()`` would (``mkstemp`` makes files 0600, which node_exporter running as
another user could not read; an existing file keeps its mode), then renames it over
the target. A reader sees the old file or the new one; a crash leaves at most a
``.NAME.*.tmp`` file beside it, never a truncated report.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from auditor.errors import ReportWriteError


def _default_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8) atomically; ``ReportWriteError`` on any failure."""
    target = Path(path)
    directory = target.parent
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        mode = _default_mode()
    except OSError as exc:
        raise ReportWriteError(f"cannot write {target}: {exc.strerror or exc}") from None
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
        tmp = None
        _sync_directory(directory)
    except OSError as exc:
        raise ReportWriteError(f"cannot write {target}: {exc.strerror or exc}") from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def check_writable(path: str | os.PathLike[str]) -> str | None:
    """Why ``path`` cannot be written (its directory is missing or read-only), else None.

    Checked before any host is contacted, so a typo in a report path is a usage error
    (exit 2) instead of an audit whose report is lost at the end.
    """
    target = Path(path)
    directory = target.parent
    if not directory.is_dir():
        return f"{target}: directory {directory} does not exist"
    if target.is_dir():
        return f"{target} is a directory"
    if not os.access(directory, os.W_OK | os.X_OK):
        return f"{target}: directory {directory} is not writable"
    return None


def _sync_directory(directory: Path) -> None:
    """Make the rename itself durable; some filesystems cannot, which is not an error."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
