"""The headless command as cron and CI run it: stdout is data, exit codes mean one thing each."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from auditor.__main__ import main
from tests.support.demo import DEMO_AS_OF, DEMO_FLEET, DEMO_POLICY, FAST_PROBE_TIMEOUT

AS_OF = ["--as-of", DEMO_AS_OF.isoformat()]  # end of life and waivers judged on a fixed date
OK_FLEET = """schema: auditor.fleet/1
defaults: {gpus: [{model: "Tesla T4"}], driver: "580.95.05", cuda_toolkits: ["13.0.2"]}
hosts:
  a: {}
  b: {}
"""


def auditor(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "auditor", *args], capture_output=True, text=True, check=False, **kwargs
    )  # type: ignore[call-overload]


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_json_report_on_stdout_and_exit_1_for_findings(capsys: pytest.CaptureFixture[str]) -> None:
    """The demo has hosts needing action (and an expired waiver, which is no input error): exit 1, one JSON report."""
    code = main(["report", "--demo", *AS_OF, "--format", "json", "--probe-timeout", str(FAST_PROBE_TIMEOUT)])
    out = capsys.readouterr().out
    report = json.loads(out)
    assert code == 1 and report["exit_code"] == 1
    assert report["schema"] == "auditor.report/1" and report["summary"]["total"] == 27
    assert set(report["exit_codes"]) == {"0", "1", "2", "3", "4", "130"}
    assert report["policy"] == "demo-production + demo-site"
    assert any(note.startswith("EXPIRED WAIVER") for note in report["notes"])
    host = next(h for h in report["hosts"] if h["name"] == "a10-infer-01")
    assert host["verdict"] == "rollback" and host["reason"] == "NVIDIA driver 550.54.14 is on the deny list (550.54.14)"
    waived = next(h for h in report["hosts"] if h["name"] == "a100-serve-03")["findings"][0]
    assert waived["waived"] is True and waived["waiver"]["source"].endswith("demo-waivers.yaml:4")


def test_exit_0_when_every_host_is_within_policy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A compliant fleet exits 0 and the table says ok for each host."""
    code = main(["report", "--simulate", write(tmp_path, "f.yaml", OK_FLEET), "-p", str(DEMO_POLICY), *AS_OF])
    out = capsys.readouterr().out
    assert code == 0
    assert "OK (2): a, b" in out and "ok 2" in out


def test_exit_3_when_hosts_are_unreachable_but_nothing_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Unreachable hosts with no policy failure: the audit is incomplete, not failed."""
    fleet = OK_FLEET + "  down: {fault: unreachable}\n"
    code = main(
        ["report", "--simulate", write(tmp_path, "f.yaml", fleet), "-p", str(DEMO_POLICY), "--format", "json", *AS_OF]
    )
    report = json.loads(capsys.readouterr().out)
    assert code == 3 and report["summary"]["unreachable"] == 1


def test_fail_on_raises_the_threshold(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--fail-on rollback: an upgrade-only fleet exits 0."""
    fleet = OK_FLEET.replace('driver: "580.95.05"', 'driver: "470.82.01"')
    path = write(tmp_path, "f.yaml", fleet)
    assert main(["report", "--simulate", path, "-p", str(DEMO_POLICY), *AS_OF]) == 1
    assert main(["report", "--simulate", path, "-p", str(DEMO_POLICY), "--fail-on", "rollback", *AS_OF]) == 0
    capsys.readouterr()


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {"policy": "schema: auditor.policy/1\nrules:\n  - drivr: {min: '535'}\n"},
            "policy.yaml:3: unknown key 'drivr' in rule #1; did you mean 'driver'?",
        ),
        ({"inventory": "all:\n  hosts: [a]\n"}, "inventory.yaml:2: 'hosts' of group 'all' must be a mapping"),
        (
            {"fleet": "schema: auditor.fleet/1\nhosts:\n  a: {fault: explode}\n"},
            "fleet.yaml:3: unknown fault 'explode'",
        ),
    ],
)
def test_exit_2_for_invalid_input_with_file_and_line(tmp_path: Path, files: dict[str, str], expected: str) -> None:
    """Broken policy, inventory or fleet: exit 2 with file:line, and nothing on stdout."""
    args = ["report"]
    if "policy" in files:
        args += ["-p", write(tmp_path, "policy.yaml", files["policy"]), "--simulate", str(DEMO_FLEET)]
    if "inventory" in files:
        args += ["-i", write(tmp_path, "inventory.yaml", files["inventory"])]
    if "fleet" in files:
        args += ["--simulate", write(tmp_path, "fleet.yaml", files["fleet"])]
    result = auditor(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert str(tmp_path / expected) in result.stderr


def test_exit_2_for_bad_flags() -> None:
    """Unknown flags and missing targets are usage errors."""
    assert auditor("report", "--frobnicate").returncode == 2
    assert auditor("report").returncode == 2


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_exit_4_when_the_report_cannot_be_written(tmp_path: Path) -> None:
    """stdout on a full device: the report is lost, which is exit 4, said on stderr."""
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "auditor",
                "report",
                "--simulate",
                write(tmp_path, "f.yaml", OK_FLEET),
                "--format",
                "json",
            ],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
    assert result.returncode == 4
    assert "could not write the report" in result.stderr


def test_exit_130_when_interrupted(tmp_path: Path) -> None:
    """SIGINT during a sweep (a host hangs) exits 130."""
    fleet = write(tmp_path, "f.yaml", OK_FLEET + "  stuck: {fault: hang}\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "auditor", "report", "--simulate", fleet, "--probe-timeout", "60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(3)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 130
    assert "interrupted" in err


def test_probe_local_prints_facts() -> None:
    """`auditor probe --local` runs the bundled probe here and prints auditor.facts/1."""
    result = auditor("probe", "--local")
    assert result.returncode == 0
    assert json.loads(result.stdout)["schema"] == "auditor.facts/1"


@pytest.mark.parametrize("argv", [["compat", "--cuda", "12.4"], ["compat", "--cuda", "not-a-version"], ["--nope"]])
def test_collection_is_off_while_starting_and_back_as_the_command_runs_and_after(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Start-up (imports, the parser, the targets) runs without garbage collection; the command runs with
    it on and what start-up built frozen; however ``main`` ends (an answer, an input error, a usage
    error) the caller gets collection as it had it, nothing left frozen."""
    import gc

    import auditor.cli.compat as compat

    seen: list[tuple[bool, int]] = []
    run = compat.run

    def watched(args: object) -> int:
        seen.append((gc.isenabled(), gc.get_freeze_count()))
        return run(args)  # type: ignore[arg-type]

    monkeypatch.setattr(compat, "run", watched)
    assert gc.isenabled() and gc.get_freeze_count() == 0
    main(argv)
    capsys.readouterr()
    assert gc.isenabled() and gc.get_freeze_count() == 0
    if argv[0] == "compat":
        assert len(seen) == 1 and seen[0][0] and seen[0][1] > 0
    gc.disable()
    try:
        main(argv)
        assert not gc.isenabled() and gc.get_freeze_count() == 0  # a caller that had it off keeps it off
    finally:
        gc.enable()
        capsys.readouterr()
