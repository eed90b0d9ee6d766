"""Line and bar charts over the bounded history, drawn by plotext, with a relative time axis
(seconds before the newest sample) so the same data always draws the same picture."""

from __future__ import annotations

from collections.abc import Sequence

from textual_plotext import PlotextPlot

Series = tuple[str, Sequence[tuple[float, float | None]]]

# The time window a chart shows, in seconds (None: the whole bounded history). `[` and `]`
# step through these; the default keeps a 20 s spike 1/6 of the chart wide, not 1/60.
WINDOWS: tuple[float | None, ...] = (30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, None)
DEFAULT_WINDOW_S = 120.0


class TimeChart(PlotextPlot):
    DEFAULT_CSS = """
    TimeChart { height: 1fr; min-height: 6; }
    """

    def __init__(self, title: str, unit: str = "", *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.chart_title = title
        self.unit = unit
        self.axis_label = ""

    def draw(
        self, series: Sequence[Series], *, horizontal: float | None = None,
        floor: float | None = None,
    ) -> None:
        """Each series is (label, [(unix time, value or None)]); None leaves a gap.

        `horizontal`: a threshold line, drawn once the data reaches half of it (a crit line
        at 5 s would otherwise set the scale, and a 1 s spike would be a few dots high).
        `floor`: the least the y axis spans from 0, so noise stays flat (lag: 1 s)."""
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(self.chart_title)
        newest = max((t for _, points in series for t, _v in points), default=0.0)
        window = getattr(self.app, "chart_window_s", DEFAULT_WINDOW_S)
        oldest = newest - window if window is not None else float("-inf")
        drawn = False
        top = 0.0
        for label, points in series:
            shown = [(t, v) for t, v in points if v is not None and t >= oldest]
            xs = [round(t - newest, 1) for t, _v in shown]
            ys = [v for _t, v in shown]
            if xs:
                plt.plot(xs, ys, label=label, marker="braille")
                drawn = True
                top = max(top, *ys)
        if horizontal is not None and drawn and top >= horizontal / 2:
            plt.hline(horizontal, "red")
            top = max(top, horizontal)
        if floor is not None and drawn:
            plt.ylim(0, max(floor, top * 1.05))
        if window is not None and drawn:
            plt.xlim(-window, 0)  # the axis spans the window, however little of it has data
        span = f"last {window:g} s" if window is not None else "all history"
        self.axis_label = f"seconds ago ({span}, [ ] change)" + (
            f" · {self.unit}" if self.unit else "")
        plt.xlabel(self.axis_label)
        if not drawn:
            plt.title(f"{self.chart_title}: no data yet")
        self.refresh()


class BarChart(PlotextPlot):
    DEFAULT_CSS = """
    BarChart { height: 1fr; min-height: 6; }
    """

    def __init__(self, title: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.chart_title = title

    def draw(self, labels: Sequence[str], values: Sequence[float], unit: str = "") -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(self.chart_title + (f" ({unit})" if unit else ""))
        if labels:
            plt.bar(list(labels), list(values), orientation="horizontal", width=0.3)
        else:
            plt.title(f"{self.chart_title}: no data")
        self.refresh()
