"""The probe run's context: the audited root, the controller's request, and queries computed once.

``ProbeContext`` maps host paths under ``--root``, runs host commands and child
interpreters with timeouts, and caches expensive answers several collectors need.
``parse_args`` reads the probe's command line.
"""

import base64
import glob
import json
import os
import subprocess
import sys
import threading
import time

from .child import child_code
from .common import BIN_DIRS, MAX_FILE_BYTES, ProbeTimeout, decode, remaining
from .forkserver import interpreter_path
from .system import site_dirs


class ProbeContext:
    """What collectors share: the root, the request, the payload, and cached expensive queries.

    ``payload`` is the bytes the controller shipped inside the program (reference plans), or None.
    ``forks`` is the ``forkserver.ForkServer`` child programs start from, or None (they start
    in fresh interpreters). ``started`` is when the probe began its work (``duration_s``).
    """

    def __init__(self, root, request, payload=None, forks=None):
        self.root = os.path.abspath(root) if root else "/"
        self.rooted = self.root != "/"
        self.request = request
        self.payload = payload
        self.forks = forks
        self.started = time.time()
        self.head_starts = []  # the threads startup.begin_probe started for the prefetches
        self._early = {}
        self._claimed = set()
        self._children_lock = threading.Lock()
        self._lock = threading.Lock()
        self._cache = {}
        self._cache_locks = {}

    # -- files ---------------------------------------------------------------------------
    def path(self, path):
        """The path as seen under the audited root."""
        if not self.rooted:
            return path
        return os.path.join(self.root, path.lstrip("/"))

    def host_path(self, real):
        """The inverse of ``path``: a real path under the root as the host sees it."""
        if not self.rooted:
            return real
        relative = os.path.relpath(real, self.root)
        return "/" if relative == "." else "/" + relative

    def resolve(self, path):
        """Follow symlinks without leaving the root (absolute targets are re-rooted)."""
        current = path
        for _ in range(16):
            real = self.path(current)
            if not os.path.islink(real):
                return current
            target = os.readlink(real)
            current = (
                target if target.startswith("/") else os.path.normpath(os.path.join(os.path.dirname(current), target))
            )
        return current

    def realpath(self, path):
        """Every symlink in ``path`` followed, staying under the root (absolute targets re-rooted)."""
        parts = [p for p in path.split("/") if p]
        current, hops = "/", 0
        while parts:
            part = parts.pop(0)
            if part == "..":
                current = os.path.dirname(current)
                continue
            candidate = os.path.join(current, part)
            real = self.path(candidate)
            if os.path.islink(real) and hops < 32:
                hops += 1
                target = os.readlink(real)
                parts = [p for p in target.split("/") if p] + parts
                current = "/" if target.startswith("/") else current
                continue
            current = candidate
        return current

    def read_text(self, path, limit=MAX_FILE_BYTES):
        """File contents as text (at most ``limit`` bytes), or None when absent or unreadable."""
        try:
            with open(self.path(path), "rb") as handle:
                return decode(handle.read(limit))
        except OSError:
            return None

    def glob(self, pattern):
        """Glob under the root; results are host paths (without the root prefix)."""
        found = sorted(glob.glob(self.path(pattern)))
        if not self.rooted:
            return found
        return [self.host_path(p) for p in found]

    def exists(self, path):
        return os.path.exists(self.path(path))

    def isdir(self, path):
        return os.path.isdir(self.path(path))

    # -- commands ------------------------------------------------------------------------
    def which(self, name, extra_dirs=()):
        """Host path of an executable named ``name``, or None."""
        dirs = list(BIN_DIRS) + list(extra_dirs)
        if not self.rooted:
            dirs = os.environ.get("PATH", "").split(os.pathsep) + dirs
        for directory in dirs:
            if not directory:
                continue
            candidate = os.path.join(directory, name)
            real = self.path(candidate)
            if os.path.isfile(real) and os.access(real, os.X_OK):
                return candidate
        return None

    def start(self, argv, env=None):
        """Start a host command (argv[0] a host path) with output captured; raises OSError."""
        full_env = dict(os.environ)
        full_env["LC_ALL"] = "C"
        full_env.update(env or {})
        argv = [self.path(argv[0]), *argv[1:]]
        return subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full_env, close_fds=True
        )

    def finish(self, process, timeout, what):
        """Wait for a started process; (status, stdout, stderr) as text, or ProbeTimeout."""
        limit = remaining(timeout)
        try:
            out, err = process.communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise ProbeTimeout("%s did not finish within %.1fs" % (what, limit)) from None
        return process.returncode, decode(out[:MAX_FILE_BYTES]), decode(err[:MAX_FILE_BYTES])

    def run(self, argv, timeout, env=None):
        """Run a host command; returns (status, stdout, stderr) as text.

        Raises OSError when it cannot start, and ProbeTimeout when it overruns.
        """
        return self.finish(self.start(argv, env), timeout, os.path.basename(argv[0]))

    def python_argv(self, code, args, bare=False):
        """A child interpreter running ``code``; ``bare`` skips site (and PYTHON* variables).

        Under ``--root`` the child sees only the root's site-packages, never ours.
        """
        argv = [sys.executable]
        if bare:
            argv += ["-S", "-E"]
        elif self.rooted:
            argv += ["-S"]
        return [*argv, "-c", code, *args]

    def python_env(self):
        if self.rooted:
            return {"PYTHONPATH": os.pathsep.join(self.path(p) for p in site_dirs(self))}
        return {}

    def run_python(self, code, args, timeout, bare=False, env=None):
        """Run Python ``code`` in a fresh child interpreter (isolates crashes and hangs).

        For code that is not one of ``children/`` as shipped (the reference builder); those run with ``run_child``.
        """
        process = subprocess.Popen(
            self.python_argv(code, args, bare),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self.child_env(env),
            close_fds=True,
        )
        return self.finish(process, timeout, "child python")

    def child_env(self, env=None):
        """The environment of a child interpreter: ours, ``LC_ALL=C``, ``python_env()``, then ``env``."""
        full_env = dict(os.environ)
        full_env["LC_ALL"] = "C"
        full_env.update(self.python_env())
        full_env.update(env or {})
        return full_env

    def start_child(self, name, args, bare=False, env=None):
        """Start child program ``name`` (``children/NAME.py``) with ``args``; raises OSError.

        Forked from the fork server when the probe has one (no second interpreter start),
        else a fresh interpreter (``python_argv``); either way its own process, with the
        environment ``child_env(env)`` and, under ``--root``, only the root's site-packages
        on its path. A child ``start_early`` started with the same arguments is handed over
        instead. Returns what ``finish`` takes (``communicate``, ``kill``, ``returncode``).
        """
        key = self._child_key(name, args, bare, env)
        with self._children_lock:
            early = self._early.pop(key, None)
            if early is None:
                self._claimed.add(key)  # too late for start_early: it leaves this one alone
        return early if early is not None else self._start_child(name, args, bare, env)

    def start_early(self, name, args, bare=False, env=None):
        """Start child ``name`` now, for the collector that will ask ``start_child`` for the same later
        (``startup``: while the rest of the probe compiles). Nothing happens when a collector has
        asked already; a child that cannot start is left to that call."""
        key = self._child_key(name, args, bare, env)
        with self._children_lock:  # held while it starts: a collector asking meanwhile gets this child
            if key in self._early or key in self._claimed:
                return
            try:
                self._early[key] = self._start_child(name, args, bare, env)
            except OSError:
                pass

    def _start_child(self, name, args, bare, env):
        if self.forks is not None:
            changes = dict((k, v) for k, v in self.child_env(env).items() if os.environ.get(k) != v)
            try:
                return self.forks.start_child(name, args, changes, self.child_path())
            except OSError:  # the server is gone or out of processes: an interpreter still works
                pass
        return subprocess.Popen(
            self.python_argv(child_code(name), args, bare),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self.child_env(env),
            close_fds=True,
        )

    def drop_early(self):
        """Kill the children ``start_early`` started that no collector took over (one that failed first)."""
        with self._children_lock:
            left = list(self._early.values())
            self._early.clear()
        for process in left:
            process.kill()
            try:
                process.communicate(timeout=2)
            except subprocess.TimeoutExpired:
                pass  # a process that outlives SIGKILL for now: the kernel's to reap

    @staticmethod
    def _child_key(name, args, bare, env):
        return (name, tuple(args), bool(bare), tuple(sorted((env or {}).items())))

    def run_child(self, name, args, timeout, bare=False, env=None):
        """``start_child`` and ``finish``: (status, stdout, stderr) as text; OSError, ProbeTimeout."""
        return self.finish(self.start_child(name, args, bare, env), timeout, "child python")

    def child_path(self):
        """``sys.path`` of a forked child: under ``--root`` what ``python3 -S`` with ``python_env()``
        would have (the interpreter's library and the root's site-packages); else None (ours)."""
        if not self.rooted:
            return None
        path = interpreter_path()
        return path[:1] + [self.path(p) for p in site_dirs(self)] + path[1:]

    def python_path(self):
        """``sys.path`` as this host's ``python3`` has it with its ``site`` (its site-packages and
        ``.pth`` files): ours when site ran here, else what the fork server's site initialization
        gave (``ForkServer.site_path``), else ours after running ``site.main()`` here."""
        if not sys.flags.no_site:
            return list(sys.path)
        return self.once("python-path", self._site_path)

    def _site_path(self):
        path = self.forks.site_path() if self.forks is not None else None
        if path is None:  # no server, or it did not answer: the site initialization python3 skipped, here
            import site

            site.main()
            path = list(sys.path)
        return path

    # -- shared, computed once -------------------------------------------------------------
    def once(self, key, compute, wait=None):
        """``compute()`` once per probe run, even when several collectors ask at once.

        ``wait`` bounds how long a caller waits for another thread's computation
        (ProbeTimeout when it is still running).
        """
        with self._lock:
            lock = self._cache_locks.setdefault(key, threading.Lock())
        if not lock.acquire(True, -1 if wait is None else max(0.0, wait)):
            raise ProbeTimeout("%s still being collected" % key)
        try:
            if key not in self._cache:
                try:
                    self._cache[key] = (compute(), None)
                except Exception as exc:  # reported by every caller
                    self._cache[key] = (None, exc)
            value, error = self._cache[key]
        finally:
            lock.release()
        if error is not None:
            raise error
        return value


def parse_args(argv):
    root, request = None, {}
    index = 0
    while index < len(argv):
        arg = argv[index]
        if arg == "--root" and index + 1 < len(argv):
            root, index = argv[index + 1], index + 1
        elif arg.startswith("--root="):
            root = arg.split("=", 1)[1]
        elif arg.startswith("--request="):
            request = json.loads(base64.b64decode(arg.split("=", 1)[1]).decode("utf-8"))
            if not isinstance(request, dict):
                raise ValueError("request must be a JSON object")
        elif arg in ("-", "--pretty"):
            pass
        else:
            raise ValueError("unknown argument %r" % arg)
        index += 1
    return root, request
