"""``auditor knowledge``: what the NVIDIA knowledge base knows, how current it is, what a site overlay changes.

Without options it prints the as-of date, every table with its row, source and conflict
counts and the newest release it knows, and the conflicts between sources with the
answer taken. With ``--knowledge DIR`` (or ``$AUDITOR_KNOWLEDGE``) the overlay is
validated first (exit 2 with file:line for every problem) and each row it adds or
overrides is listed.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from auditor import versions
from auditor.audit.options import add_knowledge_option
from auditor.knowledge import cuda as cuda_kb
from auditor.knowledge import tables
from auditor.knowledge import tensorrt as trt_kb

EPILOG = """\
examples:
  auditor knowledge                          # as-of date, tables, newest releases, conflicts
  auditor knowledge --knowledge /etc/auditor/knowledge   # validate a site overlay, list its changes
  AUDITOR_KNOWLEDGE=/etc/auditor/knowledge auditor report -i hosts.ini

The overlay format and the maintainer procedure to refresh the bundled knowledge are in
docs/knowledge.md.

exit codes:
  0   the knowledge (and the overlay, if any) is valid
  2   the overlay is invalid (every problem is listed as file:line)
"""


def add_parser(subparsers: argparse._SubParsersAction, summary: str, epilog: str) -> None:
    parser = subparsers.add_parser(
        "knowledge",
        help=summary,
        description="Show the knowledge base's as-of date, its tables and sources, the conflicts between "
        "NVIDIA's sources and the answers taken, and what a site overlay adds or overrides.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_knowledge_option(parser)
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    summary = describe()
    sys.stdout.write(json.dumps(summary, indent=2) + "\n" if args.json else render(summary))
    return 0


def describe() -> dict[str, Any]:
    """The knowledge in use, as one JSON-ready value (``auditor knowledge --json``)."""
    listed = []
    for table in tables.all_tables():
        site = sum(1 for row in table.rows if row.get(tables.SITE_KEY))
        listed.append(
            {
                "table": table.name,
                "file": table.file or None,
                "title": table.title,
                "rows": len(table.rows),
                "site_rows": site,
                "sources": len(table.sources),
                "conflicts": [c.id for c in table.conflicts],
            }
        )
    return {
        "knowledge": tables.about().to_json(),
        "note": tables.about().note,
        "newest": newest(),
        "tables": listed,
        "conflicts": [
            {"table": t.name, "id": c.id, "about": c.about, "choice": c.choice, "sources": list(c.sources)}
            for t in tables.all_tables()
            for c in t.conflicts
        ],
    }


def newest() -> dict[str, Any]:
    """The newest release of each kind the knowledge base knows (anything newer is unknown)."""
    images = {}
    for repo, name in sorted(trt_kb.known_images().items()):
        table = tables.table(name)
        tags = [str(r["tag"]) for r in table.rows]
        images[repo] = str(table.section("newest_month") or (max(tags) if tags else ""))
    return {
        "cuda": max(cuda_kb.known_toolkits(), key=versions.parse),
        "tensorrt": max(trt_kb.known_releases(), key=versions.parse),
        "driver_branch": f"R{cuda_kb.newest_branch()}",
        "cuda_compat": f"cuda-compat-{cuda_kb.newest_compat_package().replace('.', '-')}",
        "images": images,
    }


def render(summary: dict[str, Any]) -> str:
    """The summary for a terminal."""
    about = summary["knowledge"]
    lines = [f"knowledge as of {about['as_of']}"]
    if summary["note"]:
        lines.append(f"  {summary['note']}")
    newest_known = summary["newest"]
    lines.append(
        f"newest known: CUDA {newest_known['cuda']}, TensorRT {newest_known['tensorrt']}, "
        f"driver {newest_known['driver_branch']}, {newest_known['cuda_compat']}"
    )
    for repo, month in newest_known["images"].items():
        lines.append(f"  {repo}: up to {month}")
    lines.append("")
    lines.append("tables")
    for table in summary["tables"]:
        site = f", {table['site_rows']} from the site" if table["site_rows"] else ""
        lines.append(
            f"  {table['table']:<28} {table['rows']:>4} rows{site}, {table['sources']} sources  ({table['title']})"
        )
    lines.append("")
    lines.append(f"conflicts between sources ({len(summary['conflicts'])}), and the answer taken")
    for conflict in summary["conflicts"]:
        lines.append(f"  {conflict['table']}/{conflict['id']}: {conflict['about']}")
        lines.append(f"      taken: {conflict['choice']}")
    overlay = about["overlay"]
    lines.append("")
    if overlay is None:
        lines.append("site overlay: none (--knowledge DIR or $AUDITOR_KNOWLEDGE)")
    else:
        as_of = f", as of {overlay['as_of']}" if overlay["as_of"] else ""
        lines.append(f"site overlay {overlay['directory']}{as_of}: valid, {len(overlay['changes'])} changes")
        for change in overlay["changes"]:
            lines.append(f"  {change['action']:<9} {change['table']}: {change['key']}  ({change['location']})")
    return "\n".join(lines) + "\n"
