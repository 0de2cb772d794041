"""Can an NGC TensorRT image run on a driver and a GPU? (``auditor.knowledge.compat`` for images.)

A container's floor is the driver its release notes print, raised to its CUDA
family's minor-version-compatibility floor where the notes are stale (trt-Q2).
Below the floor, the notes' data-center forward-compatibility branches are
honoured unless the current cuda-compat matrix contradicts them; months only
user reports describe are unknown, never guessed.
"""

from __future__ import annotations

from typing import Any

from auditor import versions
from auditor.knowledge import cuda as cuda_kb
from auditor.knowledge import tensorrt as trt_kb
from auditor.knowledge.answers import Answer, GpuSpec, Mode, combine, unique
from auditor.knowledge.compat import cuda_on_driver, cuda_on_gpu, fc_cite, forward_compat_class
from auditor.knowledge.compat_tensorrt import tensorrt_on


def image_on(ref: str, driver: str | None = None, gpu: GpuSpec | None = None) -> Answer:
    """Can NGC image ``ref`` run on ``driver`` and ``gpu``? Raises ``trt_kb.BadImage`` for a malformed ref."""
    found = trt_kb.lookup_image(ref)
    box = found.container
    if box is None:
        return Answer(Mode.UNKNOWN, (found.why,), details={"image_known_repo": found.known_repo})
    stack = describe_container(box)
    if not box.known:
        return Answer(Mode.UNKNOWN, (f"{box.ref}: {box.row.get('note') or 'unknown'}",), (box.cite,))
    answers: list[Answer] = []
    if driver is not None:
        answers.append(_image_driver(box, driver, gpu))
    if gpu is not None:
        answers.extend(_image_gpu(box, gpu))
    if not answers:
        return Answer(Mode.LOOKUP, (stack,), (box.cite,), details={"image": _container_json(box)})
    result = combine(answers)
    return Answer(
        result.mode,
        (stack, *result.reasons),
        unique((box.cite, *result.sources)),
        result.caveats,
        result.fix,
        result.details,
    )


def image_driver_floor(box: trt_kb.Container) -> tuple[str, str] | None:
    """(floor, why) of a container: the printed floor, raised to its CUDA family's MVC floor (trt-Q2)."""
    if box.cuda is None:
        return None
    family = cuda_kb.mvc_family(versions.parse(box.cuda).release[0])
    printed = box.driver
    if family is None:
        return (printed, "the release notes") if printed else None
    if printed is None:
        return family.floor, f"the notes print no number; CUDA {box.cuda}'s family floor {family.floor} stands in"
    if versions.at_least(printed, family.floor):
        return printed, f"the release notes: driver {printed} or later"
    return (
        family.floor,
        f"the notes print {printed}, below the CUDA {versions.parse(box.cuda).release[0]}.x floor {family.floor}, which is taken (trt-Q2)",
    )


def _image_driver(box: trt_kb.Container, driver: str, gpu: GpuSpec | None) -> Answer:
    floor = image_driver_floor(box)
    if floor is None or box.cuda is None:
        return Answer(Mode.UNKNOWN, (f"the driver requirement of {box.ref} is not in the sources",), (box.cite,))
    toolkit = cuda_kb.toolkit_floor(box.cuda)
    if toolkit and toolkit.floor and versions.at_least(driver, toolkit.floor) and versions.at_least(driver, floor[0]):
        return Answer(
            Mode.NATIVE, (f"driver {driver} meets CUDA {box.cuda}'s minimum {toolkit.floor}",), (box.cite, toolkit.cite)
        )
    if versions.at_least(driver, floor[0]):
        return Answer(
            Mode.MINOR_VERSION,
            (
                f"driver {driver} meets the container's floor {floor[0]} ({floor[1]}); CUDA {box.cuda} runs through minor-version compatibility",
            ),
            (box.cite,),
            caveats=tuple(cuda_kb.mvc_caveats()),
        )
    below = f"driver {driver} is below the container's floor {floor[0]} ({floor[1]})"
    fix = f"upgrade the driver to {floor[0]} or newer"
    branch = versions.branch(driver)
    base = next((d for d in box.dc or () if versions.branch(d) == branch), None)
    # Notes whose driver line is demonstrably stale (below the CUDA family floor) are
    # copy-paste residue, and so is their forward-compatibility list (trt-Q2).
    notes_trusted = floor[0] == box.driver
    cell, _ = cuda_kb.forward_compat(box.cuda, branch)
    verdict, why, gpu_cite = forward_compat_class(gpu)
    carries = f"{box.ref} carries the cuda-compat libraries (NGC images do)"
    if base is not None and notes_trusted and versions.at_least(driver, base):
        reasons = [
            below,
            f"the container notes list R{branch} (>= {base}) for forward compatibility on data-center GPUs",
        ]
        if cell == "X":
            reasons.append(
                f"but the current cuda-compat matrix says CUDA {versions.major_minor(box.cuda)} does not run on R{branch}"
            )
            return Answer(Mode.INCOMPATIBLE, tuple(reasons), unique((box.cite, fc_cite())), fix=fix)
        if cell is None:
            reasons.append(
                f"the current forward-compatibility matrix has no R{branch} column (end of life or not a target, Q8)"
            )
        sources = unique((box.cite, *([gpu_cite] if gpu_cite else [])))
        if verdict is Mode.INCOMPATIBLE:
            return Answer(Mode.INCOMPATIBLE, (*reasons, f"but {why}"), sources, fix=fix)
        if verdict is Mode.UNKNOWN:
            return Answer(Mode.UNKNOWN, (*reasons, why), sources, fix=fix)
        return Answer(Mode.FORWARD_COMPAT, (*reasons, why, carries), sources, fix=fix)
    if box.dc is not None and not box.dc:
        return Answer(
            Mode.INCOMPATIBLE,
            (below, "the container notes name no branch for forward compatibility"),
            (box.cite,),
            fix=fix,
        )
    # No branch of the notes' list applies (or the list was not collected, or is stale):
    # the current cuda-compat matrix decides, for the image's CUDA on this branch and GPU.
    matrix = cuda_on_driver(box.cuda, driver, gpu) if versions.parse(box.cuda) >= versions.parse("12.2") else None
    extra: list[str] = []
    if base is not None and not notes_trusted:
        extra.append(f"the notes list R{branch} for forward compatibility, but their driver line is stale (trt-Q2)")
    elif base is not None:
        extra.append(f"the container notes list R{branch} for forward compatibility only from {base}")
    elif box.dc is None:
        extra.append("the container notes' forward-compatibility list is not in the knowledge base")
    if matrix is not None and matrix.mode is Mode.FORWARD_COMPAT:
        return Answer(
            Mode.FORWARD_COMPAT,
            (below, *extra, *matrix.reasons[-2:], carries),
            unique((box.cite, *matrix.sources)),
            matrix.caveats,
            fix=fix,
        )
    if matrix is not None and matrix.mode is Mode.UNKNOWN:
        return Answer(Mode.UNKNOWN, (below, *extra, *matrix.reasons[-1:]), unique((box.cite, *matrix.sources)), fix=fix)
    if verdict is Mode.INCOMPATIBLE:
        extra.append(why)
    return Answer(Mode.INCOMPATIBLE, (below, *extra), unique((box.cite, fc_cite())), fix=fix)


def _image_gpu(box: trt_kb.Container, gpu: GpuSpec) -> list[Answer]:
    answers = []
    cc = gpu.cc
    if box.min_cc and cc and cuda_kb.cc_tuple(cc) < cuda_kb.cc_tuple(box.min_cc):
        answers.append(
            Answer(
                Mode.INCOMPATIBLE,
                (f"{box.ref} needs compute capability {box.min_cc} or newer; {gpu.label} is older",),
                (box.cite,),
            )
        )
    if box.cuda:
        answers.append(cuda_on_gpu(box.cuda, gpu))
    if box.tensorrt:
        answers.append(tensorrt_on(box.tensorrt, gpu=gpu))
    return answers


def describe_container(box: trt_kb.Container) -> str:
    """One line: the container's stack, unknown parts said as such."""
    floor = image_driver_floor(box)
    parts = [
        f"TensorRT {box.tensorrt}" if box.tensorrt else "TensorRT unknown",
        f"CUDA {box.cuda}" if box.cuda else "CUDA unknown",
        f"cuDNN {box.cudnn}" if box.cudnn else "cuDNN not in the sources",
        f"driver >= {floor[0]}" if floor else "driver requirement unknown",
    ]
    return f"{box.ref}: " + ", ".join(parts)


def _container_json(box: trt_kb.Container) -> dict[str, Any]:
    floor = image_driver_floor(box)
    return {
        "tag": box.tag,
        "tensorrt": box.tensorrt,
        "cuda": box.cuda,
        "cudnn": box.cudnn,
        "driver_floor": floor[0] if floor else None,
        "forward_compat_branches": None if box.dc is None else list(box.dc),
    }
