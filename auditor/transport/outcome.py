"""What happened when the controller tried to probe one host, before interpretation.

The runner (an edge, over asyncssh) fills these in; the core (``assess``) turns them
into verdicts. Keeping them here lets the core stay free of SSH.
"""

from __future__ import annotations

import enum
from dataclasses import field

from auditor.records import record


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


class AuditStep(enum.Enum):
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
        return self in (AuditStep.CONNECT, AuditStep.HOST_KEY, AuditStep.AUTH)

    @property
    def internal(self) -> bool:
        """True for the steps after the probe returned, where a failure is auditor's own (``isolation``)."""
        return self not in (AuditStep.CONNECT, AuditStep.HOST_KEY, AuditStep.AUTH, AuditStep.PROBE, AuditStep.PARSE)


class HostKeyProblem(enum.Enum):
    """Why a server's host key was refused (OpenSSH-strict: never a prompt during a sweep)."""

    UNKNOWN = "unknown"
    """known_hosts holds no key for the host: verify the key and add it (or trust it on first use)."""
    CHANGED = "changed"
    """known_hosts holds another key for the host: someone may be intercepting, a loud security error."""
    REVOKED = "revoked"
    """known_hosts marks the key ``@revoked``."""
    UNTRUSTED_CA = "untrusted-ca"
    """A host certificate signed by a CA that known_hosts does not trust (``@cert-authority``)."""
    KEY_TYPE = "key-type"
    """The server offers no host key of a type known_hosts holds for it (key exchange failed)."""
    NOT_TRUSTED = "not-trusted"
    """The key was refused for another reason asyncssh gave."""


@record
class HostError:
    """Why a host has no usable facts. ``timed_out`` marks a timeout at ``step``.

    ``host_key`` is the key the server offered (``ssh-ed25519 SHA256:...``) when it
    was refused as unknown or changed, so a person can verify it out of band;
    ``host_key_problem`` says why a key was refused (step ``host-key`` only). The
    report's JSON keeps the message, which says the same in words.
    """

    step: AuditStep
    message: str
    timed_out: bool = False
    host_key: str | None = None
    host_key_problem: HostKeyProblem | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "step": self.step.value,
            "message": self.message,
            "timed_out": self.timed_out,
            "host_key": self.host_key,
        }


@record
class Timing:
    """Seconds spent connecting (through auth) and running the probe."""

    connect_s: float | None = None
    probe_s: float | None = None


@record
class ProbeOutcome:
    """The raw result of one host's probe run: bytes as received, capped by the runner."""

    stdout: bytes = b""
    stderr: bytes = b""
    exit_status: int | None = None
    error: HostError | None = None
    timing: Timing = field(default_factory=Timing)
    exit_signal: str | None = None
    """The signal that killed the probe (``KILL``, as SSH names it), when one did (``exit_status`` is then -1)."""
