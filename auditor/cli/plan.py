"""``auditor plan``: what must change on each host to reach a target, in what order, and how to roll back.

The facts come from a fresh audit (the same targets and connection options as
``auditor report``; the probe is also asked about the target stack's engines), or
with ``--from-history`` from the newest stored run of the same inventory, whose
number and age the plan states. Nothing is recorded in the history: a plan changes
no host and no state. Exit codes follow Terraform's ``plan -detailed-exitcode``:
0 nothing to do, 2 changes planned, 1 any error (usage errors included, since 2
already means "changes").
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import shutil
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from auditor import crashlog
from auditor.audit.demo import DEMO_FLEET
from auditor.audit.options import add_target_options, non_negative_int, resolve_policy, targets_from
from auditor.audit.run import collect
from auditor.audit.targets import list_targets
from auditor.cli.common import wake_on_signals
from auditor.cli.history import add_history_path, history_path
from auditor.errors import InputError, Location, ReportWriteError
from auditor.facts.model import FactsError
from auditor.facts.reader import read_stored
from auditor.findings import Verdict
from auditor.inventory import Host
from auditor.plan.fleet import failed_plan, make_plan, plan_with_hosts
from auditor.plan.model import SET_COMPONENTS, HostPlan, Plan, PlanExit, PlanSource, Rollout, Target
from auditor.plan.packages import request_names
from auditor.plan.target import build_target
from auditor.plan.waves import SKIP_VAR
from auditor.plan.writers.playbook import PlaybookOptions, hook_problem, render_playbook
from auditor.policy.model import Policy
from auditor.probe.request import encode_request
from auditor.report.exitcodes import DEFAULT_FAIL_ON, UNREACHABLE_CHOICES
from auditor.report.files import write_atomic
from auditor.report.formats import OutputSpec, check_specs, parse_spec
from auditor.report.history import History, HistoryError
from auditor.report.isolation import render_isolated
from auditor.report.model import HostReport, Report, age, utc_now
from auditor.report.thresholds import thresholds
from auditor.simulate.fleet import load_fleet
from auditor.text import clean
from auditor.transport.outcome import AuditStep, HostError

log = logging.getLogger(__name__)

PLAN_FORMATS = ("table", "md", "json", "ansible", "ansible-playbook")
DESCRIPTIONS = {
    "table": "readable plan: target, waves, steps per host, blockers, rollback (the default)",
    "md": "Markdown for the change ticket",
    "json": "auditor.plan/1, the machine contract",
    "ansible": "Ansible YAML inventory: one group per wave (wave_0_canary, wave_1, ...) with each host's plan as vars",
    "ansible-playbook": "an Ansible playbook running the waves: hooks, exact package versions (held), reboot, "
    "the health gate (auditor report --limit WAVE), rollback on failure",
}
HOOKS = ("drain", "rebuild", "restore")
_UNAVAILABLE = re.compile(r"^\s*(\d+)\s*(%?)\s*$")

EPILOG = f"""\
examples:
  auditor plan --demo --to serving-2026
  auditor plan -i prod.yaml -p prod.yaml --to serving-2026 --format md:change.md --format ansible:waves.yaml
  auditor plan --demo --set driver=580.95.05 --set cuda=13.0.2 --set tensorrt=10.13.3.9
  auditor plan --demo --set image=nvcr.io/nvidia/tensorrt:23.08-py3 --from-history
  auditor plan -i prod.yaml -p prod.yaml --to serving-2026 --format ansible-playbook:rollout.yml --drain-hook drain.yml
  ansible-playbook -i prod.yaml rollout.yml --check        # what it would do; then without --check

packages: a fresh audit asks each host's package manager (read-only) which versions its
repositories offer; a rollback version no repository or local cache has, a target none offers,
or an apt pin on another version blocks the host; an unheld driver package is a warning.

targets: --to STACK takes a stack of the policy and plans the hosts the policy gives it (rules
with `stack: STACK`); hosts pinned to another stack, or that no rule using it selects, are
listed as skipped with the reason, never planned. Its bounds decide who is compliant; a host
outside them moves to the stack's target:, else its pin, else its newest allowed version;
--set {"|".join(SET_COMPONENTS)}=V names exact versions and overrides the stack's component.
image names an NGC TensorRT container: the host needs only a driver that runs it, and engines
are judged against the TensorRT inside it. Components the target leaves out never change.

rollout (the GPU Operator's words): wave 0 is the canary, one host per GPU model and group;
then waves of at most --max-unavailable hosts (a count or a percentage of the targeted
hosts) and --max-parallel (0: no cap). --skip PATTERN (glob over host and group names) and
the host variable {SKIP_VAR}: true leave hosts out. Blocked and unaudited hosts are left out.
A host without steps whose engines or target the plan could not judge is inconclusive (never
compliant); a target driver that cannot drive a host's GPU, or would break a running
container, blocks it.

exit codes (like terraform plan -detailed-exitcode):
""" + "\n".join(f"  {int(code):<4}{code.description}" for code in PlanExit)


def add_parser(subparsers: argparse._SubParsersAction, summary: str, epilog: str) -> None:
    formats = "\n".join(f"  {name:<8} {DESCRIPTIONS[name]}" for name in PLAN_FORMATS)
    parser = subparsers.add_parser(
        "plan",
        help=summary,
        description="Plan the move to a target stack before touching any host: the ordered steps on each host "
        "(driver, reboot, toolkit, cuDNN, TensorRT, engine rebuilds), what blocks it and why, the version to roll "
        "back to, and the waves to run it in.",
        epilog=f"formats (--format FMT[:PATH], repeatable; at most one without a path, on stdout):\n{formats}\n\n"
        + EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.error = _usage_error(parser)  # type: ignore[method-assign]
    add_target_options(parser)
    target = parser.add_argument_group("target (one of --to and --set at least)")
    target.add_argument(
        "--to",
        metavar="STACK",
        help="a stack named in the policy; only the hosts its rules select are planned, the rest skipped with why",
    )
    target.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="COMPONENT=VERSION",
        help=f"a version to reach ({', '.join(SET_COMPONENTS)}); repeatable; overrides --to's component",
    )
    rollout = parser.add_argument_group("rollout")
    rollout.add_argument(
        "--max-unavailable",
        default="25%",
        type=_max_unavailable,
        metavar="N|P%",
        help="hosts a wave may take out of service: a count, or a percentage of the targeted hosts, rounded up "
        "(default 25%%, the GPU Operator's)",
    )
    rollout.add_argument(
        "--max-parallel",
        default=0,
        type=non_negative_int,
        metavar="N",
        help="cap on hosts upgraded at once per wave (default 0: no cap beyond --max-unavailable)",
    )
    rollout.add_argument(
        "--skip",
        action="append",
        default=[],
        metavar="PATTERN",
        help=f"leave out hosts whose name or group matches this glob; repeatable (also: host variable {SKIP_VAR}: true)",
    )
    playbook = parser.add_argument_group("playbook (--format ansible-playbook)")
    playbook.add_argument(
        "--drain-hook",
        metavar="FILE",
        help="Ansible task file run on each host before its upgrade (cordon and drain it, say)",
    )
    playbook.add_argument(
        "--rebuild-hook",
        metavar="FILE",
        help="Ansible task file run after the reboot on hosts whose engines the plan rebuilds "
        "(auditor_engines lists them: path, compute_capability, tensorrt)",
    )
    playbook.add_argument(
        "--restore-hook",
        metavar="FILE",
        help="Ansible task file run on each host that passed its wave's health gate (uncordon it, say)",
    )
    playbook.add_argument(
        "--gate-fail-on",
        type=_gate_fail_on,
        default=DEFAULT_FAIL_ON,
        metavar="LEVEL",
        help=f"the health gate's auditor report --fail-on after each wave (default {DEFAULT_FAIL_ON})",
    )
    facts = parser.add_argument_group("facts")
    facts.add_argument(
        "--from-history",
        action="store_true",
        help="plan from the newest stored run of this inventory (`auditor report` records them) instead of auditing",
    )
    add_history_path(facts)
    out = parser.add_argument_group("output")
    out.add_argument(
        "--format",
        action="append",
        type=_spec,
        metavar="FMT[:PATH]",
        help=f"{', '.join(PLAN_FORMATS)} (default: table on stdout); a PATH is written atomically",
    )
    out.add_argument(
        "--unreachable",
        choices=UNREACHABLE_CHOICES,
        default="fail",
        help="with nothing to do among the audited hosts, hosts that could not be audited make the exit "
        "1 ('fail', the default) or only a warning on stderr and 0 ('warn')",
    )
    parser.set_defaults(run=run)


def _usage_error(parser: argparse.ArgumentParser) -> Callable[[str], NoReturn]:
    def error(message: str) -> NoReturn:
        parser.print_usage(sys.stderr)
        parser.exit(int(PlanExit.ERROR), f"{parser.prog}: error: {message}\n")

    return error


def _spec(text: str) -> OutputSpec:
    try:
        return parse_spec(text, PLAN_FORMATS)
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _gate_fail_on(text: str) -> str:
    try:
        levels = thresholds(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if not levels:
        raise argparse.ArgumentTypeError(f"{text!r} names no level")
    return ",".join(level.level for level in levels)


def _max_unavailable(text: str) -> str:
    match = _UNAVAILABLE.match(text)
    if not match or int(match.group(1)) < 1 or (match.group(2) and int(match.group(1)) > 100):
        raise argparse.ArgumentTypeError(f"expected a count of 1 or more, or a percentage 1%-100%, got {text!r}")
    return f"{int(match.group(1))}{match.group(2)}"


def run(args: argparse.Namespace) -> int:
    specs: list[OutputSpec] = args.format or [OutputSpec("table")]
    check_specs(specs)
    playbook = playbook_options(args, specs)
    policy = resolve_policy(args)
    target = build_target(policy, args.to, args.set)
    rollout = Rollout(max_unavailable=args.max_unavailable, max_parallel=args.max_parallel, skip=tuple(args.skip))
    if args.from_history:
        reports, hosts, name, source, notes = _from_history(args)
    else:
        report, hosts, name = asyncio.run(_audit(args, policy, target))
        reports, source, notes = list(report.hosts), PlanSource("audit", report.generated_at), list(report.notes)
    plan = make_plan(reports, hosts, target, policy, rollout, source, name, args.unreachable, notes)
    if plan.exit_code is PlanExit.NOTHING and args.unreachable == "warn":
        missing = [h.name for h in plan.hosts if h.status.left_out]
        if missing:
            print(f"auditor: warning: not audited: {', '.join(missing)}", file=sys.stderr)
    errors = write_outputs(plan, specs, playbook)
    for error in errors:
        print(f"auditor: {error}", file=sys.stderr)
    return int(PlanExit.ERROR) if errors else int(plan.exit_code)


async def _audit(args: argparse.Namespace, policy: Policy, target: Target) -> tuple[Report, dict[str, Host], str]:
    with wake_on_signals():  # Ctrl-C or SIGINT stops the sweep at once, whichever thread took it
        async with targets_from(args) as targets:
            report = await collect(targets, policy, request=plan_request(policy, target))
            return report, {h.name: h for h in targets.hosts}, targets.name


def plan_request(policy: Policy, target: Target) -> Callable[[Host], str]:
    """Per-host probe requests: the policy's engine templates for the host, plus the target's; and the package
    names that may carry the target, so the probe says which versions the host's repositories offer."""
    cache: dict[tuple[tuple[str, ...], bool], str] = {}
    names = request_names([(c.component, c.version) for c in target.components if c.version])

    def request(host: Host) -> str:
        engines = tuple(dict.fromkeys([*policy.engine_templates_for(host), *(e.template for e in target.engines)]))
        key = (engines, policy.plugins_for(host))
        if key not in cache:
            cache[key] = encode_request(engines=engines, packages=names, plugins=key[1])
        return cache[key]

    return request


def offline_hosts(args: argparse.Namespace) -> tuple[str, list[Host]]:
    """The targets' name (as reports record it) and the hosts --limit selects, without contacting anyone."""
    fleet = str(DEMO_FLEET) if args.demo else args.simulate
    selection = getattr(args, "selection", None) or list_targets(
        inventory=args.inventory, fleet=fleet, limit=getattr(args, "limit", None)
    )
    name = f"{load_fleet(fleet).name} (simulated)" if fleet is not None else selection.source
    return name, list(selection.hosts)


def _from_history(
    args: argparse.Namespace,
) -> tuple[list[HostReport], dict[str, Host], str, PlanSource, list[str]]:
    name, hosts = offline_hosts(args)
    path = history_path(args)
    with History(path, create=False) as history:
        runs = history.runs(limit=1, inventory=name)
        if not runs:
            raise HistoryError(f"no stored run of {name}: run `auditor report` on it first", Location(str(path)))
        info = runs[0]
        document = history.document(info.id)
    stored = {str(h.get("name")): h for h in document.get("hosts", []) if isinstance(h, dict)}
    reports = [_stored_host(stored[h.name]) if h.name in stored else _absent(h, info.id) for h in hosts]
    notes = [str(n) for n in document.get("notes") or []]
    gone = sorted(set(stored) - {h.name for h in hosts})
    if gone:
        notes.append(f"run #{info.id} also has hosts the inventory no longer lists: {', '.join(gone)}")
    source = PlanSource("history", info.generated_at, info.id, age(info.generated_at, utc_now()), info.complete)
    print(f"auditor: planning from {source.describe()}", file=sys.stderr)
    return reports, {h.name: h for h in hosts}, name, source, notes


def _stored_host(doc: dict[str, object]) -> HostReport:
    """A host of a stored ``auditor.report/1`` document, facts parsed again (strictly).

    A host damaged in the history (an unknown verdict or step) is that host's error at step ``history``.
    """
    name, groups = str(doc.get("name")), tuple(str(g) for g in doc.get("groups") or [])  # type: ignore[attr-defined]
    error = doc.get("error")
    try:
        verdict = Verdict(str(doc.get("verdict")))
        host_error = None
        if isinstance(error, dict):
            step = AuditStep(str(error.get("step")))
            host_error = HostError(step, str(error.get("message")), bool(error.get("timed_out")))
    except ValueError as exc:
        damaged = HostError(AuditStep.HISTORY, f"the stored result is damaged: {clean(str(exc), 200)}")
        return HostReport(Host(name, str(doc.get("address")), groups=groups), Verdict.ERROR, error=damaged)
    facts = None
    if doc.get("facts"):
        try:
            facts = read_stored(doc["facts"])
        except FactsError as exc:
            return HostReport(
                Host(name, str(doc.get("address")), groups=groups),
                Verdict.ERROR,
                error=HostError(AuditStep.PARSE, str(exc)),
            )
    return HostReport(Host(name, str(doc.get("address")), groups=groups), verdict, facts=facts, error=host_error)


def _absent(host: Host, run_id: int) -> HostReport:
    return HostReport(
        host,
        Verdict.UNREACHABLE,
        error=HostError(AuditStep.CONNECT, f"not in stored run #{run_id}"),
    )


def playbook_options(args: argparse.Namespace, specs: Sequence[OutputSpec]) -> PlaybookOptions | None:
    """The playbook's gate and hooks, checked before any host is contacted (``InputError`` naming the flag)."""
    hooks = {name: getattr(args, f"{name}_hook", None) for name in HOOKS}
    if not any(s.format == "ansible-playbook" for s in specs):
        given = [f"--{name}-hook" for name, path in hooks.items() if path]
        if given:
            raise InputError(f"{', '.join(given)}: only the playbook runs hooks (--format ansible-playbook:FILE)")
        return None
    for name, path in hooks.items():
        if path is not None:
            problem = hook_problem(path)
            if problem:
                raise InputError(f"--{name}-hook {path}: {problem}")
            hooks[name] = os.path.abspath(path)
    return PlaybookOptions(gate_command(args), args.gate_fail_on, hooks["drain"], hooks["rebuild"], hooks["restore"])


def gate_command(args: argparse.Namespace) -> tuple[str, ...]:
    """``auditor report`` with the plan's targets, policy, knowledge and connection options, paths made absolute
    (the playbook runs from anywhere); ``--limit`` and ``--fail-on`` are the playbook's to add."""

    def path(value: str) -> str:
        return os.path.abspath(value) if os.path.exists(value) else value

    argv = [sys.executable, "-m", "auditor", "report"]
    if args.demo:
        argv.append("--demo")
    elif args.simulate:
        argv += ["--simulate", path(args.simulate)]
    else:
        for inventory in args.inventory or []:
            argv += ["-i", path(inventory)]
    for policy in args.policy or []:
        argv += ["-p", path(policy)]
    for flag, value in (("--waivers", args.waivers), ("--library", args.library), ("--knowledge", args.knowledge)):
        if value:
            argv += [flag, path(value)]
    if args.as_of:
        argv += ["--as-of", args.as_of.isoformat()]
    for flag, name in (("-u", "user"), ("--private-key", "private_key"), ("-F", "ssh_config")):
        value = getattr(args, name, None)
        if value:
            argv += [flag, path(value) if name != "user" and value != "none" else value]
    for known in args.known_hosts or []:
        argv += ["--known-hosts", path(known)]
    if args.accept_new:
        argv.append("--accept-new")
    if args.accept_new_file:
        argv += ["--accept-new-file", path(args.accept_new_file)]
    for flag, name in (
        ("--forks", "forks"),
        ("--timeout", "timeout"),
        ("--probe-timeout", "probe_timeout"),
        ("--auth-timeout", "auth_timeout"),
        ("--max-startups", "max_startups"),
        ("--retries", "retries"),
        ("--max-output", "max_output"),
    ):
        value = getattr(args, name, None)
        if value is not None:
            argv += [flag, f"{value:g}" if isinstance(value, float) else str(value)]
    return (*argv, "--no-retry-file")


def renderer(
    name: str, color: bool = False, width: int | None = None, playbook: PlaybookOptions | None = None
) -> Callable[[Plan], str]:
    """The function rendering a plan as ``name`` (writers are imported only when asked for)."""
    if name == "table":
        from auditor.plan.writers.table import render_plan_table

        return lambda plan: render_plan_table(plan, width=width, color=color)
    if name == "md":
        from auditor.plan.writers.md import render_plan_md

        return render_plan_md
    if name == "json":
        from auditor.plan.writers.data import render_plan_json

        return render_plan_json
    if name == "ansible":
        from auditor.plan.writers.data import render_plan_ansible

        return render_plan_ansible
    if name == "ansible-playbook":
        options = playbook or PlaybookOptions((sys.executable, "-m", "auditor", "report"), DEFAULT_FAIL_ON)
        return lambda plan: render_playbook(plan, options)
    raise ValueError(name)


def write_outputs(plan: Plan, specs: Sequence[OutputSpec], playbook: PlaybookOptions | None = None) -> list[str]:
    """Every requested rendering: files first (atomically), stdout last. Returns the failures.

    A host a writer cannot render becomes an error in that rendering (``auditor.report.isolation``).
    """
    errors = []
    for spec in sorted(specs, key=lambda s: s.path is None):
        tty = spec.path is None and sys.stdout.isatty()
        width = shutil.get_terminal_size((120, 24)).columns if tty else 120
        render = renderer(spec.format, color=tty and not os.environ.get("NO_COLOR"), width=width, playbook=playbook)
        try:
            text = render_isolated(render, plan, spec.format, _failed_host_plan, narrow=plan_with_hosts)
        except Exception as exc:
            path = crashlog.record(exc, f"rendering the {spec.format} plan")
            errors.append(
                f"could not render the {spec.format} plan: internal error: {type(exc).__name__}: "
                f"{clean(str(exc), 300)} (traceback in {path})"
            )
            continue
        if spec.path is None:
            try:
                sys.stdout.write(text)
                sys.stdout.flush()
            except OSError as exc:
                errors.append(f"could not write the plan to stdout: {exc.strerror or exc}")
            continue
        try:
            write_atomic(spec.resolve(plan) or "", text)
        except ReportWriteError as exc:
            errors.append(str(exc))
    return errors


def _failed_host_plan(host: HostPlan, error: HostError) -> HostPlan:
    return failed_plan(host.name, host.groups, error)
