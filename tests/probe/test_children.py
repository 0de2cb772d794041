"""The probe's child programs run as the probe runs them (``python3 -c``), and its assembly keeps every source line."""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.probe.program import ON_DEMAND, AssemblyError, child_sources, modules, probe_source, read_module
from auditor.probe.remote import child
from auditor.simulate import standin_pynvml

REMOTE = Path(child.__file__).parent


def run_child(name: str, *args: str, env: dict[str, str] | None = None) -> dict:
    """Run child ``name`` the way the probe does and return the JSON object it printed."""
    done = subprocess.run(
        [sys.executable, "-c", child.child_code(name), *args], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_module_import_child_names_the_module_or_the_error() -> None:
    """module_import prints an importable module's version and file, and a failing import's error."""
    found = run_child("module_import", "json")
    assert found["version"] == json.__version__ and found["file"].endswith("json/__init__.py")
    missing = run_child("module_import", "no_such_module_here")
    assert missing == {"error": "ModuleNotFoundError: No module named 'no_such_module_here'"}


STUB_LIBRARY = """
int getInferLibVersion(void) { return 100300; }
int getInferLibBuildVersion(void) { return 26; }
unsigned long cudnnGetVersion(void) { return 90300; }
"""


def test_libversion_child_reads_versions_from_a_real_shared_library(tmp_path: Path) -> None:
    """libversion calls TensorRT's and cuDNN's version functions in a library it loads, and reports one that will not load."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler to build a shared library with")
    source = tmp_path / "stub.c"
    source.write_text(STUB_LIBRARY)
    library = tmp_path / "libstub.so"
    subprocess.run([compiler, "-shared", "-fPIC", "-o", str(library), str(source)], check=True)
    assert run_child("libversion", "trt", str(library)) == {"int": 100300, "build": 26}
    assert run_child("libversion", "cudnn", str(library)) == {"int": 90300}
    broken = tmp_path / "libbroken.so"
    broken.write_bytes(b"\x7fELF stand-in, not loadable\n")
    assert run_child("libversion", "trt", str(broken))["error"].startswith("OSError: ")


def test_pynvml_child_answers_in_the_ctypes_query_shape(tmp_path: Path) -> None:
    """pynvml_query reports versions and GPUs through a pynvml module, leaves out what NVML refuses, and says why it could not."""
    shutil.copy(Path(standin_pynvml.__file__), tmp_path / "pynvml.py")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    answer = run_child("pynvml_query", env=env)
    assert (answer["status"], answer["driver_version"], answer["nvml_version"], answer["cuda_version"]) == (
        "ok",
        "580.95.05",
        "13.580.95.05",
        "13.0",
    )
    first, second = answer["gpus"]
    assert first == {
        "index": 0,
        "name": "NVIDIA H100 80GB HBM3",
        "uuid": "GPU-1",
        "pci_bus_id": "00000000:07:00.0",
        "compute_capability": "9.0",
        "memory_total_mib": 81920,
        "mig_mode": "disabled",
        "mig_pending": "disabled",
        "ecc_mode": "enabled",
        "persistence_mode": "enabled",
    }
    assert second == {"index": 1, "error": "NVML error 15"}
    assert run_child("pynvml_query", env={**env, "AUDITOR_SIM_PYNVML": "init-fails"}) == {
        "status": "init-failed",
        "code": 18,
        "error": "NVML error 18",
    }
    (tmp_path / "pynvml.py").unlink()
    assert run_child("pynvml_query", env=env)["status"] == "not-installed"


def test_every_child_is_embedded_and_read_back_the_same() -> None:
    """The shipped probe carries every file of children/ (the builder too), and the package reads the same text."""
    embedded = child_sources()
    assert set(embedded) == {p.stem for p in (REMOTE / "children").glob("*.py") if p.name != "__init__.py"}
    assert set(embedded) >= {"libversion", "module_import", "pynvml_query", "trt_plan", "builder"}
    assert all(child.child_source(name) == text for name, text in embedded.items())
    assert f"CHILD_SOURCES = {embedded!r}".encode() in probe_source()


def test_assembly_keeps_every_line_where_the_source_has_it() -> None:
    """Each shipped module is its file with only the relative-import lines blanked, main last, imports first."""
    ordered = modules()
    assert ordered[-1].name == "main"
    position = {m.name: i for i, m in enumerate(ordered)}
    for module in ordered:
        assert all(position[dependency] < position[module.name] for dependency in module.imports)
        source = (REMOTE / f"{module.name}.py").read_text().splitlines()
        shipped = module.text.splitlines()
        assert len(shipped) == len(source)
        changed = [i for i, (a, b) in enumerate(zip(source, shipped, strict=True)) if a != b]
        assert all(shipped[i] == "" for i in changed)
        removed = ast.parse("\n".join(source[i] for i in changed))
        assert all(isinstance(node, ast.ImportFrom) and node.level == 1 for node in removed.body)
    assert {m.name for m in ordered} == {p.stem for p in REMOTE.glob("*.py") if p.name != "__init__.py"}


def test_engine_reference_and_build_modules_compile_only_when_asked() -> None:
    """Loaded but not run, the shipped program has compiled every module but the on-demand ones; loading
    ``reference`` compiles ``engines`` (which it imports) first, and each module runs once."""
    namespace: dict[str, object] = {"__name__": "load-only"}
    exec(compile(probe_source(), "<auditor-probe>", "exec"), namespace)  # noqa: S102 - the probe under test
    held = namespace["ON_DEMAND_MODULES"]
    assert isinstance(held, dict) and set(held) == set(ON_DEMAND) == {"engines", "reference", "build"}
    assert (
        "collect_packages" in namespace and "collect_engines" not in namespace and "collect_reference" not in namespace
    )
    load = namespace["load_module"]
    assert callable(load)
    load("reference")
    assert set(held) == {"build"}
    assert callable(namespace["collect_engines"]) and callable(namespace["collect_reference"])
    first = namespace["collect_engines"]
    load("engines")
    assert namespace["collect_engines"] is first  # not run again


def test_a_plain_probe_leaves_the_on_demand_modules_uncompiled(tmp_path: Path) -> None:
    """A request without engines or reference engines answers both sections without their modules: the
    program, run with its own modules made unloadable, still prints both (empty) sections."""
    poisoned = probe_source().replace(b"ON_DEMAND_MODULES = {", b"ON_DEMAND_MODULES = {} and {", 1)
    script = tmp_path / "probe.py"
    script.write_bytes(poisoned)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, timeout=120, check=False)
    document = json.loads(done.stdout)
    assert document["engines"] == {"items": [], "error": None, "elapsed_s": document["engines"]["elapsed_s"]}
    assert document["reference"]["requested"] is False and document["reference"]["error"] is None


def test_assembly_refuses_what_would_break_the_one_program() -> None:
    """A module that imports auditor, or reaches into a subpackage, cannot be shipped."""
    with pytest.raises(AssemblyError, match="cannot import auditor"):
        read_module("bad", "import json\nfrom auditor.text import clean\n")
    with pytest.raises(AssemblyError, match=re.escape("only `from .module import name`")):
        read_module("bad", "from .children import trt_plan\nfrom ..program import x\n")
    blanked = read_module("ok", "import json\nfrom .common import (\n    clip,\n    log,\n)\nX = 1\n")
    assert (
        blanked.text == "import json\n\n\n\n\nX = 1\n" and blanked.imports == ("common",) and blanked.defines == ("X",)
    )


def _parsed(source: str) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """What Python's parser says ``read_module`` must find: the text with the top-level relative
    imports blanked, the modules they name, and the top-level names defined."""
    lines = source.splitlines(keepends=True)
    imports: list[str] = []
    defines: list[str] = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.ImportFrom) and node.level:
            imports.append(node.module or "")
            for index in range(node.lineno - 1, node.end_lineno or node.lineno):
                lines[index] = "\n"
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            defines.append(node.name)
        elif isinstance(node, ast.Assign):
            defines.extend(t.id for t in node.targets if isinstance(t, ast.Name))
    return "".join(lines), tuple(dict.fromkeys(imports)), tuple(defines)


def test_the_line_scan_reads_every_shipped_module_as_the_parser_does() -> None:
    """read_module scans lines instead of parsing (75 ms per start saved): on every file of remote/ it finds
    exactly the relative imports, blanked lines and top-level names that ast.parse finds."""
    for path in sorted(REMOTE.glob("*.py")):
        if path.name == "__init__.py":
            continue
        source = path.read_text(encoding="utf-8")
        module = read_module(path.stem, source)
        assert (module.text, module.imports, module.defines) == _parsed(source), path.name


def test_the_line_scan_handles_continued_imports_and_chained_names() -> None:
    """A backslash-continued relative import is blanked whole; `A = B = 1` defines both; `A == B` nothing."""
    source = "from .common import clip, \\\n    log\nA = B = 1\nC == D\nasync def f(): pass\n"
    module = read_module("ok", source)
    assert (module.text, module.imports, module.defines) == _parsed(source)
    assert module.imports == ("common",) and module.defines == ("A", "B")


def test_a_traceback_from_the_shipped_probe_names_the_source_file_and_line(tmp_path: Path) -> None:
    """A probe function failing inside the assembled program points at its own file and line, not at one big blob."""
    shipped = tmp_path / "probe.py"
    shipped.write_bytes(probe_source())
    spec = importlib.util.spec_from_file_location("shipped_probe", shipped)
    assert spec is not None and spec.loader is not None
    program = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(program)  # as a module: every name defined, main() not run
    with pytest.raises(ValueError, match="unknown argument") as failure:
        program.parse_args(["--unknown"])
    last = failure.tb
    while last.tb_next is not None:
        last = last.tb_next
    source = (REMOTE / "context.py").read_text().splitlines()
    assert last.tb_frame.f_code.co_filename == "auditor/probe/remote/context.py"
    assert 'raise ValueError("unknown argument' in source[last.tb_lineno - 1]
