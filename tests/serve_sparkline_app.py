"""A page for the browser test of `serve`: a sparkline of every height between two rows of
full blocks, in colours found nowhere else, so a screenshot shows where each cell's block
begins and ends. Run by textual-serve as `python -m tests.serve_sparkline_app`."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import Static

from clustertop.tui import format as fmt

HEIGHTS = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]  # one eighth of the cell more each
REFERENCE, SPARK = "#00ff00", "#ff00ff"


class SparklinePage(App[None]):
    CSS = "Screen { background: #000000; } Static { width: auto; }"

    def compose(self) -> ComposeResult:
        yield Static(Text("█" * len(HEIGHTS), style=f"{REFERENCE} on #000000"))
        yield Static(Text(fmt.sparkline(list(HEIGHTS), len(HEIGHTS)), style=f"{SPARK} on #000000"))
        yield Static(Text("█" * len(HEIGHTS), style=f"{REFERENCE} on #000000"))


if __name__ == "__main__":
    SparklinePage().run()
