"""An approximate fit's report says so: a banner, the key card, and no NUTS diagnostics passed off as checks."""

from __future__ import annotations

import dataclasses

import pytest

from mediamix import MMM
from mediamix.report import ReportData, render_report
from mediamix.report.render import verdict

FIT = {"method": "advi", "approximate": True, "pareto_k": 1.21, "note": "Approximate fit (advi): ..."}


@pytest.fixture(scope="module")
def approximate_html(prior_fit: MMM) -> str:
    data = prior_fit.report_data()
    diagnostics = {**data.diagnostics, "r_hat_max": None, "ess_bulk_min": None, "ess_tail_min": None,
                   "divergences": None, "converged": None, "chains": 1, "sampler": "advi"}
    summary = {**data.summary, "fit": FIT, "diagnostics": diagnostics}
    return render_report(dataclasses.replace(data, summary=summary, problems=()))


def test_banner_and_key_card_say_approximate(approximate_html: str) -> None:
    assert '<div class="approx-banner" role="alert">' in approximate_html
    assert "Approximate fit (advi): not for final decisions. Convergence was not checked; refit with NUTS" \
        in approximate_html
    assert '<p class="big">Approximate</p>' in approximate_html
    assert "HDI) of the approximate posterior" in approximate_html


def test_diagnostics_show_the_method_and_pareto_k_not_r_hat(approximate_html: str) -> None:
    assert "Largest r-hat" not in approximate_html and "Divergent transitions" not in approximate_html
    assert '<th scope="row">Pareto k</th><td>1.21</td>' in approximate_html
    assert "The sampler converged" not in approximate_html and "did not converge" not in approximate_html


def test_verdict_of_an_approximation_is_never_converged() -> None:
    v = verdict({"converged": True, "draws": 2000}, (), FIT)
    assert not v["ok"] and v["approximate"]
    assert v["headline"].startswith("Approximate fit (advi): not for final decisions.")
    assert "r-hat, ESS and divergences do not apply" in v["details"][0]
    assert "Pareto k is 1.21 (above 0.7)" in v["details"][1]
    close = verdict({"draws": 2000}, (), {**FIT, "pareto_k": 0.4})
    assert "at most 0.7" in close["details"][1]


def test_a_nuts_report_has_no_banner(prior_fit: MMM) -> None:
    data: ReportData = prior_fit.report_data()
    assert data.summary["fit"] == {"method": "nuts", "approximate": False, "sampler": "nutpie"}
    html = render_report(data)
    assert 'class="approx-banner"' not in html and "Largest r-hat" in html


def test_the_pareto_k_row_reads_its_value_against_the_limit(approximate_html: str, prior_fit: MMM) -> None:
    """Found in review: the row always said "at most 0.7: close to the posterior", also for k = 1.21."""
    assert "above 0.7: the approximation differs from the posterior in shape" in approximate_html
    data = prior_fit.report_data()
    close = render_report(dataclasses.replace(data, summary={**data.summary, "fit": {**FIT, "pareto_k": 0.41}}))
    assert "at most 0.7: close to the posterior in shape" in close
    assert "independent draws from the approximation" in close


def test_the_report_reads_k_against_the_limit_for_its_draws_and_says_draws_were_resampled(prior_fit: MMM) -> None:
    """Found in review: the row compared k with 0.7 while the banner used the limit for 200 draws (0.57), and
    resampled draws were called independent."""
    data = prior_fit.report_data()
    fit = {**FIT, "method": "map", "pareto_k": 0.64, "pareto_k_limit": 0.565, "resampled": False}
    above = render_report(dataclasses.replace(data, summary={**data.summary, "fit": fit}))
    assert "above 0.56: the approximation differs from the posterior in shape" in above
    assert "at most 0.7" not in above
    resampled = {**fit, "pareto_k": 0.5, "resampled": True, "importance_ess": 255.4}
    html = render_report(dataclasses.replace(data, summary={**data.summary, "fit": resampled}))
    assert "importance-resampled towards the posterior: draws repeat, about 255 effective" in html
    assert "independent draws from the approximation" not in html
