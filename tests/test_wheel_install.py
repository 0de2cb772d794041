"""The package as a user installs it: a wheel built from this tree, installed into a fresh virtual environment.

An editable install reads data files from the source tree, so it cannot notice a wheel that
lacks them (the TUI's stylesheets once went missing that way, and ``pip install .`` crashed on
the first screen). Here the wheel is built without dependencies, installed with its declared
dependencies into a new environment by pip's own resolver (the index pip is configured with:
PyPI in CI, served from pip's cache after ``.ci/run`` installed the same packages), and the
installed ``auditor`` is run from a directory outside the tree: its CLI, a demo audit, and
every screen of the interactive audit (``tests/installed_tui_tour.py``).

About 30 s on the 2-core development machine (build and install 8 s, the CLI and a demo audit
10 s, the tour 11 s), so it always runs.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pty
import shutil
import subprocess
import sys
import threading
import venv
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOUR = Path(__file__).resolve().parent / "installed_tui_tour.py"


@dataclass(frozen=True)
class Installed:
    """A wheel of this tree and a fresh environment it was installed into, with a scratch directory to run in."""

    wheel: Path
    env: Path
    work: Path
    environ: dict[str, str]

    def auditor(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run the installed ``auditor`` script from the scratch directory."""
        return subprocess.run(
            [str(self.env / "bin" / "auditor"), *args],
            cwd=self.work,
            env=self.environ,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )


def build_wheel(dest: Path) -> Path:
    """``pip wheel`` of a clean copy of this tree, without dependencies: built here if possible, else isolated.

    A copy, because setuptools builds in the tree and reuses its ``build/`` directory: a file an
    earlier build copied there would reach the wheel even when pyproject.toml no longer asks for it.
    """
    source = dest / "source"
    source.mkdir(parents=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "auditor", source / "auditor", ignore=shutil.ignore_patterns("__pycache__"))
    command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(dest), str(source)]
    built = None
    if importlib.util.find_spec("setuptools") is not None:  # offline, when this setuptools can build the wheel
        built = subprocess.run([*command, "--no-build-isolation"], capture_output=True, text=True)
    if built is None or built.returncode != 0:
        # pip builds in an isolated environment, fetching setuptools as pip fetches anything.
        built = subprocess.run(command, capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    (wheel,) = dest.glob("auditor-*.whl")
    return wheel


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """The wheel, built once, installed with its dependencies into a new environment that has no pip of its own."""
    base = tmp_path_factory.mktemp("wheel")
    wheel = build_wheel(base / "dist")
    env = base / "env"
    venv.EnvBuilder(with_pip=False).create(env)
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(env / "bin" / "python"), "install", "--quiet", str(wheel)],
        capture_output=True,
        text=True,
    )
    assert install.returncode == 0, install.stderr
    work = base / "work"
    (home := work / "home").mkdir(parents=True)
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "AUDITOR_", "XDG_", "VIRTUAL_ENV"))}
    environ |= {
        "HOME": str(home),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "PATH": f"{env / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    return Installed(wheel, env, work, environ)


def test_the_wheel_carries_every_file_of_the_package(installed: Installed) -> None:
    """Every file under auditor/ in the source tree (modules, stylesheets, YAML, report assets) is in the wheel."""
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    tree = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "auditor").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert tree - names == set()
    assert {"auditor/py.typed", "auditor/knowledge/about.yaml"} <= names


def test_the_installed_cli_answers_and_audits_the_demo(installed: Installed) -> None:
    """The installed script runs: --help, a compat answer from the bundled knowledge, a demo audit with JSON and HTML."""
    helped = installed.auditor("--help")
    assert helped.returncode == 0 and "report" in helped.stdout and "exit codes" in helped.stdout

    compat = installed.auditor("compat", "--driver", "535.104.05", "--gpu", "Tesla T4", "--json")
    assert compat.returncode == 0, compat.stderr
    answer = json.loads(compat.stdout)
    assert answer["mode"] == "native" and answer["knowledge"]["as_of"]

    audit = installed.auditor("report", "--demo", "--format", "json", "--format", "html:demo.html")
    assert audit.returncode == 1, audit.stderr  # the demo has hosts that need action
    report = json.loads(audit.stdout)
    assert report["schema"] == "auditor.report/1" and len(report["hosts"]) >= 20
    assert {host["verdict"] for host in report["hosts"]} >= {"ok", "upgrade", "rollback", "unreachable"}
    page = (installed.work / "demo.html").read_text()
    css = (ROOT / "auditor" / "report" / "report.css").read_text().strip().splitlines()[0]
    assert css in page  # the page inlines the stylesheet the package ships


def test_every_tui_screen_opens_from_the_installed_package(installed: Installed) -> None:
    """`auditor demo` from the installed package, under Pilot: main, detail, help, export, plan and host-key screens."""
    result = installed.work / "tour.json"
    leader, follower = pty.openpty()
    drained: list[bytes] = []

    def drain() -> None:  # whatever reaches the terminal, so a full pty buffer can never block the tour
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                return
            if not chunk:
                return
            drained.append(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        tour = subprocess.run(
            [str(installed.env / "bin" / "python"), str(TOUR), str(result)],
            cwd=installed.work,
            env=installed.environ,
            stdin=follower,
            stdout=follower,
            stderr=subprocess.PIPE,
            text=True,
            timeout=240,
        )
    finally:
        os.close(follower)
        reader.join(timeout=5)
        os.close(leader)
    assert tour.returncode == 0, tour.stderr[-4000:]
    seen = json.loads(result.read_text())
    assert Path(seen["package"]).is_relative_to(installed.env)  # the installed copy, not the source tree
    assert seen["screens"] == {
        "main": "MainScreen",
        "detail": "DetailPane",
        "HelpScreen": "HelpScreen",
        "ExportScreen": "ExportScreen",
        "PlanScreen": "PlanScreen",
        "HostKeyScreen": "HostKeyScreen",
    }
