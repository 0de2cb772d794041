"""Writing report files so that no reader ever sees half of one.

``write_atomic`` writes a temporary file (a unique name from ``mkstemp``, so two runs
never share one) in the target's own directory (a rename is only atomic within one
filesystem), flushes it to disk, gives it the permissions a plain ``open()`` would
(``mkstemp`` makes files 0600, which node_exporter running as another user could not
read), then renames it over the target. A regular file already at the path keeps
its read/write bits; a symlink there is replaced, never followed, and its target's
mode is never copied (a world-writable or setuid target must not make the report
so). A device or a pipe at the path (``/dev/null``, ``/dev/stdout``, a FIFO) is
written into, never replaced. A reader sees the old file or the new one; a crash
leaves at most a ``.NAME.*.tmp`` file beside it, never a truncated report.
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
        if _is_stream(target):
            _write_stream(target, text)
            return
        mode = _mode_for(target)
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


def _is_stream(target: Path) -> bool:
    """True for a device, FIFO or socket at ``target`` (``/dev/null``, ``/dev/stdout``, a named pipe)."""
    try:
        info = target.stat()  # follows links: /dev/stdout is one
    except FileNotFoundError:
        return False
    return not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode))


def _write_stream(target: Path, text: str) -> None:
    """Write into a device or pipe: replacing ``/dev/null`` with a file (as root) would break the machine."""
    with open(target, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)


def _mode_for(target: Path) -> int:
    """The mode a new ``target`` gets: an existing regular file's read/write bits, else the umask's."""
    try:
        info = target.lstat()  # lstat: a symlink's target is not ours to copy from
    except FileNotFoundError:
        return _default_mode()
    if stat.S_ISREG(info.st_mode):
        return stat.S_IMODE(info.st_mode) & 0o666  # never setuid, setgid, sticky or executable
    return _default_mode()


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
