"""``auditor engines build|list|verify``: the reference engine library.

``build`` builds the reference network on one GPU host (a canary of a TensorRT version
and architecture) with that host's TensorRT, runs it once and keeps the plan and its
metadata in the library; ``list`` shows what the library holds; ``verify`` checks every
plan against its metadata and header, offline.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from auditor.audit.demo import DEMO_FLEET
from auditor.audit.options import add_ssh_options, positive_float, ssh_settings
from auditor.audit.targets import list_targets, open_targets
from auditor.cli.common import wake_on_signals
from auditor.cli.paths import check_paths
from auditor.errors import InputError
from auditor.reference.build import DEFAULT_TIMEOUT, BuildFailed, BuildRequest, build_on, default_name
from auditor.reference.library import (
    HARDWARE_LEVELS,
    PRECISIONS,
    Library,
    LibraryError,
    add_plan,
    as_object,
    default_library,
    load_library,
    valid_name,
)
from auditor.reference.verify import verify_library
from auditor.yamlsrc import did_you_mean

BUILD_EPILOG = """\
exit codes:
  0   built, checked against the network computed in Python, and saved in the library
  1   the host could not build it (no TensorRT builder, a build error, a wrong first answer)
  2   usage or input error (no such host, a bad inventory or fleet file); no host was contacted
  3   the host could not be reached (connect, host key, auth, timeout)
  4   internal error, including a library that could not be written
"""
VERIFY_EPILOG = """\
exit codes:
  0   every plan matches its metadata and header
  1   at least one plan (or metadata file) has a problem
"""


def add_parser(subparsers: argparse._SubParsersAction, summary: str, epilog: str) -> None:
    parser = subparsers.add_parser(
        "engines",
        help=summary,
        description="The reference engine library: plans of a small fixed network, one per TensorRT build and "
        "GPU architecture, that policies can require every host to load and run correctly.",
    )
    commands = parser.add_subparsers(dest="engines_command", metavar="COMMAND")
    build = commands.add_parser(
        "build",
        help="build the reference network on a host and keep the plan",
        description="Connect to one GPU host, build the reference network there with its TensorRT (8.6 to 11.x), "
        "run it once, and save engines/<tensorrt>/<sm>/<name>.plan and its meta.json in the library.",
        epilog=BUILD_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    build.add_argument("--on", required=True, metavar="HOST", help="the inventory host to build on")
    source = build.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "-i",
        "--inventory",
        metavar="INV",
        action="append",
        help="Ansible inventory to find HOST in (as for auditor report; repeat to merge)",
    )
    source.add_argument("--simulate", metavar="FLEET", help="a simulated fleet file (auditor.fleet/1)")
    source.add_argument("--demo", action="store_true", help="the built-in demo fleet")
    build.add_argument("--name", help="plan name (default: ref-<precision>[-vc][-<hardware level>])")
    build.add_argument("--precision", choices=PRECISIONS, default="fp32", help="fp32 (default) or fp16")
    build.add_argument(
        "--version-compatible",
        action="store_true",
        help="loadable by newer TensorRT runtimes (8.6+; 8 -> 10 and 10 -> 11 across majors); embeds the lean runtime",
    )
    build.add_argument(
        "--hardware-compatible",
        choices=[h for h in HARDWARE_LEVELS if h != "none"],
        help="ampere+: any GPU of compute capability 8.0+ (TensorRT 8.6+); same-cc: this capability (10.9+)",
    )
    build.add_argument("--gpu", metavar="INDEX|UUID", help="the GPU to build on (default: the first)")
    build.add_argument(
        "--build-timeout",
        type=positive_float,
        default=DEFAULT_TIMEOUT,
        metavar="S",
        help=f"time the build may take on the host (default {DEFAULT_TIMEOUT:g}s)",
    )
    _library_option(build)
    conn = build.add_argument_group("connection (as for auditor report)")
    conn.add_argument("--timeout", type=positive_float, default=None, metavar="S", help="time to connect to the host")
    add_ssh_options(conn)
    build.set_defaults(run=run_build)
    listing = commands.add_parser("list", help="what the library holds, per TensorRT and architecture")
    _library_option(listing)
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    listing.set_defaults(run=run_list)
    verify = commands.add_parser(
        "verify",
        help="check every plan against its metadata and header (offline)",
        description="Check each plan's size, sha256, TensorRT header and place in the library against its "
        "meta.json, and the recorded output against its checksum. Needs no GPU.",
        epilog=VERIFY_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verify.add_argument("names", nargs="*", metavar="NAME", help="only plans of these names")
    _library_option(verify)
    verify.add_argument("--json", action="store_true", help="print JSON instead of text")
    verify.set_defaults(run=run_verify)
    parser.set_defaults(run=lambda args: _usage(parser))


def _library_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--library",
        metavar="DIR",
        help=f"the engine library (default: $XDG_DATA_HOME/auditor/engines, here {default_library()})",
    )


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def library_path(args: argparse.Namespace) -> Path:
    return Path(args.library) if getattr(args, "library", None) else default_library()


# -- build -------------------------------------------------------------------------------------


def run_build(args: argparse.Namespace) -> int:
    hardware = args.hardware_compatible or "none"
    name = args.name or default_name(args.precision, args.version_compatible, hardware)
    if not valid_name(name):
        raise InputError(f"--name {name!r}: letters, digits, '.', '_', '+' or '-' (at most 64)")
    request = BuildRequest(
        name=name,
        precision=args.precision,
        version_compatible=args.version_compatible,
        hardware_compatible=hardware,
        gpu=args.gpu,
        timeout=args.build_timeout,
    )
    library = library_path(args)
    check_paths(args)  # --private-key and --accept-new-file, before the host is contacted
    try:
        built = asyncio.run(_build(args, request))
    except BuildFailed as exc:
        print(f"auditor: build failed: {exc}", file=sys.stderr)
        return 3 if exc.unreachable else 1
    try:
        saved = add_plan(library, built.meta, built.plan)
    except LibraryError as exc:
        print(f"auditor: {exc}", file=sys.stderr)
        return 4
    meta = built.meta
    build = dict(meta.build)
    check = as_object(build.get("reference_check"))
    values = ", ".join(f"{v:.4g}" for v in meta.expected[0].values[:5]) if meta.expected else ""
    print(
        f"built {meta.name} on {meta.host}: TensorRT {meta.tensorrt}, {meta.sm} ({meta.gpu}), {meta.flags}, {meta.size / 1024:.1f} KiB"
    )
    print(f"  saved {saved.path} and {saved.meta_path.name}")
    print(
        f"  first run: loaded in {float(build.get('load_s') or 0) * 1000:.1f} ms, ran in "
        f"{float(build.get('run_s') or 0) * 1000:.2f} ms, device memory from CUDA's {build.get('cuda_api') or '?'} API"
    )
    if meta.expected:
        print(
            f"  recorded output {meta.expected[0].name!r}: [{values}, ...] (sha256 {meta.expected[0].sha256[:16]}...)"
        )
    print(
        f"  matches the network computed in Python (max error {float(check.get('max_abs_error') or 0):.2g}, "
        f"tolerance {check.get('atol')} + {check.get('rtol')} x |value|); audits allow {meta.atol:g} + {meta.rtol:g} x |value|"
    )
    return 0


async def _build(args: argparse.Namespace, request: BuildRequest) -> Any:
    fleet = str(DEMO_FLEET) if args.demo else args.simulate
    names = [h.name for h in list_targets(inventory=args.inventory, fleet=fleet).hosts]
    if args.on not in names:  # checked offline, before anything connects (exit 2)
        source = fleet or ", ".join(args.inventory)
        raise InputError(f"--on {args.on!r}: no such host in {source}{did_you_mean(args.on, names)}")
    settings = replace(ssh_settings(args), retry_file=None)  # one host, one build: no retry file
    with wake_on_signals():  # Ctrl-C or SIGINT stops the build at once, whichever thread took it
        async with open_targets(inventory=args.inventory, fleet=fleet, limit=args.on, settings=settings) as targets:
            [host] = [h for h in targets.hosts if h.name == args.on]
            return await build_on(host, targets.options, request)


# -- list and verify ------------------------------------------------------------------------------


def run_list(args: argparse.Namespace) -> int:
    library = load_library(library_path(args))
    if args.json:
        document = {
            "library": str(library.root),
            "plans": [dict(p.meta.to_json(), name=p.meta.name, id=p.meta.id, path=str(p.path)) for p in library.plans],
            "problems": list(library.problems),
        }
        print(json.dumps(document, indent=2, sort_keys=True))
        return 0
    print(f"library {library.root}")
    if not library.plans:
        print("  (no plans: auditor engines build --on HOST builds one)")
    rows = [("NAME", "TENSORRT", "ARCH", "GPU", "FLAGS", "SIZE", "BUILT ON", "DATE")]
    for plan in sorted(library.plans, key=lambda p: (p.meta.name, p.meta.tensorrt, p.meta.sm)):
        meta = plan.meta
        rows.append(
            (
                meta.name,
                meta.tensorrt,
                f"{meta.sm} ({meta.compute_capability})",
                meta.gpu or "?",
                meta.flags,
                f"{meta.size / 1024:.1f} KiB",
                meta.host or "?",
                (meta.built_at or "?")[:10],
            )
        )
    if len(rows) > 1:
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        for row in rows:
            print("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    for problem in library.problems:
        print(f"auditor: warning: {problem}", file=sys.stderr)
    return 0


def run_verify(args: argparse.Namespace) -> int:
    library: Library = load_library(library_path(args))
    verdicts = verify_library(library, args.names or None)
    unknown = [n for n in args.names if n not in library.names]
    failed = bool(library.problems) or any(not v.ok for v in verdicts) or bool(unknown)
    if args.json:
        document = {
            "library": str(library.root),
            "ok": not failed,
            "plans": [
                {"id": v.plan.meta.id, "ok": v.ok, "problems": list(v.problems), "warnings": list(v.warnings)}
                for v in verdicts
            ],
            "problems": list(library.problems) + [f"no plan named {n!r}" for n in unknown],
        }
        print(json.dumps(document, indent=2, sort_keys=True))
        return 1 if failed else 0
    for verdict in verdicts:
        print(f"{'ok  ' if verdict.ok else 'FAIL'} {verdict.plan.meta.id}  ({verdict.plan.path})")
        for problem in verdict.problems:
            print(f"     problem: {problem}")
        for warning in verdict.warnings:
            print(f"     warning: {warning}")
    for problem in library.problems:
        print(f"FAIL {problem}")
    for name in unknown:
        print(f"FAIL no plan named {name!r} in {library.root}{did_you_mean(name, library.names)}")
    if not verdicts and not library.problems and not unknown:
        print(f"no plans in {library.root}")
    return 1 if failed else 0
