"""The fit review: the demo fit passes every check; constructed posteriors trigger each one."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

from mediamix import MMM, ConfigError
from mediamix.config import dump_config, parse_config
from mediamix.review import Finding, Review, review_fit
from mediamix.review.convergence import convergence_findings
from mediamix.simulate import seed_config

FIT_CHECKS = ("r_hat", "ess", "divergences", "tree_depth", "fit", "posterior_predictive", "negative_baseline",
              "roas_plausibility", "prior_posterior_overlap")


def _review(mmm: MMM, observed: np.ndarray | None = None, decomposition: xr.Dataset | None = None,
            **kwargs: object) -> Review:
    y = mmm.data_[mmm.config_.data.target].to_numpy() if observed is None else observed
    dec = mmm.decomposition() if decomposition is None else decomposition
    return review_fit(mmm.idata_, dec, y, mmm.design_, mmm.config_, **kwargs)  # type: ignore[arg-type]


# --- the real default fit ------------------------------------------------------------------


@pytest.mark.slow
def test_the_demo_fit_passes_every_check(demo_fit: MMM) -> None:
    review = demo_fit.review()
    assert review.checks == FIT_CHECKS
    assert review.verdict == "pass", [f.message for f in review.problems()]
    assert demo_fit.review() is review  # computed once per ROAS range
    summary = demo_fit.summary_dict()
    assert summary["review"] == review.to_dict()
    json.dumps(summary["review"], allow_nan=False)
    fit = review.get("fit")
    assert fit is not None and fit.numbers["r2"] > 0.9 and "R² = 0.9" in fit.message


@pytest.mark.slow
def test_roas_outside_the_plausible_range_needs_review(demo_fit: MMM) -> None:
    finding = demo_fit.review(roas_range=(0.0, 3.0)).get("roas_plausibility")
    assert finding is not None and finding.severity == "review"
    assert "[0, 3]" in finding.message and "'x1' 4.9" in finding.message and "'x2'" not in finding.message
    assert "units" in finding.next_step and "roas_range" in finding.next_step


@pytest.mark.slow
def test_a_spread_the_model_cannot_reproduce_gets_a_small_p_value(demo_fit: MMM) -> None:
    y = demo_fit.data_["y"].to_numpy()
    noisier = y + np.where(np.arange(y.size) % 2, 1.5, -1.5)  # sd grows from 1.06 to ~1.8
    finding = _review(demo_fit, observed=noisier).get("posterior_predictive")
    assert finding is not None and finding.severity == "review"
    assert finding.numbers["p_sd"] < 0.05 and "sd" in finding.message


# --- constructed inputs --------------------------------------------------------------------


def test_the_prior_fit_is_flagged_for_posteriors_equal_to_their_priors(prior_fit: MMM) -> None:
    finding = prior_fit.review().get("prior_posterior_overlap")
    assert finding is not None and finding.severity == "review"
    flagged = [p for p, v in zip(finding.numbers["parameter"], finding.numbers["overlap"], strict=True) if v > 0.9]
    assert len(flagged) >= 12 and "beta[x1]" in finding.message  # of 15; 200 draws leave some noise


def test_a_fit_worse_than_the_mean_fails(prior_fit: MMM) -> None:
    y = prior_fit.data_["y"].to_numpy()
    review = _review(prior_fit, observed=-y)
    fit = review.get("fit")
    assert fit is not None and fit.severity == "fail" and "worse than a flat line" in fit.message
    baseline = review.get("negative_baseline")  # a KPI that goes negative may have a negative baseline
    assert baseline is not None and baseline.severity == "pass" and "takes negative values" in baseline.message


def test_a_negative_baseline_fails_naming_the_dates(prior_fit: MMM) -> None:
    dec = prior_fit.decomposition()
    shifted = dec.assign(intercept=dec["intercept"] - 100.0)
    finding = _review(prior_fit, decomposition=shifted).get("negative_baseline")
    assert finding is not None and finding.severity == "fail"
    assert "below zero in 100.0% of draws × dates" in finding.message
    assert "on 179 date(s) (2018-04-02, 2018-04-09" in finding.message


def test_bad_inputs_are_rejected(prior_fit: MMM) -> None:
    with pytest.raises(ValueError, match=r"'observed' must have one value per date \(179\). Got shape \(3,\)"):
        _review(prior_fit, observed=np.ones(3))
    with pytest.raises(ConfigError, match=r"'roas_range' must be \(low, high\) with low < high. Got \(5.0, 1.0\)"):
        _review(prior_fit, roas_range=(5.0, 1.0))


def test_the_plausible_roas_range_is_a_config_key() -> None:
    raw = seed_config()
    raw["review"] = {"roas_range": [0.5, 20]}
    config = parse_config(raw)
    assert config.review.roas_range == (0.5, 20.0)
    assert "[review]\nroas_range = [\n    0.5,\n    20.0,\n]" in dump_config(config)
    raw["review"] = {"roas_range": [20, 1]}
    with pytest.raises(ConfigError, match=r"review.roas_range.*low < high, got \[20.0, 1.0\]"):
        parse_config(raw)


def _tree(offset: float = 0.0, chains: int = 4, stats: dict[str, np.ndarray] | None = None) -> xr.DataTree:
    """iid draws of intercept and beta[x1, x2]; ``offset`` moves each chain's mean apart."""
    rng = np.random.default_rng(1)
    shift = offset * np.arange(chains)[:, None]
    posterior = xr.Dataset(
        {"intercept": (("chain", "draw"), rng.normal(size=(chains, 500)) + shift),
         "beta": (("chain", "draw", "channel"), rng.normal(size=(chains, 500, 2)) + shift[..., None])},
        coords={"channel": ["x1", "x2"]},
    )
    sample_stats = xr.Dataset({k: (("chain", "draw"), v) for k, v in (stats or {}).items()})
    return xr.DataTree.from_dict({"posterior": posterior, "sample_stats": sample_stats})


def _by_check(tree: xr.DataTree) -> dict[str, Finding]:
    return {f.check: f for f in convergence_findings(tree)}


def test_converged_iid_draws_pass_and_tree_depth_is_skipped_when_not_recorded() -> None:
    found = _by_check(_tree())
    assert list(found) == ["r_hat", "ess", "divergences"]
    assert all(f.severity == "pass" for f in found.values())


def test_chains_that_disagree_fail_naming_the_parameter() -> None:
    found = _by_check(_tree(offset=1.0))
    r_hat = found["r_hat"]
    assert r_hat.severity == "fail" and "the chains disagree on 3 parameter(s)" in r_hat.message
    assert r_hat.numbers["parameter"] in {"intercept", "beta[x1]", "beta[x2]"}
    assert "--tune" in r_hat.next_step
    assert found["ess"].severity == "fail"


def test_one_chain_cannot_show_convergence() -> None:
    r_hat = _by_check(_tree(chains=1))["r_hat"]
    assert r_hat.severity == "review" and "needs at least 2 chains" in r_hat.message


@pytest.mark.parametrize(("count", "severity"), [(0, "pass"), (5, "review"), (40, "fail")])
def test_divergences_by_share_of_draws(count: int, severity: str) -> None:
    diverging = np.zeros((4, 500), dtype=bool)
    diverging.flat[:count] = True
    finding = _by_check(_tree(stats={"diverging": diverging}))["divergences"]
    assert finding.severity == severity
    if count:
        assert f"{count} divergent transitions ({count / 2000:.2%} of 2000 draws)" in finding.message


@pytest.mark.parametrize("stats", [
    {"maxdepth_reached": np.arange(2000).reshape(4, 500) < 100},  # nutpie
    {"reached_max_treedepth": np.arange(2000).reshape(4, 500) < 100, "tree_depth": np.full((4, 500), 10)},  # PyMC
    {"tree_depth": np.where(np.arange(2000).reshape(4, 500) < 100, 10, 4)},  # NumPyro through PyMC
], ids=["nutpie", "pymc", "numpyro"])
def test_tree_depth_saturation_is_read_from_each_samplers_statistics(stats: dict[str, np.ndarray]) -> None:
    finding = _by_check(_tree(stats=stats))["tree_depth"]
    assert finding.severity == "review"
    assert "100 of 2000 draws (5.0%) hit the maximum tree depth (10)" in finding.message


@pytest.mark.parametrize(("stats", "hinted"), [
    ({"fisher_distance": np.zeros((4, 500))}, True),  # nutpie, diagonal mass matrix
    ({"fisher_distance": np.zeros((4, 500)), "num_eigenvalues": np.zeros((4, 500))}, False),  # nutpie, low rank
    ({"tree_depth": np.full((4, 500), 4)}, False),  # PyMC or NumPyro: no low-rank mass matrix to offer
], ids=["nutpie-diagonal", "nutpie-low-rank", "pymc"])
def test_slow_mixing_suggests_nutpies_low_rank_mass_matrix_where_it_was_not_used(
        stats: dict[str, np.ndarray], hinted: bool) -> None:
    saturated = {**stats, "maxdepth_reached": np.arange(2000).reshape(4, 500) < 100}
    found = _by_check(_tree(offset=1.0, stats=saturated))  # chains apart: the ESS fails
    for check in ("ess", "tree_depth"):
        assert found[check].severity != "pass"
        assert ("--mass-matrix low_rank" in found[check].next_step) == hinted, check
    assert "--mass-matrix" not in _by_check(_tree(stats=stats))["ess"].next_step  # a pass has no next step


# --- the middle band: every check with three verdicts says "review" between its two thresholds ------


@pytest.mark.parametrize(("bulk", "severity"), [(450.0, "pass"), (250.0, "review"), (50.0, "fail")])
def test_ess_bands(bulk: float, severity: str) -> None:
    from mediamix.review.convergence import ESS_FAIL, ESS_REVIEW, _ess

    assert ESS_FAIL < 250.0 < ESS_REVIEW < 450.0
    finding = _ess(["a", "b"], np.array([bulk, 2000.0]), ["a", "b"], np.array([2000.0, 2000.0]))
    assert finding.severity == severity and finding.numbers["parameter"] == "a"


@pytest.mark.parametrize(("spread", "severity"), [(0.0, "pass"), (1.0, "review"), (3.0, "fail")])
def test_r_hat_bands(spread: float, severity: str) -> None:
    """Chains offset by ``spread`` × 0.1 sd: r-hat ≈ 1.00, 1.02 and > 1.05 (checked in the test)."""
    import arviz_stats as az

    from mediamix.review.convergence import RHAT_FAIL, RHAT_REVIEW, _r_hat

    rng = np.random.default_rng(0)
    draws = rng.normal(size=(4, 1000)) + spread * 0.1 * np.arange(4)[:, None]
    finding = _r_hat(az.rhat(xr.Dataset({"mu": (("chain", "draw"), draws)})), chains=4)
    value = finding.numbers["r_hat_max"]
    assert {"pass": value <= RHAT_REVIEW, "review": RHAT_REVIEW < value <= RHAT_FAIL,
            "fail": value > RHAT_FAIL}[severity]
    assert finding.severity == severity


@pytest.mark.parametrize(("error", "severity"), [(0.1, "pass"), (0.3, "review")])
def test_fit_flags_a_mape_above_its_threshold(error: float, severity: str) -> None:
    from mediamix.review.fit_review import MAPE_REVIEW, _fit

    y = np.linspace(1.0, 100.0, 50)
    fitted = y * (1 + error * np.where(np.arange(50) % 2, 1.0, -1.0))  # |error| everywhere, R² stays high
    finding = _fit(fitted, y, "y")
    assert finding.numbers["mape"] == pytest.approx(error) and (error > MAPE_REVIEW) == (severity == "review")
    assert finding.numbers["r2"] >= finding.numbers["r2_review_below"]  # only the MAPE can flag it
    assert finding.severity == severity


@pytest.mark.parametrize(("share", "severity"), [(0.02, "pass"), (0.15, "review"), (0.40, "fail")])
def test_negative_baseline_bands(share: float, severity: str) -> None:
    from mediamix.review.fit_review import _negative_baseline

    draws, dates = 100, 10
    intercept = np.ones((1, draws, dates))
    intercept[0, : int(share * draws)] = -1.0  # this share of draws x dates below zero
    zeros = xr.DataArray(np.zeros((1, draws, dates)), dims=("chain", "draw", "date"))
    dec = xr.Dataset({
        "intercept": (("chain", "draw", "date"), intercept), "trend": zeros, "seasonality": zeros,
        "control_contribution": (("chain", "draw", "date", "control"), np.zeros((1, draws, dates, 0))),
    }, coords={"date": np.arange("2024-01-01", dates * 7, 7, dtype="datetime64[D]")[:dates]})
    finding = _negative_baseline(dec, np.ones(dates), "y")
    assert finding.numbers["share_below_zero"] == pytest.approx(share) and finding.severity == severity


def test_the_review_reads_the_fits_per_parameter_diagnostics_instead_of_computing_them_again(
        prior_fit: MMM, monkeypatch: pytest.MonkeyPatch) -> None:
    import copy

    import arviz_stats as az

    fitted = copy.copy(prior_fit)
    fitted._reviews = {}
    findings = {f.check: f for f in fitted.review().findings}
    assert findings["ess"].numbers["ess_bulk_min"] == pytest.approx(fitted.diagnostics_.ess_bulk_min)
    assert findings["r_hat"].numbers["r_hat_max"] == pytest.approx(fitted.diagnostics_.r_hat_max)

    def not_again(*args: object, **kwargs: object) -> None:
        raise AssertionError("ESS or r-hat computed again")

    monkeypatch.setattr(az, "ess", not_again)
    monkeypatch.setattr(az, "rhat", not_again)
    fitted._reviews = {}
    assert {f.check: f.numbers for f in fitted.review().findings} == {f: v.numbers for f, v in findings.items()}
    # Found in review: they belong to the posterior they were computed from, not to the model object.
    fitted.idata_ = fitted.idata_.copy()
    fitted._reviews = {}
    with pytest.raises(AssertionError, match="computed again"):
        fitted.review()
