"""The piecewise-linear (changepoint) trend in the design, the model and the decomposition."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import mediamix
from mediamix import simulate
from mediamix.config import parse_config
from mediamix.errors import ConfigError
from mediamix.model.build import build_model
from mediamix.model.design import make_design
from mediamix.priors import Prior
from mediamix.review import count_parameters
from mediamix.transforms import changepoint_basis, changepoint_locations


@pytest.fixture(scope="module")
def piecewise_fit(demo, prior_fit_with):
    return prior_fit_with(demo.data, trend="piecewise", n_changepoints=4)


def test_design_holds_the_changepoint_basis(piecewise_fit) -> None:
    design = piecewise_fit.design_
    assert design.changepoints.shape == (len(design.dates), 4)
    np.testing.assert_allclose(design.changepoints, changepoint_basis(design.trend, changepoint_locations(4)))
    # Labelled by the day each falls on, evenly spaced over the training span.
    start, span = design.scales.start, design.scales.span_days
    expected = [(start + np.timedelta64(int(span * j / 5), "D")).strftime("%Y-%m-%d") for j in range(1, 5)]
    assert list(design.changepoint_names) == expected


def test_model_has_trend_delta_on_changepoints(piecewise_fit) -> None:
    model = build_model(piecewise_fit.config_, piecewise_fit.design_)
    assert list(model.coords["changepoint"]) == list(piecewise_fit.design_.changepoint_names)
    assert {"trend_slope", "trend_delta"} <= {rv.name for rv in model.free_RVs}
    assert piecewise_fit.config_.priors["trend_delta"] == Prior("Laplace", {"mu": 0.0, "b": 0.05})


def test_graph_mean_equals_numpy_decomposition(piecewise_fit, assert_graph_mean_equals_decomposition) -> None:
    assert_graph_mean_equals_decomposition(piecewise_fit)


def test_decomposition_trend_includes_the_slope_changes(piecewise_fit) -> None:
    fit = piecewise_fit
    point = fit.posterior.isel(chain=1, draw=7)
    design = fit.design_
    expected = (float(point["trend_slope"]) * design.trend
                + design.changepoints @ point["trend_delta"].to_numpy()) * fit.scales_.target
    got = fit.decomposition()["trend"].isel(chain=1, draw=7).to_numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_future_dates_keep_the_last_slope(piecewise_fit, demo) -> None:
    fit = piecewise_fit
    future = demo.data.iloc[-10:].copy()
    future["date_week"] = future["date_week"] + np.timedelta64(70, "D")
    design = make_design(future, fit.config_, fit.scales_)
    assert design.trend.min() > 1.0  # all after the training span
    np.testing.assert_allclose(np.diff(design.changepoints, axis=0), np.diff(design.trend)[:, None] * np.ones(4))


def test_piecewise_prior_fit_saves_and_loads(piecewise_fit, tmp_path: Path) -> None:
    piecewise_fit.save(tmp_path / "fit")
    loaded = mediamix.load(tmp_path / "fit")
    assert loaded.config_ == piecewise_fit.config_
    assert loaded.config_.model.trend == "piecewise"
    np.testing.assert_allclose(loaded.design_.changepoints, piecewise_fit.design_.changepoints)
    np.testing.assert_allclose(loaded.decomposition()["trend"], piecewise_fit.decomposition()["trend"])


def test_trend_delta_is_unknown_without_a_piecewise_trend() -> None:
    raw = simulate.seed_config()
    raw["priors"] = {"trend_delta": {"dist": "Laplace", "mu": 0, "b": 0.1}}
    with pytest.raises(ConfigError, match="Unknown prior 'priors.trend_delta'"):
        parse_config(raw)


def test_count_parameters_counts_every_slope_change() -> None:
    raw = simulate.seed_config()
    raw["model"].update(trend="piecewise", n_changepoints=6)
    assert count_parameters(parse_config(raw))["trend"] == 7
