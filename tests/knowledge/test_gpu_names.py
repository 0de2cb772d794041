"""GPU names as nvidia-smi prints them -> product, compute capability, class (auditor/knowledge/gpus.yaml).

The table is read with yaml and matched with fnmatch directly, not through the auditor's
loader, so these tests pin the table's own contract (the issue-17 schema): valid values, the
first-match order, and the printed names below. The expected answers are retyped from
docs/research/gpu-names.md (NVIDIA's CUDA GPU lists and driver name table), not read from the table.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any

import pytest
import yaml

from tests.support.paths import ROOT

TABLE = ROOT / "auditor" / "knowledge" / "gpus.yaml"
GRADES = {"A", "A*", "B", "C"}
CLASSES = {"datacenter", "workstation", "consumer", "embedded"}
# Compute capabilities per architecture on NVIDIA's CUDA GPU lists (current and legacy).
ARCH_CCS = {
    "Kepler": {"3.0", "3.2", "3.5", "3.7"},
    "Maxwell": {"5.0", "5.2", "5.3"},
    "Pascal": {"6.0", "6.1", "6.2"},
    "Volta": {"7.0", "7.2"},
    "Turing": {"7.5"},
    "Ampere": {"8.0", "8.6", "8.7"},
    "Ada": {"8.9"},
    "Hopper": {"9.0"},
    "Blackwell": {"10.0", "10.3", "11.0", "12.0", "12.1"},
}
ROW_KEYS = {"product", "cc", "arch", "class", "names", "examples", "source", "url", "grade", "note"}

# Printed name -> (product row, compute capability, class). Names are NVIDIA's driver name table
# spellings (names-595 / names-580 / supported-gpus) or nvidia-smi/deviceQuery transcripts.
PRINTED: dict[str, tuple[str, str, str]] = {
    # data center
    "NVIDIA B200": ("NVIDIA B200", "10.0", "datacenter"),
    "NVIDIA GB200": ("NVIDIA GB200", "10.0", "datacenter"),
    "NVIDIA HGX GB200": ("NVIDIA GB200", "10.0", "datacenter"),
    "NVIDIA B300 SXM6 AC": ("NVIDIA B300", "10.3", "datacenter"),
    "NVIDIA GB300": ("NVIDIA GB300", "10.3", "datacenter"),
    "NVIDIA RTX PRO 6000 Blackwell Server Edition": (
        "NVIDIA RTX PRO 6000 Blackwell Server Edition",
        "12.0",
        "datacenter",
    ),
    "NVIDIA RTX PRO 4500 Blackwell Server Edition": (
        "NVIDIA RTX PRO 4500 Blackwell Server Edition",
        "12.0",
        "datacenter",
    ),
    "NVIDIA GH200 480GB": ("NVIDIA GH200", "9.0", "datacenter"),
    "GH200 480GB": ("NVIDIA GH200", "9.0", "datacenter"),
    "NVIDIA H200": ("NVIDIA H200", "9.0", "datacenter"),
    "NVIDIA H200 NVL": ("NVIDIA H200", "9.0", "datacenter"),
    "NVIDIA H100 80GB HBM3": ("NVIDIA H100", "9.0", "datacenter"),
    "NVIDIA H100 PCIe": ("NVIDIA H100", "9.0", "datacenter"),
    "NVIDIA H100 NVL": ("NVIDIA H100", "9.0", "datacenter"),
    "NVIDIA H100": ("NVIDIA H100", "9.0", "datacenter"),
    "NVIDIA H800": ("NVIDIA H800", "9.0", "datacenter"),
    "NVIDIA H800 PCIe": ("NVIDIA H800", "9.0", "datacenter"),
    "NVIDIA H20": ("NVIDIA H20", "9.0", "datacenter"),
    "NVIDIA H20-3e": ("NVIDIA H20", "9.0", "datacenter"),
    "NVIDIA L40S": ("NVIDIA L40S", "8.9", "datacenter"),
    "NVIDIA L40": ("NVIDIA L40", "8.9", "datacenter"),
    "NVIDIA L4": ("NVIDIA L4", "8.9", "datacenter"),
    "NVIDIA L20": ("NVIDIA L20", "8.9", "datacenter"),
    "NVIDIA L2": ("NVIDIA L2", "8.9", "datacenter"),
    "NVIDIA A800-SXM4-80GB": ("NVIDIA A800", "8.0", "datacenter"),
    "NVIDIA A800 40GB Active": ("NVIDIA A800 40GB Active", "8.0", "workstation"),
    "NVIDIA A100-SXM4-40GB": ("NVIDIA A100", "8.0", "datacenter"),
    "NVIDIA A100-SXM4-80GB": ("NVIDIA A100", "8.0", "datacenter"),
    "NVIDIA A100 80GB PCIe": ("NVIDIA A100", "8.0", "datacenter"),
    "NVIDIA A100-PCIE-40GB": ("NVIDIA A100", "8.0", "datacenter"),
    "A100-SXM4-40GB": ("NVIDIA A100", "8.0", "datacenter"),
    "NVIDIA A30": ("NVIDIA A30", "8.0", "datacenter"),
    "NVIDIA A10G": ("NVIDIA A10G", "8.6", "datacenter"),
    "NVIDIA A10": ("NVIDIA A10", "8.6", "datacenter"),
    "NVIDIA A40": ("NVIDIA A40", "8.6", "datacenter"),
    "NVIDIA A16": ("NVIDIA A16", "8.6", "datacenter"),
    "NVIDIA A2": ("NVIDIA A2", "8.6", "datacenter"),
    "NVIDIA T4G": ("NVIDIA T4G", "7.5", "datacenter"),
    "Tesla T4": ("NVIDIA T4", "7.5", "datacenter"),
    "Tesla V100-SXM2-32GB": ("NVIDIA V100", "7.0", "datacenter"),
    "Tesla V100S-PCIE-32GB": ("NVIDIA V100", "7.0", "datacenter"),
    "Tesla P100-PCIE-16GB": ("Tesla P100", "6.0", "datacenter"),
    "Tesla P40": ("Tesla P40", "6.1", "datacenter"),
    "Tesla P4": ("Tesla P4", "6.1", "datacenter"),
    "Tesla M60": ("Tesla M60", "5.2", "datacenter"),
    "Tesla M40 24GB": ("Tesla M40", "5.2", "datacenter"),
    "Tesla K80": ("Tesla K80", "3.7", "datacenter"),
    "Tesla K40m": ("Tesla K40 / K20", "3.5", "datacenter"),
    # workstation
    "NVIDIA GB10": ("NVIDIA GB10 (DGX Spark)", "12.1", "workstation"),
    "NVIDIA RTX PRO 6000 Blackwell Workstation Edition": (
        "NVIDIA RTX PRO Blackwell (workstation)",
        "12.0",
        "workstation",
    ),
    "NVIDIA RTX PRO 6000 Blackwell Max-Q Workstation Edition": (
        "NVIDIA RTX PRO Blackwell (workstation)",
        "12.0",
        "workstation",
    ),
    "NVIDIA RTX PRO 5000 72GB Blackwell": (
        "NVIDIA RTX PRO Blackwell (laptop, embedded, other boards)",
        "12.0",
        "workstation",
    ),
    "NVIDIA RTX 6000 Ada Generation": ("NVIDIA RTX Ada Generation (workstation)", "8.9", "workstation"),
    "NVIDIA RTX 4000 SFF Ada Generation": ("NVIDIA RTX Ada Generation (workstation)", "8.9", "workstation"),
    "NVIDIA RTX 5880 Ada Generation": (
        "NVIDIA RTX Ada Generation (laptop, embedded, other boards)",
        "8.9",
        "workstation",
    ),
    "NVIDIA RTX A6000": ("NVIDIA RTX A-series (workstation)", "8.6", "workstation"),
    "NVIDIA RTX A4000": ("NVIDIA RTX A-series (workstation)", "8.6", "workstation"),
    "NVIDIA RTX A5500": ("NVIDIA RTX A-series (other boards, laptop, embedded)", "8.6", "workstation"),
    "Quadro RTX 8000": ("Quadro RTX / NVIDIA T-series (Turing)", "7.5", "workstation"),
    "Quadro RTX 6000": ("Quadro RTX / NVIDIA T-series (Turing)", "7.5", "workstation"),
    "NVIDIA T1000": ("Quadro RTX / NVIDIA T-series (Turing)", "7.5", "workstation"),
    "NVIDIA T400 4GB": ("Quadro T1000 / NVIDIA T-series variants (Turing)", "7.5", "workstation"),
    "Quadro GV100": ("Quadro GV100", "7.0", "workstation"),
    "Quadro P4000": ("Quadro P-series (Pascal)", "6.1", "workstation"),
    "Quadro M6000 24GB": ("Quadro M-series / Kxx00 (Maxwell GM20x)", "5.2", "workstation"),
    "Quadro M5000M": ("Quadro Maxwell GM10x (K2200 .. M500M)", "5.0", "workstation"),
    "Quadro K6000": ("Quadro Kepler GK110 (K6000, K5200, K610M, K510M)", "3.5", "workstation"),
    # consumer
    "NVIDIA GeForce RTX 5090": ("GeForce RTX 50 series (desktop)", "12.0", "consumer"),
    "NVIDIA GeForce RTX 5090 D": ("GeForce RTX 5090 D", "12.0", "consumer"),
    "NVIDIA GeForce RTX 5080 Laptop GPU": ("GeForce RTX 50 series (laptop)", "12.0", "consumer"),
    "NVIDIA GeForce RTX 4090": ("GeForce RTX 40 series (desktop)", "8.9", "consumer"),
    "NVIDIA GeForce RTX 4090 D": ("GeForce RTX 4090 D", "8.9", "consumer"),
    "NVIDIA GeForce RTX 4090 Laptop GPU": ("GeForce RTX 40 series (SUPER, laptop)", "8.9", "consumer"),
    "NVIDIA GeForce RTX 4080 SUPER": ("GeForce RTX 40 series (SUPER, laptop)", "8.9", "consumer"),
    "NVIDIA GeForce RTX 3050 A Laptop GPU": ("GeForce RTX 3050 A Laptop GPU", "8.9", "consumer"),
    "NVIDIA GeForce RTX 3090": ("GeForce RTX 30 series", "8.6", "consumer"),
    "NVIDIA GeForce RTX 3060": ("GeForce RTX 3060 / RTX 3050", "8.6", "consumer"),
    "NVIDIA GeForce RTX 3080 Laptop GPU": ("GeForce RTX 30 series (laptop, OEM, memory variants)", "8.6", "consumer"),
    "NVIDIA GeForce RTX 2050": ("GeForce RTX 2050", "8.6", "consumer"),
    "NVIDIA GeForce RTX 2080 Ti": ("GeForce RTX 20 series", "7.5", "consumer"),
    "NVIDIA GeForce RTX 2070 SUPER": ("GeForce RTX 20 series (SUPER, laptop, 12GB)", "7.5", "consumer"),
    "NVIDIA TITAN RTX": ("NVIDIA TITAN RTX", "7.5", "consumer"),
    "NVIDIA GeForce GTX 1650 Ti": ("GeForce GTX 1650 Ti", "7.5", "consumer"),
    "NVIDIA GeForce GTX 1660 SUPER": ("GeForce GTX 16 series", "7.5", "consumer"),
    "NVIDIA TITAN V": ("NVIDIA TITAN V", "7.0", "consumer"),
    "NVIDIA TITAN Xp": ("NVIDIA TITAN Xp", "6.1", "consumer"),
    "NVIDIA TITAN X (Pascal)": ("NVIDIA TITAN X (Pascal)", "6.1", "consumer"),
    "NVIDIA GeForce GTX 1080": ("GeForce GTX 10 series", "6.1", "consumer"),
    "GeForce GTX 1080": ("GeForce GTX 10 series", "6.1", "consumer"),
    "NVIDIA GeForce GTX 1060 6GB": ("GeForce GTX 10 series", "6.1", "consumer"),
    "GeForce GTX 1060 6GB": ("GeForce GTX 10 series", "6.1", "consumer"),
    "NVIDIA GeForce GTX 1050 Ti": ("GeForce GTX 10 series (Ti, Max-Q) / GT 1030", "6.1", "consumer"),
    "NVIDIA GeForce GTX TITAN X": ("GeForce GTX TITAN X (Maxwell)", "5.2", "consumer"),
    "NVIDIA GeForce GTX 980 Ti": ("GeForce GTX 900 series (GM20x)", "5.2", "consumer"),
    "NVIDIA GeForce GTX 750 Ti": ("GeForce GTX 750 / 900M / 800M (GM10x)", "5.0", "consumer"),
    "GeForce GTX 780 Ti": ("GeForce GTX TITAN / 780 (GK110), GT 720, 920M", "3.5", "consumer"),
    "GeForce GTX 680": ("GeForce GTX 600/700 (GK10x) desktop and notebook", "3.0", "consumer"),
    # embedded
    "NVIDIA Thor": ("Jetson T5000 / T4000 (Thor)", "11.0", "embedded"),
    "Orin (nvgpu)": ("Jetson AGX Orin / Orin NX / Orin Nano", "8.7", "embedded"),
    "Xavier": ("Jetson AGX Xavier / Xavier NX", "7.2", "embedded"),
    "NVIDIA Tegra X2": ("Jetson TX2", "6.2", "embedded"),
    "NVIDIA Tegra X1": ("Jetson Nano / TX1", "5.3", "embedded"),
}

# Names that must stay unknown: vGPU guest profiles (no source for their forward compatibility),
# names NVIDIA prints for two chips, conflicts left open, and parts no source covers.
UNKNOWN = [
    "GRID T4-16Q",
    "GRID A100-40C",
    "GRID V100-16Q",
    "NVIDIA A10-24Q",
    "NVIDIA A10G-24Q",
    "NVIDIA H100-80C",
    "NVIDIA H100XM-1-10C",
    "NVIDIA H20-96C",
    "NVIDIA H200-141C",
    "NVIDIA GH200-96C",
    "NVIDIA L40S-48Q",
    "NVIDIA L4-24Q",
    "NVIDIA RTX6000-Ada-24Q",
    "NVIDIA RTXA6000-48Q",
    "NVIDIA RTX Pro 6000 Blackwell DC-4-96Q",
    "NVIDIA RTX 6000D-84Q",
    "NVIDIA GeForce GPU",
    "GeForce GT 730",
    "GeForce GT 640",
    "GeForce GT 705",
    "NVIDIA GeForce GTX 860M",
    "GeForce 910M",
    "Quadro K2200M",
    "NVIDIA CMP 50HX",
    "NVIDIA DRIVE P2021",
    "AMD Instinct MI300X OAM",
    "NVIDIA",
    "Tesla",
]


def load() -> dict[str, Any]:
    """The table as YAML data."""
    data = yaml.safe_load(TABLE.read_text("utf-8"))
    assert isinstance(data, dict)
    return data


DATA = load()
ROWS: list[dict[str, Any]] = DATA["rows"]


def matches(row: dict[str, Any], name: str) -> bool:
    """Whether one row's patterns take a printed name (case-insensitive, whitespace runs collapsed)."""
    lowered = " ".join(name.split()).lower()
    return any(fnmatch.fnmatchcase(lowered, str(pattern).lower()) for pattern in row["names"])


def matching(name: str) -> list[int]:
    """Indexes of every row that takes the name, in table order."""
    return [index for index, row in enumerate(ROWS) if matches(row, name)]


def resolve(name: str) -> dict[str, Any] | None:
    """The first row that takes the name, as the auditor resolves it."""
    found = matching(name)
    return ROWS[found[0]] if found else None


def test_table_has_the_agreed_top_level_shape() -> None:
    """The table names itself, has a title, cites https sources with a grade, and has rows."""
    assert DATA["table"] == "gpu-compute-capability"
    assert DATA["title"]
    assert set(DATA) <= {"table", "title", "sources", "conflicts", "rows"}
    for source_id, source in DATA["sources"].items():
        assert str(source["url"]).startswith("https://"), source_id
        assert source["grade"] in GRADES, source_id
        assert str(source.get("covers", "")).strip(), source_id
    assert len(ROWS) >= 80


@pytest.mark.parametrize("row", ROWS, ids=[str(row.get("product")) for row in ROWS])
def test_row_values_are_valid_and_cited(row: dict[str, Any]) -> None:
    """Each row has a known class and architecture, a CC of that architecture, and a citable source."""
    assert set(row) <= ROW_KEYS, set(row) - ROW_KEYS
    assert row["class"] in CLASSES
    assert row["arch"] in ARCH_CCS
    assert row["grade"] in GRADES
    if row["grade"] == "C":
        assert row["cc"] is None, "a user report never supplies a value"
    else:
        assert isinstance(row["cc"], str) and re.fullmatch(r"\d+\.\d", row["cc"]), row["cc"]
        assert row["cc"] in ARCH_CCS[row["arch"]]
    assert "source" in row or "url" in row
    if "source" in row:
        assert row["source"] in DATA["sources"]
        assert DATA["sources"][row["source"]]["grade"] != "C", "a grade-C source cannot carry a row's values"
    if "url" in row:
        assert str(row["url"]).startswith("https://")
    assert row["names"] and all(isinstance(p, str) and p.strip() for p in row["names"])
    assert all(isinstance(e, str) and e for e in row.get("examples") or [])


def test_products_are_unique() -> None:
    """No two rows claim the same product label."""
    products = [row["product"] for row in ROWS]
    assert len(products) == len(set(products))


def test_conflicts_name_their_sources() -> None:
    """Every conflict says what disagrees, which answer the table takes, and cites known sources or URLs."""
    ids = set()
    for conflict in DATA["conflicts"]:
        assert conflict["id"] not in ids
        ids.add(conflict["id"])
        assert str(conflict["about"]).strip() and str(conflict["choice"]).strip()
        assert conflict["sources"]
        for source in conflict["sources"]:
            assert source in DATA["sources"] or str(source).startswith("https://"), source


EXAMPLES = [(index, example) for index, row in enumerate(ROWS) for example in row.get("examples") or []]


@pytest.mark.parametrize(("index", "example"), EXAMPLES, ids=[example for _, example in EXAMPLES])
def test_each_example_matches_its_own_row_and_no_other(index: int, example: str) -> None:
    """A printed example resolves to the row that lists it, and no pattern meant for another product takes it."""
    assert matching(example) == [index], [ROWS[i]["product"] for i in matching(example)]


@pytest.mark.parametrize(("name", "expected"), sorted(PRINTED.items()))
def test_printed_names_map_to_product_cc_and_class(name: str, expected: tuple[str, str, str]) -> None:
    """Names as nvidia-smi prints them (with and without the NVIDIA prefix) map to the right product."""
    row = resolve(name)
    assert row is not None, name
    assert (row["product"], row["cc"], row["class"]) == expected


@pytest.mark.parametrize("name", sorted(PRINTED))
def test_no_pattern_for_another_product_takes_a_printed_name(name: str) -> None:
    """Exactly one row takes each printed name ("NVIDIA A10*" style patterns never catch an A100)."""
    assert len(matching(name)) == 1, [ROWS[i]["product"] for i in matching(name)]


def test_representative_list_is_broad() -> None:
    """The printed-name list covers every class and at least sixty names."""
    assert len(PRINTED) >= 60
    assert {cls for _, _, cls in PRINTED.values()} == CLASSES


def test_matching_ignores_case_and_whitespace_runs() -> None:
    """nvidia-smi output pasted with other spacing or case still resolves."""
    row = resolve("  nvidia   GEFORCE rtx 4090 ")
    assert row is not None and row["product"] == "GeForce RTX 40 series (desktop)"


@pytest.mark.parametrize("name", UNKNOWN)
def test_vgpu_profiles_and_ambiguous_names_stay_unknown(name: str) -> None:
    """vGPU guest profiles, names NVIDIA prints for two chips, and unsourced parts resolve to no row."""
    assert resolve(name) is None, resolve(name)


def test_specific_rows_come_before_the_rows_they_overlap() -> None:
    """The order the header promises: GH200 before H200, A10G before A10, 3050 A Laptop before the 30 series."""
    order = [row["product"] for row in ROWS]
    assert order.index("NVIDIA GH200") < order.index("NVIDIA H200")
    assert order.index("NVIDIA A10G") < order.index("NVIDIA A10")
    assert order.index("NVIDIA A800 40GB Active") < order.index("NVIDIA A800")
    assert order.index("GeForce RTX 3050 A Laptop GPU") < order.index("GeForce RTX 3060 / RTX 3050")
    assert order.index("GeForce RTX 2050") < order.index("GeForce RTX 20 series")


def test_forward_compatibility_classes() -> None:
    """Data-center parts (incl. cloud and China-market ones) are class datacenter; GeForce and TITAN are not."""
    for name in ("NVIDIA A10G", "NVIDIA T4G", "NVIDIA H20", "NVIDIA H800", "NVIDIA L20", "NVIDIA A800-SXM4-80GB"):
        assert resolve(name)["class"] == "datacenter", name  # type: ignore[index]
    for name in ("NVIDIA GeForce RTX 4090 D", "NVIDIA GeForce RTX 5090", "NVIDIA TITAN RTX"):
        assert resolve(name)["class"] == "consumer", name  # type: ignore[index]
    for name in ("Orin (nvgpu)", "NVIDIA Thor"):
        assert resolve(name)["class"] == "embedded", name  # type: ignore[index]


def test_the_literal_prefix_shortcut_answers_as_fnmatch_does() -> None:
    """``gpu_model`` skips a pattern whose text before its first wildcard the name does not start with;
    for every pattern of the table against every example, printed name and a few near misses, the
    answer is fnmatch's own."""
    from auditor.knowledge.gpus import _matches

    patterns = [str(pattern).lower() for row in ROWS for pattern in row["names"]] + ["a[bc]d*", "?x*", "*", ""]
    names = [" ".join(str(n).split()).lower() for n in [*(e for _, e in EXAMPLES), *PRINTED]]
    names += [name[:cut] for name in names[:40] for cut in (0, 3, 8)] + ["abd", "acdz", "zx", "x"]
    for pattern in patterns:
        for name in names:
            assert _matches(name, pattern) == fnmatch.fnmatchcase(name, pattern), (name, pattern)
