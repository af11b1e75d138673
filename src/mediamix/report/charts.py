"""The report's charts by name: the names the template uses, each with the function that draws it.

:func:`start_charts` begins drawing a report's charts and hands back a :class:`PendingCharts`:
inside a :func:`~mediamix.report.chart_process.charts_in_parallel` block a helper process draws
:data:`~mediamix.report.chart_process.CHARTS_THERE` meanwhile, and ``result()`` draws the others
here; without one (or when it fails) ``result()`` draws them all here. Given a function that
makes the report's inputs instead of the inputs, the helper makes them too, and hands them back
(``made_there()``). The PNGs are the same either way.
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

#: How long this process waits for the last chart the helper has begun before it draws it itself
#: (the demo's charts take 0.1-0.6 s each there).
WAIT_FOR_BEGUN_S = 2.0


class PendingCharts:
    """A report's charts being drawn: some perhaps in a helper process already; ``result()`` has them all."""

    #: The charts whose PNGs came from the helper, once ``result()`` has returned.
    drawn_there: tuple[str, ...] = ()

    def __init__(self, data: ReportData | Callable[[], ReportData],
                 helper: chart_process.ChartProcess | None = None) -> None:
        self._data = None if callable(data) else data
        self._answer: chart_process.Answer | None = None
        self._there: tuple[str, ...] = ()
        self._result: dict[str, bytes] | None = None
        try:
            if helper is not None and helper.ready():
                there = tuple(name for name in chart_process.CHARTS_THERE if name in CHARTS)
                self._answer = helper.draw(data, there)
                self._there = there
        except Exception:  # noqa: BLE001 - the helper is gone, or data that does not pickle: draw here
            self._answer, self._there = None, ()

    def made_there(self, timeout: float = 30.0) -> ReportData | None:
        """The report's inputs: those it was started with, or, started with a function that makes
        them, as the helper made them (waiting up to ``timeout`` seconds). None where no helper made
        them (none, not ready, failed, too slow; a failed or slow one is stopped): the caller makes
        them and starts the charts again with them.
        """
        if self._data is None and self._answer is not None:
            self._data = self._answer.made(timeout)
            if self._data is None:  # the helper was stopped: nothing of it to wait for
                self._answer, self._there = None, ()
        return self._data

    @property
    def in_parallel(self) -> bool:
        """Whether a helper process draws some of the charts."""
        return self._answer is not None

    def result(self, data: ReportData | None = None) -> dict[str, bytes]:
        """Every chart as PNG bytes, by name, in :data:`CHARTS`' order.

        Draws this process's charts, then takes the helper's finished ones and draws the rest
        itself from the last one back (waiting only for the last one left, if the helper is on it,
        up to :data:`WAIT_FOR_BEGUN_S`). ``data``: the same report's
        inputs, completed since the start (its whole summary); the charts drawn here read it.
        Default: those given at the start.
        """
        if self._result is not None:
            return dict(self._result)
        data = self._data if data is None else data
        if data is None:
            raise ValueError("The report's inputs were not made: make them here and pass them to result().")
        here = {name: draw(data) for name, draw in CHARTS.items() if name not in self._there}
        left, there = list(self._there), []
        while left:
            if self._answer is not None:
                for name in list(left):
                    png = self._answer.take(name)
                    if png is not None:
                        here[name] = png
                        there.append(name)
                        left.remove(name)
                if not left:
                    break
                if len(left) == 1 and self._answer.drawing() == left[0]:
                    # The last one, and the helper is on it: drawing it here too would end later
                    # than it will (measured: 0.1-0.15 s), unless the helper is stuck.
                    png = self._answer.wait_for(left[0], WAIT_FOR_BEGUN_S)
                    if png is not None:
                        here[left[0]] = png
                        there.append(left.pop())
                        break
            name = left.pop()  # the helper draws from the first: this process from the last
            here[name] = CHARTS[name](data)
        if self._answer is not None:
            self._answer.cancel()  # everything is here: free its CPU
        self.drawn_there = tuple(name for name in self._there if name in there)
        self._result = {name: here[name] for name in CHARTS}
        return dict(self._result)


def start_charts(data: ReportData | Callable[[], ReportData]) -> PendingCharts:
    """Begin drawing every chart of ``data``: in part in the current helper process, if there is one.

    The helper's charts (:data:`~mediamix.report.chart_process.CHARTS_THERE`) read only
    ``hdi_prob`` of ``data.summary``, so a report may start them before its summary is complete
    and pass the completed inputs to ``result()``.

    ``data`` may be a function (without arguments, picklable) that makes the inputs: a ready helper
    then makes them itself before it draws, and :meth:`PendingCharts.made_there` hands them back.
    Without one nothing is made: ``made_there()`` is None.
    """
    return PendingCharts(data, chart_process.current())


def draw_charts(data: ReportData) -> dict[str, bytes]:
    """Every chart of the report as PNG bytes, by name."""
    return start_charts(data).result()
