"""The simulated fleet served over real SSH on 127.0.0.x, in this process.

Each simulated host gets its own asyncssh listener with its own ed25519 host key,
pinned in a generated known_hosts; the client authenticates with a throw-away
key generated at start. An exec request runs the **real probe**: the bytes the
client sent on stdin (or, for ``python3 /opt/auditor/probe.py``, the probe the host
"has installed") are fed to a Python interpreter (matching the host's
``python`` version when one is installed here) with ``--root`` pointing at the
host's fixture root (paths under it are reported as the host's own: ``/usr/lib/...``,
whatever temporary directory this run used). Faults act where they would on a real host: refused
connections, rejected keys, a changed host key, a probe that hangs, is slow, or
prints garbage or a flood, a connection that drops mid-output, a probe killed by a
signal, a host key of a type known_hosts does not pin, a host without python3; a host with ``probe_output``
prints that document instead of running the probe (a host that lies).
"""

from __future__ import annotations

import asyncio
import glob
import os
import re
import shutil
import socket
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncssh

from auditor.inventory import Host
from auditor.probe.program import interpreter_args, probe_source
from auditor.simulate.fleet import Fleet, SimHost
from auditor.simulate.roots import build_root
from auditor.transport.hostkeys import HostKeyTrust
from auditor.transport.options import SshOptions

ADDRESSES = 16  # one listen address queues only 128 connections: spread hosts over 127.0.0.2-17
INSTALLED_PROBE = "/opt/auditor/probe.py"  # where a simulated host keeps a copy of the probe (for bench/)
HANG_SECONDS = 3600.0
SLOW_SECONDS = 2.5
FLOOD_BYTES = 3 * 1024 * 1024
_REQUEST = re.compile(r"--request=([A-Za-z0-9+/=]+)")


@dataclass
class _Served:
    sim: SimHost
    host: Host
    root: Path
    server: Any = None


class SimulatedFleet:
    """Serve a fleet; use as ``async with SimulatedFleet(fleet) as sim: sim.hosts, sim.options()``."""

    def __init__(
        self, fleet: Fleet, workdir: str | os.PathLike[str] | None = None, replay_probes: float | None = None
    ) -> None:
        """``replay_probes`` (seconds): a host answers a probe request it answered before with what its
        probe printed then (stdin still read whole), that many seconds after the request, instead of
        running the probe again. Benchmarks then measure the client, not 100-odd ms of simulated
        host per probe on the same CPUs; the delay stands for the probe's time on a real host."""
        self.fleet = fleet
        self._replay_after = replay_probes
        self._answers: dict[tuple[str, str], asyncio.Future[tuple[bytes, bytes, int]]] = {}
        self._own_workdir = workdir is None
        self.workdir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="auditor-sim-"))
        self._served: list[_Served] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self.client_key = asyncssh.generate_private_key("ssh-ed25519")
        self.known_hosts_path = self.workdir / "known_hosts"
        self._known_hosts_text = ""

    @property
    def hosts(self) -> tuple[Host, ...]:
        """The simulated hosts as inventory hosts (addresses and ports of their listeners)."""
        return tuple(s.host for s in self._served)

    def options(self, **overrides: Any) -> SshOptions:
        """Connection settings for this fleet: its known_hosts and key, nothing of the user's."""
        settings: dict[str, Any] = {
            "host_keys": HostKeyTrust.from_text(self._known_hosts_text, str(self.known_hosts_path)),
            "client_keys": [self.client_key],
            "agent_path": None,
            "config": (),
            "username": "auditor",
        }
        settings.update(overrides)
        return SshOptions(**settings)

    async def __aenter__(self) -> SimulatedFleet:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Build fixture roots, generate keys, and start one listener per host."""
        authorized = asyncssh.import_authorized_keys(self.client_key.export_public_key().decode())
        nobody = asyncssh.import_authorized_keys("")
        known_lines = []
        for index, sim in enumerate(self.fleet.hosts):
            address = f"127.0.0.{2 + index % ADDRESSES}"
            root = build_root(sim, self.workdir / "roots")
            host_key = asyncssh.generate_private_key("ssh-ed25519")
            served = _Served(sim=sim, host=Host(sim.name, address), root=root)
            if sim.fault == "unreachable":
                port = _closed_port(address)
            else:
                presented = host_key
                if sim.fault == "host-key-changed":
                    presented = asyncssh.generate_private_key("ssh-ed25519")
                elif sim.fault == "host-key-type":  # known_hosts keeps the Ed25519 key: no type in common
                    presented = asyncssh.generate_private_key("ecdsa-sha2-nistp256")
                served.server = await asyncssh.create_server(
                    asyncssh.SSHServer,
                    address,
                    0,
                    server_host_keys=[presented],
                    authorized_client_keys=nobody if sim.fault == "auth-denied" else authorized,
                    process_factory=lambda process, s=served: self._spawn(s, process),
                    encoding=None,
                    allow_scp=False,
                    line_editor=False,  # Ansible asks for a pty (ssh -tt): pass bytes through untouched
                    agent_forwarding=False,
                    x11_forwarding=False,
                )
                port = served.server.sockets[0].getsockname()[1]
            served.host = Host(
                name=sim.name,
                address=address,
                port=port,
                user="auditor",
                groups=tuple(sorted(set(sim.groups))),
                vars={"simulated": True, **sim.vars},
            )
            known_lines.append(f"[{address}]:{port} {host_key.export_public_key().decode().strip()}")
            self._served.append(served)
        self._known_hosts_text = "\n".join(known_lines) + "\n"
        self.known_hosts_path.write_text(self._known_hosts_text)

    async def close(self) -> None:
        """Stop listeners, cancel running probes, remove generated files."""
        for served in self._served:
            if served.server is not None:
                served.server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for served in self._served:
            if served.server is not None:
                await served.server.wait_closed()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _spawn(self, served: _Served, process: asyncssh.SSHServerProcess[bytes]) -> None:
        task = asyncio.ensure_future(self._serve(served, process))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, served: _Served, process: asyncssh.SSHServerProcess[bytes]) -> None:
        fault = served.sim.fault
        try:
            match = _REQUEST.search(process.command or "")
            if match is None:
                process.stderr.write(b"simulated host: only the auditor probe runs here\n")
                process.exit(126)
                return
            if fault == "no-python":
                process.stderr.write(b"auditor: no python3 on this host\n")
                process.exit(127)
                return
            if INSTALLED_PROBE in (process.command or ""):
                script = probe_source()  # `python3 /opt/auditor/probe.py`: Ansible's raw module runs it so
            else:
                script = await process.stdin.read()
            if fault == "hang":
                await asyncio.sleep(HANG_SECONDS)
            if fault == "slow":
                await asyncio.sleep(SLOW_SECONDS)
            if fault == "garbage":
                process.stdout.write(b"\x1b[31mSegmentation fault\x00\xff{not json at all\n")
                process.exit(0)
                return
            if served.sim.probe_output is not None:
                process.stdout.write(served.sim.probe_output)
                process.exit(0)
                return
            if fault == "drop":
                process.stdout.write(b'{"schema": "auditor.facts/1", "probe_version": "0')
                await process.stdout.drain()
                process.get_extra_info("connection").abort()  # no EOF, no exit status: the link is gone
                return
            if fault == "killed":
                process.stderr.write(b"Killed\n")
                process.exit_with_signal("KILL")
                return
            if fault == "flood":
                chunk = b'{"flood": "' + b"A" * 65536 + b'"}\n'
                for _ in range(FLOOD_BYTES // len(chunk) + 1):
                    process.stdout.write(chunk)
                    await process.stdout.drain()
                process.exit(0)
                return
            out, err, status = await self._answer(served, match.group(1), script)
            process.stdout.write(out)
            process.stderr.write(err)
            process.exit(status)
        except (asyncssh.Error, BrokenPipeError, ConnectionError):
            pass  # the client went away (timeout, output cap): nothing to report to
        finally:
            if not process.is_closing():
                process.close()

    async def _answer(self, served: _Served, request: str, script: bytes) -> tuple[bytes, bytes, int]:
        """What the probe prints on this host for ``request``: stdout, stderr, exit status.

        With ``replay_probes`` the first answer of a host to a request is kept and given again.
        """
        if self._replay_after is None:
            return await _run_probe(served, request, script)
        key = (served.sim.name, request)
        answer = self._answers.get(key)
        if answer is None or (answer.done() and (answer.cancelled() or answer.exception() is not None)):
            answer = self._answers[key] = asyncio.ensure_future(_run_probe(served, request, script))
            self._tasks.add(answer)  # cancelled by close() like the sessions
            answer.add_done_callback(self._tasks.discard)
        else:
            await asyncio.sleep(self._replay_after)
        return await asyncio.shield(answer)


async def _run_probe(served: _Served, request: str, script: bytes) -> tuple[bytes, bytes, int]:
    """Run the probe ``script`` against the host's fixture root; its output as the host would print it."""
    child = await asyncio.create_subprocess_exec(
        interpreter_for(served.sim.python),
        *interpreter_args(request, str(served.root)),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={"PATH": "/usr/bin:/bin", "LC_ALL": "C"},
    )
    try:
        out, err = await child.communicate(script)
    except asyncio.CancelledError:
        child.kill()
        await child.wait()
        raise
    return _as_seen_on_host(out, served.root), _as_seen_on_host(err, served.root), child.returncode or 0


def _as_seen_on_host(output: bytes, root: Path) -> bytes:
    """The probe's output with the fixture root's random temporary path turned into ``/``.

    The probe runs with ``--root`` under this process's temporary directory, and error
    texts it passes on (a library's ``dlopen`` message, say) name real paths under it.
    A real host would print ``/usr/lib/...``; so does a simulated one, and two runs of
    the same fleet then report the same findings word for word (``auditor diff``: no change).
    """
    prefix = str(root).encode()
    return output.replace(prefix + b"/", b"/").replace(b'"' + prefix + b'"', b'"/"')


def interpreter_for(version: str) -> str:
    """A Python matching ``version``'s major.minor installed here, else this one.

    Looks at pyenv's real binaries before PATH (a pyenv shim costs ~80 ms per run).
    """
    parts = version.split(".")
    if len(parts) >= 2:
        minor = f"{parts[0]}.{parts[1]}"
        if f"{sys.version_info.major}.{sys.version_info.minor}" == minor:
            return sys.executable
        return _find_python(minor) or sys.executable
    return sys.executable


_PYTHONS: dict[str, str | None] = {}


def _find_python(minor: str) -> str | None:
    if minor not in _PYTHONS:
        root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
        candidates = sorted(glob.glob(os.path.join(root, "versions", f"{minor}.*", "bin", f"python{minor}")))
        found = candidates[-1] if candidates else None
        if found is None:
            which = shutil.which(f"python{minor}")
            found = which if which and ".pyenv/shims" not in which else None
        _PYTHONS[minor] = found
    return _PYTHONS[minor]


def _closed_port(address: str) -> int:
    """A port on ``address`` with nothing listening (connections are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((address, 0))
        return int(sock.getsockname()[1])
