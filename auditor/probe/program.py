"""The probe program as the controller sends it, and how a host runs it.

``probe_source()`` assembles ONE program from the files in ``remote/``: a short loader,
the child programs of ``remote/children/`` as string constants (``CHILD_SOURCES``), and
each module's text, compiled under its own file name (``auditor/probe/remote/<name>.py``)
and executed into one shared namespace, dependencies first, ``startup`` as early as its own
dependencies allow (it starts the slow work that can start before the rest is compiled). Lines holding the modules'
relative imports of each other are blanked (the names are already in that namespace), so
every line keeps its number: a traceback from a host, and coverage measured where the
files exist, point at the source line.

It is shipped as bytes on the SSH channel's stdin, compressed (``shipped_probe``: one line
that inflates it and runs it), and run by the host's own ``python3 -S -c BOOTSTRAP`` (which
reads it whole); the request travels as one base64 argument, so nothing
is written on the host and no shell quoting is involved (base64 needs none). ``-S``: the
probe itself needs only the standard library; the host's site initialization (its
site-packages and their ``.pth`` files: 60 ms of every start on the lent H200 host) runs in
the probe's fork server, beside the compiling, and every child program starts from there
with it (``remote/forkserver.py``).

The modules only an engine test-load, a reference run or the reference build use
(``ON_DEMAND``: a third of the source) are carried as text and compiled only when the
request asks for them (``load_module``, called by ``main``): every host pays the compile
time of what it runs, not of what it might.

Reference engines travel inside the program itself (``probe_program``): one first line
``AUDITOR_PAYLOAD = "<base64>"`` before the shipped probe, so a host still sees one exec and no
file transfer. The reference-engine build is the same probe with the builder
(``remote/children/builder.py``) prepended likewise (``builder_program``).
"""

from __future__ import annotations

import base64
import functools
import os
import re
import subprocess
import sys
import zlib

from auditor.probe.request import encode_request
from auditor.records import record

REMOTE = "remote"
CHILDREN = "children"
ENTRY = "main"
FIRST = "startup"
"""Placed first (after only what it imports): it starts slow work while the rest compiles (``remote/startup.py``)."""
SHIPPED_AS = "auditor/probe/remote"
"""The directory each module is compiled under: its path in this repository."""
ON_DEMAND = ("engines", "reference", "build")
"""Modules compiled only when the request needs them (``main.shipped_module``); no other module but ``main`` imports them."""
LOADER_NAMES = ("CHILD_SOURCES", "MODULES", "ON_DEMAND_MODULES", "load_module", "_shipped_file", "_shipped_text")
"""Names the loader itself binds in the program's namespace; no module may define them."""
MAX_PAYLOAD_BYTES = 16 * 1024 * 1024
"""The most plan bytes one probe program may carry (base64 makes it a third more on the wire)."""


class PayloadTooLarge(ValueError):
    """A payload over ``MAX_PAYLOAD_BYTES``: the message says how large and what to do."""


class AssemblyError(RuntimeError):
    """The files in ``remote/`` break a rule the assembly relies on (a bug in this package, found by the tests)."""


@record
class ProbeCall:
    """One host's probe invocation: the ``--request=`` value and the program for its stdin.

    ``program`` None means the bundled probe as it is (``probe_source()``).
    """

    request: str
    program: bytes | None = None

    @property
    def source(self) -> bytes:
        """The bytes to send on stdin: ``program``, or the bundled probe compressed (``shipped_probe``)."""
        return self.program if self.program is not None else shipped_probe()


@record
class Module:
    """One file of the probe: its name (``engines``), its text with relative imports blanked, what it imports."""

    name: str
    text: str
    imports: tuple[str, ...]
    defines: tuple[str, ...]


REMOTE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), REMOTE)
"""``remote/`` beside this file, read with ``os`` (``importlib.resources`` costs 10 ms of every
``auditor probe --local``, and the probe ships only from an unpacked package)."""


def _sources(folder: str) -> dict[str, str]:
    """The text of every ``NAME.py`` in ``folder`` but ``__init__.py``, by NAME, in name order."""
    found = {}
    for entry in sorted(os.listdir(folder)):
        if entry.endswith(".py") and entry != "__init__.py":
            with open(os.path.join(folder, entry), encoding="utf-8") as handle:
                found[entry[:-3]] = handle.read()
    return found


_RELATIVE_IMPORT = re.compile(r"from[ \t]+(\.+)([\w.]*)[ \t]+import\b")
_AUDITOR_IMPORT = re.compile(r"(?:import|from)[ \t]+auditor\b")
_DEFINITION = re.compile(r"(?:def|class)[ \t]+(\w+)|((?:\w+[ \t]*=[ \t]*)+)(?!=)")


def read_module(name: str, source: str) -> Module:
    """``source`` of module ``name`` with the lines of its relative imports blanked; ``AssemblyError`` on a broken rule.

    The lines are scanned, not parsed: a top-level statement starts at column 0, so a line
    there that starts ``from .`` is a relative import (through its closing parenthesis),
    ``import auditor`` is refused, and ``def``/``class``/``NAME =`` define a name. Parsing
    the 190 KB of ``remote/`` cost 75 ms of every ``auditor probe --local``; scanning, 2.
    The tests prove the scan reads every shipped file as Python's parser does
    (tests/probe/test_children.py).
    """
    lines = source.splitlines(keepends=True)
    imports: list[str] = []
    defines: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        relative = _RELATIVE_IMPORT.match(line)
        if relative is not None:
            if relative.group(1) != "." or not relative.group(2) or "." in relative.group(2):
                raise AssemblyError(f"{name}.py:{index + 1}: only `from .module import name` is allowed")
            imports.append(relative.group(2))
            last = index
            if "(" in line:
                while ")" not in lines[last] and last + 1 < len(lines):
                    last += 1
            while lines[last].rstrip("\r\n").endswith("\\") and last + 1 < len(lines):
                last += 1
            for blank in range(index, last + 1):
                lines[blank] = "\n"
            index = last + 1
            continue
        if _AUDITOR_IMPORT.match(line):
            raise AssemblyError(f"{name}.py:{index + 1}: the probe cannot import auditor (it is not on the host)")
        definition = _DEFINITION.match(line)
        if definition is not None:
            found = definition.group(1) or definition.group(2)
            defines.extend(found.replace("=", " ").split() if definition.group(2) else [found])
        index += 1
    return Module(name, "".join(lines), tuple(dict.fromkeys(imports)), tuple(defines))


def modules() -> list[Module]:
    """The probe's modules in the order they must run: each after those it imports, ``startup`` as early
    as that allows, ``main`` last.

    Raises ``AssemblyError`` on an import cycle or a top-level name two modules define.
    """
    found = {name: read_module(name, text) for name, text in _sources(REMOTE_DIR).items()}
    ordered: list[Module] = []
    placing: set[str] = set()

    def place(name: str) -> None:
        if any(m.name == name for m in ordered):
            return
        if name in placing:
            raise AssemblyError(f"import cycle through {name}.py")
        if name not in found:
            raise AssemblyError(f"no module {name}.py in {SHIPPED_AS}")
        placing.add(name)
        for dependency in found[name].imports:
            place(dependency)
        placing.discard(name)
        ordered.append(found[name])

    place(FIRST)
    for name in sorted(found):
        if name != ENTRY:
            place(name)
    place(ENTRY)
    owners: dict[str, str] = {name: "the loader" for name in LOADER_NAMES}
    for module in ordered:
        for name in module.defines:
            if name in owners:
                raise AssemblyError(f"{module.name}.py defines {name}, which {owners[name]} defines too")
            owners[name] = f"{module.name}.py"
    return ordered


def child_sources() -> dict[str, str]:
    """Every child program (``remote/children/NAME.py``) by name, as text."""
    return _sources(os.path.join(REMOTE_DIR, CHILDREN))


@functools.cache
def probe_source() -> bytes:
    """The probe as one program (see the module docstring), assembled once per process."""
    ordered = modules()
    eager = [m for m in ordered if m.name not in ON_DEMAND]
    later = [m for m in ordered if m.name in ON_DEMAND]
    for module in eager:
        needs = sorted(set(module.imports) & set(ON_DEMAND))
        if needs and module.name != ENTRY:
            raise AssemblyError(f"{module.name}.py imports {', '.join(needs)}, which only main may (ON_DEMAND)")
    parts = [
        "# auditor probe: read-only facts about one NVIDIA GPU node (auditor.facts/1).\n",
        "# Assembled by auditor.probe.program from auditor/probe/remote/: the child programs, then each\n",
        "# module compiled under its own file name into this one namespace. Python 3.6+, standard library.\n",
        f"CHILD_SOURCES = {child_sources()!r}\n",
        "ON_DEMAND_MODULES = {\n",
        *(
            f"    {m.name!r}: ({f'{SHIPPED_AS}/{m.name}.py'!r}, {m.text!r}, {[d for d in m.imports if d in ON_DEMAND]!r}),\n"
            for m in later
        ),
        "}\n",
        "def load_module(name, _lock=__import__('threading').RLock()):\n",
        "    with _lock:  # collectors run in threads; each module runs once, what it imports first\n",
        "        entry = ON_DEMAND_MODULES.pop(name, None)\n",
        "        if entry is not None:\n",
        "            for dependency in entry[2]:\n",
        "                load_module(dependency)\n",
        "            exec(compile(entry[1], entry[0], 'exec'), globals())\n",
        "MODULES = (\n",
        *(f"    ({f'{SHIPPED_AS}/{m.name}.py'!r}, {m.text!r}),\n" for m in eager),
        ")\n",
        "for _shipped_file, _shipped_text in MODULES:\n",
        "    exec(compile(_shipped_text, _shipped_file, 'exec'))\n",
    ]
    return "".join(parts).encode("utf-8")


SHIPPED_LEVEL = 6
"""zlib's level for ``shipped_probe``: 9 saves 0.4 KB more and takes twice the time (7 -> 13 ms here)."""


@functools.cache
def shipped_probe() -> bytes:
    """``probe_source()`` as a host receives it over SSH: one line that inflates the program and runs it.

    The assembled probe is ~240 KB of text, sent on every host's stdin; compressed and in
    base64 it is ~90 KB. Each connection then encrypts and sends a third of the bytes in fewer
    packets: the bare SSH floor of ``bench/fleet.py`` at 300 hosts went from 7.30 to 6.08 G
    instructions (~4 M less a host), the auditor's run from 9.09 to 7.81 G; a host reads less.
    The line binds no name: the program runs in the namespace it was given (after the
    ``AUDITOR_PAYLOAD`` or ``AUDITOR_BUILDER`` line of ``probe_program`` and ``builder_program``)
    under the same file name, so every traceback and every
    module's own file name and line numbers are as before; a host inflates it in about a
    millisecond with two C modules of the standard library (``zlib``, ``binascii``: ``base64``
    would import ``re`` first, ~4 ms before the probe's first line runs).
    """
    packed = base64.b64encode(zlib.compress(probe_source(), SHIPPED_LEVEL))
    return (
        b"exec(compile(__import__('zlib').decompress(__import__('binascii').a2b_base64(b'"
        + packed
        + b"')),'<auditor-probe>','exec'))\n"
    )


@functools.cache
def builder_source() -> bytes:
    """The reference-engine builder that the probe's build mode runs in a child."""
    return child_sources()["builder"].encode("utf-8")


def probe_program(payload: bytes | None) -> bytes:
    """The probe as shipped (``shipped_probe``) with ``payload`` (reference plans) in a first line
    ``AUDITOR_PAYLOAD = "<base64>"``.

    None gives the shipped probe alone. Raises ``PayloadTooLarge`` above ``MAX_PAYLOAD_BYTES``.
    """
    if payload is None:
        return shipped_probe()
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise PayloadTooLarge(
            f"{len(payload) / 2**20:.1f} MiB of reference plans is more than the {MAX_PAYLOAD_BYTES // 2**20} MiB "
            "a probe carries; fewer or smaller plans (version-compatible plans embed the lean runtime)"
        )
    return _prepend("AUDITOR_PAYLOAD", payload)


def builder_program() -> bytes:
    """The probe in build mode: ``AUDITOR_BUILDER = "<base64 of builder.py>"`` before the shipped probe."""
    return _prepend("AUDITOR_BUILDER", builder_source())


def _prepend(name: str, data: bytes) -> bytes:
    # base64 has no quote or backslash: the literal needs no escaping
    return f'{name} = "'.encode() + base64.b64encode(data) + b'"\n' + shipped_probe()


BOOTSTRAP = 'import sys;exec(compile(sys.stdin.buffer.read(),"<auditor-probe>","exec"))'
"""What ``python3 -c`` runs: the program from stdin, read in one go.

``python3 -`` reads a program on stdin a character at a time (about 3 MB/s here): 40 ms
of every probe run, and seconds once reference plans travel in the program. No quote
or shell character needs escaping inside single quotes.
"""


def interpreter_args(request: str, root: str | None = None) -> list[str]:
    """Arguments after the interpreter: ``-S -c BOOTSTRAP --request=... [--root DIR]``."""
    return ["-S", "-c", BOOTSTRAP, *probe_args(request, root)]


def probe_args(request: str, root: str | None = None) -> list[str]:
    """The probe's own arguments."""
    args = [f"--request={request}"]
    if root is not None:
        args += ["--root", root]
    return args


def remote_command(request: str) -> str:
    """The command line sent over SSH: the host's python3 reading the probe from stdin.

    RHEL 8 keeps its system Python as ``/usr/libexec/platform-python``; exit 127 with
    a plain message when neither exists, so the report can say "no python3 on host".
    """
    args = f"-S -c '{BOOTSTRAP}' " + " ".join(probe_args(request))
    return (
        f"if command -v python3 >/dev/null 2>&1; then exec python3 {args}; "
        f"elif [ -x /usr/libexec/platform-python ]; then exec /usr/libexec/platform-python {args}; "
        "else echo 'auditor: no python3 on this host' >&2; exit 127; fi"
    )


def run_local(
    root: str | None = None,
    request: str | None = None,
    python: str | None = None,
    timeout: float = 120.0,
    program: bytes | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run the probe on this machine exactly as a host would: ``python3 -S -c BOOTSTRAP`` with it on stdin.

    ``program`` replaces the bundled probe (``probe_program``, ``builder_program``).
    """
    argv = [python or sys.executable, *interpreter_args(request or encode_request(), root)]
    source = program if program is not None else probe_source()
    return subprocess.run(argv, input=source, capture_output=True, timeout=timeout, check=False)
