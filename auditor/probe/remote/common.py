"""What every part of the probe shares: limits, default budgets, search paths, and small helpers.

Strings from the host are clipped (``clip``), bytes decoded leniently (``decode``); each
collector runs under a deadline its thread carries (``deadlines``), which ``remaining``
and ``parallel`` respect so a slow command cannot overrun the collector's budget.
"""

import re
import signal
import sys
import threading
import time

SCHEMA = "auditor.facts/1"


PROBE_VERSION = "0.3.0"


MAX_OUTPUT_BYTES = 1024 * 1024


MAX_FILE_BYTES = 256 * 1024


MAX_DPKG_STATUS_BYTES = 64 * 1024 * 1024


MAX_STRING = 4096


MAX_ENGINES = 64


MAX_LIST = 512


MAX_LOG_LINES = 24


DEFAULT_BUDGETS = {
    "host": 2.0,
    "driver": 8.0,
    "gpus": 8.0,
    "cuda": 6.0,
    "cudnn": 6.0,
    "tensorrt": 20.0,
    "containers": 8.0,
    "container_toolkit": 8.0,
    "mig": 8.0,
    "engines": 50.0,
    "reference": 50.0,
    "packages": 10.0,
}


DEFAULT_ENGINE_LOAD = 30.0


# Where commands and libraries live on the GPU nodes we audit (Debian/Ubuntu, RHEL, tarballs).
BIN_DIRS = ("/usr/local/nvidia/bin", "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")


LIB_DIRS = (
    "/usr/local/nvidia/lib64",
    "/usr/lib/x86_64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/usr/lib64",
    "/usr/lib",
    "/lib/x86_64-linux-gnu",
    "/lib64",
    "/lib",
    "/usr/local/cuda/lib64",
    "/usr/local/cuda/targets/x86_64-linux/lib",
    "/usr/local/tensorrt/lib",
    "/opt/tensorrt/lib",
)


INCLUDE_DIRS = (
    "/usr/include",
    "/usr/include/x86_64-linux-gnu",
    "/usr/include/aarch64-linux-gnu",
    "/usr/local/include",
    "/usr/local/cuda/include",
    "/usr/local/cuda/targets/x86_64-linux/include",
    "/usr/local/cudnn/include",
    "/opt/cudnn/include",
    "/usr/local/tensorrt/include",
    "/opt/tensorrt/include",
    "/usr/src/tensorrt/include",
)


SITE_PATTERNS = (
    "/usr/lib/python3/dist-packages",
    "/usr/lib/python3*/dist-packages",
    "/usr/lib/python3*/site-packages",
    "/usr/lib64/python3*/site-packages",
    "/usr/local/lib/python3*/dist-packages",
    "/usr/local/lib/python3*/site-packages",
)


def log(message):
    """Diagnostics go to stderr; stdout is reserved for the JSON document."""
    sys.stderr.write("auditor-probe: %s\n" % message)


def clip(text, limit=MAX_STRING):
    """Bound a string taken from the host (it may be arbitrarily long)."""
    if text is None:
        return None
    text = str(text)
    return text if len(text) <= limit else text[:limit] + "...[truncated]"


def decode(raw):
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw


def first_line(text):
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()
    return ""


def to_int(text):
    try:
        return int(str(text).strip())
    except ValueError:
        return None


def version_key(version):
    """Sort key for dotted versions ("10.3.0.26" > "8.6.1.6"); non-numeric parts sort first."""
    return tuple(int(p) if p.isdigit() else -1 for p in re.split(r"[.\-+]", version or ""))


def iso_utc(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


class ProbeTimeout(Exception):
    """A command or child process overran its time budget."""


deadlines = threading.local()


def remaining(limit):
    """``limit`` seconds, or less when the calling collector's budget ends sooner."""
    deadline = getattr(deadlines, "deadline", None)
    if deadline is None:
        return limit
    return max(0.05, min(limit, deadline - time.time() - 0.1))  # a margin to kill and reap the child


def parallel(calls):
    """Run ``calls`` (zero-argument callables) in threads; results in order, exceptions as values."""
    results: list = [None] * len(calls)
    deadline = getattr(deadlines, "deadline", None)

    def work(index, call):
        deadlines.deadline = deadline
        try:
            results[index] = call()
        except Exception as exc:  # returned to the caller, which reports it
            results[index] = exc

    threads = [threading.Thread(target=work, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.daemon = True
        thread.start()
    for thread in threads:  # the calls bound their own waits by the deadline; this is the safety net
        thread.join(None if deadline is None else max(0.0, deadline - time.time()) + 0.25)
    return [r if not t.is_alive() else ProbeTimeout("still running") for r, t in zip(results, threads)]


def sha256(data=b""):
    """A SHA-256 hash of ``data``. hashlib is imported on first use: 3 ms of every probe's
    start-up that only engine and reference runs need."""
    import hashlib

    return hashlib.sha256(data)


def describe_exit(status, err=""):
    if status < 0:
        try:
            name = signal.Signals(-status).name
        except (ValueError, AttributeError):
            name = "signal %d" % -status
        return "killed by %s" % name
    return first_line(err) or "exit status %d" % status
