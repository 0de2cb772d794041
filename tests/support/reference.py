"""Simulated hosts and plans for the reference-engine tests: built by the real builder against the stand-ins."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from auditor.probe.program import builder_program, interpreter_args, probe_program, run_local
from auditor.probe.request import encode_request
from auditor.reference.build import BuildRequest, Built, parse_build
from auditor.reference.library import Library, add_plan, load_library
from auditor.reference.shipment import shipment
from auditor.simulate.fleet import GpuSpec, SimHost
from auditor.simulate.roots import build_root

A10 = GpuSpec("NVIDIA A10", 1, "8.6")
A10G = GpuSpec("NVIDIA A10G", 1, "8.6")
A100 = GpuSpec("NVIDIA A100-SXM4-80GB", 1, "8.0")
L4 = GpuSpec("NVIDIA L4", 1, "8.9")
T4 = GpuSpec("Tesla T4", 1, "7.5")
H100 = GpuSpec("NVIDIA H100 80GB HBM3", 1, "9.0")


def host(name: str, gpu: GpuSpec = A10, tensorrt: str | None = "10.3.0.26", **fields: Any) -> SimHost:
    """A simulated GPU host; ``tensorrt`` is the full module (None: none), other SimHost fields as given."""
    return SimHost(
        name=name,
        gpus=(gpu,),
        driver=fields.pop("driver", "580.95.05"),
        tensorrt=tensorrt,
        python_tensorrt=tensorrt,
        **fields,
    )


def build_raw(root: Path, **job: Any) -> dict[str, Any]:
    """Run the build program on a fixture root (as a host would run it) and return its JSON."""
    job.setdefault("name", "ref-fp32")
    result = run_local(root=str(root), request=encode_request(build=job), program=builder_program())
    assert result.returncode == 0, result.stderr.decode()
    return dict(json.loads(result.stdout))


def build(root: Path, request: BuildRequest) -> Built:
    """A checked plan built on a fixture root."""
    result = run_local(root=str(root), request=encode_request(build=request.to_json()), program=builder_program())
    assert result.returncode == 0, result.stderr.decode()
    return parse_build(result.stdout, request, root.name)


def make_library(base: Path, builds: list[tuple[SimHost, BuildRequest]]) -> Library:
    """A library holding one plan per (host, request), each built there by the real builder."""
    roots = base / "build-roots"
    library = base / "engines"
    for sim, request in builds:
        built = build(build_root(sim, roots), request)
        add_plan(library, built.meta, built.plan)
    return load_library(library)


def run_reference(
    root: Path,
    library: Library,
    names: list[str],
    env: dict[str, str] | None = None,
    **budgets: float,
) -> dict[str, Any]:
    """The probe on ``root`` with the library's plans of ``names`` shipped as the controller ships them."""
    shipped = shipment(library, names)
    request = encode_request(budgets=budgets or None, reference=shipped.references)
    if env is None:
        result = run_local(root=str(root), request=request, program=probe_program(shipped.payload))
    else:
        result = subprocess.run(
            [sys.executable, *interpreter_args(request, str(root))],
            input=probe_program(shipped.payload),
            capture_output=True,
            env=env,
            timeout=120,
            check=False,
        )
    assert result.returncode == 0, result.stderr.decode()
    return dict(json.loads(result.stdout))


def runs(doc: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """The reference runs the probe reported for ``name``."""
    item = next(i for i in doc["reference"]["items"] if i["name"] == name)
    return list(item["runs"])
