"""Tests for mediamix.priors: Prior value objects, their checks, and per-channel tables."""

from __future__ import annotations

import math
import re
from contextlib import AbstractContextManager
from typing import Any

import numpy as np
import pytest

from mediamix.errors import ConfigError
from mediamix.priors import DEFAULT_PRIORS, DISTRIBUTIONS, PRIOR_DIMS, Prior, default_priors

#: One valid parameter set per family, optional parameters included.
VALID_PARAMS: dict[str, dict[str, float]] = {
    "Normal": {"mu": 0.5, "sigma": 2.0},
    "HalfNormal": {"sigma": 1.5},
    "LogNormal": {"mu": -1.0, "sigma": 0.5},
    "TruncatedNormal": {"mu": 0.0, "sigma": 1.0, "lower": -1.0, "upper": 2.0},
    "StudentT": {"nu": 3.0, "mu": 0.0, "sigma": 1.0},
    "HalfStudentT": {"nu": 4.0, "sigma": 2.0},
    "Beta": {"alpha": 2.0, "beta": 5.0},
    "Gamma": {"alpha": 3.0, "beta": 1.0},
    "Exponential": {"lam": 2.0},
    "Laplace": {"mu": 0.0, "b": 0.5},
    "Uniform": {"lower": -1.0, "upper": 1.0},
}


def config_error(*fragments: str) -> AbstractContextManager[pytest.ExceptionInfo[ConfigError]]:
    """Expect a ConfigError whose message contains every fragment, literally."""
    pattern = "".join(f"(?=[\\s\\S]*{re.escape(f)})" for f in fragments)
    return pytest.raises(ConfigError, match=pattern)


def test_valid_params_cover_every_family() -> None:
    assert set(VALID_PARAMS) == set(DISTRIBUTIONS)


@pytest.mark.parametrize("dist", sorted(DISTRIBUTIONS))
def test_every_family_builds(dist: str) -> None:
    prior = Prior(dist, VALID_PARAMS[dist])
    assert prior.dist == dist
    assert prior.params == VALID_PARAMS[dist]
    assert prior.resolve() == VALID_PARAMS[dist]


@pytest.mark.parametrize("dist", sorted(DISTRIBUTIONS))
def test_every_family_builds_with_required_params_only(dist: str) -> None:
    family = DISTRIBUTIONS[dist]
    Prior(dist, {k: VALID_PARAMS[dist][k] for k in family.required})


@pytest.mark.filterwarnings("ignore:Numba will use object mode:UserWarning")
def test_parameter_names_are_pymcs() -> None:
    import pymc

    rvs = {dist: getattr(pymc, dist).dist(**Prior(dist, params).resolve()) for dist, params in VALID_PARAMS.items()}
    # One compiled draw of all ten: the parameters reached PyMC with the meaning we gave them,
    # so each draw lands inside its family's support.
    draws = dict(zip(rvs, pymc.draw(list(rvs.values()), draws=50, random_seed=1), strict=True))
    assert all(np.all(np.isfinite(d)) for d in draws.values())
    for dist in ("HalfNormal", "LogNormal", "HalfStudentT", "Gamma", "Exponential"):
        assert np.all(draws[dist] > 0), dist
    assert np.all((draws["Beta"] > 0) & (draws["Beta"] < 1))
    assert np.all((draws["Uniform"] >= -1.0) & (draws["Uniform"] <= 1.0))
    assert np.all((draws["TruncatedNormal"] >= -1.0) & (draws["TruncatedNormal"] <= 2.0))


def test_positive_parameters_are_declared_for_scale_like_names() -> None:
    for dist, family in DISTRIBUTIONS.items():
        for name in ("sigma", "nu", "lam"):
            if name in family.required:
                assert name in family.positive, (dist, name)


def test_repr_and_int_to_float() -> None:
    prior = Prior("Normal", {"mu": 0, "sigma": 2})
    assert repr(prior) == "Prior('Normal', mu=0.0, sigma=2.0)"
    assert all(type(v) is float for v in prior.params.values())


# --- errors -------------------------------------------------------------------------


def test_unknown_distribution_suggests_closest() -> None:
    with config_error("Unknown prior distribution 'HalfNormla'.", "Did you mean 'HalfNormal'?",
                      "Expected one of: Normal, HalfNormal, LogNormal"):
        Prior("HalfNormla", {"sigma": 1.0})


def test_unknown_distribution_without_close_match_lists_all() -> None:
    with pytest.raises(ConfigError, match="Unknown prior distribution 'Weibull'. Expected one of: ") as info:
        Prior("Weibull", {"alpha": 1.0})
    assert "Did you mean" not in str(info.value)
    assert all(name in str(info.value) for name in DISTRIBUTIONS)


def test_unknown_parameter() -> None:
    with config_error("Prior Normal has no parameter 'sigm'.", "Did you mean 'sigma'?", "Expected: mu, sigma."):
        Prior("Normal", {"mu": 0.0, "sigm": 1.0})
    with config_error("Prior HalfNormal has no parameter 'mu'.", "Expected: sigma."):
        Prior("HalfNormal", {"mu": 0.0, "sigma": 1.0})


def test_missing_parameter() -> None:
    with config_error("Prior StudentT needs parameter(s) nu, mu."):
        Prior("StudentT", {"sigma": 1.0})
    with config_error("Prior Beta needs parameter(s) beta."):
        Prior("Beta", {"alpha": 1.0})


@pytest.mark.parametrize("value", [0.0, -1.0, 0])
def test_non_positive_sigma(value: float) -> None:
    with config_error(f"Prior HalfNormal parameter 'sigma' must be > 0. Got {value!r}."):
        Prior("HalfNormal", {"sigma": value})


@pytest.mark.parametrize(("lower", "upper", "message"), [
    (2.0, 1.0, "needs lower < upper. Got lower=2.0, upper=1.0."),
    ({"tv": 0.0, "search": 2.0}, 1.0, "needs lower < upper for 'search'. Got lower=2.0, upper=1.0."),
    (0.0, {"tv": 1.0, "search": 0.0}, "needs lower < upper for 'search'. Got lower=0.0, upper=0.0."),
    ({"tv": 0.0, "search": 1.0}, {"tv": 1.0, "search": 0.5},
     "needs lower < upper for 'search'. Got lower=1.0, upper=0.5."),
])
def test_bounds_are_ordered_per_name_too(lower: object, upper: object, message: str) -> None:
    """Found in review: per-name tables skipped the check, and the model's log density became NaN."""
    with config_error(f"Prior Uniform {message}"):
        Prior("Uniform", {"lower": lower, "upper": upper})
    assert Prior("Uniform", {"lower": {"tv": 0.0, "search": 1.0}, "upper": 2.0}).params["upper"] == 2.0


def test_non_positive_in_a_per_channel_table() -> None:
    with config_error("Prior Gamma parameter 'beta' must be > 0. Got -2.0."):
        Prior("Gamma", {"alpha": 1.0, "beta": {"tv": 1.0, "search": -2.0}})


def test_negative_location_is_fine() -> None:
    assert Prior("Normal", {"mu": -3.0, "sigma": 1.0}).params["mu"] == -3.0


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_non_finite_value(value: float) -> None:
    with config_error(f"Prior Normal parameter 'mu' must be a finite number. Got {value!r}."):
        Prior("Normal", {"mu": value, "sigma": 1.0})


@pytest.mark.parametrize("value", [True, False])
def test_bool_value(value: bool) -> None:
    with config_error(f"Prior HalfNormal parameter 'sigma' must be a finite number. Got {value!r}."):
        Prior("HalfNormal", {"sigma": value})


@pytest.mark.parametrize("value", ["1.0", None, [1.0]])
def test_non_number_value(value: Any) -> None:
    with config_error("Prior HalfNormal parameter 'sigma' must be a finite number.", f"Got {value!r}."):
        Prior("HalfNormal", {"sigma": value})


@pytest.mark.parametrize("value", [np.int64(2), np.float32(1.5)])
def test_numpy_scalar_value_is_accepted(value: Any) -> None:
    assert Prior("HalfNormal", {"sigma": value}).params["sigma"] == float(value)


def test_huge_int_value_is_a_config_error() -> None:
    with config_error("Prior Normal parameter 'mu' must be a finite number."):
        Prior("Normal", {"mu": 10**400, "sigma": 1.0})


# --- per-channel tables -------------------------------------------------------------------


def test_resolve_orders_by_labels_not_by_table_order() -> None:
    prior = Prior("HalfNormal", {"sigma": {"tv": 1.0, "search": 0.5, "radio": 2.0}})
    out = prior.resolve(["search", "radio", "tv"])
    np.testing.assert_array_equal(out["sigma"], [0.5, 2.0, 1.0])
    out = prior.resolve(["tv", "search", "radio"])
    np.testing.assert_array_equal(out["sigma"], [1.0, 0.5, 2.0])


def test_resolve_mixes_scalars_and_tables() -> None:
    prior = Prior("Beta", {"alpha": {"tv": 2.0, "search": 1.0}, "beta": 3})
    out = prior.resolve(["search", "tv"])
    assert out["beta"] == 3.0 and isinstance(out["beta"], float)
    np.testing.assert_array_equal(out["alpha"], [1.0, 2.0])
    assert prior.labels() == {"tv", "search"}


def test_resolve_rejects_unknown_name_listing_known() -> None:
    prior = Prior("HalfNormal", {"sigma": {"tv": 1.0, "serach": 0.5}})
    with config_error("Prior HalfNormal parameter 'sigma' names unknown 'serach'.", "Did you mean 'search'?",
                      "Known names: tv, search."):
        prior.resolve(["tv", "search"])


def test_resolve_rejects_table_missing_a_label() -> None:
    prior = Prior("HalfNormal", {"sigma": {"tv": 1.0}})
    with config_error("Prior HalfNormal parameter 'sigma' has no value for 'search'.",
                      "Give every one of: tv, search."):
        prior.resolve(["tv", "search"])


def test_resolve_table_without_labels() -> None:
    prior = Prior("HalfNormal", {"sigma": {"tv": 1.0}})
    with config_error("Prior HalfNormal parameter 'sigma' is a per-name table", "no named dimension"):
        prior.resolve()


def test_scalar_prior_has_no_labels() -> None:
    assert Prior("Normal", {"mu": 0.0, "sigma": 1.0}).labels() == set()


# --- mapping form -------------------------------------------------------------------------


@pytest.mark.parametrize("dist", sorted(DISTRIBUTIONS))
def test_mapping_round_trip(dist: str) -> None:
    prior = Prior(dist, VALID_PARAMS[dist])
    table = prior.to_mapping()
    assert table == {"dist": dist, **VALID_PARAMS[dist]}
    assert Prior.from_mapping(table) == prior


def test_mapping_round_trip_with_table() -> None:
    table = {"dist": "HalfNormal", "sigma": {"tv": 1.0, "search": 0.5}}
    prior = Prior.from_mapping(table)
    assert prior == Prior("HalfNormal", {"sigma": {"tv": 1.0, "search": 0.5}})
    assert prior.to_mapping() == table
    assert Prior.from_mapping(prior.to_mapping()) == prior


def test_from_mapping_passes_a_prior_through() -> None:
    prior = Prior("Exponential", {"lam": 1.0})
    assert Prior.from_mapping(prior) is prior  # type: ignore[arg-type]


def test_from_mapping_needs_dist() -> None:
    with config_error("priors.beta needs a 'dist' key naming the distribution"):
        Prior.from_mapping({"sigma": 1.0}, where="priors.beta")


def test_from_mapping_needs_a_table() -> None:
    with config_error("priors.beta must be a table with 'dist' and its parameters. Got 3."):
        Prior.from_mapping(3, where="priors.beta")  # type: ignore[arg-type]


def test_from_mapping_prefixes_where() -> None:
    with config_error("priors.beta: Prior HalfNormal parameter 'sigma' must be > 0. Got -1."):
        Prior.from_mapping({"dist": "HalfNormal", "sigma": -1}, where="priors.beta")


# --- defaults -----------------------------------------------------------------------------


def test_default_priors_copy_is_fresh() -> None:
    fresh = default_priors()
    assert fresh == DEFAULT_PRIORS
    fresh["beta"] = Prior("HalfNormal", {"sigma": 9.0})
    assert DEFAULT_PRIORS["beta"].params == {"sigma": 2.0}


def test_every_default_prior_has_a_dim() -> None:
    assert set(DEFAULT_PRIORS) == set(PRIOR_DIMS)
    assert PRIOR_DIMS["beta"] == "channel" and PRIOR_DIMS["gamma_control"] == "control"


# --- scipy twins --------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:Numba will use object mode:UserWarning")
def test_to_scipy_log_density_and_cdf_equal_pymcs() -> None:
    """Every family's scipy twin has PyMC's log-density and CDF (one compiled graph for all ten).

    PyMC has no log-CDF for HalfStudentT; the next test checks that one by hand.
    """
    import pymc
    import pytensor

    points = {dist: Prior(dist, params).to_scipy().ppf([0.01, 0.2, 0.5, 0.8, 0.99]) for dist, params in
              VALID_PARAMS.items()}
    with_cdf = [dist for dist in VALID_PARAMS if dist != "HalfStudentT"]
    rvs = {dist: getattr(pymc, dist).dist(**Prior(dist, params).resolve()) for dist, params in VALID_PARAMS.items()}
    logp = [pymc.logp(rvs[dist], points[dist]) for dist in VALID_PARAMS]
    logcdf = [pymc.logcdf(rvs[dist], points[dist]) for dist in with_cdf]
    values = pytensor.function([], logp + logcdf)()
    reference = dict(zip(VALID_PARAMS, values[: len(logp)], strict=True))
    reference_cdf = dict(zip(with_cdf, values[len(logp):], strict=True))
    for dist, params in VALID_PARAMS.items():
        twin = Prior(dist, params).to_scipy()
        np.testing.assert_allclose(twin.logpdf(points[dist]), reference[dist], rtol=1e-6, atol=1e-8, err_msg=dist)
        if dist in reference_cdf:
            np.testing.assert_allclose(twin.logcdf(points[dist]), reference_cdf[dist], rtol=1e-6, atol=1e-7,
                                       err_msg=dist)


def test_to_scipy_is_zero_outside_the_support() -> None:
    assert Prior("HalfStudentT", VALID_PARAMS["HalfStudentT"]).to_scipy().pdf(-0.5) == 0.0
    assert Prior("Beta", VALID_PARAMS["Beta"]).to_scipy().pdf(1.5) == 0.0
    assert Prior("TruncatedNormal", VALID_PARAMS["TruncatedNormal"]).to_scipy().cdf(2.5) == 1.0


def test_half_student_t_matches_folding_a_student_t_by_hand() -> None:
    from scipy import stats

    twin = Prior("HalfStudentT", {"nu": 3.0, "sigma": 2.0}).to_scipy()
    x = np.array([0.1, 1.0, 4.0])
    np.testing.assert_allclose(twin.pdf(x), 2 * stats.t.pdf(x, 3.0, scale=2.0))
    np.testing.assert_allclose(twin.ppf(twin.cdf(x)), x)
    assert twin.mean() == pytest.approx(2 * 2.0 * math.sqrt(3.0) / math.pi)  # E|T| = 2σ√ν/π for ν = 3


def test_to_scipy_orders_per_channel_tables_by_labels() -> None:
    twin = Prior("Gamma", {"alpha": 3.0, "beta": {"tv": 1.0, "search": 2.0}}).to_scipy(["search", "tv"])
    np.testing.assert_allclose(twin.mean(), [1.5, 3.0])  # alpha / beta, PyMC's rate
    with config_error("per-name table"):
        Prior("Gamma", {"alpha": 3.0, "beta": {"tv": 1.0}}).to_scipy()
