"""The bundled probe and how the controller invokes it.

The probe (``probe.py`` beside this file) is shipped as bytes on the SSH channel's
stdin and run by the host's own ``python3 -``; the request travels as one base64
argument, so nothing is written on the host and no shell quoting is involved
(base64 needs none).
"""

from __future__ import annotations

import base64
import functools
import json
import subprocess
import sys
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

PROBE_FILE = "probe.py"


@functools.cache
def probe_source() -> bytes:
    """The probe script, read once per process."""
    return resources.files(__package__).joinpath(PROBE_FILE).read_bytes()


def encode_request(budgets: Mapping[str, float] | None = None, engines: Sequence[str] = ()) -> str:
    """The controller's request to the probe, as the ``--request=`` argument's value."""
    request: dict[str, Any] = {"engines": list(engines)}
    if budgets:
        request["budgets"] = dict(budgets)
    return base64.b64encode(json.dumps(request, sort_keys=True).encode()).decode("ascii")


def probe_args(request: str, root: str | None = None) -> list[str]:
    """Arguments after ``python3 -``."""
    args = [f"--request={request}"]
    if root is not None:
        args += ["--root", root]
    return args


def remote_command(request: str) -> str:
    """The command line sent over SSH: the host's python3 reading the probe from stdin.

    RHEL 8 keeps its system Python as ``/usr/libexec/platform-python``; exit 127 with
    a plain message when neither exists, so the report can say "no python3 on host".
    """
    args = " ".join(probe_args(request))
    return (
        f"if command -v python3 >/dev/null 2>&1; then exec python3 - {args}; "
        f"elif [ -x /usr/libexec/platform-python ]; then exec /usr/libexec/platform-python - {args}; "
        "else echo 'auditor: no python3 on this host' >&2; exit 127; fi"
    )


def run_local(
    root: str | None = None,
    request: str | None = None,
    python: str | None = None,
    timeout: float = 120.0,
) -> subprocess.CompletedProcess[bytes]:
    """Run the probe on this machine exactly as a host would: ``python3 -`` with it on stdin."""
    argv = [python or sys.executable, "-", *probe_args(request or encode_request(), root)]
    return subprocess.run(argv, input=probe_source(), capture_output=True, timeout=timeout, check=False)
