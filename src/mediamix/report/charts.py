"""The report's charts by name: the names the template uses, each with the function that draws it.

:func:`start_charts` begins drawing a report's charts and hands back a :class:`PendingCharts`:
inside a :func:`~mediamix.report.chart_process.charts_in_parallel` block a helper process draws
:data:`~mediamix.report.chart_process.CHARTS_THERE` meanwhile, and ``result()`` draws the others
here; without one (or when it fails) ``result()`` draws them all here. The PNGs are the same
either way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from mediamix.report import chart_process, figures
from mediamix.report.data import ReportData

__all__ = ["CHARTS", "PendingCharts", "draw_charts", "start_charts", "warm_up"]

#: The report's charts by name (the keys the template uses).
CHARTS: Mapping[str, Callable[[ReportData], bytes]] = {
    "spend": figures.spend_chart,
    "fit": figures.fit_chart,
    "decomposition": figures.decomposition_chart,
    "waterfall": figures.waterfall_chart,
    "share": figures.share_chart,
    "response": figures.response_chart,
    "adstock": figures.adstock_chart,
    "priors": figures.prior_posterior_chart,
}

warm_up = figures.warm_up


class PendingCharts:
    """A report's charts being drawn: some perhaps in a helper process already; ``result()`` has them all."""

    def __init__(self, data: ReportData, helper: chart_process.ChartProcess | None = None) -> None:
        self._data = data
        self._answer = None
        self._there: tuple[str, ...] = ()
        if helper is not None and helper.ready():
            there = tuple(name for name in chart_process.CHARTS_THERE if name in CHARTS)
            try:
                self._answer = helper.draw(data, there)
                self._there = there
            except Exception:  # noqa: BLE001 - not ready after all, or data that does not pickle: draw here
                pass

    #: The charts whose PNGs came from the helper, once ``result()`` has returned.
    drawn_there: tuple[str, ...] = ()

    @property
    def in_parallel(self) -> bool:
        """Whether a helper process draws some of the charts."""
        return self._answer is not None

    def result(self, data: ReportData | None = None) -> dict[str, bytes]:
        """Every chart as PNG bytes, by name, in :data:`CHARTS`' order (draws the rest here, then waits).

        ``data``: the same report's inputs, completed since the start (its whole summary); the charts
        drawn here read it. Default: those given at the start.
        """
        data = self._data if data is None else data
        here = {name: draw(data) for name, draw in CHARTS.items() if name not in self._there}
        left = list(self._there)
        self.drawn_there: tuple[str, ...] = ()
        if self._answer is not None:
            # Not waiting idle: while the helper's answer is out (a busy machine gives it less than a
            # CPU), draw its charts here from the end; whichever finishes first wins.
            while left and not self._answer.done():
                name = left.pop()
                here[name] = CHARTS[name](data)
            if left:
                try:
                    here.update({name: png for name, png in self._answer.result().items() if name in left})
                    self.drawn_there = tuple(left)
                    left = []
                except chart_process.ChartProcessFailed:
                    pass
        here.update({name: CHARTS[name](data) for name in left})  # no helper, or it failed
        return {name: here[name] for name in CHARTS}


def start_charts(data: ReportData) -> PendingCharts:
    """Begin drawing every chart of ``data``: in part in the current helper process, if there is one.

    The helper's charts (:data:`~mediamix.report.chart_process.CHARTS_THERE`) read only
    ``hdi_prob`` of ``data.summary``, so a report may start them before its summary is complete
    and pass the completed inputs to ``result()``.
    """
    return PendingCharts(data, chart_process.current())


def draw_charts(data: ReportData) -> dict[str, bytes]:
    """Every chart of the report as PNG bytes, by name."""
    return start_charts(data).result()
