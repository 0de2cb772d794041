"""``ctrl+s``: write the current result as a report, in any format the headless mode writes.

One Enter writes: on the format list it writes the highlighted format to the file
name shown (which follows the format), in the file name field it writes what was
typed. A click on a format only picks it.

The report is the same ``Report`` value ``auditor report`` renders (latest result of
every host; ``complete`` false while a sweep runs or hosts have no result), rendered
by the same writers and written atomically by the same ``write_atomic``, so a file
saved here and one from cron differ only in their content.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from auditor import crashlog
from auditor.errors import ReportWriteError
from auditor.report.files import check_writable, write_atomic
from auditor.report.formats import DESCRIPTIONS, FORMATS, OutputSpec, renderer
from auditor.report.isolation import render_isolated
from auditor.report.model import Report

EXTENSIONS = {"table": "txt", "json": "json", "md": "md", "html": "html", "junit": "xml", "prom": "prom", "csv": "csv"}
EXTENSIONS.update({"k8s-labels": "sh", "ansible-inventory": "yaml"})  # the scheduling formats (report/scheduling.py)
DEFAULT_NAME = "auditor-{inventory}-{timestamp}"


def write_report(report: Report, fmt: str, path: str) -> str:
    """Render ``report`` as ``fmt`` into ``path`` atomically; returns the absolute path written.

    Raises ``ReportWriteError`` when the directory is missing or not writable, the write fails,
    or the writer fails as a whole (a host it fails on alone is an error row: ``auditor.report.isolation``).
    """
    target = Path(path).expanduser()
    problem = check_writable(target)
    if problem:
        raise ReportWriteError(problem)
    try:
        text = render_isolated(renderer(fmt), report, fmt)  # a host the writer fails on is an error row in it
    except Exception as exc:  # the writer fails for every host: say so in the app, never crash it
        log = crashlog.record(exc, f"exporting the {fmt} report")
        raise ReportWriteError(
            f"could not render the {fmt} report: internal error: {type(exc).__name__} (traceback in {log})"
        ) from exc
    write_atomic(target, text)
    return str(target.resolve())


class FormatList(OptionList):
    """The formats; Enter writes the report in the highlighted one (a click only highlights)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "write", "Write", id="export.write", tooltip="Write the report in this format"),
    ]

    class Write(Message):
        """Enter on the list: write the highlighted format to the file name shown."""

    def action_write(self) -> None:
        self.post_message(self.Write())


class ExportScreen(ModalScreen[str | None]):
    """Pick a format, adjust the path, Enter writes; Esc cancels. Dismisses with the path written."""

    CSS_PATH = "export.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="export.cancel", tooltip="Close without writing"),
    ]

    def __init__(self, report: Callable[[], Report]) -> None:
        super().__init__()
        self.report = report
        self.format = "html"

    def compose(self) -> ComposeResult:
        with Vertical(id="export-box"):
            yield Label("Format", classes="heading")
            yield FormatList(
                *(Option(f"{name:<6} {DESCRIPTIONS[name]}", id=name) for name in FORMATS), id="export-formats"
            )
            yield Label("File (Tab to edit it; an existing file is replaced atomically)", classes="heading")
            yield Input(id="export-path")
            yield Label("", id="export-error")

    def on_mount(self) -> None:
        box = self.query_one("#export-box")
        box.border_title = "Export a report"
        box.border_subtitle = "Enter writes · Tab edits the file name · Esc cancels"
        formats = self.query_one(OptionList)
        formats.highlighted = FORMATS.index(self.format)
        self._suggest_path()
        formats.focus()

    def _suggest_path(self) -> None:
        name = f"{DEFAULT_NAME}.{EXTENSIONS[self.format]}"
        self.query_one("#export-path", Input).value = OutputSpec(self.format, name).resolve(self.report()) or name

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id and event.option.id != self.format:
            field = self.query_one("#export-path", Input)
            old_ext = f".{EXTENSIONS[self.format]}"
            self.format = event.option.id
            if field.value.endswith(old_ext):
                field.value = field.value[: -len(old_ext)] + f".{EXTENSIONS[self.format]}"

    def on_format_list_write(self, event: FormatList.Write) -> None:
        self.write(self.query_one("#export-path", Input).value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.write(event.value)

    def write(self, path: str) -> None:
        """Write the report to ``path`` and close; a problem is shown on the dialog, which stays open."""
        path = path.strip()
        if not path:
            self.query_one("#export-error", Label).update("Give a file name.")
            return
        report = self.report()
        try:
            written = write_report(report, self.format, path)
        except ReportWriteError as error:
            self.query_one("#export-error", Label).update(str(error))
            return
        hosts = len(report.hosts)
        self.app.notify(
            f"{written}",
            title=f"Wrote the {self.format} report ({hosts} host{'s' if hosts != 1 else ''})",
            markup=False,
        )
        self.dismiss(written)

    def action_cancel(self) -> None:
        self.dismiss(None)
