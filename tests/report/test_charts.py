"""The report's charts by name, and a failing chart costing the report but not the fit."""

from __future__ import annotations

from pathlib import Path

import pytest

from mediamix import MMM
from mediamix.report import REPORT_FILE, ReportData, charts


def test_every_chart_of_the_template_is_drawn_as_a_png(prior_fit: MMM) -> None:
    drawn = charts.draw_charts(prior_fit.report_data())
    assert list(drawn) == list(charts.CHARTS)
    assert set(drawn) == {"spend", "fit", "decomposition", "waterfall", "share", "response", "adstock", "priors"}
    assert all(png.startswith(b"\x89PNG\r\n\x1a\n") for png in drawn.values())


def test_a_chart_that_fails_costs_the_report_not_the_fit(prior_fit: MMM, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(data: ReportData) -> bytes:
        raise RuntimeError("no fonts")

    monkeypatch.setitem(charts.CHARTS, "share", broken)  # type: ignore[index]
    with pytest.warns(RuntimeWarning, match=r"Could not write report.html \(RuntimeError: no fonts\).*mediamix report"):
        prior_fit.save(tmp_path / "out")
    written = {p.name for p in (tmp_path / "out").iterdir()}
    assert REPORT_FILE not in written and {"summary.json", "posterior.nc", "contributions.csv"} <= written
