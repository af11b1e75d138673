"""Fixtures of the model tests: prior 'fits' under a changed config, and the graph-vs-NumPy mean check."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pytensor.graph.replace import clone_replace
import pytensor.tensor as pt

from mediamix import MMM, simulate
from mediamix.analysis import decompose
from mediamix.errors import ConvergenceWarning, DataWarning
from mediamix.model.build import TARGET_VAR, build_model
from mediamix.testing import PriorSampler


def _prior_fit_with(data: pd.DataFrame, config: dict[str, Any] | None = None, **model: Any) -> MMM:
    """A PriorSampler 'fit' of ``data`` with the seed config's ``[model]`` updated by ``model``."""
    raw = config or simulate.seed_config()
    raw["model"] = {**raw.get("model", {}), **model}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", DataWarning)
        return MMM.from_config(raw).fit(data, sampler=PriorSampler(), chains=2, draws=40, seed=5)


def _graph_mean_equals_decomposition(fit: MMM, points=((0, 0), (1, 17), (0, 39))) -> None:
    """Assert the PyMC graph's mean equals the NumPy decomposition's at a few posterior draws."""
    model = build_model(fit.config_, fit.design_)
    observed = model[TARGET_VAR]
    mu_graph = observed.owner.op.dist_params(observed.owner)[-2]  # (..., mu, sigma) for Normal and StudentT
    posterior = fit.posterior
    decomposition = decompose(posterior, fit.design_, fit.config_)
    for chain, draw in points:
        point = posterior.isel(chain=chain, draw=draw)
        replace = {model[name]: pt.as_tensor(point[name].to_numpy()) for name in point.data_vars}
        mu_model = clone_replace(mu_graph, replace).eval()
        mu_numpy = decomposition["mu"].isel(chain=chain, draw=draw).to_numpy() / fit.scales_.target
        if fit.config_.model.form == "multiplicative":  # the graph's mean is on the log scale
            mu_numpy = np.log(mu_numpy)
        np.testing.assert_allclose(mu_model, mu_numpy, rtol=1e-10, atol=1e-12)


def _gradient_matches_central_differences(media: Any, spend: np.ndarray, weights: np.ndarray,
                                          cells: list[tuple[int, int]], atol: float) -> None:
    """Assert ``media.contribution_gradient`` gives the weighted total contribution and, at ``cells``
    (date, channel), its derivative by central differences."""
    def total(s: np.ndarray) -> np.ndarray:
        return (media.contribution(s) * weights[None, :, None]).sum(axis=(1, 2))

    value, gradient = media.contribution_gradient(spend, weights)
    np.testing.assert_allclose(value, total(spend), rtol=1e-12)
    for t, c in cells:
        h = 1e-6 * media.channel_scales[c]
        up, down = spend.copy(), spend.copy()
        up[t, c] += h
        down[t, c] -= h
        np.testing.assert_allclose(gradient[:, t, c], (total(up) - total(down)) / (2 * h), rtol=1e-5, atol=atol)


@pytest.fixture(scope="session")
def assert_gradient_matches_central_differences():
    """Check: ``assert_gradient_matches_central_differences(media, spend, weights, cells, atol)``."""
    return _gradient_matches_central_differences


@pytest.fixture(scope="session")
def prior_fit_with():
    """Factory: ``prior_fit_with(data, config=None, **model_options)`` -> a PriorSampler-fitted MMM."""
    return _prior_fit_with


@pytest.fixture(scope="session")
def assert_graph_mean_equals_decomposition():
    """Check: ``assert_graph_mean_equals_decomposition(fit)`` compares the model's mean with the NumPy one."""
    return _graph_mean_equals_decomposition
