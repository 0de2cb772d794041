"""``auditor compat``'s questions: pairs answered by ``auditor.knowledge.compat``, single versions looked up.

Given two sides (a toolkit or TensorRT release or image, and a driver or GPU) the
answer is a compatibility ``Mode``. Given one version alone the useful question is
answered instead (mode ``lookup``): a toolkit's driver floor; what a driver can run
(CUDA toolkits, TensorRT releases, NGC images); a GPU's supported toolkits, drivers
and TensorRT releases; a TensorRT release's or an image's requirements.
"""

from __future__ import annotations

import datetime
from typing import Any

from auditor import versions
from auditor.knowledge import cuda as cuda_kb
from auditor.knowledge import tables
from auditor.knowledge import tensorrt as trt_kb
from auditor.knowledge.answers import Answer, GpuSpec, Mode, combine
from auditor.knowledge.compat import cuda_on_driver, cuda_on_gpu, driver_on_gpu
from auditor.knowledge.compat_tensorrt import tensorrt_on
from auditor.knowledge.images import image_on
from auditor.records import record


@record
class Query:
    """What the user asked about; any field may be absent."""

    driver: str | None = None
    cuda: str | None = None
    tensorrt: str | None = None
    gpu: GpuSpec | None = None
    image: str | None = None


def answer(query: Query, today: datetime.date) -> Answer:
    """The answer to ``query``: the worst mode over every pair it names, else a lookup."""
    q = query
    pairs: list[Answer] = []
    if q.cuda and q.driver:
        pairs.append(cuda_on_driver(q.cuda, q.driver, q.gpu))
    if q.cuda and q.gpu:
        pairs.append(cuda_on_gpu(q.cuda, q.gpu))
    if q.driver and q.gpu:
        pairs.append(driver_on_gpu(q.driver, q.gpu))
    if q.tensorrt and (q.driver or q.gpu or q.cuda):
        pairs.append(tensorrt_on(q.tensorrt, q.driver, q.gpu, q.cuda))
    if q.image and (q.driver or q.gpu):
        pairs.append(image_on(q.image, q.driver, q.gpu))
    if pairs:
        result = combine(pairs)
        eol = _eol_caveat(q.driver, today) if q.driver else None
        if eol:
            result = Answer(
                result.mode, result.reasons, result.sources, (*result.caveats, eol), result.fix, result.details
            )
        return result
    lookups = []
    if q.driver:
        lookups.append(driver_lookup(q.driver, today))
    if q.cuda:
        lookups.append(cuda_lookup(q.cuda))
    if q.tensorrt:
        lookups.append(tensorrt_on(q.tensorrt))
    if q.gpu:
        lookups.append(gpu_lookup(q.gpu))
    if q.image:
        lookups.append(image_on(q.image))
    return combine(lookups)


def _eol_caveat(driver: str, today: datetime.date) -> str | None:
    info = cuda_kb.branch_info(driver)
    if info is not None and info.is_past_eol(today):
        return f"R{info.branch} ({info.type_label}) is past {info.eol_text()}"
    return None


def driver_lookup(driver: str, today: datetime.date) -> Answer:
    """What driver ``driver`` runs: its branch, CUDA toolkits, TensorRT releases and NGC images."""
    reasons: list[str] = []
    sources: list[str] = []
    caveats: list[str] = []
    details: dict[str, Any] = {}
    info = cuda_kb.branch_info(driver)
    if info is None:
        reasons.append(f"R{versions.branch(driver)} is not in the driver-branch table")
    else:
        sources.append(info.cite)
        state = "past" if info.is_past_eol(today) else "before"
        reasons.append(
            f"R{info.branch}: {info.type_label}, {info.eol_text()} ({state} it on {today.isoformat()}); "
            f"newest native CUDA {info.cuda or 'not in the sources'}"
        )
        details["branch"] = {"branch": info.branch, "type": info.type, "eol": info.eol, "native_cuda": info.cuda}
        if info.is_past_eol(today):
            caveats.append(f"R{info.branch} is past {info.eol_text()}")
    native = [c for c in cuda_kb.known_toolkits() if cuda_on_driver(c, driver).mode is Mode.NATIVE]
    if native:
        floor = cuda_kb.toolkit_floor(native[0])
        reasons.append(f"CUDA toolkits natively: up to {native[0]} ({floor.release if floor else ''})")
        if floor:
            sources.append(floor.cite)
    details["cuda_native"] = native
    mvc = [c for c in cuda_kb.known_toolkits() if cuda_on_driver(c, driver).mode is Mode.MINOR_VERSION]
    if mvc:
        family = versions.parse(mvc[0]).release[0]
        reasons.append(f"through minor-version compatibility (with caveats): CUDA {mvc[-1]} to {mvc[0]}")
        fam = cuda_kb.mvc_family(family)
        if fam:
            sources.append(fam.cite)
    details["cuda_minor_version"] = mvc
    forward = sorted(
        {p for c in cuda_kb.known_toolkits() for p in cuda_kb.compat_packages(c, versions.branch(driver))},
        reverse=True,
    )
    if forward:
        reasons.append(f"with a cuda-compat package, on data-center GPUs only: {', '.join(forward)}")
        caveat = cuda_kb.forward_compat_caveat(versions.branch(driver))
        if caveat:
            caveats.append(caveat)
    details["cuda_compat_packages"] = forward
    trt = _group(trt_kb.known_releases(), lambda r: tensorrt_on(r, driver=driver).mode)
    details["tensorrt"] = {mode.value: items for mode, items in trt.items()}
    for mode, label in ((Mode.NATIVE, "natively"), (Mode.MINOR_VERSION, "through minor-version compatibility")):
        if trt.get(mode):
            reasons.append(f"TensorRT releases {label}: {', '.join(trt[mode])}")
    images = _group(
        [f"{tag}" for tag in trt_kb.known_tags()],
        lambda tag: image_on(tag, driver=driver).mode,
    )
    details["images"] = {mode.value: items for mode, items in images.items()}
    runnable = images.get(Mode.NATIVE, []) + images.get(Mode.MINOR_VERSION, [])
    if runnable:
        reasons.append(f"NGC TensorRT images (nvcr.io/nvidia/tensorrt:<tag>-py3): {', '.join(sorted(runnable))}")
    if images.get(Mode.FORWARD_COMPAT):
        reasons.append(
            f"NGC TensorRT images only through forward compatibility: {', '.join(images[Mode.FORWARD_COMPAT])}"
        )
    return Answer(Mode.LOOKUP, tuple(reasons), tuple(dict.fromkeys(sources)), tuple(caveats), details=details)


def _group(items: list[str], mode_of: Any) -> dict[Mode, list[str]]:
    grouped: dict[Mode, list[str]] = {}
    for item in items:
        grouped.setdefault(mode_of(item), []).append(item)
    return grouped


def cuda_lookup(cuda: str) -> Answer:
    """A toolkit's driver floor, its family's minor-version floor, and its forward-compatibility packages."""
    floor = cuda_kb.toolkit_floor(cuda)
    if floor is None:
        return cuda_on_driver(cuda, "0")  # the same "not in the knowledge base" answer
    if floor.floor is None:
        reasons = [f"CUDA {cuda}'s own minimum driver is not in the sources ({tables.as_of_text()})"]
    else:
        reasons = [f"CUDA {cuda} ({floor.release}) needs Linux driver {floor.floor} or newer (grade {floor.grade})"]
    if floor.note:
        reasons.append(floor.note)
    sources = [floor.cite]
    major = versions.parse(cuda).release[0]
    family = cuda_kb.mvc_family(major)
    if family:
        reasons.append(f"with minor-version compatibility (limited features), any driver >= {family.floor}")
        sources.append(family.cite)
    else:
        reasons.append(f"CUDA {major}.x has no minor-version compatibility")
    native_branch = versions.branch(floor.floor) if floor.floor else 10**6
    columns = tables.table("forward_compat").section("columns") or []
    branches = [b for b in columns if b < native_branch and cuda_kb.compat_packages(cuda, b)]
    if branches:
        packages = cuda_kb.compat_packages(cuda, branches[0])
        reasons.append(
            f"forward compatibility (data-center GPUs): {packages[0]} or newer on "
            + ", ".join(f"R{b}" for b in branches)
        )
    elif versions.parse(versions.major_minor(cuda)) > versions.parse(cuda_kb.newest_compat_package()):
        reasons.append(
            f"forward compatibility to CUDA {versions.major_minor(cuda)}: not known (the cuda-compat matrix in the "
            f"knowledge base ends at {cuda_kb.newest_compat_package()})"
        )
    drop = cuda_kb.cuda_min_cc(major)
    if drop:
        reasons.append(f"builds for compute capability {drop[0]} and newer")
    return Answer(
        Mode.LOOKUP,
        tuple(reasons),
        tuple(sources),
        details={"cuda_floor": floor.floor, "mvc_floor": family.floor if family else None},
    )


def gpu_lookup(gpu: GpuSpec) -> Answer:
    """A GPU's compute capability, architecture, and the toolkits, drivers and TensorRT releases for it."""
    cc = gpu.cc
    model = gpu.model
    reasons, sources = [], []
    if model is not None:
        kind = "a data-center GPU" if model.datacenter else "not a data-center GPU (no forward compatibility)"
        reasons.append(
            f"{model.product}: compute capability {model.compute_capability or 'not in the sources'}, {model.arch}, {kind}"
        )
        sources.append(model.cite)
    if cc is None:
        return Answer(Mode.UNKNOWN, (*reasons, f"the compute capability of {gpu.label} is not known"), tuple(sources))
    support = cuda_kb.arch_support(cc)
    if support is not None:
        last = f"up to CUDA {support.last_cuda_major}.x" if support.last_cuda_major else "through the newest"
        first = f"from CUDA {support.first_cuda}" if support.first_cuda else "first toolkit not in the sources"
        first_branch = support.first_branch()
        if first_branch.branch is not None:
            low = f"from R{first_branch.branch}"
        elif first_branch.predates:
            low = "from before the oldest branch the knowledge base tracks"
        else:
            low = "from a first branch not in the sources"
        high = f"up to R{support.last_driver_branch}" if support.last_driver_branch else "to the newest"
        reasons.append(f"CUDA toolkits {first} {last}; driver branches {low} {high}")
        sources.append(support.cite)
        system = cuda_kb.system_floor(gpu.name) if gpu.name else None
        if system is not None:
            reasons.append(f"{system.system} systems need driver {system.floor} or newer")
            sources.append(system.cite)
    newest = trt_kb.last_release_for_cc(cc)
    first_trt = trt_kb.first_release_for_cc(cc)
    if newest is None:
        reasons.append("no TensorRT release in the knowledge base supports it")
    else:
        start = f"from {first_trt[0]} " if first_trt else ""
        reasons.append(
            f"TensorRT releases {start}up to {newest}"
            + (" (the newest known)" if newest == trt_kb.known_releases()[-1] else "")
        )
    return Answer(Mode.LOOKUP, tuple(reasons), tuple(sources), details={"compute_capability": cc})
