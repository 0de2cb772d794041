"""Freshness and site knowledge: the as-of date, the site overlay (`--knowledge`, AUDITOR_KNOWLEDGE), `auditor knowledge`."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest

from auditor.__main__ import main
from auditor.errors import InputError
from auditor.findings import Verdict
from auditor.inventory import Host
from auditor.knowledge import gpus as gpus_kb
from auditor.knowledge import overlay, tables
from auditor.knowledge import tensorrt as trt_kb
from auditor.knowledge.answers import GpuSpec, Mode
from auditor.knowledge.compat import cuda_on_gpu
from auditor.knowledge.compat_tensorrt import tensorrt_on
from auditor.knowledge.images import image_on
from auditor.report.model import HostReport, KnowledgeStamp, Report
from auditor.report.writers.csv import render_csv
from auditor.report.writers.html import render_html
from auditor.report.writers.json import render_json
from auditor.report.writers.junit import render_junit
from auditor.report.writers.md import render_md
from auditor.report.writers.prom import render_prom
from auditor.report.writers.table import render_table

SITE_GPU = """\
table: gpu-compute-capability
sources:
  site-inventory: {url: "https://wiki.example.com/gpu-inventory", grade: B, covers: our cloud instances}
rows:
  - {product: NVIDIA CMP 170HX, cc: "8.0", arch: Ampere, class: datacenter, names: ["NVIDIA CMP 170HX"], grade: B, source: site-inventory}
"""
INTERNAL = """\
table: site-infer
image: registry.example.com/ml/infer
sources:
  build: {url: "https://git.example.com/ml/infer/Dockerfile", grade: B, covers: FROM nvcr.io/nvidia/tensorrt:24.10-py3}
rows:
  - {tag: "2.3", tensorrt: "10.5.0.18", cuda: "12.6.2", driver: "560", dc: ["535.86"], min_cc: "7.5", grade: B, source: build}
"""
NEW_MONTH = """\
table: ngc-tensorrt
newest_month: "26.11"
sources:
  notes-26-11: {url: "https://docs.nvidia.com/deeplearning/tensorrt/container-release-notes/rel-26-11.html", grade: A}
rows:
  - {tag: "26.11", url: "https://docs.nvidia.com/deeplearning/tensorrt/container-release-notes/rel-26-11.html", grade: A, source: notes-26-11,
     tensorrt: "11.5.0.20", cuda: "13.5", cudnn: null, driver: "620", dc: [], min_cc: "7.5"}
"""


def write(directory: Path, **files: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / f"{name}.yaml").write_text(text)
    return directory


def test_the_bundled_knowledge_has_one_as_of_date() -> None:
    """about.yaml carries the date up to which the sources were read; every answer can say it."""
    about = tables.about()
    assert about.as_of == datetime.date(2026, 12, 4)
    assert about.site is None and about.line() == "knowledge as of 2026-12-04"
    assert tables.as_of_text() == "knowledge as of 2026-12-04"


def test_every_entry_of_every_table_names_its_source() -> None:
    """Each row (and each graded section entry) cites a source id of its table or an https URL, and has a grade."""
    for table in tables.all_tables():
        entries = [*table.rows]
        for section in ("caveats", "drops", "rules", "newer_gpus", "historical"):
            entries += list(table.section(section) or [])
        for entry in entries:
            assert entry.get("grade") in tables.GRADES, (table.name, entry)
            source, url = entry.get("source"), entry.get("url")
            assert source in table.sources or str(url).startswith("https://"), (table.name, entry)


def test_an_overlay_adds_a_gpu_and_an_internal_image_and_says_where_they_came_from(tmp_path: Path) -> None:
    """Site rows join the bundled tables; answers built on them cite the overlay file and line."""
    site = overlay.load_overlay(write(tmp_path / "k", gpus=SITE_GPU, internal=INTERNAL))
    tables.use_overlay(site)
    model = gpus_kb.gpu_model("NVIDIA CMP 170HX")
    assert model is not None and model.datacenter and model.compute_capability == "8.0"
    assert "site overlay" in model.cite and "gpus.yaml:5" in model.cite
    answer = image_on("registry.example.com/ml/infer:2.3", "535.104.05", GpuSpec("NVIDIA CMP 170HX"))
    assert answer.mode is Mode.FORWARD_COMPAT and "internal.yaml:6" in answer.sources[0]
    assert [(c.action, c.key) for c in site.changes] == [("added", "NVIDIA CMP 170HX"), ("added", "2.3")]
    assert tables.about().line().endswith("(2 rows added, 0 overridden)")
    tables.use_overlay(None)
    assert gpus_kb.gpu_model("NVIDIA CMP 170HX") is None  # nothing memoised survives the switch


def test_compatibility_answers_are_remembered_per_knowledge_and_forgotten_when_it_changes(tmp_path: Path) -> None:
    """The compat answers an audit asks host after host are memoised (``tables.memo``): the same question
    gets the same answer, and switching the overlay on or off forgets them, so none outlives its knowledge."""
    gpu = GpuSpec("NVIDIA CMP 170HX")
    before = cuda_on_gpu("12.4", gpu)
    assert before.mode is Mode.UNKNOWN and cuda_on_gpu("12.4", gpu) is before
    tables.use_overlay(overlay.load_overlay(write(tmp_path / "k", gpus=SITE_GPU)))
    assert cuda_on_gpu("12.4", gpu).mode is not Mode.UNKNOWN
    assert tensorrt_on("10.3.0.26", gpu=gpu).mode is not Mode.UNKNOWN
    tables.use_overlay(None)
    assert cuda_on_gpu("12.4", gpu).mode is Mode.UNKNOWN and tensorrt_on("10.3.0.26", gpu=gpu).mode is Mode.UNKNOWN


def test_an_overlay_row_with_the_same_key_overrides_and_a_new_month_moves_the_horizon(tmp_path: Path) -> None:
    """A 26.11 row and newest_month 26.11 make that month known; the override is listed as such."""
    assert "newer than the knowledge base" in trt_kb.lookup_image("26.11-py3").why
    site = overlay.load_overlay(write(tmp_path / "k", month=NEW_MONTH))
    tables.use_overlay(site)
    box = trt_kb.container("nvcr.io/nvidia/tensorrt:26.11-py3")
    assert box is not None and box.tensorrt == "11.5.0.20" and box.dc == ()
    override = NEW_MONTH.replace('"26.11", url', '"24.10", url').replace('newest_month: "26.11"\n', "")
    site = overlay.load_overlay(write(tmp_path / "k2", month=override))
    assert [(c.action, c.key) for c in site.changes] == [("overrode", "24.10")]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("table: gpu-compute-capabilty\nrows: [{x: 1}]\n", 1, "did you mean 'gpu-compute-capability'"),
        (SITE_GPU.replace("source: site-inventory}", "source: wiki}"), 5, "unknown source 'wiki'"),
        (SITE_GPU.replace("grade: B, source: site-inventory}", "source: site-inventory}"), 5, "needs 'grade'"),
        (SITE_GPU.replace("class: datacenter", "class: cloud"), 5, "'class' must be one of"),
        (SITE_GPU.replace('cc: "8.0"', 'cc: "eight"'), 5, "'cc' must be a version"),
        (SITE_GPU.replace("https://wiki", "http://wiki"), 3, "url must start with https://"),
        (SITE_GPU + "colour: blue\n", 6, "unknown key 'colour'"),
    ],
)
def test_overlay_problems_are_located(tmp_path: Path, text: str, line: int, message: str) -> None:
    """Every problem in an overlay file is an InputError naming the file and line, before anything is judged."""
    directory = write(tmp_path / "k", bad=text)
    with pytest.raises(InputError) as caught:
        overlay.load_overlay(directory)
    problems = [str(p) for p in caught.value.problems]
    assert any(f"bad.yaml:{line}: " in p and message in p for p in problems), problems


def test_compat_takes_the_overlay_from_the_flag_or_the_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """--gpu "NVIDIA CMP 170HX" exits 2 without the overlay; with --knowledge or AUDITOR_KNOWLEDGE it is answered."""
    directory = write(tmp_path / "k", gpus=SITE_GPU)
    assert main(["compat", "--gpu", "NVIDIA CMP 170HX"]) == 2
    assert "closest: 'NVIDIA P100'" in capsys.readouterr().err
    assert main(["compat", "--gpu", "NVIDIA CMP 170HX", "--knowledge", str(directory), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["knowledge"]["overlay"]["directory"] == str(directory)
    monkeypatch.setenv("AUDITOR_KNOWLEDGE", str(directory))
    assert main(["compat", "--gpu", "NVIDIA CMP 170HX"]) == 0
    out = capsys.readouterr().out
    assert "site overlay" in out and out.rstrip().endswith("(1 row added, 0 overridden)")
    assert main(["compat", "--gpu", "8.6", "--knowledge", str(tmp_path / "missing")]) == 2
    assert "no such directory" in capsys.readouterr().err


def test_auditor_knowledge_shows_what_is_known_and_validates_an_overlay(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """As-of date, newest releases, tables, conflicts with both sources; an overlay's changes; exit 2 when invalid."""
    assert main(["knowledge", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["knowledge"] == {"as_of": "2026-12-04", "overlay": None}
    assert summary["newest"]["cuda"] == "13.5" and summary["newest"]["tensorrt"] == "11.5"
    assert summary["newest"]["driver_branch"] == "R620"
    gb300 = next(c for c in summary["conflicts"] if c["id"] == "trt-gb300")
    assert gb300["sources"] == ["sm-10141", "dgx-gb300"]
    assert main(["knowledge", "--knowledge", str(write(tmp_path / "k", gpus=SITE_GPU))]) == 0
    assert "added     gpu-compute-capability: NVIDIA CMP 170HX" in capsys.readouterr().out
    assert main(["knowledge", "--knowledge", str(write(tmp_path / "bad", gpus="table: nope\nrows: []\n"))]) == 2
    assert "unknown table 'nope'" in capsys.readouterr().err


def test_every_report_format_shows_the_as_of_date_and_the_overlay(tmp_path: Path) -> None:
    """JSON, table, Markdown, HTML, JUnit, Prometheus and CSV all carry the knowledge line."""
    tables.use_overlay(overlay.load_overlay(write(tmp_path / "k", gpus=SITE_GPU)))
    report = Report(
        inventory="fleet", policy="p", hosts=(HostReport(Host("gpu-01", "10.0.0.1", groups=()), Verdict.OK),)
    )
    assert isinstance(report.knowledge, KnowledgeStamp) and report.knowledge.overlay == str(tmp_path / "k")
    assert json.loads(render_json(report))["knowledge"]["site_changes"][0].startswith("added gpu-compute-capability")
    for text in (render_table(report, width=400), render_md(report), render_html(report), render_csv(report)):
        assert "knowledge as of 2026-12-04" in text and "site overlay" in text and "(1 entry)" in text
    prom = next(line for line in render_prom(report).splitlines() if line.startswith("auditor_knowledge_as_of"))
    stamp = datetime.datetime(2026, 12, 4, tzinfo=datetime.timezone.utc).timestamp()
    assert float(prom.rsplit(" ", 1)[1]) == stamp and f'overlay="{tmp_path / "k"}"' in prom
    assert '<property name="knowledge" value="knowledge as of 2026-12-04 + site overlay' in render_junit(report)


def test_a_month_the_table_lacks_is_unknown_and_a_skipped_month_says_so(tmp_path: Path) -> None:
    """Months between known ones are never guessed; not_published months are named as skipped by NVIDIA."""
    monthly = """\
table: site-monthly
image: registry.example.com/ml/monthly
newest_month: "26.10"
not_published: [{month: "26.04", note: "no April release"}]
sources:
  notes: {url: "https://wiki.example.com/monthly", grade: B}
rows:
  - {tag: "26.03", cuda: "13.2.0", driver: "580", dc: [], grade: B, source: notes}
  - {tag: "26.05", cuda: "13.2.1", driver: "580", dc: [], grade: B, source: notes}
"""
    tables.use_overlay(overlay.load_overlay(write(tmp_path / "k", monthly=monthly)))
    assert trt_kb.container("registry.example.com/ml/monthly:26.05") is not None
    assert "published no 26.04 release" in trt_kb.lookup_image("registry.example.com/ml/monthly:26.04").why
    assert "never guessed" in trt_kb.lookup_image("registry.example.com/ml/monthly:26.06").why
    assert "newer than the knowledge base" in trt_kb.lookup_image("registry.example.com/ml/monthly:26.11").why


def test_an_audit_with_a_site_overlay_judges_its_images_and_states_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Over real SSH: a CMP 170HX host (named only by the overlay) running an internal image the overlay describes."""
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(
        """\
schema: auditor.fleet/1
hosts:
  g5-01:
    gpus: [{model: "NVIDIA CMP 170HX", count: 1}]
    driver: "535.104.05"
    containers:
      running: [{name: infer, image: "registry.example.com/ml/infer:2.3"}]
"""
    )
    directory = write(tmp_path / "k", gpus=SITE_GPU, internal=INTERNAL)
    args = ["report", "--simulate", str(fleet), "--format", "json", "--no-history", "--as-of", "2026-12-04"]
    assert main(args) == 2  # the fleet names a GPU the bundled knowledge does not know: located input error
    assert "NVIDIA CMP 170HX" in capsys.readouterr().err
    assert main([*args, "--knowledge", str(directory), "--probe-timeout", "60"]) in (0, 1)
    document = json.loads(capsys.readouterr().out)
    assert document["knowledge"]["overlay"] == str(directory)
    assert len(document["knowledge"]["site_changes"]) == 2
    host = document["hosts"][0]
    container = next(f for f in host["findings"] if f["rule"] == "containers.image")
    assert "forward compatibility" in container["message"] and "site overlay" in container["source"]
