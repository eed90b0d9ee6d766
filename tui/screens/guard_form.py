"""`G`: run a command under the gate, as `clustertop guard` does: the command line, the cluster
watched and what a trip does. It runs as a job: its output, the timeline and the rules' state
on Jobs, where x stops it."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from textual.widget import Widget
from textual.widgets import Input

from clustertop.tui.screens.form import FormSelect, OneLineForm


@dataclass(frozen=True)
class GuardRequest:
    cluster: str
    command: tuple[str, ...]
    on_trip: str


class GuardForm(OneLineForm[GuardRequest]):
    TITLE_TEXT = "guarded command"

    def __init__(self, clusters: Sequence[str]) -> None:
        super().__init__()
        self.clusters = tuple(clusters)

    def fields(self) -> list[tuple[str, Widget]]:
        return [
            ("cluster", FormSelect([(c, c) for c in self.clusters], value=self.clusters[0],
                                   allow_blank=False, id="cluster")),
            ("command", Input(placeholder="./migrate.sh --step 3", id="command")),
            ("on trip", FormSelect([("stop (SIGTERM)", "stop"), ("pause (SIGSTOP)", "pause")],
                                   value="stop", allow_blank=False, id="on_trip")),
        ]

    def submit(self) -> None:
        text = self._value("command")
        try:
            command = tuple(shlex.split(text))
        except ValueError as exc:
            self._fail(f"command: {exc}")
            return
        if not command:
            self._fail("command: needed, e.g. ./migrate.sh")
            return
        cluster = str(self.query_one("#cluster", FormSelect).value)
        on_trip = str(self.query_one("#on_trip", FormSelect).value)
        self.dismiss(GuardRequest(cluster, command, on_trip))
