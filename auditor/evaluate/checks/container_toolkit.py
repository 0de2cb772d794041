"""The built-in check ``containers.toolkit``: containers that ask for GPUs have a working NVIDIA Container Toolkit.

A container asks for GPUs with a GPU device request (``docker run --gpus``) or the ``nvidia``
runtime (``--runtime=nvidia``). On a host without the toolkit the engine cannot start it
(recorded on a real docker 20.10 engine: ``could not select device driver "" with capabilities:
[[gpu]]``, and ``exec: "nvidia-container-runtime": executable file not found in $PATH``; both
leave the container ``created``: docs/research/workflows.md, section C). What this check tells
apart, each with NVIDIA's command (knowledge: runtime_states):

* no toolkit at all: upgrade (install it, configure the engine);
* ``--runtime=nvidia`` containers on a docker that has no ``nvidia`` runtime: investigate
  (``nvidia-ctk runtime configure --runtime=docker``); registered in daemon.json but not
  loaded by the running daemon: investigate (restart docker);
* the nvidia runtime names a program the host lacks: upgrade.

Containers that ask for no GPU are not judged; a host whose toolkit facts are missing (an
older probe, a collector error) or whose containers could not be inspected is inconclusive.
"""

from __future__ import annotations

from auditor.evaluate.check import Check, Run
from auditor.evaluate.switches import SWITCHES
from auditor.facts.model import ContainerToolkitFacts, RunningContainer
from auditor.findings import Action, Finding, Severity
from auditor.knowledge import tables
from auditor.text import count

CHECK_ID = "containers.toolkit"


def _row(state: str) -> dict[str, str]:
    table = tables.table("runtime_states")
    return next(dict(r) for r in table.rows if r["state"] == state)


def _cite(state: str) -> str:
    table = tables.table("runtime_states")
    return table.cite(next((r for r in table.rows if r["state"] == state), None))


def _names(containers: list[RunningContainer]) -> str:
    shown = ", ".join(repr(c.name) for c in containers[:5])
    return shown + (f" and {len(containers) - 5} more" if len(containers) > 5 else "")


def toolkit(run: Run) -> None:
    """GPU containers against the toolkit and the engine's runtime configuration."""
    facts = run.facts
    containers = facts.containers
    if containers.error or not containers.containers:
        return
    gpu = [c for c in containers.containers if c.wants_gpus]
    unknown = [c for c in containers.containers if not c.inspected]
    if not gpu and not unknown:
        return
    if not run.wants(CHECK_ID):
        return
    kit = facts.container_toolkit
    if not gpu:  # nothing known to ask for GPUs, but some containers could not be inspected
        why = containers.inspect_error or "the probe reported no container details (an older probe)"
        run.inconclusive(CHECK_ID, f"whether containers ask for GPUs is not known: {why}")
        return
    if not kit.collected or kit.error:
        why = kit.error or "the probe did not report the container toolkit (an older probe)"
        run.inconclusive(
            CHECK_ID, f"{count(len(gpu), 'container')} ask for GPUs; the toolkit could not be judged: {why}"
        )
        return
    for finding in judge(kit, containers.runtime or "docker", gpu):
        run.add(finding)


def judge(kit: ContainerToolkitFacts, engine: str, gpu: list[RunningContainer]) -> list[Finding]:
    """What the toolkit facts say about ``gpu`` (containers that ask for GPUs) on ``engine``."""
    what = f"{count(len(gpu), 'container')} ask{'s' if len(gpu) == 1 else ''} for GPUs ({_names(gpu)})"
    not_up = [c for c in gpu if c.state and c.state not in ("running", "restarting", "paused")]
    stuck = f"; {_names(not_up)} not running ({not_up[0].state})" if not_up else ""
    if not kit.installed:
        row = _row("toolkit-missing")
        return [
            Finding(
                rule=CHECK_ID,
                severity=Severity.HIGH,
                action=Action.UPGRADE,
                message=f"{what}, but the NVIDIA Container Toolkit is not installed{stuck}",
                expected="the NVIDIA Container Toolkit (nvidia-ctk, nvidia-container-runtime)",
                actual="none of its programs on the host",
                source=_cite("toolkit-missing"),
                remediation=_command(row["command"], engine),
            )
        ]
    findings = []
    docker = kit.docker
    by_runtime = [c for c in gpu if c.runtime == "nvidia"]
    if engine == "docker" and by_runtime and docker is not None:
        if docker.nvidia is False:
            state = "docker-not-restarted" if "nvidia" in docker.runtimes else "docker-unconfigured"
            row = _row(state)
            configured = (
                "daemon.json registers it, the running daemon does not"
                if state == "docker-not-restarted"
                else ("neither daemon.json nor the running daemon registers it")
            )
            findings.append(
                Finding(
                    rule=CHECK_ID,
                    severity=Severity.HIGH,
                    action=Action.INVESTIGATE,
                    message=f"{_names(by_runtime)} run{'s' if len(by_runtime) == 1 else ''} on the nvidia runtime, "
                    f"which docker does not have ({configured}){stuck}",
                    expected="docker with the nvidia runtime",
                    actual="docker runtimes: " + ", ".join(docker.daemon_runtimes or docker.runtimes or ("none",)),
                    source=_cite(state),
                    remediation=_command(row["command"], engine),
                )
            )
        elif docker.nvidia is None:
            why = docker.daemon_error or docker.error or "no daemon.json and no answer from the daemon"
            findings.append(
                Finding(
                    rule=CHECK_ID,
                    severity=Severity.MEDIUM,
                    action=Action.INVESTIGATE,
                    message=f"could not evaluate: whether docker has the nvidia runtime {_names(by_runtime)} use is unknown: {why}",
                    source=_cite("docker-unconfigured"),
                    inconclusive=True,
                )
            )
    program = docker.nvidia_path if docker is not None else None
    name = program.rsplit("/", 1)[-1] if program else ""
    if name in dict(kit.programs) and not kit.program(name) and engine == "docker" and by_runtime:
        findings.append(
            Finding(
                rule=CHECK_ID,
                severity=Severity.HIGH,
                action=Action.UPGRADE,
                message=f"docker's nvidia runtime runs {program}, which is not on the host{stuck}",
                expected=program,
                actual="missing",
                source=_cite("runtime-program-missing"),
                remediation=_command(_row("runtime-program-missing")["command"], engine),
            )
        )
    return findings


def _command(command: str, engine: str) -> str:
    """NVIDIA's command as remediation; the table words it for docker, and podman configures no runtime."""
    if engine != "docker":
        return f"Install the NVIDIA Container Toolkit and set {engine} up as NVIDIA's install guide says."
    return f"Run: {command}." if not command.startswith("install") else f"{command[0].upper()}{command[1:]}."


CHECK = Check(
    id=CHECK_ID,
    reads=("containers", "container_toolkit"),
    judge=toolkit,
    switches=SWITCHES["container_toolkit"],
    needs_driver=False,
)
