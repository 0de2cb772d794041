"""The probe against simulated hosts built for each case (tests/fixtures/probe-fleet.yaml), and the stand-ins' fidelity."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.errors import InputErrors
from auditor.facts.model import DriverStatus, EngineLoad
from auditor.facts.reader import parse_facts
from auditor.probe.program import run_local
from auditor.probe.request import encode_request
from auditor.simulate.fleet import load_fleet, parse_fleet
from auditor.simulate.roots import NVIDIA_SMI_STATE, build_root
from auditor.yamlsrc import load_yaml
from tests.support.paths import FIXTURES, REAL

FLEET = {h.name: h for h in load_fleet(FIXTURES / "probe-fleet.yaml").hosts}


@pytest.fixture(scope="module")
def roots(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("probe-roots")
    return {name: build_root(host, base) for name, host in FLEET.items()}


def probe(root: Path, engines: tuple[str, ...] = (), **budgets: float) -> dict:
    result = run_local(root=str(root), request=encode_request(budgets=budgets or None, engines=engines))
    assert result.returncode == 0, result.stderr.decode()
    return json.loads(result.stdout)


def loads(doc: dict) -> dict[str, dict]:
    return {item["path"]: item for item in doc["engines"]["items"]}


def test_templates_expand_per_model_and_load_on_a_gpu_of_that_model(roots: dict[str, Path]) -> None:
    """{sm} on an A100 + L4 host gives sm80 and sm89, each loaded on its own GPU and passing."""
    doc = probe(roots["mixed-01"], ("/srv/models/ok/{sm}.plan",))
    items = loads(doc)
    assert set(items) == {"/srv/models/ok/sm80.plan", "/srv/models/ok/sm89.plan"}
    for path, gpu in (("/srv/models/ok/sm80.plan", 0), ("/srv/models/ok/sm89.plan", 2)):
        load = items[path]["load"]
        assert (load["status"], load["gpu"], load["runtime"], load["runtime_version"]) == (
            "ok",
            gpu,
            "tensorrt",
            "10.3.0.26",
        )
        assert load["io_tensors"] == 2 and items[path]["template"] == "/srv/models/ok/{sm}.plan"
        assert items[path]["header"] == {"magic": True, "tensorrt_version": "10.3.0.26"}
        assert len(items[path]["sha256"]) == 64


def test_every_load_outcome_from_tensorrts_own_messages(roots: dict[str, Path]) -> None:
    """Version, device, plugin, crash, hang, truncated plan and missing file each get their status and message."""
    paths = ("old", "turing", "nms", "crash", "hang", "cut", "absent")
    doc = probe(roots["mixed-01"], tuple(f"/srv/models/{p}.plan" for p in paths), engine_load=3.0)
    items = loads(doc)
    status = {p: items[f"/srv/models/{p}.plan"]["load"]["status"] for p in paths}
    assert status == {
        "old": "version-mismatch",
        "turing": "device-mismatch",
        "nms": "missing-plugin",
        "crash": "crashed",
        "hang": "timeout",
        "cut": "corrupt",
        "absent": "not-found",
    }
    assert "Version tag does not match" in items["/srv/models/old.plan"]["load"]["message"]
    assert "expecting compute 8.0 got compute 7.5" in items["/srv/models/turing.plan"]["load"]["message"]
    assert "killed by SIGSEGV" in items["/srv/models/crash.plan"]["load"]["message"]
    assert items["/srv/models/old.plan"]["header"]["tensorrt_version"] == "10.0.1.6"
    assert items["/srv/models/absent.plan"]["exists"] is False
    facts = parse_facts(json.dumps(doc))
    by_path = {e.path: e for e in facts.engines.items}
    assert by_path["/srv/models/nms.plan"].load is EngineLoad.MISSING_PLUGIN
    assert by_path["/srv/models/nms.plan"].log[0].startswith("getPluginCreator could not find plugin")


def test_trtexec_loads_when_no_python_module_is_installed(roots: dict[str, Path]) -> None:
    """TensorRT 8.6 libraries without Python: trtexec --loadEngine --skipInference passes or names the mismatch."""
    items = loads(probe(roots["trtexec-01"], ("/srv/models/t4.plan", "/srv/models/t4-old.plan")))
    ok, old = items["/srv/models/t4.plan"]["load"], items["/srv/models/t4-old.plan"]["load"]
    assert (ok["status"], ok["runtime"], ok["runtime_version"]) == ("ok", "trtexec", "8.6.1")
    assert old["status"] == "version-mismatch"
    assert "expecting library version 8.6.1.6 got 8.5.3.1" in old["message"]


def test_no_runtime_and_cuda_failure(roots: dict[str, Path]) -> None:
    """No TensorRT at all is no-runtime; a driver that is not loaded makes the runtime fail CUDA initialization."""
    (item,) = loads(probe(roots["r610-01"], ("/srv/models/h100.plan",))).values()
    assert item["load"]["status"] == "no-runtime" and item["header"]["tensorrt_version"] == "10.13.3.9"
    (item,) = loads(probe(roots["not-loaded-01"], ("/srv/models/a10.plan",))).values()
    assert item["load"]["status"] == "cuda-init-failure"
    assert "CUDA initialization failure" in item["load"]["message"]


@pytest.mark.parametrize(
    ("host", "status", "version", "module", "count"),
    [
        ("not-loaded-01", DriverStatus.NOT_LOADED, "550.54.15", None, None),
        ("no-permission-01", DriverStatus.PERMISSION_DENIED, "550.54.15", "550.54.15", None),
        ("no-gpu-01", DriverStatus.OK, "550.54.15", "550.54.15", 0),
        ("mismatch-01", DriverStatus.MISMATCH, "535.183.01", "535.104.05", None),
        ("r610-01", DriverStatus.OK, "610.43.02", "610.43.02", 1),
    ],
)
def test_driver_states_are_told_apart(
    roots: dict[str, Path], host: str, status: DriverStatus, version: str, module: str | None, count: int | None
) -> None:
    """Not loaded, permission denied, no GPU, mismatch and healthy each read as themselves, never as each other."""
    facts = parse_facts(json.dumps(probe(roots[host])))
    assert (facts.driver.status, facts.driver.version, facts.driver.kernel_module) == (status, version, module)
    assert facts.gpus.count == count
    assert facts.driver.mismatch is (status is DriverStatus.MISMATCH)


def test_r610_banner_gives_the_cuda_umd_version(roots: dict[str, Path]) -> None:
    """With NVML unusable, the R610 banner's ``CUDA UMD Version`` is the driver's CUDA version."""
    driver = probe(roots["r610-01"])["driver"]
    assert (driver["source"], driver["smi_banner"], driver["cuda_version"]) == ("nvidia-smi", "new", "13.3")


def test_cuda_toolkits_compat_and_cudart(roots: dict[str, Path]) -> None:
    """Two toolkits with nvcc, the default link, a cuda-compat package; a pre-11.1 toolkit from version.txt."""
    facts = parse_facts(json.dumps(probe(roots["mixed-01"])))
    assert [(t.path, t.version, t.nvcc_version) for t in facts.cuda.toolkits] == [
        ("/usr/local/cuda-12.2", "12.2.2", "12.2.120"),
        ("/usr/local/cuda-12.8", "12.8.1", "12.8.110"),
    ]
    assert facts.cuda.default == "/usr/local/cuda-12.8" and facts.cuda.cudart_sonames == ("libcudart.so.12",)
    (compat,) = facts.cuda.compat
    assert (compat.path, compat.version, compat.cuda, compat.active) == (
        "/usr/local/cuda-12.8/compat",
        "570.124.06",
        "12.8",
        False,
    )
    old = parse_facts(json.dumps(probe(roots["trtexec-01"])))
    assert [(t.version, t.source) for t in old.cuda.toolkits] == [("10.2.89", "version.txt")]


def test_cudnn_from_headers_packages_and_wheels(roots: dict[str, Path]) -> None:
    """cuDNN 9 from the multiarch header and its package, a pip wheel beside it; cuDNN 7 from cudnn.h."""
    facts = parse_facts(json.dumps(probe(roots["mixed-01"])))
    seen = {(i.source, i.version) for i in facts.cudnn.installs}
    assert {("header", "9.1.0"), ("dpkg", "9.1.0-1"), ("pip", "9.3.0.75"), ("pip", "9.3.0")} <= seen
    assert (facts.cudnn.version, facts.cudnn.source) == ("9.1.0", "header")
    library = next(i for i in facts.cudnn.installs if i.source == "library")
    assert library.version == "9.1.0" and library.error  # the stand-in library cannot load: its file name speaks
    old = parse_facts(json.dumps(probe(roots["trtexec-01"])))
    assert (old.cudnn.version, old.cudnn.installs[0].path) == ("7.6.5", "/usr/include/cudnn.h")


def test_tensorrt_from_every_source(roots: dict[str, Path]) -> None:
    """Header, library file, dpkg and pip packages, the module and trtexec all show up; the header's build wins."""
    facts = parse_facts(json.dumps(probe(roots["mixed-01"])))
    trt = facts.tensorrt
    assert (trt.version, trt.source, trt.header_version) == ("10.3.0.26", "header", "10.3.0.26")
    assert trt.python_version == "10.3.0.26" and trt.trtexec == "/usr/src/tensorrt/bin/trtexec"
    assert {(p.name, p.manager) for p in trt.packages} >= {
        ("libnvinfer10", "dpkg"),
        ("python3-libnvinfer", "dpkg"),
        ("tensorrt-cu12-bindings", "pip"),
    }


def test_containers_listed_denied_or_absent(roots: dict[str, Path]) -> None:
    """docker lists images and running containers; a denied socket is an error; no runtime is not."""
    facts = parse_facts(json.dumps(probe(roots["mixed-01"])))
    assert facts.containers.runtime == "docker" and facts.containers.error is None
    assert [(i.repository, i.tag) for i in facts.containers.images] == [
        ("nvcr.io/nvidia/tritonserver", "24.08-py3"),
        ("nvcr.io/nvidia/tensorrt", "24.08-py3"),
    ]
    assert [(c.name, c.image) for c in facts.containers.running] == [
        ("triton", "nvcr.io/nvidia/tritonserver:24.08-py3")
    ]
    denied = parse_facts(json.dumps(probe(roots["r610-01"]))).containers
    assert denied.runtime == "docker" and denied.error is not None and "permission denied" in denied.error
    podman = parse_facts(json.dumps(probe(roots["trtexec-01"]))).containers
    assert (podman.runtime, podman.images, podman.error) == ("podman", (), None)
    none = parse_facts(json.dumps(probe(roots["no-gpu-01"]))).containers
    assert (none.runtime, none.error) == (None, None)


def copy(roots: dict[str, Path], name: str, tmp_path: Path) -> Path:
    root = tmp_path / name
    shutil.copytree(roots[name], root, symlinks=True)
    return root


def test_bad_files_are_reported_per_collector(roots: dict[str, Path], tmp_path: Path) -> None:
    """Garbage dpkg status and headers, a directory where a file belongs: each costs only its own fact."""
    root = copy(roots, "mixed-01", tmp_path)
    (root / "var/lib/dpkg/status").write_bytes(b"\x00\xff\xfe garbage \x1b[31m" * 1000)
    (root / "usr/include/x86_64-linux-gnu/NvInferVersion.h").write_bytes(b"#define NV_TENSORRT_MAJOR banana\n")
    (root / "usr/include/x86_64-linux-gnu/cudnn_version_v9.h").write_text("")
    (root / "usr/local/cuda-12.8/version.json").unlink()
    (root / "usr/local/cuda-12.8/version.json").mkdir()
    (root / "srv/models/dir.plan").mkdir()
    doc = probe(root, ("/srv/models/dir.plan", "relative.plan"))
    assert doc["tensorrt"]["header_version"] is None and doc["tensorrt"]["version"] == "10.3.0.26"  # the module's
    assert not [p for p in doc["tensorrt"]["packages"] if p["manager"] == "dpkg"]
    assert [i["source"] for i in doc["cudnn"]["installs"]] == ["pip", "library", "pip"]
    toolkit = next(t for t in doc["cuda"]["toolkits"] if t["path"] == "/usr/local/cuda-12.8")
    assert (toolkit["version"], toolkit["source"]) == ("12.8.110", "nvcc")
    items = loads(doc)
    assert items["/srv/models/dir.plan"]["error"] == "not a regular file"
    assert items["relative.plan"]["error"] == "engine paths must be absolute"
    assert all(doc[s]["error"] is None for s in ("host", "driver", "gpus", "cuda", "cudnn", "tensorrt", "engines"))


def test_commands_that_hang_crash_or_talk_nonsense(roots: dict[str, Path], tmp_path: Path) -> None:
    """nvidia-smi printing nonsense, nvcc and docker hanging, a module that aborts on import: reported, not fatal."""
    root = copy(roots, "mixed-01", tmp_path)
    (root / "usr/bin/nvidia-smi").write_text(f"#!{sys.executable}\nprint('hello, world')\n")
    (root / "usr/local/cuda-12.2/bin/nvcc").write_text(f"#!{sys.executable}\nimport time\ntime.sleep(60)\n")
    (root / "usr/bin/docker").write_text(f"#!{sys.executable}\nimport time\ntime.sleep(60)\n")
    (root / "usr/lib/python3/dist-packages/tensorrt/__init__.py").write_text("import os\nos.abort()\n")
    doc = probe(root, cuda=2.0, containers=1.5)
    assert doc["gpus"]["count"] is None and "unrecognized nvidia-smi output: hello, world" in doc["gpus"]["error"]
    assert doc["driver"]["version"] == "535.183.01" and doc["driver"]["source"] == "library"
    toolkit = next(t for t in doc["cuda"]["toolkits"] if t["path"] == "/usr/local/cuda-12.2")
    assert toolkit["version"] == "12.2.2" and "nvcc did not finish" in toolkit["error"]
    assert doc["containers"]["runtime"] == "docker" and "did not finish" in doc["containers"]["error"]
    (module,) = doc["tensorrt"]["modules"]
    assert module["error"] == "killed by SIGABRT" and doc["tensorrt"]["version"] == "10.3.0.26"


def test_a_request_that_is_not_a_list_of_paths(roots: dict[str, Path]) -> None:
    """engines must be a list of strings; anything else is the engines section's error, not the probe's."""
    request = encode_request()
    import base64

    raw = base64.b64encode(json.dumps({"engines": "/srv/models/a.plan", "reference": {"later": True}}).encode())
    result = run_local(root=str(roots["no-gpu-01"]), request=raw.decode())
    doc = json.loads(result.stdout)
    assert doc["engines"]["error"] == "request: engines must be a list of paths" and doc["driver"]["status"] == "ok"
    assert request  # the default request is valid base64 JSON


def write_h200_state(root: Path) -> None:
    """The stand-in nvidia-smi told to be the H200 the real fixtures were recorded on."""
    real = json.loads((REAL / "probe.json").read_text())
    (gpu,) = real["gpus"]["devices"]
    state = {
        "state": "ok",
        "driver": real["driver"]["version"],
        "cuda": real["driver"]["cuda_version"],
        "gpus": [
            {
                "index": gpu["index"],
                "name": gpu["name"],
                "uuid": gpu["uuid"],
                "cc": gpu["compute_capability"],
                "memory_mib": gpu["memory_total_mib"],
                "bus_id": gpu["pci_bus_id"],
                "mig_capable": True,
                "vbios": gpu["vbios_version"],
            }
        ],
    }
    (root / NVIDIA_SMI_STATE).write_text(json.dumps(state))


def sensors_masked(lines: list[str]) -> list[str]:
    """Live readings (temperature, power draw, memory in use, utilization) as '#', widths kept."""
    live = re.compile(r"\d+(?=C )|\d+(?=W /)|\d+(?=MiB /)|\d+(?=%)")
    return [live.sub(lambda m: "#" * len(m.group()), line) for line in lines]


def test_standin_nvidia_smi_prints_the_real_banner_and_query(roots: dict[str, Path], tmp_path: Path) -> None:
    """Given the real H200's values, the stand-in's banner and CSV equal what the real nvidia-smi printed."""
    root = copy(roots, "r610-01", tmp_path)
    write_h200_state(root)
    smi = str(root / "usr/bin/nvidia-smi")
    recorded = (REAL / "smi.txt").read_text()
    banner = recorded.split("### nvidia-smi\n", 1)[1].split("rc=0", 1)[0].splitlines()
    ours = subprocess.run([smi], capture_output=True, text=True, check=True).stdout.splitlines()
    assert sensors_masked(ours[1:]) == sensors_masked(banner[1:])  # all but the clock line
    fields = "index,name,uuid,driver_version,compute_cap,memory.total,pci.bus_id,mig.mode.current,ecc.mode.current,persistence_mode,vbios_version"
    for fmt in ("csv", "csv,noheader,nounits"):
        marker = f"### nvidia-smi --query-gpu={fields} --format={fmt}\n"
        expected = recorded.split(marker, 1)[1].split("rc=0", 1)[0]
        query = subprocess.run([smi, f"--query-gpu={fields}", f"--format={fmt}"], capture_output=True, text=True)
        assert query.stdout == expected
    bogus = subprocess.run(
        [smi, "--query-gpu=index,bogus_field", "--format=csv,noheader"], capture_output=True, text=True
    )
    assert (bogus.returncode, bogus.stderr) == (2, 'Field "bogus_field" is not a valid field to query.\n\n')
    assert 'Field "bogus_field" is not a valid field to query.' in recorded


def test_the_nvidia_smi_path_gives_what_nvml_gave_on_the_real_h200(roots: dict[str, Path], tmp_path: Path) -> None:
    """The probe's facts through the stand-in nvidia-smi equal the facts NVML gave on the real H200."""
    root = copy(roots, "r610-01", tmp_path)
    write_h200_state(root)
    real = json.loads((REAL / "probe.json").read_text())
    doc = probe(root)
    # probe.json predates mig.mode.pending; the real nvidia-smi printed it "Disabled" (workflows/gpu/host.txt)
    pending = [d.pop("mig_pending") for d in doc["gpus"]["devices"]]
    assert doc["gpus"]["devices"] == real["gpus"]["devices"]
    assert (
        pending == ["disabled"] and "NVIDIA H200, Disabled, Disabled" in (REAL / "workflows/gpu/host.txt").read_text()
    )
    assert (doc["driver"]["version"], doc["driver"]["cuda_version"]) == (
        real["driver"]["version"],
        real["driver"]["cuda_version"],
    )


def test_standin_nvcc_prints_the_real_layout(roots: dict[str, Path]) -> None:
    """nvcc --version: the five lines the real CUDA 13.0 nvcc printed, with the toolkit's own version."""
    out = subprocess.run(
        [str(roots["r610-01"] / "usr/local/cuda-13.0/bin/nvcc"), "--version"], capture_output=True, text=True
    ).stdout
    recorded = (REAL / "smi.txt").read_text().split("### nvcc --version", 1)[1].splitlines()[1:6]
    assert out.splitlines()[:3] == recorded[:3]
    assert out.splitlines()[3] == "Cuda compilation tools, release 13.0, V13.0.120"


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("driver_state", "unplugged", "'driver_state' must be one of"),
        ("cuda_compat", {"12.8": "soon"}, "must be a version"),
        ("containers", {"runtime": "lxc"}, "'runtime' must be docker or podman"),
        (
            "engines",
            {"/m.plan": {"tensorrt": "10.3.0.26", "compute_capability": "8.0", "outcome": "melt"}},
            "'outcome'",
        ),
    ],
)
def test_fleet_profile_keys_are_validated(tmp_path: Path, key: str, value: object, fragment: str) -> None:
    """The fleet keys that shape fixture roots reject bad values with a located message."""
    path = tmp_path / "fleet.yaml"
    path.write_text(json.dumps({"schema": "auditor.fleet/1", "hosts": {"h": {"driver": "550.54.15", key: value}}}))
    with pytest.raises(InputErrors) as info:
        parse_fleet(load_yaml(path), str(path))
    assert fragment in str(info.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_an_unreadable_engine_is_an_error_of_its_own(roots: dict[str, Path], tmp_path: Path) -> None:
    """An engine this user may not read is reported with the reason, and nothing is loaded."""
    root = copy(roots, "mixed-01", tmp_path)
    plan = root / "srv/models/ok/sm80.plan"
    plan.chmod(0)
    (item,) = loads(probe(root, ("/srv/models/ok/sm80.plan",))).values()
    assert item["exists"] is True and item["error"].startswith("cannot read") and item["load"]["status"] == "skipped"
