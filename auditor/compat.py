"""Can software built with a CUDA toolkit or TensorRT release run on a driver and a GPU?

Answers come from the knowledge base alone (``auditor.knowledge``) and say how:

* ``native``: the driver is at or above the release's own minimum;
* ``minor-version``: below it, but within the CUDA family's minor-version
  compatibility range, with its caveats (limited features, no PTX JIT);
* ``forward-compat``: only through a ``cuda-compat`` package, on data-center GPUs;
* ``incompatible``; or ``unknown`` when the knowledge base cannot tell (a version it
  does not have, a row only third parties describe). Unknown is never compatible.

Every ``Answer`` lists its reasons and the sources (``knowledge:<table> (<url>)``)
they rest on. Where the tables record a conflict between sources, the conservative
choice is already in the data and the reason says so. The built-in checks of
``auditor.evaluate`` and ``auditor compat`` both ask these functions.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from auditor import knowledge, versions
from auditor.knowledge import cuda as cuda_kb
from auditor.knowledge import gpus as gpus_kb
from auditor.knowledge import tensorrt as trt_kb


class Mode(enum.Enum):
    """How (or whether) software runs; ordered from best to worst by ``rank``."""

    NATIVE = "native"
    """The driver meets the release's own minimum: the full feature set."""
    MINOR_VERSION = "minor-version"
    """Below the release's minimum but within its family's minor-version compatibility range."""
    FORWARD_COMPAT = "forward-compat"
    """Only with a cuda-compat package, and only on a data-center GPU."""
    INCOMPATIBLE = "incompatible"
    """It will not run."""
    UNKNOWN = "unknown"
    """The knowledge base cannot tell; never counted as compatible."""
    LOOKUP = "lookup"
    """One version alone: the answer is what it needs and what it can run."""

    @property
    def compatible(self) -> bool:
        """True for native and minor-version compatibility (and a lookup of a known version)."""
        return self in (Mode.NATIVE, Mode.MINOR_VERSION, Mode.LOOKUP)

    @property
    def rank(self) -> int:
        """0 for the best mode; ``combine`` keeps the highest."""
        return _RANK[self]


_RANK = {
    Mode.LOOKUP: 0,
    Mode.NATIVE: 1,
    Mode.MINOR_VERSION: 2,
    Mode.FORWARD_COMPAT: 3,
    Mode.UNKNOWN: 4,
    Mode.INCOMPATIBLE: 5,
}


@dataclass(frozen=True)
class Answer:
    """One compatibility answer with its reasons, caveats, sources and a suggested fix."""

    mode: Mode
    reasons: tuple[str, ...]
    sources: tuple[str, ...] = ()
    caveats: tuple[str, ...] = ()
    fix: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def compatible(self) -> bool:
        return self.mode.compatible

    def to_json(self) -> dict[str, Any]:
        """``{"compatible", "mode", "reasons", "caveats", "sources", "fix", "details"}``."""
        return {
            "compatible": self.compatible,
            "mode": self.mode.value,
            "reasons": list(self.reasons),
            "caveats": list(self.caveats),
            "sources": list(self.sources),
            "fix": self.fix,
            "details": dict(self.details),
        }


def combine(answers: Iterable[Answer]) -> Answer:
    """The worst mode of several answers, with every reason, caveat and source (deduplicated)."""
    items = list(answers)
    if not items:
        return Answer(Mode.UNKNOWN, ("nothing to answer",))
    worst = max(items, key=lambda a: a.mode.rank)
    details: dict[str, Any] = {}
    for answer in items:
        details.update(answer.details)
    fixes = [a.fix for a in items if a.fix and not a.compatible]
    return Answer(
        mode=worst.mode,
        reasons=unique(r for a in items for r in a.reasons),
        sources=unique(s for a in items for s in a.sources),
        caveats=unique(c for a in items for c in a.caveats),
        fix="; ".join(unique(fixes)) or worst.fix,
        details=details,
    )


def unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


@dataclass(frozen=True)
class GpuSpec:
    """A GPU as an answer needs it: a name (maybe unknown to the table) and/or a compute capability."""

    name: str | None = None
    compute_capability: str | None = None

    @property
    def model(self) -> gpus_kb.GpuModel | None:
        return gpus_kb.gpu_model(self.name) if self.name else None

    @property
    def cc(self) -> str | None:
        """The reported capability, else the table's for this product."""
        if self.compute_capability:
            return self.compute_capability
        model = self.model
        return model.compute_capability if model else None

    @property
    def label(self) -> str:
        if self.name:
            return f"{self.name} (CC {self.cc})" if self.cc else self.name
        return f"CC {self.cc}"


# -- CUDA toolkit on a driver ----------------------------------------------------------------


def cuda_on_driver(cuda: str, driver: str, gpu: GpuSpec | None = None) -> Answer:
    """Can an application built with CUDA ``cuda`` run on driver ``driver`` (on ``gpu``)?"""
    floor = cuda_kb.toolkit_floor(cuda)
    if floor is None:
        known = cuda_kb.known_toolkits()
        return Answer(Mode.UNKNOWN, (f"CUDA {cuda} is not in the knowledge base (it knows {known[-1]} to {known[0]})",))
    sources = [floor.cite]
    label = f"CUDA {cuda} ({floor.release})"
    notes = [f"{floor.note}"] if floor.note else []
    grade = f" (grade {floor.grade})" if floor.grade in ("B", "C") else ""
    if versions.at_least(driver, floor.floor):
        return Answer(
            Mode.NATIVE,
            (f"driver {driver} meets {label}'s minimum {floor.floor}{grade}", *notes),
            tuple(sources),
            details={"cuda_floor": floor.floor},
        )
    major = versions.parse(cuda).release[0]
    family = cuda_kb.mvc_family(major)
    upgrade = f"upgrade the driver to {floor.floor} or newer"
    if family is not None and versions.at_least(driver, family.floor):
        return Answer(
            Mode.MINOR_VERSION,
            (
                f"driver {driver} is below {label}'s minimum {floor.floor}{grade} but within CUDA {major}.x "
                f"minor-version compatibility (>= {family.floor})",
                *notes,
            ),
            (*sources, family.cite),
            caveats=tuple(cuda_kb.mvc_caveats()),
            fix=upgrade + " for the full feature set",
            details={"cuda_floor": floor.floor, "mvc_floor": family.floor},
        )
    reasons = [f"driver {driver} is below {label}'s minimum {floor.floor}{grade}", *notes]
    if family is not None:
        reasons.append(f"and below the CUDA {major}.x minor-version compatibility floor {family.floor}")
        sources.append(family.cite)
    else:
        reasons.append(f"and CUDA {major}.x has no minor-version compatibility (it starts with CUDA 11)")
    forward = _forward_compat(cuda, driver, gpu, sources)
    if forward is not None:
        mode, extra, caveats, packages = forward
        return Answer(
            mode,
            (*reasons, *extra),
            unique(sources),
            caveats=caveats,
            fix=f"{upgrade}, or install {packages[0]} and point the loader at it" if packages else upgrade,
            details={"cuda_floor": floor.floor, "compat_packages": packages},
        )
    history = cuda_kb.historical_forward_compat(cuda, driver)
    branch = versions.branch(driver)
    reasons.append(f"and no cuda-compat package supports CUDA {versions.major_minor(cuda)} on R{branch}")
    if history:
        reasons.append(history)
    sources.append(fc_cite())
    return Answer(Mode.INCOMPATIBLE, tuple(reasons), unique(sources), fix=upgrade, details={"cuda_floor": floor.floor})


def fc_cite(row: Any = None) -> str:
    return knowledge.table("forward_compat").cite(row)


def _forward_compat(
    cuda: str, driver: str, gpu: GpuSpec | None, sources: list[str]
) -> tuple[Mode, list[str], tuple[str, ...], list[str]] | None:
    """(mode, reasons, caveats, packages) when a cuda-compat package covers the pair, else None."""
    branch = versions.branch(driver)
    packages = cuda_kb.compat_packages(cuda, branch)
    if not packages:
        return None
    _, row = cuda_kb.forward_compat(packages[0].removeprefix("cuda-compat-").replace("-", "."), branch)
    sources.append(fc_cite(row))
    reasons = [f"{', '.join(packages)} run CUDA {versions.major_minor(cuda)} on R{branch} (forward compatibility)"]
    caveats = []
    caveat = cuda_kb.forward_compat_caveat(branch)
    if caveat:
        caveats.append(caveat)
    model = gpu.model if gpu else None
    if gpu is None:
        reasons.append("forward compatibility works on data-center GPUs only")
    elif model is None:
        reasons.append(
            f"forward compatibility works on data-center GPUs only; {gpu.label} is not in the knowledge base"
        )
    elif not model.datacenter:
        sources.append(model.cite)
        return (
            Mode.INCOMPATIBLE,
            [*reasons, f"but forward compatibility works on data-center GPUs only, and {model.product} is not one"],
            tuple(caveats),
            [],
        )
    else:
        sources.append(model.cite)
        reasons.append(f"{model.product} is a data-center GPU")
    return Mode.FORWARD_COMPAT, reasons, tuple(caveats), packages


# -- architecture gates ------------------------------------------------------------------------


def cuda_on_gpu(cuda: str, gpu: GpuSpec) -> Answer:
    """Does CUDA ``cuda`` build for (and run on) this GPU's compute capability?"""
    cc = gpu.cc
    if cc is None:
        return Answer(Mode.UNKNOWN, (f"the compute capability of {gpu.label} is not known",))
    support = cuda_kb.arch_support(cc)
    if support is None:
        return Answer(Mode.UNKNOWN, (f"compute capability {cc} is not in the knowledge base",))
    major = versions.parse(cuda).release[0]
    drop = cuda_kb.cuda_min_cc(major)
    if support.last_cuda_major is not None and major > support.last_cuda_major:
        source = support.cite
        reason = f"CUDA {major} no longer builds for {support.arch} (CC {cc}): the last toolkit major for it is {support.last_cuda_major}"
        if drop and cuda_kb.cc_tuple(cc) < cuda_kb.cc_tuple(drop[0]):
            source = knowledge.table("architectures").cite(drop[1])
            reason = f"CUDA {major} removed {drop[1]['removed']}"
        return Answer(
            Mode.INCOMPATIBLE,
            (reason,),
            (source,),
            fix=f"use CUDA {support.last_cuda_major}.x on this GPU",
            details={"last_cuda_major": support.last_cuda_major},
        )
    if support.first_cuda and versions.parse(cuda) < versions.parse(support.first_cuda):
        return Answer(
            Mode.INCOMPATIBLE,
            (
                f"{support.arch} (CC {cc}) needs CUDA {support.first_cuda} or newer to build for it; CUDA {cuda} predates it",
            ),
            (support.cite,),
            fix=f"use CUDA {support.first_cuda} or newer on this GPU",
            details={"first_cuda": support.first_cuda},
        )
    return Answer(Mode.NATIVE, (f"CUDA {cuda} builds for {support.arch} (CC {cc})",), (support.cite,))


def driver_on_gpu(driver: str, gpu: GpuSpec) -> Answer:
    """Does driver ``driver`` still run this GPU (Kepler ends with R470; Maxwell to Volta with R580)?"""
    cc = gpu.cc
    support = cuda_kb.arch_support(cc) if cc else None
    if support is None:
        return Answer(Mode.UNKNOWN, (f"no driver support window known for {gpu.label}",))
    branch = versions.branch(driver)
    if support.last_driver_branch is not None and branch > support.last_driver_branch:
        return Answer(
            Mode.INCOMPATIBLE,
            (
                f"R{branch} no longer runs {support.arch} (CC {cc}); the last branch for it is R{support.last_driver_branch}",
            ),
            (support.cite,),
            fix=f"stay on R{support.last_driver_branch}",
            details={"last_driver_branch": support.last_driver_branch},
        )
    return Answer(Mode.NATIVE, (f"R{branch} runs {support.arch} (CC {cc})",), (support.cite,))


# -- TensorRT ------------------------------------------------------------------------------------


def tensorrt_on(
    tensorrt: str,
    driver: str | None = None,
    gpu: GpuSpec | None = None,
    cuda: str | None = None,
    build_major: int | None = None,
) -> Answer:
    """Can TensorRT ``tensorrt`` run here: GPU architecture, CUDA build, driver floor?

    ``cuda`` is the toolkit it is used with (its major picks the build); ``build_major``
    names the build when the installed package says it (``+cuda12.0``, ``tensorrt-cu12``).
    """
    release = trt_kb.trt_release(tensorrt)
    if release is None:
        known = trt_kb.known_releases()
        return Answer(
            Mode.UNKNOWN, (f"TensorRT {tensorrt} is not in the knowledge base (it knows {known[0]} to {known[-1]})",)
        )
    answers = [_trt_arch(tensorrt, release, gpu)] if gpu is not None else []
    majors = release.cuda_majors
    if cuda is not None:
        major = versions.parse(cuda).release[0]
        if major not in majors:
            answers.append(
                Answer(
                    Mode.INCOMPATIBLE,
                    (f"TensorRT {release.release} has no CUDA {major} build (its CUDA: {', '.join(release.cuda)})",),
                    (release.cite,),
                    fix=f"use a TensorRT release built for CUDA {major}, or CUDA {majors[0]}.x",
                )
            )
            majors = []
        else:
            majors = [major]
            answers.append(_trt_cuda_minor(cuda, release))
    elif build_major is not None and build_major in majors:
        majors = [build_major]
    if driver is not None and majors:
        answers.append(_trt_driver(tensorrt, release, driver, gpu, majors))
    if not answers:
        answers.append(Answer(Mode.LOOKUP, (describe_tensorrt(release),), (release.cite,)))
    return combine(answers)


def _trt_arch(tensorrt: str, release: trt_kb.TrtRelease, gpu: GpuSpec) -> Answer:
    cc = gpu.cc
    if cc is None:
        return Answer(Mode.UNKNOWN, (f"the compute capability of {gpu.label} is not known",))
    if cuda_kb.cc_tuple(cc) < cuda_kb.cc_tuple(release.min_cc):
        last = trt_kb.last_release_for_cc(cc)
        note = f" {release.row['note']}." if release.row.get("note") else ""
        return Answer(
            Mode.INCOMPATIBLE,
            (
                f"TensorRT {release.release} needs compute capability {release.min_cc} or newer; {gpu.label} is older.{note}",
            ),
            (release.cite,),
            fix=f"use TensorRT {last} or older on this GPU" if last else "this GPU has no supported TensorRT",
            details={"tensorrt_last_for_gpu": last},
        )
    first = trt_kb.first_release_for_cc(cc)
    if first and versions.parse(tensorrt) < versions.parse(first[0]):
        return Answer(
            Mode.INCOMPATIBLE,
            (f"compute capability {cc} needs TensorRT {first[0]} or newer; {tensorrt} predates it",),
            (knowledge.table("tensorrt_releases").cite(first[1]),),
            fix=f"upgrade TensorRT to {first[0]} or newer",
            details={"tensorrt_first_for_gpu": first[0]},
        )
    return Answer(Mode.NATIVE, (f"TensorRT {release.release} supports {gpu.label}",), (release.cite,))


def _trt_cuda_minor(cuda: str, release: trt_kb.TrtRelease) -> Answer:
    if release.supports_cuda_minor(cuda):
        return Answer(
            Mode.NATIVE, (f"TensorRT {release.release} supports CUDA {versions.major_minor(cuda)}",), (release.cite,)
        )
    return Answer(
        Mode.NATIVE,
        (
            f"CUDA {versions.major_minor(cuda)} is not in TensorRT {release.release}'s list ({', '.join(release.cuda)}); "
            f"its CUDA {versions.parse(cuda).release[0]} build serves later minors of that major",
        ),
        (release.cite,),
    )


def _trt_driver(
    tensorrt: str, release: trt_kb.TrtRelease, driver: str, gpu: GpuSpec | None, majors: list[int]
) -> Answer:
    """The best any of TensorRT's CUDA builds (restricted to ``majors``) does on ``driver``."""
    candidates = []
    for major in majors:
        build = next((c for c in release.cuda if c.split(".")[0] == str(major)), f"{major}")
        # a build whose minor the sources do not name is judged as the newest minor (conservative)
        build_cuda = build if "." in build else _newest_minor(major)
        answer = cuda_on_driver(build_cuda, driver, gpu)
        stated = release.driver_floor(major)
        if stated and not versions.at_least(driver, stated[0]) and answer.mode in (Mode.NATIVE, Mode.MINOR_VERSION):
            answer = Answer(
                Mode.INCOMPATIBLE,
                (f"driver {driver} is below {stated[1]}",),
                (release.cite,),
                fix=f"upgrade the driver to r{stated[0]}+",
            )
        elif stated and answer.mode is Mode.MINOR_VERSION:
            # TensorRT's own prerequisites name this driver floor for the build: NVIDIA
            # qualified it on such drivers, so the minor-version caveats are its concern.
            answer = Answer(
                answer.mode,
                (*answer.reasons, f"{stated[1]}, which driver {driver} meets"),
                answer.sources,
                answer.caveats,
                answer.fix,
                {**answer.details, "tensorrt_floor_met": True},
            )
        reasons = (f"TensorRT {release.release}'s CUDA {build} build: " + answer.reasons[0], *answer.reasons[1:])
        candidates.append(
            Answer(
                answer.mode,
                reasons,
                (*answer.sources, release.cite),
                answer.caveats,
                answer.fix,
                {**answer.details, "tensorrt_cuda_build": build},
            )
        )
    return min(candidates, key=lambda a: a.mode.rank)


def _newest_minor(major: int) -> str:
    newest = next((c for c in cuda_kb.known_toolkits() if versions.parse(c).release[0] == major), f"{major}.0")
    return versions.major_minor(newest)


def describe_tensorrt(release: trt_kb.TrtRelease) -> str:
    """One line: CUDA, cuDNN, architecture floor and driver floors of a release."""
    if release.cudnn_status == "required":
        cudnn = f"cuDNN {release.cudnn_version} required"
    elif release.cudnn_status == "optional":
        cudnn = "cuDNN optional" + (f" ({release.cudnn_version})" if release.cudnn_version else "")
    else:
        cudnn = "cuDNN requirement not in the sources"
    floors = []
    for major in release.cuda_majors:
        floor = release.driver_floor(major)
        if floor:
            floors.append(f"CUDA {major} build: driver >= {floor[0]}")
    return (
        f"TensorRT {release.release} (GA {release.ga_build}): CUDA {', '.join(release.cuda)}; {cudnn}; "
        f"compute capability >= {release.min_cc}; " + "; ".join(floors)
    )
