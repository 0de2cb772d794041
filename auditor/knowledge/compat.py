"""Can software built with a CUDA toolkit run on a driver, and can a driver or a toolkit serve a GPU?

(TensorRT releases: ``compat_tensorrt``; NGC images: ``images``.) Answers come from the
knowledge base alone and say how (``answers.Mode``):

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

from typing import Any

from auditor import versions
from auditor.knowledge import cuda as cuda_kb
from auditor.knowledge import tables
from auditor.knowledge.answers import Answer, GpuSpec, Mode, unique

# -- CUDA toolkit on a driver ----------------------------------------------------------------


def newer_than_knowledge(what: str) -> str:
    """``"<what> is newer than the knowledge base (knowledge as of 2026-12-04)"``."""
    return f"{what} is newer than the knowledge base ({tables.as_of_text()})"


@tables.memo  # the same few questions host after host; an Answer is never changed once made
def cuda_on_driver(cuda: str, driver: str, gpu: GpuSpec | None = None) -> Answer:
    """Can an application built with CUDA ``cuda`` run on driver ``driver`` (on ``gpu``)?

    Native only at or above the release's own minimum; a release whose minimum the
    sources do not name is never native (minor-version compatibility at best).
    """
    floor = cuda_kb.toolkit_floor(cuda)
    if floor is None:
        known = cuda_kb.known_toolkits()
        newest = max(known, key=versions.parse)
        if versions.parse(cuda) > versions.parse(newest):
            return Answer(Mode.UNKNOWN, (newer_than_knowledge(f"CUDA {cuda}") + f"; it knows up to {newest}",))
        return Answer(
            Mode.UNKNOWN,
            (f"CUDA {cuda} is not in the knowledge base (it knows {known[-1]} to {known[0]}; {tables.as_of_text()})",),
        )
    sources = [floor.cite]
    label = f"CUDA {cuda}" + (f" ({floor.release})" if floor.release != cuda else "")
    notes = [f"{floor.note}"] if floor.note else []
    grade = f" (grade {floor.grade})" if floor.grade in ("B", "C") else ""
    if floor.floor is not None and versions.at_least(driver, floor.floor):
        return Answer(
            Mode.NATIVE,
            (f"driver {driver} meets {label}'s minimum {floor.floor}{grade}", *notes),
            tuple(sources),
            details={"cuda_floor": floor.floor},
        )
    major = versions.parse(cuda).release[0]
    family = cuda_kb.mvc_family(major)
    minimum = (
        f"{label}'s minimum {floor.floor}{grade}"
        if floor.floor is not None
        else f"{label}'s own minimum (not in the sources, {tables.as_of_text()})"
    )
    upgrade = (
        f"upgrade the driver to {floor.floor} or newer"
        if floor.floor is not None
        else f"upgrade the driver to the branch NVIDIA's CUDA {versions.major_minor(cuda)} notes name"
    )
    if family is not None and versions.at_least(driver, family.floor):
        lead = (
            f"driver {driver} is below {minimum}"
            if floor.floor is not None
            else f"{label}'s own minimum driver is not in the sources ({tables.as_of_text()})"
        )
        return Answer(
            Mode.MINOR_VERSION,
            (
                f"{lead}, but within CUDA {major}.x minor-version compatibility (>= {family.floor})",
                *notes,
            ),
            (*sources, family.cite),
            caveats=tuple(cuda_kb.mvc_caveats()),
            fix=upgrade + " for the full feature set",
            details={"cuda_floor": floor.floor, "mvc_floor": family.floor},
        )
    reasons = [f"driver {driver} is below {minimum}", *notes]
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
    return tables.table("forward_compat").cite(row)


def forward_compat_class(gpu: GpuSpec | None) -> tuple[Mode | None, str, str | None]:
    """Whether ``gpu``'s class may use cuda-compat forward compatibility.

    (None, why, cite) when it may (a data-center GPU) or cannot be told (no GPU, an
    unknown name: the caller decides); (INCOMPATIBLE, why, cite) for workstation and
    consumer GPUs; (UNKNOWN, why, cite) for embedded (Jetson) boards, whose own compat
    package line the knowledge base does not cover.
    """
    model = gpu.model if gpu else None
    if gpu is None:
        return None, "forward compatibility works on data-center GPUs only", None
    if model is None:
        return (
            None,
            f"forward compatibility works on data-center GPUs only; {gpu.label} is not in the knowledge base",
            None,
        )
    if model.gpu_class == "datacenter":
        return None, f"{model.product} is a data-center GPU", model.cite
    if model.gpu_class == "embedded":
        why = (
            f"{model.product} is a Jetson board: NVIDIA supports forward compatibility there with its own compat "
            "package line, which the knowledge base does not cover"
        )
        return Mode.UNKNOWN, why, model.cite
    why = f"forward compatibility works on data-center GPUs only, and {model.product} is a {model.gpu_class} GPU"
    return Mode.INCOMPATIBLE, why, model.cite


def _forward_compat(
    cuda: str, driver: str, gpu: GpuSpec | None, sources: list[str]
) -> tuple[Mode, list[str], tuple[str, ...], list[str]] | None:
    """(mode, reasons, caveats, packages) when a cuda-compat package covers the pair (or the
    matrix cannot tell: it ends before ``cuda``), else None."""
    branch = versions.branch(driver)
    newest = cuda_kb.newest_compat_package()
    if versions.parse(versions.major_minor(cuda)) > versions.parse(newest):
        sources.append(fc_cite())
        why = newer_than_knowledge(f"forward compatibility to CUDA {versions.major_minor(cuda)}")
        return Mode.UNKNOWN, [f"{why}: its cuda-compat matrix ends at cuda-compat-{newest.replace('.', '-')}"], (), []
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
    verdict, why, cite = forward_compat_class(gpu)
    if cite:
        sources.append(cite)
    if verdict is Mode.INCOMPATIBLE:
        return Mode.INCOMPATIBLE, [*reasons, f"but {why}"], tuple(caveats), []
    reasons.append(why)
    if verdict is Mode.UNKNOWN:
        return Mode.UNKNOWN, reasons, tuple(caveats), packages
    return Mode.FORWARD_COMPAT, reasons, tuple(caveats), packages


# -- architecture gates ------------------------------------------------------------------------


@tables.memo  # the same few questions host after host; an Answer is never changed once made
def cuda_on_gpu(cuda: str, gpu: GpuSpec) -> Answer:
    """Does CUDA ``cuda`` build for (and run on) this GPU's compute capability?

    Unknown when the GPU's capability, its architecture row or its first toolkit is not
    in the sources: a missing lower bound is never "no lower bound".
    """
    cc = gpu.cc
    if cc is None:
        return Answer(Mode.UNKNOWN, (f"the compute capability of {gpu.label} is not known",))
    support = cuda_kb.arch_support(cc)
    if support is None:
        return Answer(Mode.UNKNOWN, (f"compute capability {cc} is not in the knowledge base ({tables.as_of_text()})",))
    major = versions.parse(cuda).release[0]
    drop = cuda_kb.cuda_min_cc(major)
    if support.last_cuda_major is not None and major > support.last_cuda_major:
        source = support.cite
        reason = f"CUDA {major} no longer builds for {support.arch} (CC {cc}): the last toolkit major for it is {support.last_cuda_major}"
        if drop and cuda_kb.cc_tuple(cc) < cuda_kb.cc_tuple(drop[0]):
            source = tables.table("architectures").cite(drop[1])
            reason = f"CUDA {major} removed {drop[1]['removed']}"
        return Answer(
            Mode.INCOMPATIBLE,
            (reason,),
            (source,),
            fix=f"use CUDA {support.last_cuda_major}.x on this GPU",
            details={"last_cuda_major": support.last_cuda_major},
        )
    if not support.first_cuda:
        return Answer(
            Mode.UNKNOWN,
            (f"the first CUDA toolkit for {support.arch} (CC {cc}) is not in the sources ({tables.as_of_text()})",),
            (support.cite,),
        )
    if versions.parse(cuda) < versions.parse(support.first_cuda):
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


@tables.memo  # the same few questions host after host; an Answer is never changed once made
def driver_on_gpu(driver: str, gpu: GpuSpec) -> Answer:
    """Does driver ``driver`` run this GPU? Both ends of the architecture's window, and system floors.

    Incompatible below the first branch of the GPU's architecture (Blackwell: R570) or of
    its system (HGX B200: 570.133.20) -- details ``first_driver_branch``/``system_floor``,
    an upgrade -- and above its last branch (Volta: R580) -- ``last_driver_branch``, a
    rollback. Unknown when the capability, its window, or the branch is not in the sources
    (a branch newer than the knowledge base included, unless the architecture ended before).
    """
    cc = gpu.cc
    support = cuda_kb.arch_support(cc) if cc else None
    if support is None:
        return Answer(Mode.UNKNOWN, (f"no driver support window known for {gpu.label} ({tables.as_of_text()})",))
    branch = versions.branch(driver)
    where = f"{support.arch} (CC {cc})"
    if support.last_driver_branch is not None and branch > support.last_driver_branch:
        return Answer(
            Mode.INCOMPATIBLE,
            (f"R{branch} no longer runs {where}; the last branch for it is R{support.last_driver_branch}",),
            (support.cite,),
            fix=f"roll the driver back to the newest R{support.last_driver_branch} release",
            details={"last_driver_branch": support.last_driver_branch},
        )
    first = support.first_branch()
    if first.branch is not None and branch < first.branch:
        toolkit = cuda_kb.toolkit_floor(support.first_cuda) if support.first_cuda else None
        return Answer(
            Mode.INCOMPATIBLE,
            (f"R{branch} cannot drive {where}: it needs R{first.branch} or newer ({first.why})",),
            unique((support.cite, *([toolkit.cite] if toolkit else []))),
            fix=f"upgrade the driver to R{first.branch} or newer",
            details={"first_driver_branch": first.branch},
        )
    if first.branch is None and not (first.predates and branch >= min(_known_branches())):
        return Answer(
            Mode.UNKNOWN, (f"the first driver branch for {where} is not known: {first.why}",), (support.cite,)
        )
    system = cuda_kb.system_floor(gpu.name) if gpu.name else None
    if system is not None and not versions.at_least(driver, system.floor):
        return Answer(
            Mode.INCOMPATIBLE,
            (f"driver {driver} is below {system.floor}, the floor NVIDIA publishes for {system.system} systems",),
            (system.cite,),
            fix=f"upgrade the driver to {system.floor} or newer",
            details={"system_floor": system.floor, "first_driver_branch": versions.branch(system.floor)},
        )
    if branch > cuda_kb.newest_branch() and support.last_driver_branch is None:
        return Answer(Mode.UNKNOWN, (newer_than_knowledge(f"R{branch}") + f": whether it runs {where} is not known",))
    reasons = [f"R{branch} runs {where}"]
    sources = [support.cite]
    if system is not None:
        reasons.append(f"and meets {system.system}'s floor {system.floor}")
        sources.append(system.cite)
    return Answer(Mode.NATIVE, tuple(reasons), tuple(sources))


def _known_branches() -> list[int]:
    return [int(r["branch"]) for r in tables.table("driver_branches").rows]
