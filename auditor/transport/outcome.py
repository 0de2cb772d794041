"""What happened when the controller tried to probe one host, before interpretation.

The runner (an edge, over asyncssh) fills these in; the core (``assess``) turns them
into verdicts. Keeping them here lets the core stay free of SSH.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class HostState(enum.Enum):
    """Where a host is in a sweep."""

    QUEUED = "queued"
    """Waiting for a free connection slot."""
    CONNECTING = "connecting"
    """TCP, key exchange, host-key check and authentication."""
    PROBING = "probing"
    """The probe is running on the host."""
    DONE = "done"
    """The probe's output arrived (it may still be unusable)."""
    FAILED = "failed"
    """The host could not be probed (see its ``HostError``)."""


class Step(enum.Enum):
    """The step at which a host could not be audited; named in every report."""

    CONNECT = "connect"
    """TCP connection or SSH handshake (refused, unreachable, reset, timed out)."""
    HOST_KEY = "host-key"
    """The server's host key is unknown, changed or revoked."""
    AUTH = "auth"
    """No offered credential was accepted."""
    PROBE = "probe"
    """The probe could not run, overran its timeout, or its output was unusable."""
    PARSE = "parse"
    """The probe ran, but its output is not valid ``auditor.facts/1``."""
    EVALUATE = "evaluate"
    """The facts were read, but judging them failed: an internal error (traceback in the crash log)."""
    CONSISTENCY = "consistency"
    """The fleet-level checks (group consistency) failed on this host: an internal error."""
    HISTORY = "history"
    """The host's result could not be stored in the history as it was: an internal error."""
    REPORT = "report"
    """One report format could not render this host: an internal error (the message names the format)."""
    PLAN = "plan"
    """Planning this host's upgrade failed: an internal error."""
    DISPLAY = "display"
    """The interactive audit could not show this host's result: an internal error."""

    @property
    def transport(self) -> bool:
        """True for the steps before the probe ran (connect, host key, auth): the host was unreachable."""
        return self in (Step.CONNECT, Step.HOST_KEY, Step.AUTH)

    @property
    def internal(self) -> bool:
        """True for the steps after the probe returned, where a failure is auditor's own (``isolation``)."""
        return self not in (Step.CONNECT, Step.HOST_KEY, Step.AUTH, Step.PROBE, Step.PARSE)


@dataclass(frozen=True)
class HostError:
    """Why a host has no usable facts. ``timed_out`` marks a timeout at ``step``.

    ``host_key`` is the key the server offered (``ssh-ed25519 SHA256:...``) when it
    was refused as unknown or changed, so a person can verify it out of band.
    """

    step: Step
    message: str
    timed_out: bool = False
    host_key: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "step": self.step.value,
            "message": self.message,
            "timed_out": self.timed_out,
            "host_key": self.host_key,
        }


@dataclass(frozen=True)
class Timing:
    """Seconds spent connecting (through auth) and running the probe."""

    connect_s: float | None = None
    probe_s: float | None = None


@dataclass(frozen=True)
class ProbeOutcome:
    """The raw result of one host's probe run: bytes as received, capped by the runner."""

    stdout: bytes = b""
    stderr: bytes = b""
    exit_status: int | None = None
    error: HostError | None = None
    timing: Timing = field(default_factory=Timing)
    exit_signal: str | None = None
    """The signal that killed the probe (``KILL``, as SSH names it), when one did (``exit_status`` is then -1)."""
