"""Bad input on the command line: exit 2 with the input named, before any host is contacted; nothing created.

Each test runs the command as a user would (``auditor.__main__.main`` or a subprocess) against
real files, and where a host could be contacted, the inventory points at a real TCP
listener on 127.0.0.1 that records whether anyone knocked.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor.__main__ import build_parser, main
from auditor.errors import InputError
from auditor.report.history import History
from auditor.report.model import Report
from auditor.report.thresholds import decide
from auditor.transport.hostkeys import HostKeyTrust
from tests.support.demo import DEMO_AS_OF
from tests.support.reports import finding, host, report

AS_OF = ["--as-of", DEMO_AS_OF.isoformat()]
ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"


class Listener:
    """A TCP port on 127.0.0.1 that accepts nothing itself: a connection attempt stays in its backlog."""

    def __init__(self) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(16)
        self.socket.setblocking(False)
        self.port = self.socket.getsockname()[1]

    def contacted(self) -> bool:
        """True when anything connected since the listener opened."""
        try:
            connection, _ = self.socket.accept()
        except BlockingIOError:
            return False
        connection.close()
        return True


@pytest.fixture
def listener() -> Iterator[Listener]:
    """A host that would notice being contacted."""
    probe = Listener()
    yield probe
    probe.socket.close()


@pytest.fixture
def inventory(tmp_path: Path, listener: Listener) -> str:
    """An INI inventory whose two hosts (group ``serving``) are the listener."""
    path = tmp_path / "hosts.ini"
    path.write_text(
        "[serving]\n" + "".join(f"node-{n} ansible_host=127.0.0.1 ansible_port={listener.port}\n" for n in "ab")
    )
    return str(path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    """``auditor ARGV`` in this process: the exit code and stderr."""
    code = main(list(argv))
    return code, capsys.readouterr().err


def auditor(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "auditor", *args], capture_output=True, text=True, check=False, **kwargs
    )  # type: ignore[call-overload]


# ------------------------------------------------------------------ --limit


@pytest.mark.parametrize(
    ("limit", "expected"),
    [
        ("~[", "unbalanced '['"),
        ("serving[0", "unbalanced '[' (Ansible would drop it and read 'serving:0')"),
        ("serving]", "unbalanced ']'"),
        ("serving:!", "'!' must be followed by a pattern"),
        ("~", "'~' must be followed by a regular expression"),
    ],
)
def test_a_malformed_limit_exits_2_naming_it_before_any_host_is_contacted(
    inventory: str, listener: Listener, capsys: pytest.CaptureFixture[str], limit: str, expected: str
) -> None:
    """A limit Ansible would misread (every host for '~[') or crash on is refused, not run."""
    code, err = run(capsys, "report", "-i", inventory, "--limit", limit, "--no-history", "--timeout", "5")
    assert code == 2 and f"--limit {limit!r}" in err and expected in err
    assert not listener.contacted()


# ------------------------------------------------------------------ history numbers


@pytest.fixture
def history_with_runs(tmp_path: Path) -> Path:
    """A history database holding two runs, one recorded a year before the other."""
    path = tmp_path / "h.sqlite"
    with History(path) as history:
        history.record(Report(inventory="prod", policy="p", hosts=(), generated_at="2025-01-01T00:00:00Z"))
        history.record(Report(inventory="prod", policy="p", hosts=()))
    return path


@pytest.mark.parametrize(
    ("flag", "value", "expected"),
    [
        ("--prune-older-than", "-5", "must be more than 0, got -5"),
        ("--prune-older-than", "0", "must be more than 0, got 0"),
        ("--prune-older-than", "soon", "'soon' is not a number"),
        ("--last", "0", "must be 1 or more, got 0"),
        ("--last", "-2", "must be 1 or more, got -2"),
    ],
)
def test_history_refuses_zero_and_negative_counts_and_keeps_every_run(
    history_with_runs: Path, capsys: pytest.CaptureFixture[str], flag: str, value: str, expected: str
) -> None:
    """`--prune-older-than 0` or `-5` used to delete every run; now exit 2, the flag named, nothing deleted."""
    code, err = run(capsys, "history", "--history", str(history_with_runs), f"{flag}={value}")
    assert code == 2 and f"{flag}: {expected}" in err
    with History(history_with_runs, create=False) as history:
        assert len(history.runs()) == 2


def test_prune_reports_what_it_deleted_in_words(history_with_runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A valid prune still works, and says '1 run', not '1 runs'."""
    code, err = run(capsys, "history", "--history", str(history_with_runs), "--prune-older-than", "30")
    assert code == 0 and "pruned 1 run older than 30 days" in err


# ------------------------------------------------------------------ files written and read


@pytest.mark.parametrize(
    "option",
    [
        ["--history", "{missing}/h.sqlite"],
        ["--retry-file", "{missing}/last.retry"],
        ["--accept-new", "--accept-new-file", "{missing}/known_hosts"],
        ["--format", "json:{missing}/r.json"],
        ["--format", "md:{missing}/{inventory}-{timestamp}.md"],
    ],
)
def test_an_output_path_in_a_missing_directory_exits_2_before_any_host_and_creates_nothing(
    tmp_path: Path, inventory: str, listener: Listener, capsys: pytest.CaptureFixture[str], option: list[str]
) -> None:
    """A mistyped directory is named (exit 2) before the audit, instead of being created or failing at the end."""
    missing = tmp_path / "typo"
    argv = [part.replace("{missing}", str(missing)) for part in option]
    code, err = run(capsys, "report", "-i", inventory, "--timeout", "5", *argv)
    flag = option[-2] if option[0] != "--format" else "--format"
    assert code == 2 and flag in err and f"directory {missing} does not exist" in err
    assert not missing.exists() and not listener.contacted()


def test_every_bad_path_is_named_at_once(
    tmp_path: Path, inventory: str, listener: Listener, capsys: pytest.CaptureFixture[str]
) -> None:
    """Several mistyped paths: one line each, so the user fixes them in one go."""
    code, err = run(
        capsys,
        *("report", "-i", inventory, "--history", f"{tmp_path}/a/h.sqlite", "--retry-file", f"{tmp_path}/b/r"),
    )
    assert code == 2 and "--history" in err and "--retry-file" in err and len(err.splitlines()) == 2
    assert not listener.contacted()


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("json:{out}/{bogus}.json", "unknown placeholder {bogus} (a path may contain {timestamp} and {inventory})"),
        ("json:{out}/r-{timestamp.json", "unknown placeholder {"),
        ("prom:{out}/auditor.txt", "reads only files ending in .prom and would ignore this one; name it auditor.prom"),
        ("json:{out}/{timestamp}/r.json", "{timestamp} in the directory names a new directory every run"),
        ("json:{out}/{inventory}/r.json", "directory {out}/hosts does not exist"),
    ],
)
def test_report_paths_are_checked_whole_before_the_audit(
    tmp_path: Path, inventory: str, listener: Listener, capsys: pytest.CaptureFixture[str], spec: str, expected: str
) -> None:
    """Unknown {placeholders}, a .prom-less Prometheus file and directories that cannot exist: exit 2, nothing written."""
    out = str(tmp_path / "out")
    Path(out).mkdir()
    code, err = run(capsys, "report", "-i", inventory, "--no-history", "--format", spec.replace("{out}", out))
    assert code == 2 and expected.replace("{out}", out) in err
    assert list(Path(out).iterdir()) == [] and not listener.contacted()


def test_a_directory_named_after_the_inventory_is_fine_when_it_exists(
    tmp_path: Path, inventory: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """{inventory} in the directory is resolved before the check: an existing directory passes it."""
    (tmp_path / "hosts").mkdir()
    code, _ = run(
        capsys, "report", "-i", inventory, "--format", f"json:{tmp_path}/{{inventory}}/r.json", "--list-hosts"
    )
    assert code == 0
    from auditor.report.formats import check_specs, parse_spec

    check_specs([parse_spec(f"json:{tmp_path}/{{inventory}}/r.json")], inventory=inventory)
    with pytest.raises(InputError, match="does not exist"):
        check_specs([parse_spec(f"json:{tmp_path}/{{inventory}}/r.json")], inventory="other.ini")


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("missing", "cannot read the key: No such file or directory"),
        ("directory", "cannot read the key"),
        ("garbage", "not a private key auditor can use"),
        ("public", "not a private key auditor can use"),
    ],
)
def test_an_unusable_private_key_is_one_error_before_any_host(
    tmp_path: Path, inventory: str, listener: Listener, capsys: pytest.CaptureFixture[str], key: str, expected: str
) -> None:
    """A missing or unreadable --private-key used to make every host unreachable; now it is one exit-2 error."""
    (tmp_path / "directory").mkdir()
    (tmp_path / "garbage").write_text("not a key\n")
    (tmp_path / "public").write_text(ED25519 + "\n")
    code, err = run(capsys, "report", "-i", inventory, "--no-history", "--private-key", str(tmp_path / key))
    assert code == 2 and f"--private-key {tmp_path / key}: {expected}" in err
    assert err.count("auditor:") == 1 and not listener.contacted()


# ------------------------------------------------------------------ known_hosts


def test_malformed_known_hosts_lines_are_skipped_with_their_file_and_line(
    tmp_path: Path, inventory: str, listener: Listener
) -> None:
    """A lone host name or an unknown @marker used to crash the run (exit 4): now a warning each, and the run goes on."""
    known = tmp_path / "known_hosts"
    known.write_text(f"good.example {ED25519}\nonlyhost\n@bogus h {ED25519}\n")
    done = auditor(
        *("report", "-i", inventory, "--known-hosts", str(known), "--no-history", "--no-retry-file"),
        *("--timeout", "1", "--format", "json"),
    )
    assert done.returncode == 3, done.stderr  # the listener never answers: unreachable, not an internal error
    assert f"{known}:2: Invalid known hosts entry: onlyhost; line skipped" in done.stderr
    assert f"{known}:3: Invalid known hosts marker: bogus; line skipped" in done.stderr
    assert any(f"{known}:2" in note for note in json.loads(done.stdout)["notes"])
    trust = HostKeyTrust.load((str(known),))
    assert trust.knows("good.example", None, 22) and len(trust.skipped) == 2


# ------------------------------------------------------------------ inventories


def test_a_vault_encrypted_inventory_is_refused_with_the_command_that_decrypts_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A whole-file ansible-vault inventory used to be read as hosts named like its hex lines (exit 0)."""
    path = tmp_path / "prod.ini"
    path.write_text("$ANSIBLE_VAULT;1.1;AES256\n6162636465666768\n3132333435363738\n")
    code, err = run(capsys, "inventory", "-i", str(path))
    assert code == 2 and f"{path}:1: encrypted with ansible-vault" in err
    assert f"ansible-inventory -i {path} --ask-vault-pass --list > inventory.json" in err


# ------------------------------------------------------------------ probe


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--python", "/nonexistent"], "--python /nonexistent: no such interpreter"),
        (["--python", "/etc"], "--python /etc: no such interpreter"),
        (["--root", "/nonexistent"], "--root /nonexistent: no such directory"),
        (["--root", __file__], f"--root {__file__}: not a directory"),
    ],
)
def test_probe_refuses_an_interpreter_or_root_that_does_not_exist(
    capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    """`probe --python /nonexistent` was an internal error and `--root /nonexistent` a silent success: both exit 2."""
    code, err = run(capsys, "probe", "--local", *argv)
    assert code == 2 and expected in err and capsys.readouterr().out == ""


# ------------------------------------------------------------------ start-up and terminals

INTERRUPT_AT_START_UP = """
import importlib.abc, os, signal, sys

class CtrlC(importlib.abc.MetaPathFinder):
    # Ctrl-C exactly while the command starts: when the SSH library is first imported.
    def find_spec(self, name, path, target=None):
        if name == "asyncssh":
            os.kill(os.getpid(), signal.SIGINT)
        return None

sys.meta_path.insert(0, CtrlC())
from auditor.__main__ import main
sys.exit(main(["report", "--demo"]))
"""


def test_ctrl_c_during_start_up_exits_130_with_one_line() -> None:
    """SIGINT while auditor is still importing its libraries: exit 130 and one line, no traceback."""
    done = subprocess.run(
        [sys.executable, "-c", INTERRUPT_AT_START_UP], capture_output=True, text=True, check=False, timeout=120
    )
    assert (done.returncode, done.stderr) == (130, "auditor: interrupted\n")


@pytest.mark.parametrize(
    ("argv", "suggestion"),
    [(["demo"], "`auditor report --demo`"), (["tui", "--demo"], "`auditor report` with the same options")],
)
def test_interactive_commands_without_a_terminal_exit_2_instead_of_hanging(argv: list[str], suggestion: str) -> None:
    """`auditor demo` from a script or cron (no terminal) used to hang; now exit 2 pointing at the headless command."""
    done = auditor(*argv, stdin=subprocess.DEVNULL, timeout=120)
    assert done.returncode == 2 and "needs a terminal" in done.stderr and suggestion in done.stderr
    assert done.stdout == ""


# ------------------------------------------------------------------ messages


def _typed_options(parser: argparse.ArgumentParser) -> Iterator[argparse.Action]:
    """Every option and positional, of every subcommand, whose value a function converts."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _typed_options(sub)
        elif callable(action.type) and action.type is not str:
            yield action


def test_no_flag_error_shows_an_internal_name_or_a_doubled_percent(capsys: pytest.CaptureFixture[str]) -> None:
    """Bad values get a readable message: never `invalid positive_float value` (argparse prints a type's
    function name for any error but ArgumentTypeError), never a `%%` meant for help text."""
    actions = list(_typed_options(build_parser()))
    assert len(actions) > 10
    for action in actions:
        for value in ("x%y", "-1", "0", "nan", ""):
            try:
                action.type(value)  # type: ignore[misc]
            except argparse.ArgumentTypeError as exc:
                assert "%%" not in str(exc), (action.option_strings, value, exc)
    assert main(["report", "--demo", "--timeout", "abc"]) == 2
    assert "argument --timeout: 'abc' is not a number" in capsys.readouterr().err
    assert main(["plan", "--demo", "--to", "x", "--max-unavailable", "0%"]) == 1  # plan: every error is 1
    assert "a percentage 1%-100%, got '0%'" in capsys.readouterr().err


def test_counts_read_1_host_and_2_hosts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Messages that count say '1 host', '2 hosts': the count helper, the exit reason, `auditor diff`."""
    from auditor.report.writers.html import render_html
    from auditor.report.writers.md import render_md
    from auditor.report.writers.table import render_table
    from auditor.text import count

    assert (count(1, "host"), count(2, "host"), count(0, "entry", "entries")) == ("1 host", "2 hosts", "0 entries")
    one = report(host("a"))
    assert decide(one.hosts).reason == "all 1 host below --fail-on upgrade,critical"
    path = tmp_path / "h.sqlite"
    with History(path) as history:
        history.record(one)
        history.record(report(host("a", finding("p/driver.min"))))
    assert main(["diff", "--history", str(path)]) == 1
    assert "1 host changed: 1 new, 0 resolved, 0 changed findings, 0 version changes" in capsys.readouterr().out
    failing = report(host("a", finding("p/driver.min")))
    assert "**1 of 1 host needs action**" in render_md(failing)
    assert "<strong>1</strong> of 1 host needs action" in render_html(failing)
    assert "· 1 host in" in render_table(failing)


# ------------------------------------------------------------------ the demo's state


def test_the_demo_keeps_its_own_state_and_two_runs_diff_unchanged(
    private_state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`report --demo` records in the demo's history and retry file, not the user's; its messages name no temp path.

    The two hosts chosen report library load errors whose text used to carry the simulator's
    random temporary directory, so two runs of the same fleet diffed as changed.
    """
    demo_hosts = ["--demo", "--limit", "a100-serve-02,t4-edge-01", *AS_OF]
    documents = []
    for _ in range(2):
        assert main(["report", *demo_hosts, "--format", "json"]) == 1
        documents.append(capsys.readouterr().out)
    state = private_state_dir / "auditor"
    assert sorted(p.name for p in state.iterdir()) == ["demo"]  # nothing of the user's own state
    assert {"history.sqlite", "last.retry"} <= {p.name for p in (state / "demo").iterdir()}
    assert all("auditor-sim-" not in doc and "/roots/" not in doc for doc in documents)
    assert "libnvidia-ml.so.1" in documents[0]  # the message is still there, as the host names it
    assert main(["diff", "--demo"]) == 0
    assert "no changes" in capsys.readouterr().out
    assert main(["history"]) == 2
    assert "the demo keeps its own: add --demo" in capsys.readouterr().err
    assert main(["history", "--demo", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 2
    plan = ["plan", "--demo", "--from-history", "--to", "serving-2026", *AS_OF, "--format", "json"]
    assert main(plan) == 2  # planned from the demo's own history: changes to make
    assert json.loads(capsys.readouterr().out)["source"]["run_id"] == 2
