"""Builders for probe documents and hosts used across the unit tests."""

from __future__ import annotations

import copy
import json
from typing import Any

from auditor.facts.model import Facts
from auditor.facts.reader import parse_facts

BASE: dict[str, Any] = {
    "schema": "auditor.facts/1",
    "probe_version": "0.1.0",
    "collected_at": "2026-11-21T06:00:00Z",
    "root": "/",
    "duration_s": 0.1,
    "host": {
        "hostname": "gpu-01",
        "os": {"id": "ubuntu", "version_id": "22.04", "pretty_name": "Ubuntu 22.04.4 LTS"},
        "kernel": "5.15.0-105-generic",
        "arch": "x86_64",
        "python": "3.10.12",
        "error": None,
    },
    "driver": {
        "status": "ok",
        "version": "535.104.05",
        "source": "nvml",
        "cuda_version": "12.2",
        "kernel_module": "535.104.05",
        "mismatch": False,
        "nvml_version": "12.535.104.05",
        "error": None,
    },
    "gpus": {
        "count": 1,
        "source": "nvml",
        "error": None,
        "devices": [
            {
                "index": 0,
                "name": "NVIDIA A100-SXM4-80GB",
                "uuid": "GPU-1",
                "compute_capability": "8.0",
                "memory_total_mib": 81920,
            }
        ],
    },
    "cuda": {
        "toolkits": [{"path": "/usr/local/cuda-12.2", "version": "12.2.2", "source": "version.json"}],
        "default": "/usr/local/cuda-12.2",
        "error": None,
    },
    "tensorrt": {
        "version": "8.6.1.6",
        "source": "python",
        "libraries": [],
        "modules": [{"module": "tensorrt", "version": "8.6.1.6", "error": None}],
        "error": None,
    },
    "cudnn": {
        "version": "8.9.5",
        "source": "header",
        "installs": [{"version": "8.9.5", "source": "header", "path": "/usr/include/cudnn_version.h"}],
        "error": None,
    },
    "engines": {"items": [], "error": None},
    "containers": {"runtime": None, "images": [], "running": [], "error": None},
}


def document(**sections: Any) -> dict[str, Any]:
    """A valid probe document with some sections' fields replaced (``driver={"version": ...}``)."""
    doc = copy.deepcopy(BASE)
    for name, changes in sections.items():
        if isinstance(changes, dict) and isinstance(doc.get(name), dict):
            doc[name].update(changes)
        else:
            doc[name] = changes
    return doc


def facts(**sections: Any) -> Facts:
    """Parsed facts for ``document(**sections)``."""
    return parse_facts(json.dumps(document(**sections)))
