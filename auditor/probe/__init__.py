"""The bundled probe and how the controller invokes it.

The probe (``probe.py`` beside this file) is shipped as bytes on the SSH channel's
stdin and run by the host's own ``python3 -c BOOTSTRAP`` (which reads it whole); the request travels as one base64
argument, so nothing is written on the host and no shell quoting is involved
(base64 needs none).

Reference engines travel inside the program itself (``probe_program``): one first line
``AUDITOR_PAYLOAD = "<base64>"`` before the probe's source, so a host still sees one
exec and no file transfer. The reference-engine build is the same probe with the
builder (``builder.py``) prepended likewise (``builder_program``).
"""

from __future__ import annotations

import base64
import functools
import json
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

PROBE_FILE = "probe.py"
BUILDER_FILE = "builder.py"
MAX_PAYLOAD_BYTES = 16 * 1024 * 1024
"""The most plan bytes one probe program may carry (base64 makes it a third more on the wire)."""


class PayloadTooLarge(ValueError):
    """A payload over ``MAX_PAYLOAD_BYTES``: the message says how large and what to do."""


@dataclass(frozen=True)
class ProbeCall:
    """One host's probe invocation: the ``--request=`` value and the program for its stdin.

    ``program`` None means the bundled probe as it is (``probe_source()``).
    """

    request: str
    program: bytes | None = None

    @property
    def source(self) -> bytes:
        """The bytes to send on stdin."""
        return self.program if self.program is not None else probe_source()


@functools.cache
def probe_source() -> bytes:
    """The probe script, read once per process."""
    return resources.files(__package__).joinpath(PROBE_FILE).read_bytes()


@functools.cache
def builder_source() -> bytes:
    """The reference-engine builder that the probe's build mode runs in a child."""
    return resources.files(__package__).joinpath(BUILDER_FILE).read_bytes()


def probe_program(payload: bytes | None) -> bytes:
    """The probe with ``payload`` (reference plans) in a first line ``AUDITOR_PAYLOAD = "<base64>"``.

    None gives the probe unchanged. Raises ``PayloadTooLarge`` above ``MAX_PAYLOAD_BYTES``.
    """
    if payload is None:
        return probe_source()
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise PayloadTooLarge(
            f"{len(payload) / 2**20:.1f} MiB of reference plans is more than the {MAX_PAYLOAD_BYTES // 2**20} MiB "
            "a probe carries; fewer or smaller plans (version-compatible plans embed the lean runtime)"
        )
    return _prepend("AUDITOR_PAYLOAD", payload)


def builder_program() -> bytes:
    """The probe in build mode: ``AUDITOR_BUILDER = "<base64 of builder.py>"`` before its source."""
    return _prepend("AUDITOR_BUILDER", builder_source())


def _prepend(name: str, data: bytes) -> bytes:
    # base64 has no quote or backslash: the literal needs no escaping
    return f'{name} = "'.encode() + base64.b64encode(data) + b'"\n' + probe_source()


def encode_request(
    budgets: Mapping[str, float] | None = None,
    engines: Sequence[str] = (),
    reference: Sequence[Mapping[str, Any]] | None = None,
    build: Mapping[str, Any] | None = None,
    cuda_api: str | None = None,
) -> str:
    """The controller's request to the probe, as the ``--request=`` argument's value.

    ``reference`` lists reference engines and their candidates (``auditor.reference``);
    ``build`` asks the build mode for a reference engine; ``cuda_api`` (driver, runtime)
    forces the CUDA library a reference run allocates with.
    """
    request: dict[str, Any] = {"engines": list(engines)}
    if budgets:
        request["budgets"] = dict(budgets)
    if reference is not None:
        request["reference"] = [dict(item) for item in reference]
    if build is not None:
        request["build"] = dict(build)
    if cuda_api is not None:
        request["cuda_api"] = cuda_api
    return base64.b64encode(json.dumps(request, sort_keys=True).encode()).decode("ascii")


BOOTSTRAP = 'import sys;exec(compile(sys.stdin.buffer.read(),"<auditor-probe>","exec"))'
"""What ``python3 -c`` runs: the program from stdin, read in one go.

``python3 -`` reads a program on stdin a character at a time (about 3 MB/s here): 40 ms
of every probe run, and seconds once reference plans travel in the program. No quote
or shell character needs escaping inside single quotes.
"""


def interpreter_args(request: str, root: str | None = None) -> list[str]:
    """Arguments after the interpreter: ``-c BOOTSTRAP --request=... [--root DIR]``."""
    return ["-c", BOOTSTRAP, *probe_args(request, root)]


def probe_args(request: str, root: str | None = None) -> list[str]:
    """The probe's own arguments."""
    args = [f"--request={request}"]
    if root is not None:
        args += ["--root", root]
    return args


def remote_command(request: str) -> str:
    """The command line sent over SSH: the host's python3 reading the probe from stdin.

    RHEL 8 keeps its system Python as ``/usr/libexec/platform-python``; exit 127 with
    a plain message when neither exists, so the report can say "no python3 on host".
    """
    args = f"-c '{BOOTSTRAP}' " + " ".join(probe_args(request))
    return (
        f"if command -v python3 >/dev/null 2>&1; then exec python3 {args}; "
        f"elif [ -x /usr/libexec/platform-python ]; then exec /usr/libexec/platform-python {args}; "
        "else echo 'auditor: no python3 on this host' >&2; exit 127; fi"
    )


def run_local(
    root: str | None = None,
    request: str | None = None,
    python: str | None = None,
    timeout: float = 120.0,
    program: bytes | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run the probe on this machine exactly as a host would: ``python3 -c BOOTSTRAP`` with it on stdin.

    ``program`` replaces the bundled probe (``probe_program``, ``builder_program``).
    """
    argv = [python or sys.executable, *interpreter_args(request or encode_request(), root)]
    source = program if program is not None else probe_source()
    return subprocess.run(argv, input=source, capture_output=True, timeout=timeout, check=False)
