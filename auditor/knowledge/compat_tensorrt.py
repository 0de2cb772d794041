"""Can a TensorRT release run here: GPU architecture, CUDA build, driver floor? (``auditor.knowledge.compat`` for TensorRT.)

``tensorrt_on`` answers with the same ``Answer``/``Mode`` as the CUDA queries in
``auditor.knowledge.compat``, which re-exports it: the built-in checks, ``auditor compat`` and
``auditor plan`` all ask it.
"""

from __future__ import annotations

from auditor import versions
from auditor.knowledge import cuda as cuda_kb
from auditor.knowledge import tables
from auditor.knowledge import tensorrt as trt_kb
from auditor.knowledge.answers import Answer, GpuSpec, Mode, combine
from auditor.knowledge.compat import cuda_on_driver


@tables.memo  # a fleet asks the same few questions host after host; an Answer is never changed once made
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
        if major not in majors and not release.cuda_complete:
            answers.append(
                Answer(
                    Mode.UNKNOWN,
                    (
                        f"the sources name only TensorRT {release.release}'s CUDA {', '.join(release.cuda)} build; "
                        f"whether it has a CUDA {major} build is not known ({tables.as_of_text()})",
                    ),
                    (release.cite,),
                )
            )
            majors = []
        elif major not in majors:
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
        table = tables.table("tensorrt_releases")
        conflict = trt_kb.conflict_note(first[1])
        other = (first[1].get("other") or {}).get("source") if conflict else None
        return Answer(
            Mode.INCOMPATIBLE,
            (
                f"compute capability {cc} needs TensorRT {first[0]} or newer; {tensorrt} predates it",
                *([conflict] if conflict else []),
            ),
            (table.cite(first[1]), *([table.cite({"source": other})] if other else [])),
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
    conflict = (release.row.get("cudnn") or {}).get("conflict")
    if conflict:
        cudnn += f" (sources disagree: {conflict}, see auditor knowledge)"
    floors = []
    for major in release.cuda_majors:
        floor = release.driver_floor(major)
        if floor:
            floors.append(f"CUDA {major} build: driver >= {floor[0]}")
    return (
        f"TensorRT {release.release} (GA {release.ga_build or 'build not in the sources'}): "
        f"CUDA {', '.join(release.cuda)}{'' if release.cuda_complete else ' (others not in the sources)'}; {cudnn}; "
        f"compute capability >= {release.min_cc}; " + "; ".join(floors)
    )
