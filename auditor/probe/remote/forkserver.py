"""Child programs in processes forked from a clean copy of the probe, instead of freshly started interpreters.

A child interpreter pays a second Python start-up (75 ms on a real H200 host with its
site-packages, 13 ms without) before it does any work. ``ForkServer.start()`` forks the
probe once, first thing (``startup``, else ``main``): before any thread exists and before
anything loads NVML, CUDA or TensorRT, so that copy (the *server*) is single-threaded and
clean, as a fresh interpreter would be. Every child program (``children/NAME.py``) then runs in a process
the server forks for it: its own process, so a crash or a hang still costs only the child,
which the caller kills on its timeout (``ForkedChild``, the part of ``subprocess.Popen``
the probe uses).

The protocol has no replies to sort out between the collectors' threads. One
``AF_UNIX``/``SOCK_SEQPACKET`` socket pair; for each child the caller makes three pipes
(stdout, stderr, status) and sends ONE message: JSON ``{"child", "args", "env", "path"}``
with the pipes' write ends attached (``SCM_RIGHTS``). The server forks a *watcher*, which
forks the *runner*, writes ``"<runner pid>\\n"`` to the status pipe, waits for the runner
and writes ``"<returncode>\\n"`` (Popen's convention: ``-N`` for signal N). The runner
points fds 1 and 2 at its pipes, sets ``os.environ``, ``sys.argv`` and (under ``--root``)
``sys.path`` as the interpreter it replaces would have had them, runs the child program as
``__main__`` and ``_exit``\\ s. The server holds none of the probe's standard streams (the
SSH channel closes when the probe exits) and leaves when the probe closes its end of the
socket, also when the probe dies.

Where ``fork`` or the server is missing (another OS, a process limit, the server killed),
``start`` returns None or ``start_child`` raises ``OSError``, and the probe starts an
interpreter as before (``context.ProbeContext.start_child``).
"""

import array
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time

from .child import child_code

MAX_REQUEST_BYTES = 64 * 1024


MAX_CHILD_OUTPUT = 4 * 1024 * 1024  # kept of what a child prints (callers keep MAX_FILE_BYTES); the rest is drained


ANSWER_TIMEOUT = 5.0  # the server forks at once: one that names no runner by then is gone or wedged


SITE_TIMEOUT = 10.0  # the server's site initialization (.pth files) answers by then, or the probe runs it


DRAIN_AFTER_EXIT = 1.0  # a runner's own children may hold its pipes open after it exits: wait this long, no more


PIPES = 3  # stdout, stderr, status


class ForkServer:
    """The probe's end of the server: ``start_child`` runs a child program in a freshly forked process."""

    def __init__(self, pid, sock):
        self.pid = pid
        self.sock = sock
        self._site_lock = threading.Lock()
        self._site = None  # (answered, path): see site_path

    @classmethod
    def start(cls):
        """Fork the server; None where this platform or process cannot (the probe then starts interpreters).

        Call it before any thread starts and before NVML, CUDA or TensorRT is loaded: the
        server is a copy of this process as it is now.
        """
        if not hasattr(os, "fork") or not hasattr(socket, "SCM_RIGHTS") or not hasattr(socket, "SOCK_SEQPACKET"):
            return None
        try:
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        except OSError:
            return None
        sys.stdout.flush()  # a copy of unwritten output would be written twice
        sys.stderr.flush()
        try:
            pid = os.fork()
        except OSError:
            ours.close()
            theirs.close()
            return None
        if pid == 0:
            ours.close()
            serve_forks(theirs)  # never returns
        theirs.close()
        return cls(pid, ours)

    def site_path(self):
        """``sys.path`` as the server has it after its site initialization (``send_site_path``), or None.

        The server's first message, read once (later calls answer from memory). None when it
        did not come within ``SITE_TIMEOUT`` seconds or was not a list of strings: the caller
        then initializes ``site`` itself.
        """
        return self._site_answer()[1]

    def _site_answer(self):
        """(whether the server answered, the path it sent or None), read once."""
        with self._site_lock:
            if self._site is None:
                self._site = self._receive_site_path(SITE_TIMEOUT)
            return self._site

    def _receive_site_path(self, timeout):
        try:
            ready, _, _ = select.select([self.sock], [], [], timeout)
            data = self.sock.recv(MAX_REQUEST_BYTES) if ready else b""
        except OSError:
            return False, None
        if not data:
            return False, None
        try:
            path = json.loads(data.decode("utf-8"))
        except ValueError:
            path = None
        if not isinstance(path, list) or not all(isinstance(p, str) for p in path):
            path = None
        return True, path

    def start_child(self, name, args, env, path):
        """Run child program ``name`` with ``sys.argv[1:] = args``, ``os.environ`` updated with ``env``
        and ``sys.path`` set to ``path`` (None: the server's, site-initialized). Returns a ``ForkedChild``;
        raises ``OSError`` when the server cannot start it (it never answered, or cannot fork)."""
        if not self._site_answer()[0]:  # still in its site initialization, or gone
            raise OSError("the fork server did not answer")
        request = json.dumps({"child": name, "args": list(args), "env": env, "path": path}).encode("utf-8")
        if len(request) > MAX_REQUEST_BYTES:
            raise OSError("child request of %d bytes is over %d" % (len(request), MAX_REQUEST_BYTES))
        pipes = [os.pipe() for _ in range(PIPES)]
        try:
            ends = array.array("i", [write for _, write in pipes])
            self.sock.sendmsg([request], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, ends.tobytes())])
        except OSError:
            for read, _ in pipes:
                os.close(read)
            raise
        finally:
            for _, write in pipes:  # the runner and the watcher hold them now
                os.close(write)
        child = ForkedChild(name, *(read for read, _ in pipes))
        child.wait_for_pid(ANSWER_TIMEOUT)
        return child

    def close(self):
        """Close the probe's end: the server leaves. Reaps it when it has already gone."""
        self.sock.close()
        try:
            os.waitpid(self.pid, os.WNOHANG)
        except OSError:
            pass  # already reaped, or not our child any more


class ForkedChild:
    """A child program running in a process the server forked: ``pid``, ``communicate``, ``kill``,
    ``returncode`` as ``subprocess.Popen`` has them (what ``context.ProbeContext.finish`` and
    the engine loader use)."""

    def __init__(self, name, out, err, status):
        self.name = name
        self.pid = None
        self.returncode = None
        self.killed = False
        self._out, self._err, self._status = out, err, status
        self._data = {out: bytearray(), err: bytearray(), status: bytearray()}
        self._open = set(self._data)
        self._exited_at = 0.0  # when the watcher reported the exit (time.time())

    def wait_for_pid(self, timeout):
        """Wait until the watcher names the runner; ``OSError`` (everything closed) when it does not."""
        self._pump(time.time() + timeout, lambda: self.pid is not None or self._status not in self._open)
        if self.pid is None:
            self._close_all()
            raise OSError("the fork server did not start %s" % self.name)

    def communicate(self, input=None, timeout=None):
        """(stdout, stderr) once the runner has exited; ``subprocess.TimeoutExpired`` after ``timeout`` seconds.

        Like Popen's, it may be called again after a timeout (and a ``kill``) to collect the rest.
        """
        deadline = None if timeout is None else time.time() + timeout
        if not self._pump(deadline, self._finished):
            raise subprocess.TimeoutExpired(self.name, timeout)
        # The drain's time ends the waiting, not the reading: what the pipes hold now is the
        # child's. Its exit may have been read long before this call, with its pid (a child
        # started early, taken over by its collector a second later on a loaded host), and
        # then _finished() held before anything was read.
        for _ in range(MAX_CHILD_OUTPUT // 65536):
            if not self._read_ready(0):
                break
        self._close_all()
        return bytes(self._data[self._out]), bytes(self._data[self._err])

    def kill(self):
        """SIGKILL the runner (the watcher then reports ``-9``)."""
        if self.pid is not None and self.returncode is None:
            self.killed = True
            try:
                os.kill(self.pid, signal.SIGKILL)
            except OSError:
                pass  # it has just exited

    def _finished(self):
        if self.returncode is None:
            return False
        # its own children may keep the pipes open: what they write after DRAIN_AFTER_EXIT is not waited for
        return not ({self._out, self._err} & self._open) or time.time() - self._exited_at > DRAIN_AFTER_EXIT

    def _pump(self, deadline, done):
        """Read the pipes until ``done()``; False when ``deadline`` (None: none) comes first."""
        while not done():
            now = time.time()
            limits = [] if deadline is None else [deadline - now]
            if self.returncode is not None:
                limits.append(self._exited_at + DRAIN_AFTER_EXIT - now)
            wait = min(limits) if limits else None
            if wait is not None and wait <= 0:
                return done()  # the drain's end makes done() true; the deadline's does not
            if not self._open:  # the watcher is gone without a word: nothing more will come
                self._lost()
                continue
            self._read_ready(None if wait is None else max(1, int(wait * 1000)))
        return True

    def _read_ready(self, timeout_ms):
        """One read from each open pipe that is ready within ``timeout_ms`` (None: no limit); False if none was."""
        if not self._open:
            return False
        poller = select.poll()
        for fd in self._open:
            poller.register(fd, select.POLLIN)
        ready = poller.poll(timeout_ms)
        for fd, _ in ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                self._open.discard(fd)
                os.close(fd)
            elif len(self._data[fd]) < MAX_CHILD_OUTPUT:
                self._data[fd] += chunk
        self._read_status()
        return bool(ready)

    def _read_status(self):
        lines = bytes(self._data[self._status]).split(b"\n")
        complete = [line for line in lines[:-1] if line.strip()]
        if complete and self.pid is None:
            self.pid = int(complete[0])
        if len(complete) > 1 and self.returncode is None:
            self.returncode = int(complete[1])
            self._exited_at = time.time()
        if self._status not in self._open and self.returncode is None and self.pid is not None:
            self._lost()

    def _lost(self):
        # the watcher died before it could report (killed with its group, say): the runner's status is unknown
        if self.returncode is None:
            self.returncode = -signal.SIGKILL if self.killed else 255
            self._exited_at = time.time()

    def _close_all(self):
        for fd in list(self._open):
            os.close(fd)
        self._open.clear()


def serve_forks(sock):
    """The server's loop, in the forked copy: one watcher per request, until the probe closes its end."""
    try:
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):  # never hold the probe's stdin, stdout or stderr (the SSH channel) open
            os.dup2(null, fd)
        os.close(null)
        send_site_path(sock)
        signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the watchers
        while True:
            data, fds = receive_request(sock)
            if not data:
                break
            try:
                if len(fds) == PIPES and os.fork() == 0:
                    watch_runner(sock, data, fds)  # never returns
            except OSError:
                pass  # no process for it: closing its pipes tells the caller, who starts an interpreter
            finally:
                for fd in fds:
                    os.close(fd)
    finally:
        os._exit(0)


def send_site_path(sock):
    """Initialize ``site`` here, where the probe (started ``python3 -S``) did not, and send the probe
    the ``sys.path`` that gives: the server's first message (``ForkServer.site_path``).

    The host's ``site-packages`` and its ``.pth`` files (60 ms on the lent H200 host, where a
    ``.pth`` imports half of ``importlib``) are processed in this process, beside the probe
    compiling its modules, and every child program forked from here starts with them as a
    ``python3 -c`` child would.
    """
    if sys.flags.no_site:
        try:
            import site

            site.main()
        except Exception:  # noqa: S110 - a broken .pth: the path as far as site got, as python3 itself would go on
            pass
    data = json.dumps(sys.path).encode("utf-8")
    try:
        sock.send(data if len(data) <= MAX_REQUEST_BYTES else b"null")
    except OSError:
        pass  # the probe has gone or will start interpreters


def receive_request(sock):
    """One request: (its bytes, the file descriptors attached); empty bytes when the probe closed its end."""
    size = array.array("i").itemsize
    try:
        data, ancillary, _, _ = sock.recvmsg(MAX_REQUEST_BYTES, socket.CMSG_SPACE(PIPES * size))
    except OSError:
        return b"", []
    fds = array.array("i")
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[: len(payload) - len(payload) % size])
    return data, list(fds)


def watch_runner(sock, data, fds):
    """The watcher: fork the runner, name it on the status pipe, wait for it, report how it ended."""
    code = 1
    try:
        sock.close()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # waitpid needs the runner as a child of its own
        out, err, status = fds
        pid = os.fork()
        if pid == 0:
            os.close(status)
            run_forked_child(data, out, err)  # never returns
        os.close(out)
        os.close(err)
        os.write(status, ("%d\n" % pid).encode("ascii"))
        _, raw = os.waitpid(pid, 0)
        returncode = -os.WTERMSIG(raw) if os.WIFSIGNALED(raw) else os.WEXITSTATUS(raw)
        os.write(status, ("%d\n" % returncode).encode("ascii"))
        code = 0
    finally:
        os._exit(code)


def run_forked_child(data, out, err):
    """The runner: the child program as ``python3 -c`` would run it, in this already started interpreter."""
    status = 1
    try:
        os.dup2(out, 1)
        os.dup2(err, 2)
        os.close(out)
        os.close(err)
        request = json.loads(data.decode("utf-8"))
        os.environ.update(request["env"])
        if request["path"] is not None:
            sys.path[:] = request["path"]
        sys.argv[:] = ["-c", *request["args"]]
        status = run_as_main(child_code(request["child"]))
    except BaseException:  # the runner must never return into the server's loop
        print_traceback()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: S110 - a closed pipe: nothing left to say
                pass
        os._exit(status)


def run_as_main(code):
    """Execute ``code`` as ``__main__``; the exit status the interpreter would have returned."""
    try:
        exec(compile(code, "<string>", "exec"), {"__name__": "__main__"})  # noqa: S102 - the probe's own child program
    except SystemExit as exc:
        if exc.code is None:
            return 0
        if isinstance(exc.code, int):
            return exc.code & 0xFF
        sys.stderr.write("%s\n" % exc.code)
        return 1
    except BaseException:
        print_traceback()
        return 1
    return 0


def print_traceback():
    """What the interpreter prints for an uncaught exception (traceback is loaded only for it: 3 ms)."""
    import traceback

    traceback.print_exc()


def interpreter_path():
    """What ``sys.path`` a ``python3 -S -c`` child would start with, before its PYTHONPATH: the
    current directory and the interpreter's own library (no site-packages, no PYTHONPATH)."""
    bases = tuple(p for p in (getattr(sys, "base_prefix", sys.prefix), getattr(sys, "base_exec_prefix", "")) if p)
    extra = set(os.environ.get("PYTHONPATH", "").split(os.pathsep))
    return [""] + [p for p in sys.path if p and p.startswith(bases) and "-packages" not in p and p not in extra]


SERVER = ForkServer.start() if __name__ == "__main__" and globals().get("AUDITOR_BUILDER") is None else None
"""The probe's fork server, forked as soon as this module has run (``startup`` hands it to the probe's
context): the first thing the probe does, so that the server's site initialization runs beside the
compiling of everything else. None when imported as a package (the tests) and in the build mode."""
