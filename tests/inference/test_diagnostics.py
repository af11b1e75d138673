"""Convergence checks on constructed chains with known behaviour."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from mediamix.inference import diagnose


def _tree(samples: np.ndarray, divergences: int = 0) -> xr.DataTree:
    chains, draws = samples.shape
    diverging = np.zeros((chains, draws), dtype=bool)
    diverging.flat[:divergences] = True
    return xr.DataTree.from_dict(
        {
            "posterior": xr.Dataset({"theta": (("chain", "draw"), samples)}),
            "sample_stats": xr.Dataset({"diverging": (("chain", "draw"), diverging)}),
        }
    )


def test_independent_chains_converge() -> None:
    rng = np.random.default_rng(1)
    d = diagnose(_tree(rng.normal(size=(4, 1000))))
    assert d.r_hat_max < 1.01
    assert d.ess_bulk_min > 2000
    assert d.converged and d.problems() == []


def test_a_shifted_chain_fails_r_hat_with_advice() -> None:
    rng = np.random.default_rng(2)
    samples = rng.normal(size=(4, 1000))
    samples[3] += 3.0
    d = diagnose(_tree(samples))
    assert d.r_hat_max > 1.1
    assert not d.converged
    assert any("r-hat" in p and "--tune" in p for p in d.problems())


def test_sticky_chains_fail_ess() -> None:
    rng = np.random.default_rng(3)
    # A random walk: strongly autocorrelated draws.
    samples = np.cumsum(rng.normal(size=(4, 1000)), axis=1) * 0.01 + rng.normal(size=(4, 1)) * 0.0
    d = diagnose(_tree(samples))
    assert d.ess_bulk_min < 400
    assert any("ESS" in p and "--draws" in p for p in d.problems())


def test_divergences_are_counted_and_explained() -> None:
    rng = np.random.default_rng(4)
    d = diagnose(_tree(rng.normal(size=(4, 1000)), divergences=7))
    assert d.divergences == 7
    assert any("7 divergent" in p and "target_accept" in p for p in d.problems())


def test_one_chain_cannot_show_convergence() -> None:
    rng = np.random.default_rng(5)
    d = diagnose(_tree(rng.normal(size=(1, 1000))))
    assert np.isnan(d.r_hat_max)
    assert any("at least 2 chains" in p for p in d.problems())
    assert d.to_dict()["converged"] is False


@pytest.mark.parametrize("key", ["r_hat_max", "ess_bulk_min", "ess_tail_min", "divergences", "converged"])
def test_to_dict_has_the_summary_json_keys(key: str) -> None:
    rng = np.random.default_rng(6)
    assert key in diagnose(_tree(rng.normal(size=(2, 200)))).to_dict()


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # ArviZ: 0/0 for a constant
def test_a_parameter_that_never_moves_is_not_converged() -> None:
    """Found in review: its NaN r-hat was dropped and the fit counted as converged."""
    rng = np.random.default_rng(2)
    posterior = xr.Dataset({"theta": (("chain", "draw"), rng.normal(size=(4, 1000))),
                            "stuck": (("chain", "draw"), np.full((4, 1000), 0.5))})
    d = diagnose(xr.DataTree.from_dict({"posterior": posterior}))
    assert np.isnan(d.r_hat_max) and not d.converged
    assert "undefined for some parameter" in d.problems()[0]


def test_a_nan_draw_shows_in_the_mean_as_in_the_interval() -> None:
    from mediamix.analysis import hdi_summary

    draws = xr.DataArray(np.random.default_rng(3).gamma(2.0, 1.0, size=(2, 500)), dims=("chain", "draw"))
    assert np.isfinite(hdi_summary(draws)["mean"])
    draws[0, 7] = np.nan
    summary = hdi_summary(draws)
    assert np.isnan(summary["mean"]) and np.isnan(summary["hdi_low"]) and np.isnan(summary["hdi_high"])
