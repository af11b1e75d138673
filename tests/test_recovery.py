"""The demo fit recovers the simulation's known truth (issue 2's acceptance test)."""

from __future__ import annotations

import numpy as np
import pytest

from mediamix import MMM
from mediamix.analysis import hdi_summary

pytestmark = pytest.mark.slow

CHANNELS = ("x1", "x2")


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("quantity", ["contribution", "roas"])
def test_truth_inside_hdi_and_mean_within_15_percent(demo_fit: MMM, demo, channel: str, quantity: str) -> None:
    truth = demo.truth["channels"][channel][quantity]
    stats = demo_fit.channel_summary()[channel][quantity]
    assert stats["hdi_low"] <= truth <= stats["hdi_high"], (quantity, channel, truth, stats)
    assert abs(stats["mean"] - truth) / truth < 0.15, (quantity, channel, truth, stats)


def test_converged_without_divergences(demo_fit: MMM) -> None:
    d = demo_fit.diagnostics_
    assert d.r_hat_max <= 1.01
    assert d.divergences == 0
    assert d.ess_bulk_min >= 400 and d.ess_tail_min >= 400
    assert d.converged


def test_weekly_contributions_track_the_truth(demo_fit: MMM, demo) -> None:
    estimated = demo_fit.channel_contributions().mean(("chain", "draw"))
    for channel in CHANNELS:
        truth = demo.contributions[channel].to_numpy()
        est = estimated.sel(channel=channel).to_numpy()
        assert np.corrcoef(truth, est)[0, 1] > 0.95
        # Weekly bands cover most true weeks (they are 94% intervals of the mean, not of noise).
        bands = hdi_summary(demo_fit.channel_contributions().sel(channel=channel))
        inside = (bands["hdi_low"].to_numpy() <= truth) & (truth <= bands["hdi_high"].to_numpy())
        assert inside.mean() > 0.7


def test_noise_and_fit_quality(demo_fit: MMM, demo) -> None:
    sigma = float(demo_fit.posterior["sigma"].mean()) * demo_fit.scales_.target
    assert abs(sigma - demo.truth["sigma"]) / demo.truth["sigma"] < 0.2
    mu = demo_fit.decomposition()["mu"].mean(("chain", "draw")).to_numpy()
    y = demo.data["y"].to_numpy()
    r2 = 1 - np.sum((y - mu) ** 2) / np.sum((y - y.mean()) ** 2)
    assert r2 > 0.9


def test_posterior_predictive_covers_observations(demo_fit: MMM, demo) -> None:
    replicated = demo_fit.sample_posterior_predictive(seed=0)
    bands = hdi_summary(replicated)
    y = demo.data["y"].to_numpy()
    inside = (bands["hdi_low"].to_numpy() <= y) & (y <= bands["hdi_high"].to_numpy())
    assert 0.85 < inside.mean() <= 1.0
