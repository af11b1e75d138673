"""Saturation before adstock: the PyMC graph, the NumPy twin and the gradient agree."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from pytensor.graph.replace import clone_replace

import pytensor.tensor as pt

from mediamix import MMM, ConvergenceWarning
from mediamix.analysis import decompose
from mediamix.model.build import TARGET_VAR, build_model
from mediamix.testing import PriorSampler


@pytest.fixture(scope="module")
def saturated_first(demo) -> MMM:
    config = {**demo.config, "model": {**demo.config["model"], "saturation_first": True}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return MMM.from_config(config).fit(demo.data, sampler=PriorSampler(), chains=1, draws=20, seed=5)


def test_graph_mean_equals_numpy_mean(saturated_first: MMM) -> None:
    model = build_model(saturated_first.config_, saturated_first.design_)
    mu_graph = model[TARGET_VAR].owner.inputs[2]
    parts = decompose(saturated_first.posterior, saturated_first.design_, saturated_first.config_)
    for draw in (0, 7):
        point = saturated_first.posterior.isel(chain=0, draw=draw)
        replace = {model[name]: pt.as_tensor(point[name].to_numpy()) for name in point.data_vars}
        expected = parts["mu"].isel(chain=0, draw=draw).to_numpy() / saturated_first.scales_.target
        np.testing.assert_allclose(clone_replace(mu_graph, replace).eval(), expected, rtol=1e-10)


def test_order_matters(saturated_first: MMM, demo) -> None:
    usual = MMM.from_config(demo.config)
    usual_parts = decompose(saturated_first.posterior, saturated_first.design_, usual.config)
    first_parts = saturated_first.decomposition()
    assert not np.allclose(usual_parts["channel_contribution"], first_parts["channel_contribution"])


def test_gradient_matches_finite_differences(saturated_first: MMM) -> None:
    media = saturated_first.media_response()
    rng = np.random.default_rng(0)
    spend = rng.uniform(0.0, 1.0, size=(12, 2))
    total, gradient = media.contribution_gradient(spend)
    h = 1e-6
    for t, c in [(0, 0), (5, 1), (11, 0)]:
        bumped = spend.copy()
        bumped[t, c] += h
        lowered = spend.copy()
        lowered[t, c] -= h
        numeric = (media.contribution(bumped).sum(axis=(1, 2)) - media.contribution(lowered).sum(axis=(1, 2))) / (2 * h)
        np.testing.assert_allclose(gradient[:, t, c], numeric, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(total, media.contribution(spend).sum(axis=(1, 2)))


def test_steady_state_curve_equals_a_long_constant_run(saturated_first: MMM) -> None:
    media = saturated_first.media_response()
    weekly = np.array([[0.3], [0.7]])
    steady = media.steady_state(weekly)[:, :, 0]  # (sample, channel)
    run = np.tile(weekly[:, 0], (40, 1))
    last = media.effect(run)[:, -1, :]
    np.testing.assert_allclose(steady, last, rtol=1e-10)
