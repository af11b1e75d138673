"""The PyMC model and the NumPy decomposition compute the same mean."""

from __future__ import annotations

import numpy as np
from pytensor.graph.replace import clone_replace
import pytensor.tensor as pt

from mediamix.analysis import decompose
from mediamix.model.build import TARGET_VAR, build_model


def test_model_mean_equals_numpy_decomposition(prior_fit) -> None:
    model = build_model(prior_fit.config_, prior_fit.design_)
    observed = model[TARGET_VAR]
    mu_graph = observed.owner.inputs[2]  # Normal(rng, size, mu, sigma)
    posterior = prior_fit.posterior
    decomposition = decompose(posterior, prior_fit.design_, prior_fit.config_)
    for chain, draw in [(0, 0), (1, 17), (0, 99)]:
        point = posterior.isel(chain=chain, draw=draw)
        replace = {model[name]: pt.as_tensor(point[name].to_numpy()) for name in point.data_vars}
        mu_model = clone_replace(mu_graph, replace).eval()
        mu_numpy = decomposition["mu"].isel(chain=chain, draw=draw).to_numpy() / prior_fit.scales_.target
        np.testing.assert_allclose(mu_model, mu_numpy, rtol=1e-10, atol=1e-12)


def test_model_coords_and_free_variables(prior_fit) -> None:
    model = build_model(prior_fit.config_, prior_fit.design_)
    assert list(model.coords["channel"]) == ["x1", "x2"]
    assert list(model.coords["control"]) == ["event_1", "event_2"]
    assert list(model.coords["fourier_mode"]) == ["sin_1", "cos_1", "sin_2", "cos_2"]
    free = {rv.name for rv in model.free_RVs}
    assert free == {"intercept", "beta", "alpha", "lam", "sigma", "gamma_control", "gamma_fourier", "trend_slope"}
    # Derived quantities stay out of the sampled graph (computed afterwards).
    assert not model.deterministics


def test_per_channel_prior_is_matched_by_name(demo) -> None:
    from mediamix import MMM, Prior
    from mediamix.model.design import Scales, make_design
    from mediamix.data import validate_data

    mmm = MMM(
        date="date_week",
        target="y",
        channels=["x1", "x2"],
        priors={"beta": Prior("HalfNormal", {"sigma": {"x2": 0.1, "x1": 5.0}})},
    )
    cfg = mmm.config
    frame = validate_data(demo.data, date="date_week", target="y", channels=["x1", "x2"], l_max=8)
    model = build_model(cfg, make_design(frame, cfg, Scales.from_frame(frame, cfg)))
    sigma = model["beta"].owner.inputs[-1].eval()
    np.testing.assert_allclose(sigma, [5.0, 0.1])  # ordered like the channels, not like the table
