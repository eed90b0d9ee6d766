"""Line and bar charts over the bounded history, drawn by plotext, with a relative time axis
(seconds before the newest sample) so the same data always draws the same picture."""

from __future__ import annotations

from collections.abc import Sequence

from textual_plotext import PlotextPlot

Series = tuple[str, Sequence[tuple[float, float | None]]]


class TimeChart(PlotextPlot):
    DEFAULT_CSS = """
    TimeChart { height: 1fr; min-height: 6; }
    """

    def __init__(self, title: str, unit: str = "", *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.chart_title = title
        self.unit = unit

    def draw(self, series: Sequence[Series], *, horizontal: float | None = None) -> None:
        """Each series is (label, [(unix time, value or None)]); None leaves a gap."""
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(self.chart_title)
        newest = max((t for _, points in series for t, _v in points), default=0.0)
        drawn = False
        for label, points in series:
            xs = [round(t - newest, 1) for t, v in points if v is not None]
            ys = [v for _t, v in points if v is not None]
            if xs:
                plt.plot(xs, ys, label=label, marker="braille")
                drawn = True
        if horizontal is not None and drawn:
            plt.hline(horizontal, "red")
        plt.xlabel("seconds ago" + (f" · {self.unit}" if self.unit else ""))
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
