"""Built-in checks ``tensorrt.arch``, ``tensorrt.cuda`` and ``tensorrt.cudnn``.

TensorRT against the GPU architecture, its CUDA build against the installed toolkits and
the driver, and cuDNN where NVIDIA requires it (before 8.6). ``tensorrt_build_major`` tells
the CUDA major of the installed TensorRT build (the planner asks it too).
"""

from __future__ import annotations

import re

from auditor import versions
from auditor.evaluate.check import Check, Run, first_source, sentence
from auditor.evaluate.checks.cuda_driver import cuda_driver_finding
from auditor.evaluate.switches import SWITCHES
from auditor.facts.model import Facts
from auditor.findings import Action, Finding, Severity
from auditor.knowledge import compat_tensorrt, tables
from auditor.knowledge import tensorrt as trt_kb
from auditor.knowledge.answers import GpuSpec, Mode

_DPKG_CUDA = re.compile(r"\+cuda(\d+)")

_PIP_CUDA = re.compile(r"^tensorrt[-_](?:lean[-_]|dispatch[-_])?cu(\d+)", re.IGNORECASE)


def tensorrt_build_major(facts: Facts) -> int | None:
    """The CUDA major of the installed TensorRT build, from its packages (``+cuda12.0``, ``tensorrt-cu12``)."""
    for package in facts.tensorrt.packages:
        for pattern, text in ((_DPKG_CUDA, package.version or ""), (_PIP_CUDA, package.name)):
            match = pattern.search(text)
            if match:
                return int(match.group(1))
    return None


def tensorrt_checks(run: Run) -> None:
    """tensorrt.arch, tensorrt.cuda and tensorrt.cudnn on one host (inconclusive where TensorRT could not be read)."""
    driver, gpus = run.driver_version, run.gpus
    trt = run.facts.tensorrt
    if not trt.version:
        if trt.error and any(run.wants(c) for c in ("tensorrt.arch", "tensorrt.cuda", "tensorrt.cudnn")):
            run.inconclusive("tensorrt.cuda", f"TensorRT could not be read: {trt.error}")
        return
    if not versions.is_version(trt.version):
        run.inconclusive("tensorrt.cuda", f"TensorRT reported an unreadable version {trt.version!r}")
        return
    release = trt_kb.trt_release(trt.version)
    if release is None:
        run.inconclusive("tensorrt.cuda", f"TensorRT {trt.version} is not in the knowledge base")
        return
    if gpus and run.wants("tensorrt.arch"):
        for gpu in gpus:
            answer = compat_tensorrt.tensorrt_on(trt.version, gpu=gpu)
            if answer.mode is Mode.INCOMPATIBLE:
                last = answer.details.get("tensorrt_last_for_gpu")
                first = answer.details.get("tensorrt_first_for_gpu")
                run.add(
                    Finding(
                        rule="tensorrt.arch",
                        severity=Severity.HIGH,
                        action=Action.ROLLBACK if last else Action.UPGRADE,
                        message=answer.reasons[0],
                        expected=f"TensorRT {last} or older" if last else f"TensorRT {first} or newer",
                        actual=trt.version,
                        source=first_source(answer),
                        remediation=sentence(answer.fix or ""),
                    )
                )
            elif answer.mode is Mode.UNKNOWN:
                run.inconclusive("tensorrt.arch", answer.reasons[0])
    if run.wants("tensorrt.cuda"):
        _tensorrt_cuda(run, trt.version, release, driver, gpus)
    if run.wants("tensorrt.cudnn"):
        _tensorrt_cudnn(run, trt.version, release)


def _tensorrt_cuda(run: Run, version: str, release: trt_kb.TrtRelease, driver: str, gpus: list[GpuSpec]) -> None:
    toolkits = [t.version for t in run.facts.cuda.toolkits if t.version and versions.is_version(t.version)]
    majors = release.cuda_majors
    build = tensorrt_build_major(run.facts)
    if toolkits and build is None:
        fitting = [versions.parse(t).release[0] for t in toolkits if versions.parse(t).release[0] in majors]
        if not fitting and not release.cuda_complete:
            run.inconclusive(
                "tensorrt.cuda",
                f"the sources name only TensorRT {release.release}'s CUDA {', '.join(release.cuda)} build; whether "
                f"it has one for the installed CUDA {', '.join(toolkits)} is not known ({tables.as_of_text()})",
                release.cite,
            )
            return
        if not fitting:
            run.add(
                Finding(
                    rule="tensorrt.cuda",
                    severity=Severity.HIGH,
                    action=Action.UPGRADE,
                    message=f"TensorRT {version} has builds for CUDA {', '.join(release.cuda)} only; installed: {', '.join(toolkits)}",
                    expected=f"a CUDA {' or '.join(str(m) for m in majors)}.x toolkit",
                    actual=", ".join(toolkits),
                    source=release.cite,
                    remediation=f"Install a CUDA {majors[0]}.x toolkit, or the TensorRT build for the installed CUDA.",
                )
            )
            return
        build = max(fitting)
    answer = compat_tensorrt.tensorrt_on(version, driver=driver, build_major=build)
    if answer.mode is Mode.MINOR_VERSION and answer.details.get("tensorrt_floor_met"):
        return  # within the driver floor TensorRT's prerequisites state for this build
    cuda_build = str(answer.details.get("tensorrt_cuda_build") or majors[0])
    cuda_build = cuda_build if "." in cuda_build else f"{cuda_build}.0"
    cuda_driver_finding(
        run, f"TensorRT {version} (its CUDA {cuda_build} build)", cuda_build, driver, answer, check="tensorrt.cuda"
    )


def _tensorrt_cudnn(run: Run, version: str, release: trt_kb.TrtRelease) -> None:
    if release.cudnn_status != "required" or not release.cudnn_version:
        return
    cudnn = run.facts.cudnn
    found = [i.version for i in cudnn.installs if i.version and versions.is_version(i.version)]
    if cudnn.version and versions.is_version(cudnn.version) and cudnn.version not in found:
        found.append(cudnn.version)
    need = release.cudnn_version
    major = versions.parse(need).release[0]
    if not found:
        if cudnn.error:
            run.inconclusive("tensorrt.cudnn", f"cuDNN could not be read: {cudnn.error}", release.cite)
            return
        run.add(
            _cudnn_finding(
                version,
                release,
                need,
                "not installed",
                f"TensorRT {version} needs cuDNN {need} (8.x), and none is installed",
            )
        )
        return
    fitting = [v for v in found if versions.parse(v).release[0] == major and versions.at_least(v, need)]
    if not fitting:
        actual = ", ".join(found)
        run.add(
            _cudnn_finding(
                version,
                release,
                need,
                actual,
                f"TensorRT {version} needs cuDNN {need} or a newer {major}.x; installed: {actual}",
            )
        )


def _cudnn_finding(version: str, release: trt_kb.TrtRelease, need: str, actual: str, message: str) -> Finding:
    major = versions.parse(need).release[0]
    return Finding(
        rule="tensorrt.cudnn",
        severity=Severity.HIGH,
        action=Action.UPGRADE,
        message=message,
        expected=f"cuDNN >= {need} ({major}.x)",
        actual=actual,
        source=release.cite,
        remediation=f"Install cuDNN {need} or a newer {major}.x release alongside TensorRT {version}.",
    )


CHECK = Check(
    id="tensorrt",
    reads=("driver", "gpus", "cuda", "cudnn", "tensorrt"),
    judge=tensorrt_checks,
    switches=SWITCHES["tensorrt"],
)
