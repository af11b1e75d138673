"""The Student-t likelihood: its log-density against scipy, its predictive tails, its config."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pymc as pm
import pytest
from pytensor.graph.replace import clone_replace
import pytensor.tensor as pt
from scipy import stats

from mediamix import simulate
from mediamix.analysis import decompose, predictive
from mediamix.config import dump_config, load_config, parse_config
from mediamix.errors import ConfigError
from mediamix.model.build import TARGET_VAR, build_model
from mediamix.priors import Prior
from mediamix.review import count_parameters


@pytest.fixture(scope="module")
def student_fit(demo, prior_fit_with):
    return prior_fit_with(demo.data, likelihood="student_t")


def test_student_t_adds_nu_with_its_default_prior(student_fit) -> None:
    assert student_fit.config_.priors["nu"] == Prior("Gamma", {"alpha": 2.0, "beta": 0.1})
    assert "nu" in student_fit.posterior
    assert student_fit.posterior["nu"].dims == ("chain", "draw")


def test_normal_likelihood_has_no_nu() -> None:
    assert "nu" not in parse_config(simulate.seed_config()).priors
    raw = simulate.seed_config()
    raw["priors"] = {"nu": {"dist": "Gamma", "alpha": 2, "beta": 0.1}}
    with pytest.raises(ConfigError, match="Unknown prior 'priors.nu'"):
        parse_config(raw)


def test_graph_logp_equals_scipy_student_t(student_fit) -> None:
    fit = student_fit
    model = build_model(fit.config_, fit.design_)
    assert isinstance(model[TARGET_VAR].owner.op, type(pm.StudentT.dist(nu=3).owner.op))
    logp = pm.logp(model[TARGET_VAR], fit.design_.target).sum()
    decomposition = decompose(fit.posterior, fit.design_, fit.config_)
    for chain, draw in [(0, 3), (1, 30)]:
        point = fit.posterior.isel(chain=chain, draw=draw)
        replace = {model[name]: pt.as_tensor(point[name].to_numpy()) for name in point.data_vars}
        graph = float(clone_replace(logp, replace).eval())
        mu = decomposition["mu"].isel(chain=chain, draw=draw).to_numpy() / fit.scales_.target
        expected = stats.t.logpdf(fit.design_.target, df=float(point["nu"]), loc=mu,
                                  scale=float(point["sigma"])).sum()
        np.testing.assert_allclose(graph, expected, rtol=1e-10)


def test_graph_mean_equals_numpy_decomposition(student_fit, assert_graph_mean_equals_decomposition) -> None:
    assert_graph_mean_equals_decomposition(student_fit)


def test_predictive_noise_is_student_t_with_heavier_tails(student_fit) -> None:
    fit = student_fit
    params = fit.posterior.assign(nu=fit.posterior["nu"] * 0 + 3.0, sigma=fit.posterior["sigma"] * 0 + 0.1)
    mu = decompose(params, fit.design_, fit.config_)["mu"]
    scale = 0.1 * fit.scales_.target
    z_t = ((predictive(params, fit.design_, fit.config_, seed=1) - mu) / scale).to_numpy().ravel()
    normal_cfg = parse_config(simulate.seed_config())
    z_n = ((predictive(params, fit.design_, normal_cfg, seed=1) - mu) / scale).to_numpy().ravel()
    assert stats.kstest(z_t, stats.t(df=3).cdf).pvalue > 1e-3
    assert stats.kstest(z_n, stats.norm.cdf).pvalue > 1e-3
    # P(|t3| > 4) = 2.8%, P(|N| > 4) = 0.006%
    assert np.mean(np.abs(z_t) > 4) > 0.015
    assert np.mean(np.abs(z_n) > 4) < 0.001


def test_student_t_config_round_trip(tmp_path: Path) -> None:
    raw = simulate.seed_config()
    raw["model"]["likelihood"] = "student_t"
    raw["priors"] = {"nu": {"dist": "Gamma", "alpha": 3.0, "beta": 0.2}}
    cfg = parse_config(raw)
    path = tmp_path / "config.toml"
    path.write_text(dump_config(cfg), encoding="utf-8")
    back = load_config(path)
    assert back == cfg
    assert back.model.likelihood == "student_t"
    assert back.priors["nu"] == Prior("Gamma", {"alpha": 3.0, "beta": 0.2})


def test_unknown_likelihood_lists_the_options() -> None:
    raw = simulate.seed_config()
    raw["model"]["likelihood"] = "cauchy"
    with pytest.raises(ConfigError, match="'model.likelihood': Input should be 'normal' or 'student_t'"):
        parse_config(raw)


def test_count_parameters_counts_nu() -> None:
    raw = simulate.seed_config()
    normal = count_parameters(parse_config(raw))
    raw["model"]["likelihood"] = "student_t"
    student = count_parameters(parse_config(raw))
    assert "nu" not in normal
    assert student == {**normal, "nu": 1}


def test_review_replicates_student_t_noise(student_fit) -> None:
    finding = student_fit.review().get("posterior_predictive")
    assert finding is not None
    assert 0.0 <= finding.numbers["p_sd"] <= 1.0
