"""Every command the README and docs/ show runs, and exits as the docs say (docs/contributing.md, "Commands in the docs").

A fenced ``sh`` block is run one command per line (``\\`` continues a line; blank lines and
``#`` lines are not commands). Each must exit 0 unless the HTML comment on the line before the
fence says ``<!-- exit: N -->`` (or ``N|M``); ``<!-- skip: reason -->`` keeps a block from
running, and the skips are counted against ``MAX_SKIPPED``. The commands of one document run
in order in one scratch directory (copies of inventories/ and policies/, its own HOME and XDG
directories, no SSH agent, stdin closed), documents in parallel.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = (ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md")))
MAX_SKIPPED = 13  # raise it only for a command that truly cannot run here (a terminal, a GPU host, a user's files)
COMMAND_TIMEOUT_S = 240  # a hung command fails instead of holding the suite; the slowest documented one takes ~10 s
SHELLS = {"bash", "shell", "console", "zsh", "shell-session"}  # shell blocks are `sh`, so none escapes the run
FENCE = re.compile(r"^(`{3,}|~{3,})\s*([^\s`]*)")
DIRECTIVE = re.compile(r"^<!--\s*(exit|skip):\s*(.*?)\s*-->$")
EXIT_CODES = re.compile(r"^\d+(\|\d+)*$")
# The README opens with the two commands that install auditor and run the demo, and the tests: .ci/run
# runs the test command and tests/test_wheel_install.py installs the package, so they are not run here.
OPENING_SKIP = "the README's install commands: .ci/run runs the tests, tests/test_wheel_install.py installs"
# Screenshots in the docs are copies of approved TUI snapshots, so they show the TUI as it is.
SCREENSHOTS = {
    "docs/images/tui-fleet.svg": "test_mixed_verdicts[160x48].svg",
    "docs/images/tui-detail.svg": "test_detail_view[160x48].svg",
}


@dataclass(frozen=True)
class Command:
    """One command of a block, with the line of the document it starts on."""

    line: int
    text: str


@dataclass(frozen=True)
class Block:
    """A fenced ``sh`` block: its commands, the exit codes they may end with, or why it is not run."""

    document: str
    line: int
    commands: tuple[Command, ...]
    exits: frozenset[int]
    skip: str | None


@dataclass(frozen=True)
class Outcome:
    """What running one document's blocks gave: the commands run, the mismatches, the seconds taken."""

    document: str
    ran: int
    failures: tuple[str, ...]
    seconds: float


def fenced_blocks(path: Path) -> Iterator[tuple[int, str, str, list[tuple[int, str]]]]:
    """Every fenced block of a Markdown file: (fence line, language, line before the fence, body lines)."""
    lines = path.read_text().splitlines()
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        fence, language = opening.group(1), opening.group(2).lower()
        before = lines[index - 1].strip() if index else ""
        body: list[tuple[int, str]] = []
        end = index + 1
        while end < len(lines) and not lines[end].startswith(fence):
            body.append((end + 1, lines[end]))
            end += 1
        yield index + 1, language, before, body
        index = end + 1


def commands_of(body: list[tuple[int, str]]) -> tuple[Command, ...]:
    """The commands of a block: one per line, a trailing backslash joining the next line."""
    commands: list[Command] = []
    pending: tuple[int, str] | None = None
    for number, raw in body:
        text = raw.rstrip()
        if pending is not None:
            start, head = pending
            text = head + " " + text.strip()
            number = start
            pending = None
        elif not text.strip() or text.lstrip().startswith("#"):
            continue
        if text.endswith("\\"):
            pending = (number, text[:-1].rstrip())
            continue
        commands.append(Command(number, text.strip()))
    assert pending is None, f"line {pending[0]}: a command ends in a backslash at the end of its block"
    return tuple(commands)


def parse(path: Path) -> tuple[list[Block], list[str]]:
    """The ``sh`` blocks of a document, and every place it breaks the convention."""
    name = path.relative_to(ROOT).as_posix()
    blocks: list[Block] = []
    problems: list[str] = []
    for line, language, before, body in fenced_blocks(path):
        where = f"{name}:{line}"
        if language in SHELLS:
            problems.append(f"{where}: a `{language}` block: write shell commands as `sh` so this test runs them")
        if language != "sh":
            continue
        exits, skip = frozenset({0}), None
        if before.startswith("<!--"):
            directive = DIRECTIVE.match(before)
            if directive is None:
                problems.append(f"{where}: {before!r} is neither <!-- exit: N --> nor <!-- skip: reason -->")
            elif directive.group(1) == "skip":
                skip = directive.group(2)
                if not skip:
                    problems.append(f"{where}: a skip without a reason")
            elif EXIT_CODES.match(directive.group(2)):
                exits = frozenset(int(code) for code in directive.group(2).split("|"))
            else:
                problems.append(f"{where}: exit codes are numbers joined by |, not {directive.group(2)!r}")
        if name == "README.md" and not blocks:
            if skip is None:
                skip = OPENING_SKIP
            else:
                problems.append(f"{where}: the README's opening block is skipped by this test, not by a directive")
        commands = commands_of(body)
        if not commands:
            problems.append(f"{where}: an `sh` block without a command")
        blocks.append(Block(name, line, commands, exits, skip))
    return blocks, problems


def all_blocks() -> tuple[list[Block], list[str]]:
    blocks: list[Block] = []
    problems: list[str] = []
    for path in DOCUMENTS:
        found, wrong = parse(path)
        blocks += found
        problems += wrong
    return blocks, problems


def scratch_environment(work: Path) -> dict[str, str]:
    """A user with nothing of yours: HOME, state and data inside ``work``, no agent, this environment's auditor."""
    home = work / "home"
    (home / ".ssh").mkdir(parents=True)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AUDITOR_", "XDG_", "SSH_", "PYTHON", "VIRTUAL_ENV"))
    }
    return env | {
        "HOME": str(home),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }


def run_document(document: str, blocks: list[Block], work: Path) -> Outcome:
    """Run a document's blocks in order in ``work``; every command whose exit code the docs do not state is a failure."""
    for name in ("inventories", "policies"):
        shutil.copytree(ROOT / name, work / name)
    env = scratch_environment(work)
    failures: list[str] = []
    ran = 0
    started = time.monotonic()
    for block in blocks:
        if block.skip is not None:
            continue
        for command in block.commands:
            ran += 1
            try:
                done = subprocess.run(
                    ["/bin/sh", "-c", command.text],
                    cwd=work,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    text=True,
                    timeout=COMMAND_TIMEOUT_S,
                )
            except subprocess.TimeoutExpired:
                failures.append(f"{document}:{command.line}: `{command.text}` still ran after {COMMAND_TIMEOUT_S}s")
                continue
            if done.returncode not in block.exits:
                expected = "|".join(str(code) for code in sorted(block.exits))
                failures.append(
                    f"{document}:{command.line}: `{command.text}` exited {done.returncode}, the docs say {expected}\n"
                    f"    stderr: {done.stderr.strip()[-800:]}"
                )
    return Outcome(document, ran, tuple(failures), time.monotonic() - started)


def test_the_docs_follow_the_command_convention() -> None:
    """Shell blocks are `sh`, directives parse, every skip has a reason, and skips stay under the ceiling."""
    blocks, problems = all_blocks()
    assert problems == []
    skipped = [f"{b.document}:{b.line}: {b.skip}" for b in blocks if b.skip is not None]
    assert len(skipped) <= MAX_SKIPPED, "\n".join(skipped)
    assert sum(len(b.commands) for b in blocks if b.skip is None) >= 40  # the walk-through and the references


def test_every_command_in_the_docs_runs_as_documented(tmp_path: Path) -> None:
    """Each command shown in the README and docs/ exits with the code its block states, run as a user would."""
    blocks, problems = all_blocks()
    assert problems == []
    by_document: dict[str, list[Block]] = {}
    for block in blocks:
        by_document.setdefault(block.document, []).append(block)
    runnable = {doc: found for doc, found in by_document.items() if any(b.skip is None for b in found)}
    workers = max(2, min(len(runnable), os.cpu_count() or 2))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        outcomes = list(
            pool.map(
                lambda item: run_document(item[0], item[1], tmp_path / item[0].replace("/", "_")),
                runnable.items(),
            )
        )
    failures = [failure for outcome in outcomes for failure in outcome.failures]
    assert failures == [], "\n".join(failures)
    assert sum(outcome.ran for outcome in outcomes) >= 40


def test_the_docs_screenshots_are_the_approved_snapshots() -> None:
    """The SVG screenshots in docs/images/ are byte-for-byte the TUI snapshots the tests approve."""
    for image, snapshot in SCREENSHOTS.items():
        (approved,) = [p for p in (ROOT / "tests").rglob("*.svg") if p.name == snapshot and "__snapshots__" in p.parts]
        assert (ROOT / image).read_bytes() == approved.read_bytes(), f"copy {approved} to {image} again"


LINK = re.compile(r"\]\(([^()\s]+)\)")


def anchors(path: Path) -> set[str]:
    """The anchors GitHub gives a document's headings: lower case, punctuation dropped, spaces as hyphens."""
    found = set()
    for line in path.read_text().splitlines():
        if heading := re.match(r"^#{1,6}\s+(.*)$", line):
            found.add(re.sub(r"[^\w\- ]", "", heading.group(1).strip().lower()).replace(" ", "-"))
    return found


def test_every_link_between_the_docs_resolves() -> None:
    """Each relative link in the README and docs/ names a file that exists, and a heading of it when it has an anchor."""
    broken = []
    for path in DOCUMENTS:
        for target in LINK.findall(path.read_text()):
            if "://" in target or target.startswith("mailto:"):
                continue
            file, _, anchor = target.partition("#")
            linked = (path.parent / file).resolve() if file else path
            if not linked.exists():
                broken.append(f"{path.relative_to(ROOT)}: {target} (no such file)")
            elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
                broken.append(f"{path.relative_to(ROOT)}: {target} (no such heading)")
    assert broken == []
