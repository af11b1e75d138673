"""Response curves, marginal ROAS, adstock curves, the waterfall and contribution bands."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import xarray as xr

from mediamix.analysis import response
from mediamix.transforms import GeometricAdstock

SAMPLE = ("chain", "draw")


# ----------------------------------------------------------------- response curves


def test_response_curves_start_at_zero_and_increase(prior_fit) -> None:
    curves = prior_fit.response_curves(points=21, max_multiple=2.0)
    assert curves.dims == ("chain", "draw", "channel", "point")
    assert curves.sizes == {"chain": 2, "draw": 100, "channel": 2, "point": 21}
    np.testing.assert_array_equal(curves.isel(point=0), 0.0)
    assert (curves.diff("point") > 0).all()  # in every draw, not only on average
    # The spend axis runs from 0 to twice each channel's largest historical weekly spend.
    spend = curves["spend"]
    assert spend.dims == ("channel", "point")
    np.testing.assert_allclose(spend.isel(point=-1), 2.0 * prior_fit.data_[["x1", "x2"]].max().to_numpy())
    np.testing.assert_allclose(spend.isel(point=0), 0.0)


def with_adstock(media, adstock):
    """``media`` (one transform group) with another adstock."""
    (group,) = media.groups
    return dataclasses.replace(media, groups=(dataclasses.replace(group, adstock=adstock),))


@pytest.mark.parametrize("normalize", [True, False])
def test_response_curve_is_the_last_week_of_a_long_constant_spend(prior_fit, normalize: bool) -> None:
    media = prior_fit.media_response()
    media = with_adstock(media, GeometricAdstock(l_max=8, normalize=normalize))
    curves = response.response_curves(media, prior_fit.design_, prior_fit.posterior, points=11)
    for point in (1, 5, 10):
        weekly = curves["spend"].isel(point=point).to_numpy()  # (channel,)
        long_run = np.tile(weekly, (8 + 5, 1))  # longer than the adstock window
        last_week = media.contribution(long_run)[:, -1, :]  # (sample, channel)
        expected = last_week.reshape(2, 100, 2)
        np.testing.assert_allclose(curves.isel(point=point).to_numpy(), expected, rtol=1e-12)


# ----------------------------------------------------------------- marginal ROAS


def test_marginal_roas_matches_a_hand_finite_difference_channel_by_channel(prior_fit) -> None:
    media = prior_fit.media_response()
    spend = prior_fit.design_.spend
    mroas = prior_fit.marginal_roas(step=0.01)
    assert mroas.dims == ("chain", "draw", "channel")
    base = media.contribution(spend)
    for c, name in enumerate(["x1", "x2"]):
        bumped_spend = spend.copy()
        bumped_spend[:, c] *= 1.01  # this channel only: the others held fixed
        extra = (media.contribution(bumped_spend) - base)[:, :, c].sum(axis=1)
        expected = extra / (0.01 * spend[:, c].sum())
        np.testing.assert_allclose(mroas.sel(channel=name).to_numpy().ravel(), expected, rtol=1e-10)


def test_marginal_roas_with_a_small_step_is_the_derivative(prior_fit) -> None:
    media = prior_fit.media_response()
    spend = prior_fit.design_.spend
    _, gradient = media.contribution_gradient(spend)  # (sample, date, channel)
    # d/dε of the channel's contribution when its whole history is scaled by (1 + ε), per unit of spend.
    derivative = (gradient * spend[None]).sum(axis=1) / spend.sum(axis=0)
    mroas = response.marginal_roas(media, prior_fit.design_, prior_fit.posterior, step=1e-6)
    np.testing.assert_allclose(mroas.to_numpy().reshape(-1, 2), derivative, rtol=1e-4)


def test_marginal_roas_given_the_historical_contribution_is_the_same_to_the_bit(prior_fit) -> None:
    media, design = prior_fit.media_response(), prior_fit.design_
    anew = response.marginal_roas(media, design, prior_fit.posterior)
    historical = media.contribution(design.spend)[:, design.n_history:, :]
    given = response.marginal_roas(media, design, prior_fit.posterior, contribution=historical)
    np.testing.assert_array_equal(given.to_numpy(), anew.to_numpy())
    np.testing.assert_array_equal(prior_fit.marginal_roas().to_numpy(), anew.to_numpy())  # from the decomposition
    wrong = response.marginal_roas(media, design, prior_fit.posterior, contribution=historical * 1.01)
    assert not np.allclose(wrong.to_numpy(), anew.to_numpy())  # the given level is the one used
    with pytest.raises(ValueError, match=r"contribution has shape .*expected"):
        response.marginal_roas(media, design, prior_fit.posterior, contribution=historical[:, 1:, :])


def test_marginal_roas_is_below_roas_in_every_draw(prior_fit) -> None:
    # Saturation is concave with f(0) = 0, so the next unit returns less than the average unit.
    mroas, roas = prior_fit.marginal_roas(), prior_fit.roas()
    assert (mroas > 0).all()
    assert (mroas < roas).all()


# ----------------------------------------------------------------- adstock curves


def test_adstock_curves_are_normalized_geometric_weights(prior_fit) -> None:
    curves = prior_fit.adstock_curves()
    assert curves.dims == ("chain", "draw", "lag", "channel")
    assert curves.sizes["lag"] == 8
    np.testing.assert_allclose(curves.sum("lag"), 1.0, rtol=1e-12)
    alpha = prior_fit.posterior["alpha"]
    lags = xr.DataArray(np.arange(8), dims="lag")
    expected = alpha**lags / (alpha**lags).sum("lag")
    expected = expected.transpose(*curves.dims).assign_coords(lag=np.arange(8)).rename("adstock")
    xr.testing.assert_allclose(curves, expected)


def test_adstock_curves_without_normalization_are_the_shares_of_powers_of_alpha(prior_fit) -> None:
    media = with_adstock(prior_fit.media_response(), GeometricAdstock(l_max=5, normalize=False))
    curves = response.adstock_curves(media, prior_fit.posterior)
    alpha = prior_fit.posterior["alpha"].sel(channel="x2").isel(chain=1, draw=3).item()
    powers = alpha ** np.arange(5)  # the raw weights; the curve is the share of the effect at each lag
    np.testing.assert_allclose(curves.sel(channel="x2").isel(chain=1, draw=3), powers / powers.sum(), rtol=1e-12)


# ----------------------------------------------------------------- waterfall and bands


def test_waterfall_components_add_up_to_the_total_fitted_mean(prior_fit) -> None:
    waterfall = prior_fit.waterfall()
    mu_total = prior_fit.decomposition()["mu"].sum("date").mean(SAMPLE)
    np.testing.assert_allclose(float(waterfall["mean"].sum("component")), float(mu_total), rtol=1e-10)
    assert (waterfall["hdi_low"] <= waterfall["mean"]).all() and (waterfall["mean"] <= waterfall["hdi_high"]).all()


def test_waterfall_components_are_labelled_by_kind(prior_fit) -> None:
    waterfall = prior_fit.waterfall()
    assert list(waterfall["component"].values) == [
        "intercept", "trend", "seasonality", "event_1", "event_2", "x1", "x2"
    ]
    assert list(waterfall["kind"].values) == ["baseline"] * 3 + ["control"] * 2 + ["channel"] * 2
    # Each channel's bar is that channel's total contribution.
    totals = prior_fit.decomposition()["channel_contribution"].sum("date").mean(SAMPLE)
    np.testing.assert_allclose(waterfall["mean"].sel(component=["x1", "x2"]), totals, rtol=1e-12)


def test_contribution_bands_hold_the_mean_per_date_and_channel(prior_fit) -> None:
    bands = prior_fit.contribution_bands(prob=0.9)
    contribution = prior_fit.decomposition()["channel_contribution"]
    assert bands["mean"].dims == ("date", "channel")
    np.testing.assert_allclose(bands["mean"], contribution.mean(SAMPLE), rtol=1e-12)
    # A 90% interval leaves about 10% of the 200 draws outside (HDI: never less than that inside).
    inside = ((contribution >= bands["hdi_low"]) & (contribution <= bands["hdi_high"])).mean(SAMPLE)
    assert float(inside.min()) >= 0.89
