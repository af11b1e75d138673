"""MediaResponse: spend -> contribution over all draws, its exact gradient, and draw thinning."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import xarray as xr

from mediamix.analysis import decompose
from mediamix.analysis.media import MediaResponse, sample_major, thin_draws
from mediamix.transforms import GeometricAdstock, LogisticSaturation


def hand_contribution(spend: np.ndarray, beta: float, alpha: float, lam: float, *, l_max: int, normalize: bool,
                      scale: float, target_scale: float) -> np.ndarray:
    """One draw, one channel, with plain loops: the reference the vectorized code must match."""
    w = alpha ** np.arange(l_max)
    if normalize:
        w = w / w.sum()
    x = spend / scale
    out = np.zeros(len(x))
    for t in range(len(x)):
        level = sum(w[lag] * x[t - lag] for lag in range(l_max) if t - lag >= 0)
        e = np.exp(-lam * level)
        out[t] = beta * (1 - e) / (1 + e) * target_scale
    return out


def constructed_media(normalize: bool, n_samples: int = 6, seed: int = 0) -> MediaResponse:
    """Three channels with known parameters, unequal scales and a target scale != 1."""
    rng = np.random.default_rng(seed)
    shape = (n_samples, 3)
    return MediaResponse.from_arrays(
        adstock=GeometricAdstock(l_max=4, normalize=normalize),
        saturation=LogisticSaturation(),
        beta=rng.uniform(0.5, 2.0, shape),
        adstock_params={"alpha": rng.uniform(0.1, 0.8, shape)},
        saturation_params={"lam": rng.uniform(0.5, 4.0, shape)},
        channel_scales=np.array([100.0, 20.0, 5.0]),
        target_scale=250.0,
        channels=("tv", "search", "social"),
    )


# ----------------------------------------------------------------- contribution


def test_contribution_equals_the_decompositions_channel_contribution(prior_fit) -> None:
    media = prior_fit.media_response()
    design = prior_fit.design_
    got = media.contribution(design.spend)  # (sample, date, channel), chain-major samples
    expected = decompose(prior_fit.posterior, design, prior_fit.config_)["channel_contribution"]
    n_chain, n_draw = prior_fit.posterior.sizes["chain"], prior_fit.posterior.sizes["draw"]
    assert got.shape == (n_chain * n_draw, len(design.dates), 2)
    np.testing.assert_allclose(got.reshape(n_chain, n_draw, *got.shape[1:]), expected.to_numpy(), rtol=1e-12)


@pytest.mark.parametrize(("chain", "draw"), [(0, 0), (1, 7), (1, 99)])
def test_contribution_matches_a_hand_loop_for_one_draw(prior_fit, chain: int, draw: int) -> None:
    media = prior_fit.media_response()
    design = prior_fit.design_
    post = prior_fit.posterior.isel(chain=chain, draw=draw)
    sample = chain * prior_fit.posterior.sizes["draw"] + draw  # samples are ordered chain-major
    got = media.contribution(design.spend)[sample]
    for c, name in enumerate(design.channel_names):
        params = {k: float(post[k].sel(channel=name)) for k in ("beta", "alpha", "lam")}
        expected = hand_contribution(design.spend[:, c], **params, l_max=8, normalize=True,
                                     scale=design.scales.channels[c], target_scale=design.scales.target)
        np.testing.assert_allclose(got[:, c], expected, rtol=1e-10)


@pytest.mark.parametrize("normalize", [True, False])
def test_contribution_of_a_constructed_response_matches_a_hand_loop(normalize: bool) -> None:
    media = constructed_media(normalize)
    spend = np.random.default_rng(5).uniform(0, 60, (10, 3))
    got = media.contribution(spend)
    for s in (0, 5):
        for c in range(3):
            expected = hand_contribution(
                spend[:, c], media.beta[s, c], media.groups[0].adstock_params["alpha"][s, c],
                media.groups[0].saturation_params["lam"][s, c],
                l_max=4, normalize=normalize, scale=media.channel_scales[c], target_scale=media.target_scale,
            )
            np.testing.assert_allclose(got[s, :, c], expected, rtol=1e-12)


# ----------------------------------------------------------------- gradient

ENTRIES = [(0, 0), (3, 1), (6, 2), (10, 0), (11, 2)]  # (date, channel): first week, middle, last weeks


def _weights(kind: str, n_dates: int) -> np.ndarray | None:
    if kind == "none":
        return None
    # Zeros (history rows) and decaying positive weights, as the optimizer uses them.
    return np.concatenate([np.zeros(2), 0.97 ** np.arange(n_dates - 2)])


@pytest.mark.parametrize("normalize", [True, False])
@pytest.mark.parametrize("weights", ["none", "discounted"])
def test_contribution_gradient_matches_central_differences(normalize: bool, weights: str) -> None:
    media = constructed_media(normalize)
    # Spend of the order of each channel's scale: the saturation's bend, where gradients are informative.
    spend = np.random.default_rng(1).uniform(0, 1, (12, 3)) * media.channel_scales
    w = _weights(weights, len(spend))
    total, gradient = media.contribution_gradient(spend, w)

    reference_total = np.einsum("stc,t->s", media.contribution(spend), np.ones(12) if w is None else w)
    np.testing.assert_allclose(total, reference_total, rtol=1e-12)
    assert gradient.shape == (media.n_samples, *spend.shape)

    for t, c in ENTRIES:
        h = 1e-4 * media.channel_scales[c]
        up, down = spend.copy(), spend.copy()
        up[t, c] += h
        down[t, c] -= h
        numeric = (media.contribution_gradient(up, w)[0] - media.contribution_gradient(down, w)[0]) / (2 * h)
        np.testing.assert_allclose(gradient[:, t, c], numeric, rtol=1e-6, atol=1e-9 * np.abs(numeric).max(),
                                   err_msg=f"date {t}, channel {c}")
    if w is not None:
        # Spend in a zero-weight (history) row still counts through its carryover into weighted rows.
        assert np.all(gradient[:, 1, :] > 0)


def test_contribution_gradient_on_the_fitted_posterior(prior_fit) -> None:
    media = prior_fit.media_response(max_draws=20)
    spend = prior_fit.design_.spend[-30:]
    total, gradient = media.contribution_gradient(spend)
    for t, c in [(0, 0), (15, 1), (29, 0)]:
        h = 1e-5
        up, down = spend.copy(), spend.copy()
        up[t, c] += h
        down[t, c] -= h
        numeric = (media.contribution(up).sum(axis=(1, 2)) - media.contribution(down).sum(axis=(1, 2))) / (2 * h)
        np.testing.assert_allclose(gradient[:, t, c], numeric, rtol=1e-5, atol=1e-8)


# ----------------------------------------------------------------- steady state


def test_steady_state_gain_is_one_for_normalized_adstock() -> None:
    np.testing.assert_allclose(constructed_media(normalize=True).steady_state_gain(), 1.0, rtol=1e-12)


def test_steady_state_gain_is_the_sum_of_weights_otherwise() -> None:
    media = constructed_media(normalize=False)
    alpha = media.groups[0].adstock_params["alpha"]
    expected = (1 - alpha**4) / (1 - alpha)  # geometric series over l_max = 4 lags
    np.testing.assert_allclose(media.steady_state_gain(), expected, rtol=1e-12)
    assert media.steady_state_gain().shape == (media.n_samples, 3)


def test_steady_state_gain_is_what_a_long_constant_spend_reaches() -> None:
    media = dataclasses.replace(constructed_media(normalize=False), channel_scales=np.ones(3))
    level = media.adstocked(np.ones((20, 3)))[:, -1, :]
    np.testing.assert_allclose(media.steady_state_gain(), level, rtol=1e-12)


# ----------------------------------------------------------------- thinning


@pytest.fixture()
def indexed_posterior() -> xr.Dataset:
    """Two chains of 100 draws whose values encode their own (chain, draw) position."""
    chain, draw = np.meshgrid(np.arange(2), np.arange(100), indexing="ij")
    index = chain * 100 + draw
    return xr.Dataset(
        {
            "index": (("chain", "draw"), index.astype(float)),
            "beta": (("chain", "draw", "channel"), np.stack([index, -index], axis=-1).astype(float)),
        },
        coords={"chain": [0, 1], "draw": np.arange(100), "channel": ["tv", "search"]},
    )


def test_thin_draws_keeps_evenly_spaced_draws_as_one_chain(indexed_posterior: xr.Dataset) -> None:
    thinned = thin_draws(indexed_posterior, 50)
    assert dict(thinned.sizes) == {"chain": 1, "draw": 50, "channel": 2}
    assert thinned["beta"].dims == ("chain", "draw", "channel")
    assert list(thinned["channel"].values) == ["tv", "search"]
    np.testing.assert_array_equal(thinned["draw"].values, np.arange(50))
    kept = thinned["index"].values.ravel().astype(int)
    assert kept[0] == 0 and kept[-1] == 199  # both ends of the chain-major sequence
    gaps = np.diff(kept)
    assert gaps.min() >= 4 and gaps.max() <= 5  # 199 / 49 ≈ 4.06: as even as integers allow
    # Every variable's values travel with their draw.
    np.testing.assert_array_equal(thinned["beta"].values[0, :, 0], kept)
    np.testing.assert_array_equal(thinned["beta"].values[0, :, 1], -kept)


@pytest.mark.parametrize("max_draws", [None, 200, 500])
def test_thin_draws_returns_the_posterior_unchanged_when_there_are_few_enough(
    indexed_posterior: xr.Dataset, max_draws: int | None
) -> None:
    assert thin_draws(indexed_posterior, max_draws) is indexed_posterior


def test_media_response_of_thinned_draws_picks_the_same_draws(prior_fit) -> None:
    full = prior_fit.media_response()
    thin = prior_fit.media_response(max_draws=40)
    assert thin.n_samples == 40 and full.n_samples == 200
    keep = [int(round(i)) for i in np.linspace(0, 199, 40)]
    np.testing.assert_array_equal(thin.beta, full.beta[keep])
    np.testing.assert_array_equal(thin.groups[0].adstock_params["alpha"], full.groups[0].adstock_params["alpha"][keep])
    np.testing.assert_array_equal(thin.groups[0].saturation_params["lam"], full.groups[0].saturation_params["lam"][keep])


def test_sample_major_orders_samples_chain_first(indexed_posterior: xr.Dataset) -> None:
    flat = sample_major(indexed_posterior, "beta", "channel")
    assert flat.shape == (200, 2)
    np.testing.assert_array_equal(flat[:, 0], np.arange(200))
