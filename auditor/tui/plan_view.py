"""The plan view: the upgrade plan for the current sweep, with the target chosen from the policy's stacks.

A ``Screen`` the app pushes (``p``) with a snapshot of the sweep's host reports:
a list of the policy's stacks on the left, the plan for the highlighted one on the
right, rendered by the same ``plan_lines`` as ``auditor plan``'s table, so the two
cannot disagree. Planning is pure and fast (no host is contacted), so it is redone
on every highlight. Hosts still being audited when the view opened are not in it:
the header line says how many reports the plan rests on, and the plan when the sweep
they come from ended (``PlanSource`` kind ``live``), never the time the view opened.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from rich.console import Group
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from auditor.inventory import Host
from auditor.plan.fleet import failed_plan, make_plan, plan_with_hosts
from auditor.plan.model import Plan, PlanSource, Rollout
from auditor.plan.target import stack_target
from auditor.plan.writers.table import plan_lines
from auditor.policy.model import Policy
from auditor.report.isolation import render_isolated
from auditor.report.model import HostReport
from auditor.text import count
from auditor.transport.outcome import AuditStep


class PlanScreen(Screen[None]):
    """The plan for ``reports`` towards a stack of ``policy``; Escape goes back."""

    DEFAULT_CSS = """
    PlanScreen #plan-header { dock: top; height: 1; padding: 0 1; background: $panel; text-wrap: nowrap;
        text-overflow: ellipsis; }
    PlanScreen #plan-stacks { width: 26; border: round $primary; }
    PlanScreen #plan-scroll { border: round $primary; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Back", id="plan.close"),
    ]

    def __init__(
        self,
        reports: Sequence[HostReport],
        hosts: Mapping[str, Host],
        policy: Policy,
        inventory: str,
        rollout: Rollout | None = None,
        source: PlanSource | None = None,
    ) -> None:
        super().__init__()
        self.reports = tuple(reports)
        self.hosts = dict(hosts)
        self.policy = policy
        self.inventory = inventory
        self.rollout = rollout or Rollout()
        self.plan: Plan | None = None
        self.source = source or PlanSource("live", "")
        """Where the reports come from: the interactive audit, with the time its last sweep ended."""

    def compose(self) -> ComposeResult:
        yield Static(id="plan-header")
        with Horizontal():
            yield OptionList(*(Option(s.name, id=s.name) for s in self.policy.stacks), id="plan-stacks")
            with VerticalScroll(id="plan-scroll"):
                yield Static(id="plan-body")
        yield Footer()

    def on_mount(self) -> None:
        stacks = self.query_one("#plan-stacks", OptionList)
        stacks.border_title = "target stack"
        self.query_one("#plan-scroll", VerticalScroll).border_title = "plan"
        self.query_one("#plan-header", Static).update(
            Text.assemble(
                ("auditor · plan", "bold"),
                f" · {self.inventory} · {count(len(self.reports), 'host')} with a result",
            )
        )
        if not self.policy.stacks:
            self.query_one("#plan-body", Static).update(
                Text(
                    "The policy names no stacks to plan towards; `auditor plan --set component=version` takes versions."
                )
            )
            return
        stacks.highlighted = 0
        stacks.focus()
        self.show(self.policy.stacks[0].name)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id is not None:
            self.show(event.option.id)

    def show(self, stack: str) -> None:
        """Plan towards ``stack`` and render it."""
        target = stack_target(self.policy, stack)
        self.plan = make_plan(self.reports, self.hosts, target, self.policy, self.rollout, self.source, self.inventory)
        lines = render_isolated(
            plan_lines,
            self.plan,
            "the plan view",
            lambda host, error: failed_plan(host.name, host.groups, error),
            step=AuditStep.DISPLAY,
            narrow=plan_with_hosts,
        )  # a host the view cannot show is an error line in it, not a crashed app
        self.query_one("#plan-body", Static).update(Group(*lines))
        self.query_one(
            "#plan-scroll", VerticalScroll
        ).border_subtitle = f"exit {int(self.plan.exit_code)}: {count(len(self.plan.waves), 'wave')}"

    def action_close(self) -> None:
        self.dismiss()
