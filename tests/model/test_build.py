"""The PyMC model and the NumPy decomposition compute the same mean."""

from __future__ import annotations

import numpy as np
import pytest
from pytensor.graph.replace import clone_replace
from scipy import stats
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
    assert free == {"intercept_centered", "beta_effect_ref", "alpha", "lam", "sigma", "gamma_control",
                    "gamma_fourier", "trend_slope"}
    # Derived quantities stay out of the sampled graph (computed afterwards); only the two
    # reparametrized coefficients are deterministic, so the posterior has them by name.
    assert {d.name for d in model.deterministics} == {"intercept", "beta"}


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
    import pymc as pm

    beta = pm.sample_prior_predictive(draws=4000, model=model, random_seed=0)["prior"]["beta"]
    mean = beta.mean(("chain", "draw")).to_numpy()  # HalfNormal(σ) has mean σ·√(2/π)
    np.testing.assert_allclose(mean, np.array([5.0, 0.1]) * np.sqrt(2 / np.pi), rtol=0.05)  # channel order


# ----------------------------------------------------------------- reparametrization


def _prior_draws(demo, priors: dict, draws: int = 4000):
    import pymc as pm

    from mediamix import MMM
    from mediamix.data import validate_data
    from mediamix.model.design import Scales, make_design

    cfg = MMM.from_config({**demo.config, "priors": priors}).config
    d = cfg.data
    frame = validate_data(demo.data, date=d.date, target=d.target, channels=d.channels, controls=d.controls, l_max=8)
    model = build_model(cfg, make_design(frame, cfg, Scales.from_frame(frame, cfg)))
    return model, pm.sample_prior_predictive(draws=draws, model=model, random_seed=3)["prior"]


class _half_t:  # noqa: N801 - stands in for a scipy distribution: |T| · sigma, T ~ Student-t(nu)
    def __init__(self, nu: float, sigma: float) -> None:
        self.t = stats.t(nu, scale=sigma)

    def cdf(self, x: np.ndarray) -> np.ndarray:
        return np.clip(2.0 * self.t.cdf(x) - 1.0, 0.0, 1.0)


@pytest.mark.parametrize(
    ("priors", "expected"),
    [
        ({}, {"beta": stats.halfnorm(scale=2.0), "intercept": stats.norm(0.0, 2.0)}),
        ({"beta": {"dist": "Gamma", "alpha": 2.0, "beta": {"x1": 1.0, "x2": 4.0}},
          "intercept": {"dist": "StudentT", "nu": 4.0, "mu": 1.0, "sigma": 0.5}},
         {"beta": [stats.gamma(2.0, scale=1.0), stats.gamma(2.0, scale=0.25)], "intercept": stats.t(4.0, 1.0, 0.5)}),
        ({"beta": {"dist": "LogNormal", "mu": -1.0, "sigma": 0.5}}, {"beta": stats.lognorm(0.5, scale=np.exp(-1.0))}),
        # every other family that is reparametrized (test audit: a wrong scale rule went unnoticed)
        ({"beta": {"dist": "Exponential", "lam": 2.0}, "intercept": {"dist": "Laplace", "mu": 0.5, "b": 0.3}},
         {"beta": stats.expon(scale=0.5), "intercept": stats.laplace(0.5, 0.3)}),
        ({"beta": {"dist": "HalfStudentT", "nu": 3.0, "sigma": 1.5},
          "intercept": {"dist": "Uniform", "lower": -1.0, "upper": 2.0}},
         {"beta": _half_t(3.0, 1.5), "intercept": stats.uniform(-1.0, 3.0)}),
        ({"beta": {"dist": "TruncatedNormal", "mu": 1.0, "sigma": 1.0, "lower": 0.0, "upper": 3.0},
          "intercept": {"dist": "TruncatedNormal", "mu": 0.0, "sigma": 2.0, "lower": -1.0, "upper": 4.0}},
         {"beta": stats.truncnorm(-1.0, 2.0, loc=1.0, scale=1.0),
          "intercept": stats.truncnorm(-0.5, 2.0, loc=0.0, scale=2.0)}),
        ({"beta": {"dist": "Uniform", "lower": 0.1, "upper": 2.0}, "intercept": {"dist": "Normal", "mu": 1.0,
                                                                                 "sigma": 0.5}},
         {"beta": stats.uniform(0.1, 1.9), "intercept": stats.norm(1.0, 0.5)}),
        ({"beta": {"dist": "Normal", "mu": 1.0, "sigma": 0.2}}, {"beta": stats.norm(1.0, 0.2)}),
    ],
    ids=["defaults", "gamma+studentt", "lognormal", "exponential+laplace", "halfstudentt+uniform",
         "truncatednormal", "uniform+normal", "normal"],
)
def test_reparametrized_coefficients_keep_their_prior(demo, priors, expected) -> None:
    """β = effect_ref / saturation(x_ref) and intercept = level − mean(rest) have exactly the priors asked for."""
    model, prior = _prior_draws(demo, priors)
    assert {"beta_effect_ref", "intercept_centered"} <= {rv.name for rv in model.free_RVs}
    for name, dist in expected.items():
        values = prior[name].to_numpy().reshape(-1, *prior[name].shape[2:])
        columns = values.T if values.ndim == 2 else [values]
        dists = dist if isinstance(dist, list) else [dist] * len(columns)
        for column, d in zip(columns, dists):
            assert stats.kstest(column, d.cdf).pvalue > 1e-3, (name, priors)


def test_priors_outside_the_families_keep_the_direct_parametrization(demo) -> None:
    model, prior = _prior_draws(demo, {"beta": {"dist": "Beta", "alpha": 2.0, "beta": 5.0},
                                       "intercept": {"dist": "HalfNormal", "sigma": 1.0}}, draws=2000)
    free = {rv.name for rv in model.free_RVs}
    assert {"beta", "intercept"} <= free and not {"beta_effect_ref", "intercept_centered"} & free
    assert stats.kstest(prior["beta"].to_numpy().ravel(), stats.beta(2.0, 5.0).cdf).pvalue > 1e-3


def test_prior_numbers_are_one_model_input_so_new_numbers_reuse_the_compiled_code(demo, monkeypatch) -> None:
    """Two priors that differ only in a number compile to the same cached callbacks (keys equal)."""
    import pytensor.link.numba.cache as cache
    from pytensor.graph.traversal import ancestors
    from pytensor.graph.basic import Constant

    from mediamix import MMM
    from mediamix.data import validate_data
    from mediamix.inference.samplers import compile_nutpie
    from mediamix.model.design import Scales, make_design

    keys: list[str] = []
    register = cache.compile_numba_function_src

    def spy(src, function_name, *args, **kwargs):  # type: ignore[no-untyped-def]
        if function_name.startswith("nutpie_"):
            keys.append(kwargs["cache_key"])
        return register(src, function_name, *args, **kwargs)

    monkeypatch.setattr(cache, "compile_numba_function_src", spy)
    models = []
    for sigma in (1.3, 2.7):
        cfg = MMM.from_config({**demo.config, "priors": {"beta": {"dist": "HalfNormal", "sigma": sigma}}}).config
        d = cfg.data
        frame = validate_data(demo.data, date=d.date, target=d.target, channels=d.channels, controls=d.controls,
                              l_max=8)
        model = build_model(cfg, make_design(frame, cfg, Scales.from_frame(frame, cfg)))
        compile_nutpie(model)
        models.append(model)
    assert len(keys) == 4 and keys[:2] == keys[2:]  # logp and expand callbacks: the same code
    vector = [v for v in ancestors([models[1].logp()]) if getattr(v, "name", None) == "prior_parameters"]
    assert len(vector) == 1 and 2.7 in vector[0].get_value()
    constants = {float(np.ravel(c.data)[0]) for c in ancestors([models[1].logp()])
                 if isinstance(c, Constant) and np.size(c.data) == 1}
    assert 2.7 not in constants and 1.3 not in constants


def test_compiled_logp_needs_no_blas_and_no_support_checks(prior_fit) -> None:
    """What keeps the first compile short: no dot products (numba's BLAS wrappers cost 5.5-6.7 s of the
    demo's cold compile and an object-mode lookup in every process) and no parameter-support checks."""
    from pymc.pytensorf import compile as compile_pymc  # as nutpie compiles it: in the model's context

    model = build_model(prior_fit.config_, prior_fit.design_)
    logp = model.logp()
    with model:
        fn = compile_pymc(model.value_vars, [logp, *pt.grad(logp, model.value_vars)], mode="NUMBA")
    ops = {type(node.op).__name__ for node in fn.maker.fgraph.toposort()}
    assert not ops & {"Dot", "Dot22", "Gemv", "Gemm", "CGemv", "Dot22Scalar", "BatchedDot"}, ops
    assert "CheckParameterValue" not in ops and model.check_bounds is False
