"""The NVIDIA knowledge base: every table well formed and cited, every grade-A/A* row pinned.

The expected values below are retyped from docs/research/nvidia-cuda-driver.md and
docs/research/tensorrt-compat.md, not read from the YAML, so a changed row fails here.
"""

from __future__ import annotations

import datetime

import pytest

from auditor import versions
from auditor.knowledge import cuda as cuda_kb
from auditor.knowledge import gpus as gpus_kb
from auditor.knowledge import tables
from auditor.knowledge import tensorrt as trt_kb

# docs/research/nvidia-cuda-driver.md 1.1 (grade A*) and 1.2 (CUDA 10.x, grade A): toolkit -> Linux minimum
TOOLKIT_LINUX = {
    "13.2.2": "595.71.05", "13.2.1": "595.58.03", "13.2.0": "595.45.04",
    "13.1.1": "590.48.01", "13.1.0": "590.44.01",
    "13.0.2": "580.95.05", "13.0.1": "580.82.07", "13.0.0": "580.65.06",
    "12.9.1": "575.57.08", "12.9.0": "575.51.03", "12.8.1": "570.124.06", "12.8.0": "570.26",
    "12.6.3": "560.35.05", "12.6.2": "560.35.03", "12.6.1": "560.35.03", "12.6.0": "560.28.03",
    "12.5.1": "555.42.06", "12.5.0": "555.42.02", "12.4.1": "550.54.15", "12.4.0": "550.54.14",
    "12.3.1": "545.23.08", "12.3.0": "545.23.06",
    "12.2.2": "535.104.05", "12.2.1": "535.86.09", "12.2.0": "535.54.03",
    "12.1.1": "530.30.02", "12.1.0": "530.30.02", "12.0.1": "525.85.12", "12.0.0": "525.60.13",
    "11.8.0": "520.61.05", "11.7.1": "515.48.07", "11.7.0": "515.43.04",
    "11.6.2": "510.47.03", "11.6.1": "510.47.03", "11.6.0": "510.39.01",
    "11.5.2": "495.29.05", "11.5.1": "495.29.05", "11.5.0": "495.29.05",
    "11.4.4": "470.82.01", "11.4.3": "470.82.01", "11.4.2": "470.57.02", "11.4.1": "470.57.02", "11.4.0": "470.42.01",
    "11.3.1": "465.19.01", "11.3.0": "465.19.01",
    "11.2.2": "460.32.03", "11.2.1": "460.32.03", "11.2.0": "460.27.03",
    "11.1.1": "455.32", "11.1.0": "455.23",
    "11.0.3": "450.51.06", "11.0.2": "450.51.05", "11.0.1": "450.36.06",
    "10.2": "440.33", "10.1": "418.39", "10.0": "410.48",
}  # fmt: skip

# 1.3: branch -> newest native CUDA (grade A*)
BRANCH_CUDA = {
    450: "11.0", 455: "11.1", 460: "11.2", 465: "11.3", 470: "11.4", 495: "11.5", 510: "11.6",
    515: "11.7", 520: "11.8", 525: "12.0", 530: "12.1", 535: "12.2", 545: "12.3", 550: "12.4",
    555: "12.5", 560: "12.6", 570: "12.8", 575: "12.9", 580: "13.0", 590: "13.1", 595: "13.2",
    610: "13.3", 615: "13.4",
}  # fmt: skip

# 1.4 and knowledge-2026-12.md section 1, grade A rows: branch -> (type, end of life)
BRANCH_LIFECYCLE = {
    620: ("lts", "2029-09"), 610: ("new-feature", "2026-08"), 595: ("production", "2027-03"), 580: ("lts", "2028-06"),
    570: ("production", "2026-02"), 535: ("lts", "2026-06"), 460: ("production", "2022-01"),
    450: ("lts", "2023-07"), 440: ("new-feature", "2020-11"), 418: ("lts", "2022-03"),
}  # fmt: skip

# 1.5 (grade A*): package -> cells for 535, 570, 580, 590, 595, 610, 615
FORWARD = {
    "13.4": "CCCCCCN", "13.3": "CCCCCNX", "13.2": "CCCCNXX", "13.1": "CCCNXXX", "13.0": "CCNXXXX",
    "12.9": "CCXXXXX", "12.8": "CNXXXXX", "12.6": "CXXXXXX", "12.5": "CXXXXXX", "12.4": "CXXXXXX",
    "12.3": "CXXXXXX", "12.2": "NXXXXXX",
}  # fmt: skip

# 1.7 (grade A/A*): an NVML/nvidia-smi name -> compute capability
GPU_CC = {
    "Tesla T4": "7.5", "Tesla V100-SXM2-32GB": "7.0", "NVIDIA A100-SXM4-80GB": "8.0", "NVIDIA A100 80GB PCIe": "8.0",
    "NVIDIA A30": "8.0", "NVIDIA A10": "8.6", "NVIDIA A2": "8.6", "NVIDIA A40": "8.6", "NVIDIA A16": "8.6",
    "NVIDIA L4": "8.9", "NVIDIA L40": "8.9", "NVIDIA L40S": "8.9", "NVIDIA H100 80GB HBM3": "9.0",
    "NVIDIA H100 PCIe": "9.0", "NVIDIA H200": "9.0", "NVIDIA GH200 480GB": "9.0", "NVIDIA B200": "10.0",
    "NVIDIA GB200": "10.0", "NVIDIA B300": "10.3", "NVIDIA GB300": "10.3",
    "NVIDIA RTX PRO 6000 Blackwell Server Edition": "12.0", "NVIDIA GeForce RTX 5090": "12.0",
    "NVIDIA GB10": "12.1", "NVIDIA GeForce RTX 4090": "8.9", "NVIDIA GeForce RTX 3090": "8.6",
    "Quadro GV100": "7.0", "NVIDIA TITAN V": "7.0", "Orin (nvgpu)": "8.7", "Xavier": "7.2",
    "Tesla P100-PCIE-16GB": "6.0", "Tesla P40": "6.1", "Tesla P4": "6.1", "Tesla M60": "5.2", "Tesla M40": "5.2",
}  # fmt: skip

# 1.8 (grade A): compute capability -> (first toolkit, last toolkit major, last driver branch)
ARCH_WINDOW = {
    "9.0": ("11.8", None, None), "8.9": ("11.8", None, None), "8.0": ("11.0", None, None),
    "7.5": ("10.0", None, None), "7.0": ("9.0", 12, 580), "6.1": ("8.0", 12, 580), "5.2": ("6.5", 12, 580),
    "3.7": ("6.0", 11, 470), "3.0": ("6.0", 10, 470), "10.0": ("12.8", None, None), "12.0": ("12.8", None, None),
}  # fmt: skip

# tensorrt-compat 1.1 and 1.3 (grade A rows): release -> (CUDA list, cuDNN status, cuDNN version, min CC);
# 8.6's cuDNN is optional per knowledge-2026-12.md section 4 (conflict trt-cudnn-8.6)
TRT = {
    "8.0": (["11.3", "11.2", "11.1", "11.0", "10.2"], "required", "8.2.1", "3.5"),
    "8.2": (["11.5", "11.4", "11.3", "11.2", "11.1", "11.0", "10.2"], "required", "8.2.1", "3.5"),
    "8.4": (["11.7", "11.6", "11.5", "11.4", "11.3", "11.2", "11.1", "11.0", "10.2"], "required", "8.4.1", "3.5"),
    "8.5": (["11.8", "11.7", "11.6", "11.5", "11.4", "11.3", "11.2", "11.1", "11.0", "10.2"], "required", "8.6.0", "3.5"),
    "8.6": (["12.1", "12.0", "11.8", "11.7", "11.6", "11.5", "11.4", "11.3", "11.2", "11.1", "11.0"], "optional", "8.9.0", "5.0"),
    "10.0": (["12.4", "12.3", "12.2", "12.1", "12.0", "11.8"], "optional", "8.9.7", "7.0"),
    "10.1": (["12.4", "12.3", "12.2", "12.1", "12.0", "11.8"], "optional", "8.9.7", "7.0"),
    "10.5": (["12.6", "11.8"], "optional", "8.9", "7.5"),
    "10.6": (["12.6", "12.5", "12.4", "12.3", "12.2", "12.1", "11.8"], "optional", "8.9", "7.5"),
    "10.8": (["12.8", "11.8"], "optional", "8.9", "7.5"),
    "10.16": (["13.2", "12.9"], "optional", None, "7.5"),
    "11.0": (["13.2", "12.9"], "unknown", None, "7.5"),
}  # fmt: skip

# 1.4 (grade A, Triton notes): tag -> (CUDA, printed driver floor)
CONTAINERS = {
    "22.01": ("11.6.0", "510"), "22.05": ("11.7", "515"), "22.09": ("11.8.0", "520"), "22.12": ("11.8.0", "520"),
    "23.03": ("12.1.0", "530"), "23.08": ("12.2.1", "535"), "23.09": ("12.2.1", "535"), "23.12": ("12.3.2", "545"),
    "24.01": ("12.3.2", "545"), "24.05": ("12.4.1", "545"), "24.08": ("12.6", "560"), "25.02": ("12.8.0.38", "560"),
    "25.06": ("12.9.1.010", "575"), "25.08": ("13.0.0.044", "575"),
}  # fmt: skip


def test_every_table_is_well_formed_and_cited() -> None:
    """Each table loads, has https sources with grades, and every row has a grade and a known source."""
    for table in tables.all_tables():
        assert table.sources and table.rows
        for row in table.rows:
            assert row["grade"] in tables.GRADES
            assert table.cite(row).startswith(f"knowledge:{table.name} (https://")


def test_malformed_tables_are_rejected() -> None:
    """A row without a grade, or citing an unknown source, is a KnowledgeError."""
    base = {"table": "t", "title": "t", "sources": {"s": {"url": "https://x", "grade": "A"}}}
    with pytest.raises(tables.KnowledgeError, match="grade"):
        tables.parse_table({**base, "rows": [{"x": 1}]}, "t")
    with pytest.raises(tables.KnowledgeError, match="unknown source"):
        tables.parse_table({**base, "rows": [{"grade": "A", "source": "nope"}]}, "t")
    with pytest.raises(tables.KnowledgeError, match="https"):
        tables.parse_table({**base, "sources": {"s": {"url": "http://x", "grade": "A"}}, "rows": []}, "t")


@pytest.mark.parametrize(("cuda", "linux"), sorted(TOOLKIT_LINUX.items()))
def test_toolkit_minimum_drivers(cuda: str, linux: str) -> None:
    """Each graded toolkit row prints NVIDIA's Linux minimum."""
    floor = cuda_kb.toolkit_floor(cuda)
    assert floor is not None and floor.exact
    assert floor.row["linux"] == linux
    assert floor.grade in ("A", "A*")


def test_conflicting_toolkit_floors_take_the_higher_driver() -> None:
    """12.8 GA and 11.7 Update 1 bundle newer drivers than printed (Q3): the bundled one is the floor."""
    assert cuda_kb.toolkit_floor("12.8.0").floor == "570.86.10"  # type: ignore[union-attr]
    assert cuda_kb.toolkit_floor("11.7.1").floor == "515.65.01"  # type: ignore[union-attr]
    assert cuda_kb.toolkit_floor("13.4").floor == "615.71.09"  # type: ignore[union-attr]  # Q2
    assert tables.table("cuda_toolkits").conflict("Q3") is not None


def test_toolkit_versions_map_to_release_rows() -> None:
    """X.Y means GA (11.0 GA is 11.0.2, 13.4 GA is 13.4.1); an unlisted update takes the newest listed floor."""
    assert cuda_kb.toolkit_floor("12.2").release == "12.2 GA"  # type: ignore[union-attr]
    assert cuda_kb.toolkit_floor("11.0").cuda == "11.0"  # type: ignore[union-attr]
    assert cuda_kb.toolkit_floor("11.0").row["cuda"] == "11.0.2"  # type: ignore[union-attr]
    assert cuda_kb.toolkit_floor("13.4").row["cuda"] == "13.4.1"  # type: ignore[union-attr]
    later = cuda_kb.toolkit_floor("12.4.3")
    assert later is not None and not later.exact and later.floor == "550.54.15"
    assert cuda_kb.toolkit_floor("10.2.89").floor == "440.33"  # type: ignore[union-attr]
    assert cuda_kb.toolkit_floor("14.0") is None


def test_minor_version_compatibility_floors() -> None:
    """MVC: 13.x >= 580, 12.x >= 525.60.13 (Q5: the higher printing), 11.x >= 450.80.02, none before 11."""
    floors = {major: cuda_kb.mvc_family(major) for major in (10, 11, 12, 13)}
    assert floors[10] is None
    assert {m: f.floor for m, f in floors.items() if f} == {11: "450.80.02", 12: "525.60.13", 13: "580"}
    assert len(cuda_kb.mvc_caveats()) == 3


@pytest.mark.parametrize(("branch", "cuda"), sorted(BRANCH_CUDA.items()))
def test_branch_native_cuda(branch: int, cuda: str) -> None:
    """Each branch reports the CUDA version NVIDIA's tables give it."""
    assert cuda_kb.driver_cuda_version(f"{branch}.10.01") == cuda


@pytest.mark.parametrize(("branch", "lifecycle"), sorted(BRANCH_LIFECYCLE.items()))
def test_branch_lifecycle(branch: int, lifecycle: tuple[str, str]) -> None:
    """Type and end-of-life month of each grade-A branch row (R580: June 2028, Q6)."""
    info = cuda_kb.branch_info(f"{branch}.1")
    assert info is not None and (info.type, info.eol) == lifecycle


def test_end_of_life_counts_from_the_first_day_of_the_month() -> None:
    """R535 (June 2026) is supported on 2026-05-31 and past end of life on 2026-06-01; unlisted R590 is past."""
    r535 = cuda_kb.branch_info("535.104.05")
    assert r535 is not None
    assert not r535.is_past_eol(datetime.date(2026, 5, 31)) and r535.is_past_eol(datetime.date(2026, 6, 1))
    assert cuda_kb.branch_info("590.44.01").is_past_eol(datetime.date(2020, 1, 1))  # type: ignore[union-attr]
    supported = [b.branch for b in cuda_kb.supported_branches(datetime.date(2026, 11, 21))]
    assert supported == [620, 595, 580]


@pytest.mark.parametrize(("package", "cells"), sorted(FORWARD.items()))
def test_forward_compatibility_matrix(package: str, cells: str) -> None:
    """Every cell of the current cuda-compat matrix."""
    names = {"C": "C", "X": "X", "N": "N/A"}
    for column, cell in zip((535, 570, 580, 590, 595, 610, 615), cells, strict=True):
        assert cuda_kb.forward_compat(package, column)[0] == names[cell], (package, column)


def test_forward_compatibility_has_no_column_for_end_of_life_branches() -> None:
    """R470 has no column (Q8), and its historical grade-B claim is context only."""
    assert cuda_kb.forward_compat("12.2", 470)[0] is None
    assert cuda_kb.compat_packages("12.2", 470) == []
    assert "Q8" in (cuda_kb.historical_forward_compat("12.2", "470.82.01") or "")
    assert cuda_kb.forward_compat_caveat(590) and cuda_kb.forward_compat_caveat(570)
    assert cuda_kb.forward_compat_caveat(535) is None


@pytest.mark.parametrize(("name", "cc"), sorted(GPU_CC.items()))
def test_gpu_names_map_to_compute_capability(name: str, cc: str) -> None:
    """NVML and nvidia-smi spellings resolve to the product's compute capability."""
    model = gpus_kb.gpu_model(name)
    assert model is not None and model.compute_capability == cc


def test_gpu_products_that_contain_other_names_resolve_to_themselves() -> None:
    """GH200 is not H200, GB200 not B200, L40S not L40; data-center flags follow the product."""
    assert gpus_kb.gpu_model("NVIDIA GH200 480GB").product == "NVIDIA GH200"  # type: ignore[union-attr]
    assert gpus_kb.gpu_model("NVIDIA GB200").product == "NVIDIA GB200"  # type: ignore[union-attr]
    assert gpus_kb.gpu_model("NVIDIA L40S").product == "NVIDIA L40S"  # type: ignore[union-attr]
    assert gpus_kb.gpu_model("Tesla T4").datacenter  # type: ignore[union-attr]
    assert not gpus_kb.gpu_model("NVIDIA GeForce RTX 4090").datacenter  # type: ignore[union-attr]
    assert gpus_kb.gpu_model("NVIDIA A10G").product == "NVIDIA A10G"  # type: ignore[union-attr]  # not A10
    assert gpus_kb.slug("NVIDIA A100-SXM4-80GB") == "nvidia-a100-sxm4-80gb" and gpus_kb.sm("10.3") == "sm103"


def test_every_gpu_row_has_a_class_and_its_examples_resolve_to_it() -> None:
    """Each row names one of the four classes; every example name as printed matches its own row first."""
    for row in tables.table("gpus").rows:
        assert row["class"] in ("datacenter", "workstation", "consumer", "embedded"), row["product"]
        for example in row.get("examples") or []:
            assert gpus_kb.gpu_model(example).product == row["product"]  # type: ignore[union-attr]
    gtx = gpus_kb.gpu_model("NVIDIA GeForce GTX 1080")
    assert gtx is not None and (gtx.compute_capability, gtx.arch, gtx.gpu_class) == ("6.1", "Pascal", "consumer")


def test_the_loader_reads_every_ngc_image_table() -> None:
    """Every bundled ngc_*.yaml loads as one image's table, each row with its release-notes URL."""
    names = tables.ngc_table_names()
    assert "ngc_tensorrt" in names
    for name in names:
        table = tables.table(name)
        assert str(table.section("image")).startswith("nvcr.io/nvidia/")
        assert all(str(row["url"]).startswith("https://") for row in table.rows)
    assert trt_kb.known_images()["nvcr.io/nvidia/tensorrt"] == "ngc_tensorrt"
    dc = trt_kb.container("nvcr.io/nvidia/tensorrt:24.10-py3").dc  # type: ignore[union-attr]
    assert dc == ("470.57", "525.85", "535.86", "545.23")  # Triton 24.10 notes, knowledge-2026-12.md


@pytest.mark.parametrize(("cc", "window"), sorted(ARCH_WINDOW.items()))
def test_architecture_support_window(cc: str, window: tuple[str, int | None, int | None]) -> None:
    """First toolkit, last toolkit major and last driver branch per compute capability."""
    support = cuda_kb.arch_support(cc)
    assert support is not None
    assert (support.first_cuda, support.last_cuda_major, support.last_driver_branch) == window


def test_cuda_majors_drop_architectures() -> None:
    """CUDA 13 needs CC >= 7.5, CUDA 12 >= 5.0, CUDA 11 >= 3.5; sm_86 needs CUDA 11.1 (Q9)."""
    assert {m: cuda_kb.cuda_min_cc(m)[0] for m in (11, 12, 13)} == {11: "3.5", 12: "5.0", 13: "7.5"}  # type: ignore[index]
    assert cuda_kb.arch_support("8.6").first_cuda == "11.1"  # type: ignore[union-attr]


@pytest.mark.parametrize(("release", "expected"), sorted(TRT.items()))
def test_tensorrt_releases(release: str, expected: tuple[list[str], str, str | None, str]) -> None:
    """CUDA list, cuDNN requirement and architecture floor of each grade-A TensorRT row."""
    found = trt_kb.trt_release(release)
    assert found is not None and found.grade == "A"
    assert (list(found.cuda), found.cudnn_status, found.cudnn_version, found.min_cc) == expected


def test_tensorrt_driver_statements() -> None:
    """10.16+ state r535 (CUDA 12) and r580 (CUDA 13); older releases defer to the CUDA family floors."""
    assert trt_kb.trt_release("10.16.0.72").driver_floor(12)[0] == "535"  # type: ignore[union-attr,index]
    assert trt_kb.trt_release("11.4.0.106").driver_floor(13)[0] == "580"  # type: ignore[union-attr,index]
    assert trt_kb.trt_release("8.6.1.6").driver_floor(11)[0] == "450.80.02"  # type: ignore[union-attr,index]
    assert trt_kb.trt_release("8.5.3.1").driver_floor(10)[0] == "440.33"  # type: ignore[union-attr,index]


def test_tensorrt_versions_map_to_release_lines() -> None:
    """Four-part versions find their line; 10.13 patches are separate lines; newer GPUs have a first release."""
    assert trt_kb.trt_release("10.13.3.9").release == "10.13.3"  # type: ignore[union-attr]
    assert trt_kb.trt_release("10.13.1").release == "10.13.0"  # type: ignore[union-attr]
    assert trt_kb.trt_release("10.10.0.31").release == "10.10"  # type: ignore[union-attr]
    assert trt_kb.trt_release("7.2.3") is None
    assert trt_kb.first_release_for_cc("10.0")[0] == "10.8"  # type: ignore[index]
    assert trt_kb.first_release_for_cc("10.7")[0] == "11.3"  # type: ignore[index]
    assert trt_kb.last_release_for_cc("7.0") == "10.4"
    assert trt_kb.last_release_for_cc("3.7") == "8.5"


@pytest.mark.parametrize(("tag", "expected"), sorted(CONTAINERS.items()))
def test_ngc_containers(tag: str, expected: tuple[str, str]) -> None:
    """CUDA and the printed driver floor of each Triton-graded month."""
    box = trt_kb.container(f"nvcr.io/nvidia/tensorrt:{tag}-py3")
    assert box is not None and (box.cuda, box.driver) == expected
    assert box.cite.endswith(f"rel-{tag.replace('.', '-')}.html)") or "inference-release-notes" in box.cite


def test_container_months_known_only_from_user_reports_are_unknown() -> None:
    """TensorRT that only user reports give (23.02, 24.02, 25.01) stays unknown; a month whose notes gave nothing is not known."""
    for tag in ("23.02", "24.02", "25.01"):
        box = trt_kb.container(tag)
        assert box is not None and box.tensorrt is None
    assert not trt_kb.container("23.02").known  # type: ignore[union-attr]  # every field null: only known to exist
    assert trt_kb.container("23.07").tensorrt == "8.6.1.6"  # type: ignore[union-attr]  # the DGL 23.07 sibling
    assert trt_kb.container("23.08").tensorrt is None  # type: ignore[union-attr]  # the OSS tag is another container
    assert trt_kb.container("nvcr.io/nvidia/no-such-image:23.08-py3") is None
    with pytest.raises(trt_kb.BadImage):
        trt_kb.parse_image("tensorrt:latest")


def test_engine_portability_rules_and_outcomes() -> None:
    """Version-compatible plans: same major newer, 8->10 and 10->11 only (11.4 wording); outcomes have actions."""
    assert trt_kb.version_compatible_load("8.6.1.6", "8.6.3")
    assert trt_kb.version_compatible_load("8.6.1.6", "10.3.0.26")
    assert trt_kb.version_compatible_load("10.3.0.26", "11.1.0.106")
    assert not trt_kb.version_compatible_load("8.6.1.6", "11.1.0.106")
    assert not trt_kb.version_compatible_load("10.8.0.43", "10.3.0.26")
    assert not trt_kb.version_compatible_load("8.5.3.1", "8.6.1.6")
    actions = {
        load: trt_kb.engine_outcome(load).action
        for load in ("version-mismatch", "device-mismatch", "no-runtime", "crashed")
    }  # type: ignore[union-attr]
    assert actions == {
        "version-mismatch": "rebuild-engine",
        "device-mismatch": "rebuild-engine",
        "no-runtime": "upgrade",
        "crashed": "investigate",
    }
    rows = {r["id"]: r for r in tables.table("engine_portability").rows}
    assert {
        "exact-version",
        "compute-capability",
        "version-compatible",
        "hardware-ampere-plus",
        "hardware-same-cc",
    } <= set(rows)
    assert all(r["grade"] == "A" for r in rows.values())


def test_every_engine_load_status_has_an_outcome() -> None:
    """Each EngineLoad value the probe can report has a row saying what it means."""
    from auditor.facts.model import EngineLoad

    assert all(trt_kb.engine_outcome(load.value) is not None for load in EngineLoad)


def test_versions_module_handles_driver_branches() -> None:
    """Branch numbers come from the first part of the driver version."""
    assert versions.branch("580.95.05") == 580
