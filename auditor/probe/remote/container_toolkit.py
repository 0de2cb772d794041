"""The ``container_toolkit`` section: the NVIDIA Container Toolkit, and whether docker, containerd and
CRI-O are configured with its runtime.

What is read (docs/research/workflows.md, section C; the real files are in
tests/fixtures/real/workflows/container/), all read-only, as this user:

* the toolkit's programs on PATH (``nvidia-ctk``, ``nvidia-container-runtime``,
  ``nvidia-container-runtime-hook``, ``nvidia-container-cli``) and their versions
  (``nvidia-ctk --version``: "NVIDIA Container Toolkit CLI version 1.17.8";
  ``nvidia-container-cli --version``: "cli-version: 1.17.8");
* ``/etc/nvidia-container-runtime/config.toml`` (its ``mode``);
* docker: ``/etc/docker/daemon.json`` (``runtimes.nvidia``, ``default-runtime``,
  ``features.cdi``: what ``nvidia-ctk runtime configure --runtime=docker`` writes) and, when
  this user may ask the daemon, ``docker info --format '{{json .Runtimes}} {{json .DefaultRuntime}}'``
  (what the running daemon loaded: an edited daemon.json counts only after a restart);
* containerd: ``/etc/containerd/config.toml`` and ``conf.d/*.toml``, the table
  ``[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.nvidia]`` (its ``BinaryName``)
  and ``default_runtime_name``;
* CRI-O: ``/etc/crio/crio.conf`` and ``crio.conf.d/*``, ``[crio.runtime.runtimes.nvidia]``;
* CDI specifications in ``/etc/cdi`` and ``/var/run/cdi``.

Python 3.6 has no TOML reader: ``toml_tables`` reads the table headers and ``key = value``
lines these files use (strings, numbers, booleans; arrays are skipped), which is all that is
asked of them here.
"""

import json
import os
import re

from .common import MAX_LIST, clip, first_line, parallel
from .container_details import json_values

TOOLKIT_PROGRAMS = ("nvidia-ctk", "nvidia-container-runtime", "nvidia-container-runtime-hook", "nvidia-container-cli")


TOOLKIT_CONFIG = "/etc/nvidia-container-runtime/config.toml"


DOCKER_CONFIG = "/etc/docker/daemon.json"


CONTAINERD_CONFIGS = ("/etc/containerd/config.toml", "/etc/containerd/conf.d/*.toml")


CRIO_CONFIGS = ("/etc/crio/crio.conf", "/etc/crio/crio.conf.d/*")


CDI_DIRS = ("/etc/cdi", "/var/run/cdi")


_TABLE = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(?:#.*)?$")


_PAIR = re.compile(r"^\s*([A-Za-z0-9_.\"-]+)\s*=\s*(.+?)\s*$")


def toml_value(text):
    """A TOML scalar as Python (basic or literal string, integer, boolean), else None."""
    text = text.split(" #", 1)[0].strip() if not text.startswith(('"', "'")) else text
    if len(text) >= 2 and text[0] == '"':
        try:
            value, end = json.JSONDecoder().raw_decode(text)
        except ValueError:
            return None
        return value if isinstance(value, str) else None
    if len(text) >= 2 and text[0] == "'":
        end = text.find("'", 1)
        return text[1:end] if end > 0 else None
    if text in ("true", "false"):
        return text == "true"
    if re.match(r"^[+-]?\d+$", text):
        return int(text)
    return None


def toml_tables(text):
    """{table header: {key: value}} of a TOML file (headers as written, inner blanks removed)."""
    tables: dict = {"": {}}
    current, depth = "", 0
    for line in (text or "").splitlines()[:20000]:
        if depth:  # inside a multi-line array
            depth += line.count("[") - line.count("]")
            depth = max(depth, 0)
            continue
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        table = _TABLE.match(line)
        if table and not stripped.startswith("[["):
            current = re.sub(r"\s+", "", table.group(1))
            tables.setdefault(current, {})
            continue
        pair = _PAIR.match(line)
        if pair:
            raw = pair.group(2)
            if raw.startswith("["):
                depth = max(raw.count("[") - raw.count("]"), 0)
                continue
            tables.setdefault(current, {})[pair.group(1).strip('"')] = toml_value(raw)
    return tables


def runtime_table(header):
    """The runtime a ``...runtimes.NAME`` table header defines (NAME unquoted), else None."""
    match = re.match(r'^(?:.*\.)?runtimes\.(?:"([^"]+)"|([A-Za-z0-9_-]+))$', header)
    return (match.group(1) or match.group(2)) if match else None


def parse_containerd(text):
    """containerd's config: the runtimes it defines, the default runtime, and the nvidia runtime's binary."""
    tables = toml_tables(text)
    runtimes, default, binary = [], None, None
    for header, values in tables.items():
        if not header.startswith("plugins."):
            continue
        name = runtime_table(header)
        if name is not None and name not in runtimes:
            runtimes.append(name)
        if header.endswith(".containerd") and isinstance(values.get("default_runtime_name"), str):
            default = values["default_runtime_name"]
        if header.endswith(".options") and runtime_table(header[: -len(".options")]) == "nvidia":
            binary = values.get("BinaryName") if isinstance(values.get("BinaryName"), str) else binary
    return {"runtimes": runtimes, "default_runtime": default, "nvidia_binary": binary}


def parse_crio(text):
    """CRI-O's config: the runtimes it defines and the nvidia runtime's path."""
    tables = toml_tables(text)
    runtimes, path = [], None
    for header, values in tables.items():
        name = runtime_table(header)
        if name is not None and header.startswith("crio."):
            runtimes.append(name)
            if name == "nvidia" and isinstance(values.get("runtime_path"), str):
                path = values["runtime_path"]
    return {"runtimes": runtimes, "nvidia_path": path}


def parse_daemon_json(text):
    """docker's daemon.json: runtime names, the default runtime, the nvidia runtime's path, CDI on or off."""
    document = json.loads(text)
    if not isinstance(document, dict):
        raise ValueError("daemon.json is not a JSON object")
    runtimes: dict = document["runtimes"] if isinstance(document.get("runtimes"), dict) else {}
    nvidia: dict = runtimes["nvidia"] if isinstance(runtimes.get("nvidia"), dict) else {}
    features: dict = document["features"] if isinstance(document.get("features"), dict) else {}
    default = document.get("default-runtime")
    return {
        "runtimes": [clip(str(name), 64) for name in list(runtimes)[:32]],
        "default_runtime": clip(default, 64) if isinstance(default, str) else None,
        "nvidia_path": clip(nvidia.get("path"), 256) if isinstance(nvidia.get("path"), str) else None,
        "cdi": features.get("cdi") is True,
    }


def parse_ctk_version(text):
    """``nvidia-ctk --version`` ("NVIDIA Container Toolkit CLI version 1.17.8") or
    ``nvidia-container-cli --version`` ("cli-version: 1.17.8"): the version, or None."""
    match = re.search(r"(?:CLI version|cli-version:)\s*v?(\d+\.\d+(?:\.\d+)?(?:[-~+][0-9A-Za-z.]+)?)", text or "")
    return clip(match.group(1), 64) if match else None


def parse_toolkit_config(text):
    """The toolkit's config.toml: the runtime's ``mode`` (auto, legacy, cdi, csv)."""
    tables = toml_tables(text)
    mode = tables.get("nvidia-container-runtime", {}).get("mode")
    return {"mode": clip(mode, 32) if isinstance(mode, str) else None}


def parse_docker_runtimes(text):
    """``docker info --format '{{json .Runtimes}} {{json .DefaultRuntime}}'``: (runtime names, default)."""
    values = json_values(first_line(text))
    if len(values) != 2 or not isinstance(values[0], dict):
        raise ValueError("unexpected docker info output: %s" % clip(first_line(text), 120))
    default = values[1] if isinstance(values[1], str) else None
    return [clip(str(name), 64) for name in list(values[0])[:32]], clip(default, 64) if default else None


def read_configs(ctx, patterns, parse):
    """Each existing file of ``patterns`` parsed: ([paths], merged answer or None, error or None)."""
    paths, answers, errors = [], [], []
    for pattern in patterns:
        for path in ctx.glob(pattern) if "*" in pattern else [pattern]:
            text = ctx.read_text(path)
            if text is None:
                continue
            paths.append(path)
            try:
                answers.append(parse(text))
            except ValueError as exc:
                errors.append("%s: %s" % (path, clip(str(exc), 200)))
    return paths[:MAX_LIST], answers, ("; ".join(errors) or None)


def containerd_section(ctx):
    paths, answers, error = read_configs(ctx, CONTAINERD_CONFIGS, parse_containerd)
    if not paths:
        return None
    merged = {"configs": paths, "runtimes": [], "default_runtime": None, "nvidia_binary": None, "error": error}
    for answer in answers:  # drop-ins after the main file, as containerd imports them
        merged["runtimes"] += [r for r in answer["runtimes"] if r not in merged["runtimes"]]
        merged["default_runtime"] = answer["default_runtime"] or merged["default_runtime"]
        merged["nvidia_binary"] = answer["nvidia_binary"] or merged["nvidia_binary"]
    return merged


def crio_section(ctx):
    paths, answers, error = read_configs(ctx, CRIO_CONFIGS, parse_crio)
    if not paths:
        return None
    merged = {"configs": paths, "runtimes": [], "nvidia_path": None, "error": error}
    for answer in answers:
        merged["runtimes"] += [r for r in answer["runtimes"] if r not in merged["runtimes"]]
        merged["nvidia_path"] = answer["nvidia_path"] or merged["nvidia_path"]
    return merged


def docker_section(ctx, docker, info):
    """daemon.json and, when asked, what the daemon itself reports (``info``: the docker info answer)."""
    text = ctx.read_text(DOCKER_CONFIG)
    if text is None and docker is None:
        return None
    section: dict = {"config": None, "runtimes": [], "default_runtime": None, "nvidia_path": None, "cdi": False}
    section.update(daemon_runtimes=None, daemon_default_runtime=None, daemon_error=None, error=None)
    if text is not None:
        section["config"] = DOCKER_CONFIG
        try:
            section.update(parse_daemon_json(text))
        except ValueError as exc:
            section["error"] = clip("%s: %s" % (DOCKER_CONFIG, exc), 300)
    if isinstance(info, Exception):
        section["daemon_error"] = clip(str(info), 300)
    elif info is not None:
        status, out, err = info
        if status != 0:
            section["daemon_error"] = clip(first_line(err or out) or "exit status %d" % status, 300)
        else:
            try:
                section["daemon_runtimes"], section["daemon_default_runtime"] = parse_docker_runtimes(out)
            except ValueError as exc:
                section["daemon_error"] = clip(str(exc), 300)
    return section


def collect_container_toolkit(ctx):
    """The NVIDIA Container Toolkit and the container engines' runtime configuration (module docstring).

    ``installed`` is true when any of the toolkit's programs is found; ``version`` comes from
    ``nvidia-ctk --version``, else ``nvidia-container-cli --version``. Each engine's part is
    null when the host has neither its configuration nor (for docker) its command.
    """
    programs = dict((name, ctx.which(name)) for name in TOOLKIT_PROGRAMS)
    docker = ctx.which("docker")
    calls = [
        (lambda: ctx.run([programs["nvidia-ctk"], "--version"], timeout=5)) if programs["nvidia-ctk"] else None,
        (lambda: ctx.run([programs["nvidia-container-cli"], "--version"], timeout=5))
        if programs["nvidia-container-cli"]
        else None,
        (lambda: ctx.run([docker, "info", "--format", "{{json .Runtimes}} {{json .DefaultRuntime}}"], timeout=8))
        if docker
        else None,
    ]
    answers = parallel([c for c in calls if c is not None])
    results = []
    for call in calls:
        results.append(answers.pop(0) if call is not None else None)
    ctk, cli, info = results
    version, source, notes = None, None, []
    for name, answer in (("nvidia-ctk", ctk), ("nvidia-container-cli", cli)):
        if answer is None or version is not None:
            continue
        if isinstance(answer, Exception):  # OSError, ProbeTimeout: it would not run
            notes.append("%s --version: %s" % (name, clip(str(answer), 200)))
            continue
        version = parse_ctk_version(answer[1])
        if version is not None:
            source = name
        else:
            notes.append("%s --version: %s" % (name, clip(first_line(answer[2] or answer[1]) or "no version", 200)))
    config_text = ctx.read_text(TOOLKIT_CONFIG)
    cdi = []
    for directory in CDI_DIRS:
        cdi += [p for p in ctx.glob(os.path.join(directory, "*")) if p.endswith((".yaml", ".yml", ".json"))]
    return {
        "installed": any(programs.values()),
        "version": version,
        "version_source": source,
        "programs": programs,
        "config": dict(path=TOOLKIT_CONFIG, **parse_toolkit_config(config_text)) if config_text is not None else None,
        "docker": docker_section(ctx, docker, info),
        "containerd": containerd_section(ctx),
        "crio": crio_section(ctx),
        "cdi_specs": cdi[:MAX_LIST],
        "notes": "; ".join(notes) or None,
    }
