"""``auditor compat``: compatibility answers from the knowledge base alone (no host contacted)."""

from __future__ import annotations

import argparse
import datetime
import json
import re
import sys

from auditor import versions
from auditor.audit.options import add_knowledge_option
from auditor.errors import InputError, InputErrors
from auditor.knowledge import gpus as gpus_kb
from auditor.knowledge import tables
from auditor.knowledge import tensorrt as trt_kb
from auditor.knowledge.answers import Answer, GpuSpec, Mode
from auditor.knowledge.lookup import Query, answer

EPILOG = """\
examples:
  auditor compat --driver 470.82.01 --cuda 12.2 --gpu "Tesla T4"
  auditor compat --tensorrt 10.5 --gpu "Tesla V100-SXM2-32GB"
  auditor compat --image nvcr.io/nvidia/tensorrt:23.09-py3 --driver 470.82.01
  auditor compat --cuda 12.4            # the driver floor
  auditor compat --driver 535.104.05    # the CUDA, TensorRT releases and images it runs

modes: native | minor-version (compatible, with caveats) | forward-compat (only with a
cuda-compat package, data-center GPUs) | incompatible | unknown (the knowledge base cannot
tell: a release newer than it, a missing bound) | lookup (one version alone). Every answer
says how current the knowledge is ("knowledge as of YYYY-MM-DD"). --json prints
{"compatible", "mode", "reasons", "caveats", "sources", "fix", "details", "knowledge"}.

exit codes:
  0   compatible (native or minor-version), or a lookup of a known version
  1   not compatible: forward-compat only, incompatible, or unknown
  2   bad input (an unparsable version, an unknown GPU name: the closest known names are
      listed, a malformed image reference, an invalid --knowledge overlay)
"""

_CC = re.compile(r"^(?:sm_?)?(\d{1,2})\.?(\d)$", re.IGNORECASE)

HEADLINE = {
    Mode.NATIVE: "compatible (native)",
    Mode.MINOR_VERSION: "compatible with minor-version compatibility (see caveats)",
    Mode.FORWARD_COMPAT: "compatible only with a cuda-compat package, on data-center GPUs (forward compatibility)",
    Mode.INCOMPATIBLE: "incompatible",
    Mode.UNKNOWN: "unknown: the knowledge base cannot tell",
    Mode.LOOKUP: "what the knowledge base says",
}


def add_parser(subparsers: argparse._SubParsersAction, summary: str, epilog: str) -> None:
    parser = subparsers.add_parser(
        "compat",
        help=summary,
        description="Can software built with a CUDA toolkit or TensorRT release (or an NGC image) run on a "
        "driver and GPU? Answers from the bundled knowledge base, with reasons and sources.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--driver", metavar="V", help="Linux driver version, e.g. 535.104.05")
    parser.add_argument("--cuda", metavar="V", help="CUDA toolkit the software is built with, e.g. 12.2 or 12.2.2")
    parser.add_argument("--tensorrt", metavar="V", help="TensorRT release, e.g. 10.5 or 8.6.1.6")
    parser.add_argument(
        "--gpu", metavar="NAME", help='GPU name as nvidia-smi prints it ("Tesla T4"), or a compute capability (8.6)'
    )
    parser.add_argument("--image", metavar="REF", help="NGC TensorRT image, e.g. nvcr.io/nvidia/tensorrt:23.09-py3")
    parser.add_argument(
        "--as-of", metavar="DATE", help="judge driver end of life as of this date (YYYY-MM-DD; default today)"
    )
    add_knowledge_option(parser)
    parser.add_argument("--json", action="store_true", help="print the answer as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    query, today = parse_query(args)
    result = answer(query, today)
    data = {**result.to_json(), "knowledge": tables.about().to_json()}
    text = json.dumps(data, indent=2) + "\n" if args.json else render(result)
    sys.stdout.write(text)
    return 0 if result.compatible else 1


def parse_query(args: argparse.Namespace) -> tuple[Query, datetime.date]:
    """Validate the flags (every problem at once) into a ``Query``; raises ``InputErrors``."""
    errors: list[InputError] = []
    values: dict[str, str | None] = {}
    for flag in ("driver", "cuda", "tensorrt"):
        value = getattr(args, flag)
        if value is not None and not versions.is_version(value):
            errors.append(InputError(f"--{flag}: not a version: {value!r} (expected dotted numbers like 12.2)"))
        values[flag] = value.strip() if value and versions.is_version(value) else None
    gpu = None
    if args.gpu is not None:
        try:
            gpu = parse_gpu(args.gpu)
        except InputError as exc:
            errors.append(exc)
    if args.image is not None:
        try:
            trt_kb.parse_image(args.image)
        except trt_kb.BadImage as exc:
            errors.append(InputError(f"--image: {exc}"))
    today = parse_date(args.as_of, errors)
    if not any((*values.values(), args.gpu, args.image)) and not errors:
        errors.append(InputError("give at least one of --driver, --cuda, --tensorrt, --gpu, --image"))
    if errors:
        raise InputErrors(errors)
    return Query(values["driver"], values["cuda"], values["tensorrt"], gpu, args.image), today


def parse_gpu(text: str) -> GpuSpec:
    """A GPU name the table knows, or a compute capability ("8.6", "sm_86", "sm86")."""
    match = _CC.match(text.strip())
    if match:
        return GpuSpec(compute_capability=f"{int(match.group(1))}.{match.group(2)}")
    if gpus_kb.gpu_model(text) is None:
        close = gpus_kb.closest_names(text)
        hint = f"; closest: {', '.join(repr(n) for n in close)}" if close else ""
        raise InputError(
            f"--gpu: {text!r} is not in the knowledge base ({tables.as_of_text()}){hint} "
            "(give its compute capability instead, e.g. --gpu 8.6, or add it with --knowledge)"
        )
    return GpuSpec(name=text.strip())


def parse_date(text: str | None, errors: list[InputError]) -> datetime.date:
    """``--as-of`` as a date (UTC today when absent); a bad date is added to ``errors``."""
    if text is None:
        return datetime.datetime.now(datetime.timezone.utc).date()
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        errors.append(InputError(f"--as-of: not a date: {text!r} (expected YYYY-MM-DD)"))
        return datetime.date.today()


def render(result: Answer) -> str:
    """The answer for a terminal: a headline, reasons, caveats, the fix and the sources."""
    lines = [HEADLINE[result.mode]]
    lines += [f"  - {reason}" for reason in result.reasons]
    if result.caveats:
        lines.append("caveats:")
        lines += [f"  - {caveat}" for caveat in result.caveats]
    if result.fix and not result.compatible:
        lines.append(f"fix: {result.fix}")
    if result.sources:
        lines.append("sources:")
        lines += [f"  - {source}" for source in result.sources]
    lines.append(tables.about().line())
    return "\n".join(lines) + "\n"
