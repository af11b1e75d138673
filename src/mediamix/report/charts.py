"""The report's charts by name: the names the template uses, each with the function that draws it."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from mediamix.report import figures
from mediamix.report.data import ReportData

__all__ = ["CHARTS", "draw_charts"]

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


def draw_charts(data: ReportData) -> dict[str, bytes]:
    """Every chart of the report as PNG bytes, by name."""
    return {name: draw(data) for name, draw in CHARTS.items()}
