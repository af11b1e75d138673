"""The review of an approximate fit: one 'approximation' finding instead of r-hat, ESS and divergences."""

from __future__ import annotations

import numpy as np
import pytest

from mediamix import MMM
from mediamix.review import review_fit
from mediamix.review.convergence import approximation_finding, convergence_findings


def approximate_tree(mmm: MMM, k: float = 0.5):
    tree = mmm.idata_.copy()
    tree["posterior"].attrs.update(method="map", approximate=1, pareto_k=k)
    return tree


def test_convergence_is_not_checked_for_an_approximation(prior_fit: MMM) -> None:
    [finding] = convergence_findings(approximate_tree(prior_fit))
    assert finding.check == "approximation" and finding.severity == "review"
    assert finding.message.startswith("Approximate fit (map): convergence not checked")
    assert "Refit with NUTS" in finding.next_step and "before acting" in finding.next_step
    assert finding.numbers["pareto_k"] == 0.5 and finding.numbers["resampled"] is False
    tree = approximate_tree(prior_fit)
    tree["posterior"].attrs["resampled"] = 1
    [finding] = convergence_findings(tree)
    assert finding.numbers["resampled"] is True
    assert "close to the posterior in shape, and its draws were importance-resampled (PSIS)" in finding.message


def test_the_pareto_k_limit_depends_on_the_number_of_draws() -> None:
    """Found in review: 200 draws resampled at k 0.67 kept 92 distinct draws (Vehtari et al. 2024's limit: 0.57)."""
    from mediamix.inference.diagnostics import pareto_k_limit

    assert pareto_k_limit(1000) == pytest.approx(2 / 3)
    assert pareto_k_limit(200) == pytest.approx(1 - 1 / np.log10(200))
    assert pareto_k_limit(10) == 0.0 and pareto_k_limit(10**6) == 0.7
    finding = approximation_finding("map", 0.68, draws=1000)
    assert "Pareto k 0.68 > 0.67 (the limit for 1000 draws)" in finding.message
    assert finding.numbers["pareto_k_limit"] == pytest.approx(2 / 3)
    resampled = approximation_finding("map", 0.5, resampled=True, draws=1000, importance_ess=255.4)
    assert "importance-resampled (PSIS; effective sample size 255 of 1000)" in resampled.message
    pooled = approximation_finding("pathfinder", 0.5, resampled=True, draws=1000, importance_ess=3200.0,
                                   candidates=4000)  # pathfinder weighs 4 paths' candidates, keeps 1000
    assert "effective sample size 3200 of 4000 candidate draws" in pooled.message


def test_pareto_k_says_whether_the_shape_is_close() -> None:
    assert "close to the posterior in shape" in approximation_finding("advi", 0.3).message
    assert "Pareto k 1.20 > 0.7" in approximation_finding("advi", 1.2).message
    assert "could not be estimated" in approximation_finding("advi", np.nan).message
    assert approximation_finding("advi", 1.2).severity == "review"  # never pass, never a fail on k alone


def test_review_fit_of_an_approximation_has_no_mcmc_checks(prior_fit: MMM) -> None:
    observed = prior_fit.data_[prior_fit.config_.data.target].to_numpy()
    review = review_fit(approximate_tree(prior_fit), prior_fit.decomposition(), observed, prior_fit.design_,
                        prior_fit.config_)
    checks = [f.check for f in review.findings]
    assert checks[0] == "approximation" and not {"r_hat", "ess", "divergences", "tree_depth"} & set(checks)
    assert "fit" in checks and "prior_posterior_overlap" in checks  # the rest of the review still runs


def test_draws_where_the_posterior_has_no_mass_fail_the_approximation() -> None:
    """Found by fuzzing: MAP's Gaussian put a few draws at log density -1.3e7 (typical: -20); with
    equal weights they took a ROAS mean to 1e57 while Pareto k said 'close in shape'."""
    from mediamix.review.convergence import stray_share

    rng = np.random.default_rng(0)
    typical = -0.5 * rng.chisquare(15, size=1000) - 20.0  # a Gaussian's draws in 15 dimensions
    assert stray_share(typical) == 0.0
    assert approximation_finding("map", 0.5, stray_share(typical)).severity == "review"
    with_strays = typical.copy()
    with_strays[[3, 500]] = [-1.3e7, -np.inf]
    assert stray_share(with_strays) == pytest.approx(0.002)
    finding = approximation_finding("map", 0.5, stray_share(with_strays))
    assert finding.severity == "fail"
    assert "0.2% of its draws lie where the posterior has almost no mass" in finding.message
