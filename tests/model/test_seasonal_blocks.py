"""Weekly and monthly Fourier blocks next to the yearly one: design, model, decomposition, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mediamix import MMM
from mediamix.config import parse_config
from mediamix.errors import ConfigError
from mediamix.model.build import build_model
from mediamix.review import count_parameters
from mediamix.testing import PriorSampler
from mediamix.transforms import fourier_features, max_fourier_order


def daily_data(n_days: int = 210, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2024-01-01", periods=n_days, freq="D")
    x1, x2 = rng.gamma(2.0, 50.0, n_days), rng.gamma(3.0, 20.0, n_days)
    weekly = 3.0 * np.sin(2 * np.pi * np.arange(n_days) / 7)
    y = 100 + weekly + 0.05 * x1 + 0.08 * x2 + rng.normal(0, 1.0, n_days)
    return pd.DataFrame({"date": dates, "x1": x1, "x2": x2, "y": y})


def daily_config(**model) -> dict:
    return {"data": {"channels": ["x1", "x2"]},
            "model": {"l_max": 4, "yearly_seasonality": 0, **model},
            "fit": {"chains": 2, "draws": 40}}


@pytest.fixture(scope="module")
def daily_fit(prior_fit_with):
    return prior_fit_with(daily_data(), daily_config(), weekly_seasonality=2, monthly_seasonality=1,
                          yearly_seasonality=1)


def test_each_period_gets_its_own_block_and_parameter(daily_fit) -> None:
    design = daily_fit.design_
    np.testing.assert_allclose(design.seasonal["weekly"], fourier_features(design.dates, 2, 7.0))
    np.testing.assert_allclose(design.seasonal["monthly"], fourier_features(design.dates, 1, 365.25 / 12))
    model = build_model(daily_fit.config_, design)
    assert list(model.coords["fourier_mode_weekly"]) == ["sin_1", "cos_1", "sin_2", "cos_2"]
    assert list(model.coords["fourier_mode_monthly"]) == ["sin_1", "cos_1"]
    assert list(model.coords["fourier_mode"]) == ["sin_1", "cos_1"]
    free = {rv.name for rv in model.free_RVs}
    assert {"gamma_fourier", "gamma_fourier_weekly", "gamma_fourier_monthly"} <= free
    assert daily_fit.posterior["gamma_fourier_weekly"].dims == ("chain", "draw", "fourier_mode_weekly")


def test_graph_mean_equals_numpy_decomposition(daily_fit, assert_graph_mean_equals_decomposition) -> None:
    assert_graph_mean_equals_decomposition(daily_fit)


def test_seasonality_component_is_the_sum_of_the_blocks(daily_fit) -> None:
    fit, design = daily_fit, daily_fit.design_
    point = fit.posterior.isel(chain=0, draw=11)
    expected = (design.fourier @ point["gamma_fourier"].to_numpy()
                + design.seasonal["weekly"] @ point["gamma_fourier_weekly"].to_numpy()
                + design.seasonal["monthly"] @ point["gamma_fourier_monthly"].to_numpy()) * fit.scales_.target
    got = fit.decomposition()["seasonality"].isel(chain=0, draw=11).to_numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_weekly_seasonality_on_weekly_data_says_why_not(demo) -> None:
    raw = {**demo.config, "model": {**demo.config["model"], "weekly_seasonality": 1}}
    with pytest.raises(ConfigError, match=r"weekly_seasonality = 1 needs data less than 7 days apart; these dates "
                                          r"are 7 days apart"):
        MMM.from_config(raw).fit(demo.data, sampler=PriorSampler(), chains=1, draws=5)


def test_switched_off_periods_have_no_prior() -> None:
    cfg = parse_config(daily_config())
    assert not {"gamma_fourier_weekly", "gamma_fourier_monthly", "gamma_fourier"} & set(cfg.priors)
    raw = daily_config()
    raw["priors"] = {"gamma_fourier_weekly": {"dist": "Normal", "mu": 0, "sigma": 1}}
    with pytest.raises(ConfigError, match="Unknown prior 'priors.gamma_fourier_weekly'"):
        parse_config(raw)


def test_count_parameters_counts_every_period() -> None:
    cfg = parse_config(daily_config(yearly_seasonality=2, weekly_seasonality=3, monthly_seasonality=1))
    assert count_parameters(cfg)["seasonality"] == 2 * (2 + 3 + 1)


@pytest.mark.parametrize(("period", "step", "expected"), [
    (365.25 / 12, 7, 2),   # monthly cycle, weekly data: harmonic 3 repeats every 10.1 days < 14
    (365.25, 7, 26),       # yearly cycle, weekly data
    (7.0, 1, 3),           # weekly cycle, daily data: harmonic 4 repeats every 1.75 days
    (365.25, 28, 6),       # yearly cycle, four-weekly data
    (365.25 / 12, 28, 0),  # a monthly cycle on four-weekly data cannot be seen at all
    (28.0, 7, 1),          # exactly two rows per cycle is already too few
])
def test_max_fourier_order_is_the_nyquist_limit(period, step, expected) -> None:
    assert max_fourier_order(period, step) == expected
    dates = pd.date_range("2020-01-06", periods=300, freq=f"{step}D")
    t = np.asarray((dates - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1))
    for k in (expected, expected + 1):
        if k == 0:
            continue
        # sampled every `step` days, harmonic k is the same as a cycle at the alias frequency (a phase aside)
        frequency = k / period
        alias = abs(frequency - round(frequency * step) / step)
        column = fourier_features(dates, k, period)[:, -1]
        basis = np.column_stack([np.cos(2 * np.pi * alias * t), np.sin(2 * np.pi * alias * t)])
        residual = column - basis @ np.linalg.lstsq(basis, column, rcond=None)[0]
        assert np.abs(residual).max() < 1e-8
        if k == expected:  # admissible: the data show it at its own frequency, sine and cosine apart
            assert alias == pytest.approx(frequency)
            assert np.linalg.matrix_rank(fourier_features(dates, k, period)[:, -2:]) == 2
        elif np.isclose(2 * step * frequency, 1.0):  # exactly two rows per cycle: sine and cosine collapse
            assert np.linalg.matrix_rank(fourier_features(dates, k, period)[:, -2:], tol=1e-8) == 1
        else:  # one more: it shows as a slower, spurious cycle
            assert alias < frequency - 1e-12


@pytest.mark.filterwarnings("ignore::mediamix.errors.DataWarning")  # tiny data, by design
@pytest.mark.filterwarnings("ignore::mediamix.errors.ConvergenceWarning")
def test_monthly_order_too_fine_for_weekly_data_says_which_setting_and_limit(demo) -> None:
    raw = {**demo.config, "model": {**demo.config["model"], "monthly_seasonality": 3}}
    with pytest.raises(ConfigError, match=r"\[model\] monthly_seasonality = 3 is too fine for data 7 days apart: "
                                          r"harmonic 3 of the 30.4375-day cycle repeats every 10.1 days.*"
                                          r"Use at most 2\."):
        MMM.from_config(raw).fit(demo.data, sampler=PriorSampler(), chains=1, draws=5)


@pytest.mark.filterwarnings("ignore::mediamix.errors.DataWarning")  # tiny data, by design
@pytest.mark.filterwarnings("ignore::mediamix.errors.ConvergenceWarning")
def test_yearly_order_too_fine_for_four_weekly_data() -> None:
    # retail's 13 periods a year: harmonic 7 of the year repeats every 52.2 days, under two rows (56 days)
    dates = pd.date_range("2018-01-01", periods=60, freq="28D")
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"date": dates, "x1": rng.gamma(2.0, 50.0, 60), "x2": rng.gamma(3.0, 20.0, 60)})
    frame["y"] = 100 + 0.05 * frame["x1"] + rng.normal(0, 1.0, 60)
    with pytest.raises(ConfigError, match=r"yearly_seasonality = 7 is too fine for data 28 days apart.*"
                                          r"Use at most 6\."):
        MMM.from_config(daily_config(yearly_seasonality=7)).fit(frame, sampler=PriorSampler(), chains=1, draws=5)
    fit = MMM.from_config(daily_config(yearly_seasonality=6)).fit(frame, sampler=PriorSampler(), chains=1, draws=5)
    assert fit.design_.fourier.shape == (60, 12)
