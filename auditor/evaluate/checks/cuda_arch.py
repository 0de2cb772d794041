"""Built-in check ``cuda.arch``: every installed CUDA toolkit builds for the host's GPU architectures."""

from __future__ import annotations

from auditor import versions
from auditor.evaluate.check import Check, Run, first_source, sentence
from auditor.evaluate.switches import SWITCHES
from auditor.findings import Action, Finding, Severity
from auditor.knowledge import compat
from auditor.knowledge.answers import Mode


def cuda_arch(run: Run) -> None:
    """Each installed toolkit against each GPU model: too new for an old GPU (rollback), too old for a new one."""
    gpus = run.gpus
    toolkits = [t for t in run.facts.cuda.toolkits if t.version and versions.is_version(t.version)]
    if not toolkits or not gpus or not run.wants("cuda.arch"):
        return
    for gpu in gpus:
        for toolkit in toolkits:
            assert toolkit.version is not None
            answer = compat.cuda_on_gpu(toolkit.version, gpu)
            if answer.mode is Mode.UNKNOWN:
                run.inconclusive("cuda.arch", answer.reasons[0])
                break
            if answer.mode is not Mode.INCOMPATIBLE:
                continue
            too_new = "last_cuda_major" in answer.details
            run.add(
                Finding(
                    rule="cuda.arch",
                    severity=Severity.HIGH,
                    action=Action.ROLLBACK if too_new else Action.UPGRADE,
                    message=f"CUDA {toolkit.version} at {toolkit.path} cannot build for {gpu.label}: {answer.reasons[0]}",
                    expected=f"CUDA {answer.details['last_cuda_major']}.x"
                    if too_new
                    else f"CUDA >= {answer.details.get('first_cuda')}",
                    actual=toolkit.version,
                    source=first_source(answer),
                    remediation=sentence(answer.fix or ""),
                )
            )


CHECK = Check(
    id="cuda.arch",
    reads=("gpus", "cuda"),
    judge=cuda_arch,
    switches=SWITCHES["cuda_arch"],
)
