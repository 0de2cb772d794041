"""The TUI's plan view: the plan for the sweep's reports, towards the stack highlighted in the list."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console
from textual.app import App
from textual.widgets import OptionList, Static

from auditor.evaluate.registry import CHECK_IDS
from auditor.inventory import Host
from auditor.policy.files import load_policies
from auditor.tui.plan_view import PlanScreen
from tests.support.plans import A100, AS_OF, POLICY, V100, driver, host, toolkit, trt


def shown(screen: PlanScreen) -> str:
    console = Console(width=160, record=True, file=io.StringIO())
    console.print(screen.query_one("#plan-body", Static).content)
    return console.export_text()


async def test_plan_view_follows_the_highlighted_stack_and_escape_goes_back(tmp_path: Path) -> None:
    """The first stack's plan shows at once; moving down re-plans for the next stack; Escape closes the view."""
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY)
    policy = load_policies([path], as_of=AS_OF, checks=CHECK_IDS)
    reports = [
        host("a100-1", driver=driver("535.104.05"), gpus=A100, cuda=toolkit("12.2.2"), tensorrt=trt("8.6.1.6")),
        host("v100-1", driver=driver("580.95.05"), gpus=V100, cuda=toolkit("13.0.2"), tensorrt=trt("10.3.0.26")),
    ]
    hosts = {r.name: Host(r.name, r.address, groups=r.groups) for r in reports}
    screen = PlanScreen(reports, hosts, policy, "test-fleet")
    app: App[None] = App()
    async with app.run_test(size=(180, 60)) as pilot:
        await app.push_screen(screen)
        await pilot.pause()
        stacks = screen.query_one("#plan-stacks", OptionList)
        assert [stacks.get_option_at_index(i).id for i in range(stacks.option_count)] == [
            "serving",
            "floor-only",
            "cudnn-allowed",
        ]
        text = shown(screen)
        assert "target serving" in text and "wave_0_canary: a100-1" in text
        assert "v100-1  BLOCKED" in text and "Volta" in text
        assert screen.plan is not None and screen.plan.target.name == "serving"
        await pilot.press("down")
        await pilot.pause()
        assert screen.plan.target.name == "floor-only"
        assert "target floor-only" in shown(screen) and "unpinned (cuda)" in shown(screen)
        assert any(b.id == "plan.close" and b.description for b in screen.BINDINGS if hasattr(b, "id"))
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is not screen
