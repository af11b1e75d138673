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
from mediamix.transforms import fourier_features


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
