"""Prior–posterior overlap against closed-form values."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from scipy import stats

from mediamix.config import parse_config
from mediamix.review import prior_posterior_overlap
from mediamix.review.overlap import overlap_finding
from mediamix.simulate import seed_config


def _config(priors: dict[str, dict[str, object]]) -> object:
    raw = seed_config()
    raw["priors"] = priors
    return parse_config(raw)


def _posterior(**draws: np.ndarray) -> xr.Dataset:
    return xr.Dataset({name: (("chain", "draw", *(["channel"] if v.ndim == 3 else [])), v)
                       for name, v in draws.items()}, coords={"channel": ["x1", "x2"]})


def test_overlap_of_two_normals_matches_the_closed_form() -> None:
    # Prior Normal(0, 2) (the default intercept prior), posterior Normal(1, 2):
    # OVL = 2·Φ(−|Δ|/(2σ)) = 2·Φ(−0.25).
    rng = np.random.default_rng(0)
    config = _config({})
    ovl = prior_posterior_overlap(_posterior(intercept=rng.normal(1.0, 2.0, size=(4, 10_000))), config)
    assert list(ovl["parameter"].values) == ["intercept"]
    assert float(ovl.sel(parameter="intercept")) == pytest.approx(2 * stats.norm.cdf(-0.25), abs=0.03)


def test_per_channel_priors_are_matched_by_name() -> None:
    # beta[x1] ~ HalfNormal(1), beta[x2] ~ HalfNormal(3): draws from HalfNormal(1) for both channels.
    rng = np.random.default_rng(1)
    config = _config({"beta": {"dist": "HalfNormal", "sigma": {"x2": 3.0, "x1": 1.0}}})
    draws = np.abs(rng.normal(0.0, 1.0, size=(4, 5000, 2)))
    ovl = prior_posterior_overlap(_posterior(beta=draws), config)
    x1, x2 = float(ovl.sel(parameter="beta[x1]")), float(ovl.sel(parameter="beta[x2]"))
    grid = np.linspace(0, 15, 20_001)
    exact = np.trapezoid(np.minimum(stats.halfnorm.pdf(grid), stats.halfnorm(scale=3).pdf(grid)), grid)
    assert x1 > 0.95 and x2 == pytest.approx(exact, abs=0.03)


def test_a_concentrated_posterior_barely_overlaps_and_a_prior_like_one_is_flagged() -> None:
    rng = np.random.default_rng(2)
    config = _config({})
    posterior = _posterior(intercept=rng.normal(0.5, 0.01, size=(4, 2000)),
                           sigma=np.abs(rng.normal(0.0, 2.0, size=(4, 2000))))  # sigma: the prior itself
    finding = overlap_finding(posterior, config)
    overlap = dict(zip(finding.numbers["parameter"], finding.numbers["overlap"], strict=True))  # type: ignore[arg-type]
    assert overlap["intercept"] <= 0.1 and overlap["sigma"] > 0.9  # resolution: two of 20 bins
    assert finding.severity == "review" and "1 parameter(s) barely moved from the prior" in finding.message
    assert "sigma (0.9" in finding.message
