"""The report's content without a browser: sections, charts, escaping, inputs and the CLI."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from mediamix import MMM, DataError
from mediamix.cli.app import app
from mediamix.report import ReportData, charts, fit_metrics, figures, parameter_draws, render_report, write_report
from mediamix.report.render import verdict

SECTIONS = ("overview", "fit", "decomposition", "channels", "curves", "diagnostics", "config")
CHARTS = ("spend", "fit", "decomposition", "waterfall", "share", "response", "adstock", "priors")


@pytest.fixture(scope="module")
def prior_data(prior_fit: MMM) -> ReportData:
    return prior_fit.report_data()


@pytest.fixture(scope="module")
def prior_html(prior_folder: Path) -> str:
    """The report that ``MMM.save`` wrote."""
    return (prior_folder / "report.html").read_text(encoding="utf-8")


def _charts(html: str) -> dict[str, str]:
    return dict(re.findall(r'<img src="(data:image/png;base64,[A-Za-z0-9+/=]+)"[^>]*data-chart="(\w+)"', html))


def test_report_has_every_section_and_chart(prior_html: str) -> None:
    for section in SECTIONS:
        assert f'<section id="{section}">' in prior_html, section
    charts = {name: uri for uri, name in _charts(prior_html).items()}
    assert set(charts) == set(CHARTS)
    assert 'id="optimization"' not in prior_html
    for heading in ("Data overview", "Model fit", "Decomposition", "Channels", "Response and adstock curves",
                    "Diagnostics", "Model configuration"):
        assert f"<h2>{heading}</h2>" in prior_html


def test_report_is_self_contained(prior_html: str) -> None:
    assert "<script" not in prior_html and "<link" not in prior_html
    assert not re.search(r"""(src|href)=["'](?!data:|#)""", prior_html)
    assert "http://" not in prior_html and "https://" not in prior_html
    assert "Content-Security-Policy" in prior_html and "default-src 'none'" in prior_html


def test_channel_table_shows_each_channel_with_hdis(prior_html: str, prior_data: ReportData) -> None:
    table = prior_html.split('<table class="data channels">')[1].split("</table>")[0]
    for name, entry in prior_data.summary["channels"].items():
        assert f'<th scope="row" class="name">{name}</th>' in table
    assert table.count('class="hdi"') == 4 * len(prior_data.channels)  # contribution, share, ROAS, mROAS


def test_fit_caption_states_r2_and_mape(prior_html: str, prior_data: ReportData) -> None:
    metrics = fit_metrics(prior_data.fit)
    assert f"R² {metrics['r2']:.3g}" in prior_html.replace(",", "")
    assert f"MAPE {100 * metrics['mape']:.1f}%" in prior_html


def test_verdict_in_plain_language() -> None:
    good = {"r_hat_max": 1.004, "ess_bulk_min": 950.0, "ess_tail_min": 780.0, "divergences": 0, "converged": True,
            "chains": 4}
    v = verdict(good)
    assert v["ok"] and v["headline"].startswith("The sampler converged")
    assert v["details"][0] == "The 4 chains agree (largest r-hat 1.004, at most 1.01 needed)."
    assert "smallest ESS 780" in v["details"][1]
    bad = verdict({**good, "divergences": 3, "converged": False}, ["3 divergent transitions: ..."])
    assert not bad["ok"] and "did not converge" in bad["headline"]
    assert bad["details"] == ["3 divergent transitions: ..."]


def test_diagnostics_section_shows_the_verdict(prior_html: str, prior_data: ReportData) -> None:
    expected = verdict(prior_data.diagnostics, prior_data.problems)["headline"]
    assert f'<p class="headline">{expected}</p>' in prior_html


def test_review_findings_shown_when_present_and_optional(prior_data: ReportData) -> None:
    review = {"verdict": "review", "findings": [
        {"check": "collinearity", "severity": "review", "message": "x1 & x2 move <together>",
         "numbers": {}, "next_step": "Add a lift test."},
    ]}
    with_review = render_report(dataclasses.replace(prior_data, summary={**prior_data.summary, "review": review}))
    assert "Model review" in with_review and "x1 &amp; x2 move &lt;together&gt;" in with_review
    assert "Add a lift test." in with_review
    without = render_report(dataclasses.replace(
        prior_data, summary={k: v for k, v in prior_data.summary.items() if k != "review"}))
    assert "Model review" not in without


def test_script_named_channel_is_escaped(script_fit: MMM, script_report: Path) -> None:
    name = script_fit.config_.data.channels[0]
    assert name == "<script>alert(1)</script>"
    html = script_report.read_text(encoding="utf-8")
    assert name not in html and "<script" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_cli_rebuilds_the_report_with_optimization(optimization_report: Path) -> None:
    html = optimization_report.read_text(encoding="utf-8")
    assert '<section id="optimization">' in html and 'data-chart="allocation"' in html
    assert "Budget optimization" in html and "probability of a positive uplift" in html
    assert set(_charts(html).values()) == {*CHARTS, "allocation"}


def test_save_writes_the_report(prior_html: str) -> None:
    assert set(_charts(prior_html).values()) == set(CHARTS)


def test_cli_report_of_a_missing_folder_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["report", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert "is not a folder; expected a mediamix output folder" in result.output


def test_report_data_names_a_missing_column(prior_data: ReportData) -> None:
    with pytest.raises(DataError, match=r"ReportData.fit has no column 'residual'. Expected columns: date_week,"):
        dataclasses.replace(prior_data, fit=prior_data.fit.drop(columns="residual"))


def test_fit_metrics_against_hand_computed_values() -> None:
    fit = pd.DataFrame({"observed": [1.0, 2.0, 4.0, 0.0], "mean": [1.5, 2.0, 3.0, 0.5]})
    fit["residual"] = fit["observed"] - fit["mean"]
    fit["predictive_low"], fit["predictive_high"] = fit["mean"] - 0.6, fit["mean"] + 0.6
    m = fit_metrics(fit)
    # SS_res = .25 + 0 + 1 + .25 = 1.5; mean 1.75, SS_tot = .5625 + .0625 + 5.0625 + 3.0625 = 8.75
    assert m["r2"] == pytest.approx(1 - 1.5 / 8.75)
    assert m["mape"] == pytest.approx((0.5 + 0 + 0.25) / 3)  # the zero observation is left out
    assert m["coverage"] == pytest.approx(0.75)


def test_parameter_draws_follow_the_priors(prior_fit: MMM) -> None:
    draws = parameter_draws(prior_fit.posterior, prior_fit.config_.priors, max_draws=150, seed=1)
    posterior = prior_fit.posterior
    # Every parameter with a prior; the sampler's reparametrized coordinates have none.
    expected = sum(int(np.prod([posterior.sizes[d] for d in da.dims if d not in ("chain", "draw")]))
                   for name, da in posterior.data_vars.items() if name in prior_fit.config_.priors)
    assert {"beta_effect_ref", "intercept_centered"} <= set(posterior.data_vars)
    assert len(draws) == expected
    beta = {d.label: d for d in draws if d.name == "beta"}
    assert set(beta) == {"x1", "x2"} and beta["x1"].title == "beta · x1"
    assert len(beta["x1"].posterior) == 150
    big = parameter_draws(posterior, {"beta": prior_fit.config_.priors["beta"]}, max_draws=10_000, seed=1)
    sigma = prior_fit.config_.priors["beta"].params["sigma"]
    # HalfNormal(σ) has mean σ·√(2/π); 200 draws per channel here, so a loose tolerance.
    assert np.mean(big[0].prior) == pytest.approx(sigma * np.sqrt(2 / np.pi), rel=0.2)


def test_drawing_a_chart_does_not_load_a_lazily_registered_module(prior_data: ReportData, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """ArviZ registers ``jax`` lazily; matplotlib's ``sys.modules["jax"].Array`` probe would import it."""
    import importlib.util
    import sys

    source = tmp_path / "heavy_lazy_module.py"
    source.write_text("LOADED.append(1)\nArray = object\n", encoding="utf-8")
    spec = importlib.util.spec_from_file_location("heavy_lazy_module", source)
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    loaded: list[int] = []
    module.__dict__["LOADED"] = loaded
    spec.loader.exec_module(module)
    monkeypatch.setitem(sys.modules, "heavy_lazy_module", module)
    monkeypatch.setattr(matplotlib.cbook, "_is_jax_array",
                        lambda x: isinstance(x, getattr(sys.modules.get("heavy_lazy_module"), "Array", ())))
    png = figures.spend_chart(prior_data)
    assert png.startswith(b"\x89PNG") and loaded == []
    assert sys.modules["heavy_lazy_module"] is module  # put back afterwards


def test_charts_are_pngs_and_leave_matplotlib_settings_alone(prior_data: ReportData) -> None:
    before = (matplotlib.get_backend(), dict(matplotlib.rcParams))
    for name, func in charts.CHARTS.items():
        png = func(prior_data)
        assert png.startswith(b"\x89PNG\r\n\x1a\n"), name
    assert (matplotlib.get_backend(), dict(matplotlib.rcParams)) == before


def test_written_report_is_readable_like_any_new_file(prior_data: ReportData, tmp_path: Path) -> None:
    import os
    import stat

    umask = os.umask(0)
    os.umask(umask)
    path = write_report(tmp_path / "report.html", prior_data)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask  # not mkstemp's 0600


@pytest.mark.parametrize("name", ["spend_chart", "fit_chart", "decomposition_chart", "response_chart", "adstock_chart",
                                  "prior_posterior_chart"])
def test_charts_laid_out_by_fixed_margins_keep_every_label_inside_and_the_legend_clear(
        prior_data: ReportData, name: str) -> None:
    """Charts placed without a layout engine: nothing drawn outside the figure, no axes under the legend."""
    with matplotlib.rc_context(figures._STYLE):  # noqa: SLF001 - the house style sets the text sizes
        fig = getattr(figures, name).__wrapped__(prior_data)
        assert fig.get_layout_engine() is None
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        page = fig.bbox
        legends = [legend.get_window_extent(renderer) for legend in fig.legends]
        for ax in fig.axes:
            if not ax.get_visible():
                continue
            box = ax.get_tightbbox(renderer)  # ticks, tick labels, axis labels and title included
            assert box.x0 >= page.x0 - 1 and box.x1 <= page.x1 + 1, (name, "wider than the figure")
            assert box.y0 >= page.y0 - 1 and box.y1 <= page.y1 + 1, (name, "taller than the figure")
            for legend in legends:
                assert box.y1 <= legend.y0 + 1, (name, "axes under the legend")


def test_charts_and_captions_name_the_datas_period(prior_data: ReportData) -> None:
    """Found in review: daily data were labelled "weekly" on the response curves."""
    assert prior_data.period == "weekly"
    observed = prior_data.observed.assign(
        **{prior_data.date_column: pd.date_range("2024-01-01", periods=len(prior_data.observed), freq="D")})
    daily = dataclasses.replace(prior_data, observed=observed)
    assert daily.period == "daily"
    html = render_report(daily)
    assert "Expected daily contribution when the same spend is held every period" in html
    assert "weekly" not in re.sub(r"<img [^>]*>", "", html).split('id="config"')[0]


@pytest.mark.filterwarnings("ignore::mediamix.errors.ConvergenceWarning")  # 20 prior draws, by design
def test_adstock_shares_add_up_to_one_also_without_normalization(demo) -> None:
    """Found in review: with normalize_adstock = false the chart showed raw weights as shares (over 100%)."""
    from mediamix.testing import PriorSampler

    raw = {**demo.config, "model": {**demo.config["model"], "normalize_adstock": False}}
    fit = MMM.from_config(raw).fit(demo.data, sampler=PriorSampler(), chains=2, draws=20, seed=1)
    np.testing.assert_allclose(fit.adstock_curves().sum("lag"), 1.0, rtol=1e-12)
    weights = fit.media_response().groups[0].lag_weights()
    assert np.all(weights.sum(axis=1) > 1.0)  # the raw weights, which scale the effect, do not


def test_a_mean_outside_its_interval_still_draws(prior_data: ReportData) -> None:
    """Found by fuzzing: a skewed posterior's mean outside its HDI made matplotlib refuse negative
    error bars, and report.html was not written."""
    waterfall = prior_data.waterfall.copy()
    waterfall.loc[0, "hdi_high"] = waterfall.loc[0, "mean"] - 1.0  # interval wholly below the mean
    summary = {**prior_data.summary, "channels": {
        name: {**entry, "share": {**entry["share"], "hdi_low": entry["share"]["mean"] + 0.01}}
        for name, entry in prior_data.summary["channels"].items()}}
    skewed = dataclasses.replace(prior_data, waterfall=waterfall, summary=summary)
    assert figures.waterfall_chart(skewed)[:8] == b"\x89PNG\r\n\x1a\n"
    assert figures.share_chart(skewed)[:8] == b"\x89PNG\r\n\x1a\n"


def test_infinite_numbers_are_written_as_null() -> None:
    import json

    from mediamix.output import json_text

    assert json.loads(json_text({"kpi": float("inf"), "draws": [float("-inf"), 1.0]})) == {"kpi": None,
                                                                                           "draws": [None, 1.0]}


def test_numbers_in_the_thousands_print_whole_not_in_scientific_notation() -> None:
    """Found in review: a KPI of 2,750 printed as '2.75e+03' in the CLI, 999.99 as '1e+03' in the report."""
    from mediamix.cli.render import fmt
    from mediamix.report.render import num

    for show in (fmt, num):
        assert show(2750.4) == "2,750" and show(999.99) == "1,000" and show(-4321.0) == "-4,321"
        assert show(999.4) == "999" and show(53.6) == "53.6" and show(0.01234) == "0.0123"
        assert show(float("nan")) == "n/a"
