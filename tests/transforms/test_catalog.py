"""The transform catalogue as a whole: registry names, parameter names, default priors."""

from __future__ import annotations

import inspect
from collections import defaultdict

import pymc as pm
import pytest

import mediamix.transforms as transforms
from mediamix.priors import PRIOR_DIMS, Prior
from mediamix.transforms import ADSTOCKS, SATURATIONS, Adstock, Saturation, Transform

#: The catalogue users select from config: registry name -> parameter names, in order.
EXPECTED_ADSTOCKS = {
    "geometric": ["alpha"],
    "delayed": ["alpha", "theta"],
    "weibull_cdf": ["weibull_shape", "weibull_scale"],
    "weibull_pdf": ["weibull_shape", "weibull_scale"],
    "binomial": ["binomial_alpha"],
}
EXPECTED_SATURATIONS = {
    "logistic": ["lam"],
    "hill": ["half_saturation", "slope"],
    "michaelis_menten": ["mm_half"],
    "tanh": ["tanh_scale"],
    "power": ["power_exponent"],
    "log": ["log_offset"],
}
ALL = {**{f"adstock:{k}": v for k, v in ADSTOCKS.items()}, **{f"saturation:{k}": v for k, v in SATURATIONS.items()}}


def params_of(method: object) -> list[str]:
    """Keyword parameters of a transform method after ``self`` and ``x``."""
    names = list(inspect.signature(method).parameters)  # type: ignore[arg-type]
    return [n for n in names if n not in ("self", "x")]


def test_registry_names() -> None:
    assert {k: list(cls.default_priors) for k, cls in ADSTOCKS.items()} == EXPECTED_ADSTOCKS
    assert {k: list(cls.default_priors) for k, cls in SATURATIONS.items()} == EXPECTED_SATURATIONS
    for name, cls in [*ADSTOCKS.items(), *SATURATIONS.items()]:
        assert cls.name == name


def test_every_class_is_exported() -> None:
    for cls in [*ADSTOCKS.values(), *SATURATIONS.values()]:
        assert getattr(transforms, cls.__name__) is cls
        assert cls.__name__ in transforms.__all__


@pytest.mark.parametrize("key", list(ALL))
def test_priors_match_the_function_parameters(key: str) -> None:
    cls = ALL[key]
    names = list(cls.default_priors)
    methods = ["apply_np", "apply_pt"]
    methods += ["weights_np", "weights_pt"] if key.startswith("adstock") else ["derivative_np"]
    for method in methods:
        assert params_of(getattr(cls, method)) == names, method


@pytest.mark.parametrize("key", list(ALL))
def test_satisfies_the_protocol(key: str) -> None:
    transform = ALL[key]()
    assert isinstance(transform, Transform)
    assert isinstance(transform, Adstock if key.startswith("adstock") else Saturation)


@pytest.mark.parametrize("key", list(ALL))
def test_default_priors_build_in_pymc(key: str) -> None:
    for name, prior in ALL[key].default_priors.items():
        assert isinstance(prior, Prior)
        dist = getattr(pm, prior.dist).dist(**prior.params)
        assert dist.ndim == 0, name


@pytest.mark.parametrize("key", list(ALL))
def test_default_priors_live_in_each_parameters_support(key: str) -> None:
    # Every parameter is positive; those used as a rate or exponent in (0, 1) must stay below 1.
    unit_interval = {"alpha", "binomial_alpha", "power_exponent"}
    for name, prior in ALL[key].default_priors.items():
        dist = prior.to_scipy()
        lower, upper = dist.support()
        assert lower >= 0.0, name
        if name in unit_interval:
            assert upper <= 1.0, name


def test_parameter_names_never_collide() -> None:
    # The model makes one PyMC variable per name: an adstock's and a saturation's
    # names must differ, none may reuse a baseline name, and a name two transforms
    # share must mean one thing with one default prior.
    adstock_names = {n for cls in ADSTOCKS.values() for n in cls.default_priors}
    saturation_names = {n for cls in SATURATIONS.values() for n in cls.default_priors}
    assert not adstock_names & saturation_names
    reserved = set(PRIOR_DIMS) | {"beta", "sigma", "intercept"}
    for name in adstock_names | saturation_names:
        assert name not in reserved, name
        assert not name.startswith(("gamma_", "trend_")), name
    owners: dict[str, list[type]] = defaultdict(list)
    for cls in [*ADSTOCKS.values(), *SATURATIONS.values()]:
        for name in cls.default_priors:
            owners[name].append(cls)
    shared = {name: sorted(c.name for c in classes) for name, classes in owners.items() if len(classes) > 1}
    assert shared == {
        "alpha": ["delayed", "geometric"],
        "weibull_shape": ["weibull_cdf", "weibull_pdf"],
        "weibull_scale": ["weibull_cdf", "weibull_pdf"],
    }
    for name, classes in owners.items():
        assert len({repr(c.default_priors[name]) for c in classes}) == 1, name
