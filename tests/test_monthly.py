"""Monthly data end to end: calendar months (28-31 days apart) are a regular cadence, not gaps.

Six years of simulated monthly data with known truth; the fitted model must recover each channel's
ROAS, predict and plan month by month, place events in the month that contains them and label
its report "monthly".
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from mediamix import MMM, DataError
from mediamix.data.cadence import Cadence
from mediamix.errors import ConvergenceWarning, DataWarning
from mediamix.simulate import ChannelSpec, SimulatedDataset, simulate

pytestmark = pytest.mark.filterwarnings("ignore::mediamix.errors.DataWarning")


@pytest.fixture(scope="module")
def monthly() -> SimulatedDataset:
    channels = [
        ChannelSpec("tv", beta=1.5, adstock_params={"alpha": 0.4}, saturation_params={"lam": 2.0}),
        ChannelSpec("search", beta=1.0, adstock_params={"alpha": 0.2}, saturation_params={"lam": 3.0}, off_share=0.2),
    ]
    return simulate(channels, n_weeks=72, start="2019-01-01", freq="MS", l_max=3, noise_sd=0.15, seed=5)


@pytest.fixture(scope="module")
def monthly_fit(monthly: SimulatedDataset) -> MMM:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", DataWarning)
        return MMM.from_config(monthly.config).fit(monthly.data, chains=2, draws=500, tune=500, seed=1)


def test_monthly_data_are_read_as_calendar_months(monthly: SimulatedDataset, monthly_fit: MMM) -> None:
    assert list(monthly.data["date"][:3].dt.strftime("%Y-%m-%d")) == ["2019-01-01", "2019-02-01", "2019-03-01"]
    assert monthly_fit.scales_.cadence == Cadence(months=1)
    assert monthly_fit.report_data().period == "monthly"


def test_monthly_fit_recovers_roas(monthly: SimulatedDataset, monthly_fit: MMM) -> None:
    summary = monthly_fit.summary()
    assert monthly_fit.diagnostics_.divergences == 0
    assert monthly_fit.diagnostics_.r_hat_max < 1.02
    for channel, truth in monthly.truth["channels"].items():
        row = summary.loc[channel]
        assert row["roas_hdi_low"] <= truth["roas"] <= row["roas_hdi_high"], (channel, truth["roas"], row)
        assert abs(row["roas_mean"] / truth["roas"] - 1) < 0.2, (channel, truth["roas"], row["roas_mean"])


def _future(monthly: SimulatedDataset, months: int, spend: float) -> pd.DataFrame:
    last = monthly.data["date"].iloc[-1]
    return pd.DataFrame({"date": pd.date_range(last + pd.DateOffset(months=1), periods=months, freq="MS"),
                         "tv": spend * monthly.data["tv"].mean(), "search": spend * monthly.data["search"].mean()})


def test_predicts_the_next_months_with_the_training_months_carryover(monthly: SimulatedDataset,
                                                                     monthly_fit: MMM) -> None:
    future = _future(monthly, 4, 0.5)
    predicted = monthly_fit.predict(future)
    assert list(pd.DatetimeIndex(predicted["date"].values).strftime("%Y-%m-%d")) == [
        "2025-01-01", "2025-02-01", "2025-03-01", "2025-04-01"]
    # A table overlapping the last training months predicts the fitted mean there, and then the same
    # months as the table that starts right after the training data (the carryover lines up by month).
    overlap = pd.concat([monthly.data.drop(columns="y").iloc[-3:], future], ignore_index=True)
    both = monthly_fit.predict(overlap)
    fitted = monthly_fit.decomposition()["mu"].isel(date=slice(-3, None))
    np.testing.assert_allclose(both.isel(date=slice(0, 3)), fitted, rtol=1e-12)
    np.testing.assert_allclose(both.isel(date=slice(3, None)), predicted, rtol=1e-12)
    # A table starting a month later counts the month between as zero spend.
    written_out = future.copy()
    written_out.loc[0, ["tv", "search"]] = 0.0
    np.testing.assert_allclose(monthly_fit.predict(written_out.iloc[1:]),
                               monthly_fit.predict(written_out).isel(date=slice(1, None)), rtol=1e-12)


def test_weekly_rows_for_a_monthly_model_are_an_error(monthly_fit: MMM) -> None:
    weekly = pd.DataFrame({"date": pd.date_range("2025-01-06", periods=6, freq="7D"), "tv": 1.0, "search": 1.0})
    with pytest.raises(DataError, match=r"dates 7 days apart \(weekly\), but the model was fitted on dates "
                                        r"1 calendar month apart \(monthly\)"):
        monthly_fit.predict(weekly)


def test_monthly_budget_plan_covers_months(monthly: SimulatedDataset, monthly_fit: MMM) -> None:
    budget = float(monthly.data[["tv", "search"]].iloc[-6:].to_numpy().sum())
    result = monthly_fit.optimize_budget(budget, 6)
    assert result.success
    assert sum(result.allocation.values()) == pytest.approx(budget, rel=1e-6)
    assert result.problem.weeks == 6
    # Plans are compared over one window of calendar months: the plans' months plus the carryover's tail.
    plans = {"even": _future(monthly, 3, 1.0), "late": _future(monthly, 5, 1.0).iloc[2:]}
    comparison = monthly_fit.compare_plans(plans)
    assert (comparison.attrs["window_start"], comparison.attrs["window_end"]) == ("2025-01-01", "2025-07-01")
    assert comparison.attrs["window_periods"] == 7  # 5 plan months + l_max - 1


def test_events_mark_the_month_containing_them() -> None:
    """Month-end dates with date_marks = "end": an event on 15 March marks the row dated 31 March."""
    from mediamix.config import parse_config
    from mediamix.model.design import Scales, make_design

    dates = pd.date_range("2020-01-31", periods=8, freq="ME")
    frame = pd.DataFrame({"date": dates, "y": np.arange(8.0) + 1, "x1": 1.0})
    config = parse_config({
        "data": {"date": "date", "target": "y", "channels": ["x1"], "date_marks": "end"},
        "model": {"l_max": 2, "yearly_seasonality": 0, "events": [{"name": "promo", "dates": ["2020-03-15"]}]},
    })
    design = make_design(frame, config, Scales.from_frame(frame, config))
    promo = design.controls[:, list(design.control_names).index("promo")]
    np.testing.assert_array_equal(promo, [0, 0, 1, 0, 0, 0, 0, 0])


def test_check_accepts_monthly_csv(monthly: SimulatedDataset, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import tomli_w

    from mediamix.cli.app import app

    monthly.data.to_csv(tmp_path / "data.csv", index=False, date_format="%Y-%m-%d")
    (tmp_path / "mmm.toml").write_text(tomli_w.dumps(monthly.config), encoding="utf-8")
    result = CliRunner().invoke(app, ["check", str(tmp_path / "data.csv"), "--config", str(tmp_path / "mmm.toml")])
    assert result.exit_code == 0, result.output
    gap = monthly.data.drop(index=10)
    gap.to_csv(tmp_path / "gap.csv", index=False, date_format="%Y-%m-%d")
    result = CliRunner().invoke(app, ["check", str(tmp_path / "gap.csv"), "--config", str(tmp_path / "mmm.toml")],
                                env={"COLUMNS": "240"})
    assert result.exit_code == 2
    assert "expected monthly dates 1 calendar month apart" in result.output
    assert "(expected 2019-11-01)" not in result.output  # the expected date sits after the step's length
    assert "61 days; expected 2019-11-01" in result.output


def test_events_in_the_table_follow_its_own_rows() -> None:
    """Found in review: data dated the 28th marking period ends start their periods on 1 March, 29 March,
    29 April..., not one grid; an event was put one row early."""
    from mediamix.config import parse_config
    from mediamix.model.design import Scales, make_design

    dates = pd.DatetimeIndex(["2021-03-28", "2021-04-28", "2021-05-28", "2021-06-28"])
    frame = pd.DataFrame({"date": dates, "y": np.arange(4.0) + 1, "x1": 1.0})
    config = parse_config({
        "data": {"date": "date", "target": "y", "channels": ["x1"], "date_marks": "end"},
        "model": {"l_max": 1, "yearly_seasonality": 0, "trend": "none",
                  "events": [{"name": "a", "dates": ["2021-03-30"]}, {"name": "b", "dates": ["2021-04-29"]}]},
    })
    design = make_design(frame, config, Scales.from_frame(frame, config))
    np.testing.assert_array_equal(design.controls, [[0, 0], [1, 0], [0, 1], [0, 0]])


@pytest.mark.parametrize(("freq", "order", "limit"), [("MS", 6, 5), ("QS", 2, 1)])
def test_yearly_harmonics_at_the_nyquist_limit_are_rejected(freq: str, order: int, limit: int) -> None:
    """Found in review: order 6 on monthly data (2 on quarterly) passed; its sine is calendar jitter only."""
    from mediamix import ConfigError
    from mediamix.config import parse_config
    from mediamix.model.design import Scales, make_design

    frame = pd.DataFrame({"date": pd.date_range("2019-01-01", periods=40, freq=freq), "y": 1.0, "x1": 1.0})
    config = parse_config({"data": {"date": "date", "target": "y", "channels": ["x1"]},
                           "model": {"l_max": 1, "yearly_seasonality": order}})
    with pytest.raises(ConfigError, match=f"yearly_seasonality = {order} is too fine.*Use at most {limit}"):
        make_design(frame, config, Scales.from_frame(frame, config))


def test_plans_off_the_monthly_grid_are_named_in_months(monthly: SimulatedDataset, monthly_fit: MMM) -> None:
    mid_month = _future(monthly, 2, 1.0)
    mid_month["date"] = mid_month["date"] + pd.Timedelta(days=14)
    with pytest.raises(DataError, match=r"Plan 'late': date 2025-01-15 is not on the other plans' grid of dates "
                                        r"1 calendar month apart \(monthly\) \(from 2025-01-01\); date every plan "
                                        r"on the same grid"):
        monthly_fit.compare_plans({"even": _future(monthly, 3, 1.0), "late": mid_month})
    with pytest.raises(DataError, match=r"Plan 'late': date 2025-01-15 is not on the other plans' grid"):
        monthly_fit.compare_plans({"even": _future(monthly, 1, 1.0), "late": mid_month})  # 'late' ends last


def test_a_four_weekly_model_predicts_four_weekly_plans_across_february() -> None:
    """Found in review: a 2-row plan 28 days apart across February was taken for monthly data and refused."""
    from mediamix.testing import PriorSampler

    start = pd.Timestamp("2023-01-29") - pd.Timedelta(days=28 * 39)  # the last row: 2023-01-29
    data = simulate([ChannelSpec("tv")], n_weeks=40, start=str(start.date()), freq="28D", l_max=2, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mmm = MMM.from_config(data.config).fit(data.data, sampler=PriorSampler(), chains=1, draws=20, seed=1)
    last = data.data["date"].iloc[-1]
    plan = pd.DataFrame({"date": [last + pd.Timedelta(days=28 * k) for k in (1, 2)], "tv": 1.0})
    assert plan["date"].dt.day.nunique() == 1  # the case: the same day of two months
    assert mmm.predict(plan).sizes["date"] == 2


@pytest.mark.parametrize("freq", ["B", "SME", "h"])
def test_simulation_refuses_frequencies_the_library_rejects(freq: str) -> None:
    from mediamix import ConfigError

    with pytest.raises(ConfigError, match=f"'freq' must be a pandas frequency of evenly spaced dates.*Got '{freq}'"):
        simulate([ChannelSpec("tv")], n_weeks=20, freq=freq)


def test_yearly_simulation_leaves_out_the_yearly_cycle_it_cannot_show() -> None:
    assert simulate([ChannelSpec("tv")], n_weeks=20, freq="YS").config["model"]["yearly_seasonality"] == 0
    assert simulate([ChannelSpec("tv")], n_weeks=20, freq="QS").config["model"]["yearly_seasonality"] == 1


def test_month_end_dates_read_as_period_starts_put_events_a_month_early_and_check_says_so() -> None:
    """Found in review: month-end data with date_marks = "start" (the default) put an event on 29 November
    into the October row, silently; the simulator now writes date_marks = "end" for month ends."""
    from mediamix.config import parse_config
    from mediamix.review import check_data

    data = simulate([ChannelSpec("tv")], n_weeks=36, start="2019-01-01", freq="ME", l_max=2, seed=1)
    assert data.config["data"]["date_marks"] == "end"
    raw = {**data.config, "model": {**data.config["model"], "events": [{"name": "promo", "dates": ["2019-11-29"]}]}}
    as_ends = check_data(data.data, parse_config(raw)).get("events")
    assert as_ends.severity == "pass"
    raw["data"] = {**raw["data"], "date_marks": "start"}
    as_starts = check_data(data.data, parse_config(raw)).get("events")
    assert as_starts.severity == "review"
    assert "The dates are month ends, read as the first day of each period" in as_starts.message
    assert 'set [data] date_marks = "end"' in as_starts.next_step


def test_a_gap_in_one_of_several_plans_names_the_plan(monthly: SimulatedDataset, monthly_fit: MMM) -> None:
    gap = _future(monthly, 4, 1.0).drop(index=1)
    with pytest.raises(DataError, match=r"^Plan 'gappy': Column 'date' has a gap between rows 1 and 2"):
        monthly_fit.compare_plans({"even": _future(monthly, 3, 1.0), "gappy": gap})
