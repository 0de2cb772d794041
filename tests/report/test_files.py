"""Report files are replaced atomically with sane permissions, and --format specs are parsed strictly."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from auditor.errors import InputError, ReportWriteError
from auditor.report.files import check_writable, write_atomic
from auditor.report.formats import OutputSpec, check_specs, parse_spec
from tests.support.reports import report


def test_replacement_is_atomic_for_a_reader_holding_the_old_file(tmp_path: Path) -> None:
    """A reader that opened the old report keeps reading it whole; new opens see the new one (rename, not rewrite)."""
    target = tmp_path / "audit.prom"
    write_atomic(target, "old\n" * 1000)
    with open(target) as reader:
        write_atomic(target, "new\n")
        assert reader.read() == "old\n" * 1000
    assert target.read_text() == "new\n"
    assert [p.name for p in tmp_path.iterdir()] == ["audit.prom"]  # no temporary file left


def test_new_files_get_umask_permissions_and_existing_files_keep_theirs(tmp_path: Path) -> None:
    """Not mkstemp's 0600 (node_exporter must read the file); an existing file's mode is kept."""
    old = os.umask(0o022)
    try:
        fresh = tmp_path / "fresh.prom"
        write_atomic(fresh, "x\n")
        assert fresh.stat().st_mode & 0o777 == 0o644
        kept = tmp_path / "kept.json"
        kept.write_text("{}")
        kept.chmod(0o640)
        write_atomic(kept, "[]\n")
        assert kept.stat().st_mode & 0o777 == 0o640 and kept.read_text() == "[]\n"
    finally:
        os.umask(old)


def test_a_failed_write_raises_and_leaves_the_old_file_and_no_debris(tmp_path: Path) -> None:
    """Writing over a directory fails with ReportWriteError; the directory and its neighbours are untouched."""
    blocker = tmp_path / "report.json"
    blocker.mkdir()
    (tmp_path / "other.md").write_text("keep")
    with pytest.raises(ReportWriteError, match=r"cannot write .*report\.json"):
        write_atomic(blocker, "{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.md", "report.json"] and blocker.is_dir()
    with pytest.raises(ReportWriteError, match="No such file or directory"):
        write_atomic(tmp_path / "missing" / "r.json", "{}")


def test_check_writable_names_the_problem(tmp_path: Path) -> None:
    """A missing directory or a directory in the way is found before the audit starts."""
    assert check_writable(tmp_path / "r.json") is None
    assert "does not exist" in (check_writable(tmp_path / "nope" / "r.json") or "")
    (tmp_path / "d").mkdir()
    assert "is a directory" in (check_writable(tmp_path / "d") or "")


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("json", OutputSpec("json")),
        ("JUNIT:out/r.xml", OutputSpec("junit", "out/r.xml")),
        ("html:-", OutputSpec("html")),
        (
            "prom:/var/lib/node_exporter/textfile/auditor.prom",
            OutputSpec("prom", "/var/lib/node_exporter/textfile/auditor.prom"),
        ),
        ("md:notes:v2.md", OutputSpec("md", "notes:v2.md")),
    ],
)
def test_format_specs_parse(text: str, spec: OutputSpec) -> None:
    """FMT[:PATH]: case-insensitive format, '-' for stdout, the first colon splits."""
    assert parse_spec(text) == spec


@pytest.mark.parametrize(
    ("text", "message"),
    [("xml", "unknown format 'xml' (choose from table, json, md, html, junit, prom, csv, k8s-labels, ansible-inventory)"),
     ("htlm:r.html", "did you mean 'html'?"),
     ("json:", "empty path after ':'")],
)  # fmt: skip
def test_bad_format_specs_say_what_to_do(text: str, message: str) -> None:
    """Unknown formats get a did-you-mean or the list of formats."""
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_spec(text)


def test_at_most_one_stdout_and_no_path_twice() -> None:
    """Two formats without a path, or one file named twice, are refused."""
    check_specs([OutputSpec("table"), OutputSpec("json", "r.json")])
    with pytest.raises(InputError, match="only one format may go to stdout"):
        check_specs([OutputSpec("table"), OutputSpec("json")])
    with pytest.raises(InputError, match=r"r\.json named more than once"):
        check_specs([OutputSpec("md", "r.json"), OutputSpec("json", "r.json")])


def test_path_placeholders_name_the_run() -> None:
    """{timestamp} and {inventory} make one file per run and inventory."""
    spec = OutputSpec("json", "reports/{inventory}-{timestamp}.json")
    assert spec.resolve(report()) == "reports/inv-20261121T060000Z.json"
