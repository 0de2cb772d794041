"""The probe starts ``python3 -S``; the host's site initialization runs in its fork server, and the facts stay those of a ``python3`` with its site.

A user site directory (``PYTHONUSERBASE``) with a ``.pth`` file stands in for a host's
site-packages: its path line adds a directory holding a TensorRT module and its
dist-info, its import line leaves a mark only a process that ran it can see (the module's version
says whether the process importing it saw the mark). The probe
must find the module (the probe's own search of the site directories), import it (a child
forked from the server) and list the distribution, exactly as the same program started
without ``-S`` does, forked or spawned.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from auditor.probe.program import BOOTSTRAP, interpreter_args, probe_args, probe_source, run_local
from auditor.probe.request import encode_request
from tests.probe.test_forkserver import SPAWNING, without_timings

BASE_PYTHON = sys._base_executable  # a venv's interpreter has no user site; its base has
VERSION = "10.3.0.26"


@pytest.fixture()
def user_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user base whose site-packages holds one ``.pth``: a path line to ``extra/``, an import line."""
    base = tmp_path / "userbase"
    site = base / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
    extra = tmp_path / "extra"
    (extra / "tensorrt").mkdir(parents=True)
    (extra / "tensorrt" / "__init__.py").write_text(
        f'import os\n__version__ = "{VERSION}" if os.environ.get("AUDITOR_TEST_PTH") == "ran" else "no .pth ran"\n'
    )
    (extra / f"tensorrt-{VERSION}.dist-info").mkdir()
    (extra / f"tensorrt-{VERSION}.dist-info" / "METADATA").write_text(f"Name: tensorrt\nVersion: {VERSION}\n")
    site.mkdir(parents=True)
    (site / "auditor-test.pth").write_text(f"{extra}\nimport os; os.environ['AUDITOR_TEST_PTH'] = 'ran'\n")
    monkeypatch.setenv("PYTHONUSERBASE", str(base))
    monkeypatch.delenv("PYTHONNOUSERSITE", raising=False)
    return extra


def probe(program: bytes | None = None, site: bool = False) -> dict[str, Any]:
    """The probe of this machine run by the base interpreter: as the controller starts it, or ``site`` initialized first."""
    if site:  # as every probe started before -S
        argv = [BASE_PYTHON, "-c", BOOTSTRAP, *probe_args(encode_request())]
        result = subprocess.run(argv, input=program or probe_source(), capture_output=True, timeout=120, check=False)
    else:
        result = run_local(python=BASE_PYTHON, program=program)
    assert result.returncode == 0, result.stderr.decode()
    return json.loads(result.stdout)


def test_the_controller_starts_the_probe_without_site() -> None:
    assert interpreter_args("x")[:2] == ["-S", "-c"]


def test_a_pth_directory_is_searched_imported_and_listed(user_site: Path) -> None:
    """The module a ``.pth`` path line adds is found, imported in a forked child that ran the ``.pth``, and its wheel listed."""
    doc = probe()
    modules = [m for m in doc["tensorrt"]["modules"] if m["module"] == "tensorrt"]
    assert modules, doc["tensorrt"]
    (module,) = modules
    assert (module["version"], module["error"]) == (VERSION, None)  # imported where the .pth ran
    assert doc["tensorrt"]["version"] == VERSION
    listed = [p for p in doc["tensorrt"]["packages"] if p["manager"] == "pip"]  # its dist-info is only in extra/
    assert listed == [{"manager": "pip", "name": "tensorrt", "version": VERSION}], doc["tensorrt"]["packages"]


def test_the_facts_equal_those_of_a_probe_started_with_site(user_site: Path) -> None:
    """``-S`` changes when the site is initialized and by which process, not one fact: forked or spawned."""
    with_site = without_timings(probe(site=True))
    assert without_timings(probe()) == with_site
    assert without_timings(probe(program=SPAWNING + probe_source())) == with_site  # no fork: site.main() in the probe
