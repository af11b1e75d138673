"""Build the PyMC model from a config and a design.

The sampled graph holds only what the likelihood needs: derived quantities
(contributions, ROAS, curves) are computed afterwards from the posterior with
the NumPy twins in :mod:`mediamix.analysis`, which keeps compile and sampling
time down (and the posterior file small).

Two coefficients are sampled in better-conditioned coordinates, with exactly
the priors the config asks for: each channel's effect at its typical spend
(instead of β, which trades off with the saturation's parameters) and the
model's mean level (instead of the intercept, which trades off with always-on
channels and the trend). On the demo (4 × 1000 draws) this took the minimum
bulk ESS per draw from 0.10–0.16 to 0.27–0.30 and ESS per second 3.2× up (6×
in sampling alone; compile is 0.5 s longer), which is why 1000 draws per chain
are enough (``benchmarks/seed_example.py --compare-reparametrization``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt

from mediamix.config.schema import MMMConfig, TransformGroup
from mediamix.errors import ConfigError
from mediamix.model.design import Design, model_coords
from mediamix.priors import Prior

__all__ = ["build_model", "PriorParameters", "TARGET_VAR"]

#: Name of the observed variable in the model and in InferenceData groups.
TARGET_VAR = "y"


class PriorParameters:
    """Every prior's numbers as one model input (a shared vector), not as constants of the graph.

    The compiled logp/gradient (PyTensor's numba code and the nutpie callbacks cached by
    :mod:`mediamix.inference.samplers`) then does not depend on them, so a refit with other prior
    numbers reuses it: on the demo 1.9 s of compiling instead of 6.7-6.9 s. One vector rather than
    one input per number keeps the first compile of a model cheap (measured cold on the demo: main
    21.5 s, one input per number 34.5 s, one vector 24.3 s). The data stay constants: as inputs
    they made sampling ~13% slower and the first compile slower still.
    """

    def __init__(self, config: MMMConfig) -> None:
        spans: dict[tuple[str, str], tuple[int, int, bool]] = {}
        values: list[np.ndarray] = []
        offset = 0
        for name, prior in config.priors.items():
            for param, value in prior.resolve(config.prior_labels(name)).items():
                flat = np.atleast_1d(np.asarray(value, dtype="float64"))
                spans[(name, param)] = (offset, flat.size, np.ndim(value) == 0)
                values.append(flat)
                offset += flat.size
        self.vector = pytensor.shared(np.concatenate(values), name="prior_parameters", shape=(offset,))
        self._spans = spans

    def of(self, name: str) -> dict[str, Any]:
        """Prior ``name``'s parameters as views of the vector (scalars, or arrays along its dim)."""
        out = {}
        for (prior, param), (start, size, scalar) in self._spans.items():
            if prior == name:
                view = self.vector[start:start + size]
                out[param] = view[0] if scalar else view
        return out


def _random_variable(name: str, prior: Prior, dims: str | None, labels: list[str] | None,
                     numbers: PriorParameters) -> Any:
    params = numbers.of(name)
    dist = getattr(pm, prior.dist)
    try:
        return dist(name, **params, dims=dims)
    except (TypeError, ValueError) as err:  # pragma: no cover - Prior validates first
        raise ConfigError(f"Cannot build prior '{name}' = {prior!r}: {err}") from err


def build_model(config: MMMConfig, design: Design) -> pm.Model:
    """The PyMC model of ``y_t = intercept + Σ β·sat(adstock(x)) + Σ γ·z + trend + season + ε``.

    ``ε`` is Normal(0, sigma), or Student-t(nu, 0, sigma) with ``likelihood = "student_t"``;
    the trend is ``k·t`` plus, when piecewise, ``Σ_j δ_j·(t − s_j)₊``; the season is
    the sum of the yearly, weekly and monthly Fourier blocks switched on.

    Parameters
    ----------
    config : MMMConfig
        Resolved config; ``config.priors`` holds every prior.
    design : Design
        Scaled arrays; ``design.target`` may be ``None`` for prior predictive only.

    Returns
    -------
    pymc.Model
        Coordinates ``date``, ``channel`` and, where present, ``control``,
        ``fourier_mode``, ``fourier_mode_weekly``, ``fourier_mode_monthly`` and
        ``changepoint``; with per-channel transforms, ``<param>_channel`` for a
        transform parameter that only some channels have. Free variables are
        named as the priors, except that (with :data:`REPARAMETRIZE`) NUTS samples
        ``beta_effect_ref`` and ``intercept_centered`` and the model derives
        ``beta`` and ``intercept`` from them as deterministics, with their priors
        unchanged (see :func:`_beta`, :func:`_intercept`).
    """
    priors = config.priors
    coords = model_coords(config, design)
    numbers = PriorParameters(config)
    groups = config.transform_groups()

    def rv(name: str) -> Any:
        dim = config.prior_dim(name)
        labels = coords.get(dim) if dim else None
        return _random_variable(name, priors[name], dim, labels, numbers)

    # check_bounds=False: no parameter-support checks in the logp. Every prior number is validated where
    # the config is read (finite; > 0 where the family needs it, see mediamix.priors) and every sampled
    # parameter stays in its support through its transform, so the checks could never fail; without
    # them the first compile of the demo takes 0.8-1.7 s less (13.0-13.4 vs 13.8-15.1 s), sampling equal.
    with pm.Model(coords=coords, check_bounds=False) as model:
        params = {name: rv(name) for group in groups for name in group.parameters if name not in model.named_vars}
        if REPARAMETRIZE:
            beta, media_level = _beta(config, design, numbers, params, coords)
        else:
            beta, media_level = rv("beta"), None
        x = pt.as_tensor_variable(np.asarray(design.channels, dtype="float64"))
        media = [_group_media(config, group, x, beta, params, coords) for group in groups]
        linear = []  # (columns (date, k), coefficients (k,)) of the parts linear in their coefficients
        if design.control_names:
            linear.append((design.controls, rv("gamma_control")))
        if design.fourier_names:
            linear.append((design.fourier, rv("gamma_fourier")))
        for period, block in design.seasonal.items():
            linear.append((block, rv(f"gamma_fourier_{period}")))
        if design.trend is not None:
            linear.append((design.trend[:, None], rv("trend_slope")[None]))
        if design.changepoints is not None:
            linear.append((design.changepoints, rv("trend_delta")))
        if REPARAMETRIZE:
            intercept = _intercept(priors["intercept"], numbers, media_level, linear, design)
        else:
            intercept = rv("intercept")
        mu = pt.add(intercept, *media, *(_weighted_sum(columns, coefficients) for columns, coefficients in linear))
        sigma = rv("sigma")
        if config.model.likelihood == "student_t":
            pm.StudentT(TARGET_VAR, nu=rv("nu"), mu=mu, sigma=sigma, observed=design.target, dims="date")
        else:
            pm.Normal(TARGET_VAR, mu=mu, sigma=sigma, observed=design.target, dims="date")
    return model


#: Sample each channel's effect at a reference spend instead of its coefficient (see :func:`_beta`),
#: and the mean level instead of the intercept (see :func:`_intercept`); exact, for faster mixing.
REPARAMETRIZE = True

#: Scale families: the parameters of ``s · X`` when ``X`` has the prior's parameters (s > 0).
_SCALED: dict[str, Any] = {
    "Normal": lambda p, s: {**p, "mu": p["mu"] * s, "sigma": p["sigma"] * s},
    "HalfNormal": lambda p, s: {**p, "sigma": p["sigma"] * s},
    "LogNormal": lambda p, s: {**p, "mu": p["mu"] + pt.log(s)},
    "TruncatedNormal": lambda p, s: {k: v * s for k, v in p.items()},
    "StudentT": lambda p, s: {**p, "mu": p["mu"] * s, "sigma": p["sigma"] * s},
    "HalfStudentT": lambda p, s: {**p, "sigma": p["sigma"] * s},
    "Gamma": lambda p, s: {**p, "beta": p["beta"] / s},
    "Exponential": lambda p, s: {**p, "lam": p["lam"] / s},
    "Laplace": lambda p, s: {**p, "mu": p["mu"] * s, "b": p["b"] * s},
    "Uniform": lambda p, s: {k: v * s for k, v in p.items()},
}


#: Location families: the parameters of ``X + c`` when ``X`` has the prior's parameters.
_SHIFTED: dict[str, Any] = {
    "Normal": lambda p, c: {**p, "mu": p["mu"] + c},
    "StudentT": lambda p, c: {**p, "mu": p["mu"] + c},
    "Laplace": lambda p, c: {**p, "mu": p["mu"] + c},
    "TruncatedNormal": lambda p, c: {k: (v + c if k in ("mu", "lower", "upper") else v) for k, v in p.items()},
    "Uniform": lambda p, c: {k: v + c for k, v in p.items()},
}


def _intercept(prior: Prior, numbers: PriorParameters, media_level: Any, linear: list[tuple[np.ndarray, Any]],
               design: Design) -> Any:
    """The intercept through the model's mean level, ``intercept = level − shift``.

    An always-on channel, the trend and the intercept all move the level, so the
    intercept is strongly correlated with them (−0.9 with the demo's ``x1``);
    the mean level over the training dates is what the data fix, nearly
    independently of how it is split. Sampling ``level`` (the classic centring
    of predictors) keeps the prior exact for any ``shift`` that depends on the
    other parameters only: for a location family ``level | shift`` has the
    intercept's prior shifted by ``shift``. The shift is linear in the
    coefficients, which keeps the gradient graph (and compile time) small: the
    mean over the training dates of the linear parts (column means times
    coefficients) plus ``media_level``, each channel's effect at its typical
    spend times its share of dates with spend. Measured on the demo against the
    exact mean of the media terms: 0.4 s less compile for ~20 % less ESS, the
    better total. Other priors keep the direct parametrization.
    """
    rule = _SHIFTED.get(prior.dist)
    if rule is None:
        return _random_variable("intercept", prior, None, None, numbers)
    rows = slice(design.n_history, None)
    shift = pt.add(media_level.sum(), *(_weighted_sum(columns[rows].mean(axis=0), coefficients)
                                        for columns, coefficients in linear))
    level = getattr(pm, prior.dist)("intercept_centered", **rule(numbers.of("intercept"), shift))
    return pm.Deterministic("intercept", level - shift)


def _beta(
    config: MMMConfig, design: Design, numbers: PriorParameters, params: dict[str, Any], coords: dict[str, Any]
) -> tuple[Any, Any]:
    """β through each channel's effect at a reference spend, ``β = effect_ref / saturation(x_ref)``.

    β and the saturation's parameters trade off along a curved ridge (in the
    near-linear part of the curve only ``β · λ`` is identified), which a
    diagonal mass matrix follows badly. ``effect_ref = β · saturation(x_ref)`` at
    each channel's mean scaled spend ``x_ref`` is what the data pin down, nearly
    independent of the curve's shape. The prior is unchanged: for a scale family
    ``effect_ref | θ`` has the prior of β scaled by ``saturation(x_ref; θ)``
    (exact, no Jacobian term needed). A prior that is not a scale family (Beta)
    keeps the direct parametrization.

    Returns
    -------
    beta : tensor, dims (channel,)
    media_level : tensor, dims (channel,)
        Each channel's typical effect per date (``effect_ref`` times its share of
        dates with spend; ``β · mean x`` without the reparametrization), for
        :func:`_intercept`.
    """
    prior = config.priors["beta"]
    rule = _SCALED.get(prior.dist)
    channels = list(config.data.channels)
    training = design.channels[design.n_history:]
    spending = training > 0
    x_ref = np.maximum((training * spending).sum(axis=0) / np.maximum(spending.sum(axis=0), 1), 1e-6)  # (channel,)
    if rule is None:
        beta = _random_variable("beta", prior, "channel", channels, numbers)
        return beta, beta * training.mean(axis=0)
    at_ref = []
    for group in config.transform_groups():
        _, saturation = group.transforms(config.model.normalize_adstock)
        index = np.array([channels.index(c) for c in group.channels])
        sat = {k: _pick(params[k], coords[config.prior_dim(k)], list(group.channels)) for k in saturation.default_priors}
        at_ref.append((index, saturation.apply_pt(pt.as_tensor_variable(x_ref[index][None, :]), **sat)[0]))
    if len(at_ref) == 1:
        scale = at_ref[0][1]
    else:
        order = np.argsort(np.concatenate([index for index, _ in at_ref]))
        scale = pt.concatenate([values for _, values in at_ref])[order]
    scaled = rule(numbers.of("beta"), scale)
    effect_ref = getattr(pm, prior.dist)("beta_effect_ref", **scaled, dims="channel")
    return pm.Deterministic("beta", effect_ref / scale, dims="channel"), effect_ref * spending.mean(axis=0)


def _pick(values: Any, labels: list[str], members: list[str]) -> Any:
    """The entries of ``values`` (along ``labels``) for ``members``, in that order."""
    if labels == members:
        return values
    return values[np.array([labels.index(c) for c in members])]


def _group_media(
    config: MMMConfig, group: TransformGroup, x: Any, beta: Any, params: dict[str, Any], coords: dict[str, Any]
) -> Any:
    """``Σ_c β_c · sat(adstock(x_c))`` over one transform group's channels, dims (date,)."""
    channels = list(config.data.channels)
    whole = list(group.channels) == channels

    def pick(values: Any, labels: list[str]) -> Any:  # the group's entries of a channel-indexed vector
        return _pick(values, labels, list(group.channels))

    x_g = x if whole else x[:, np.array([channels.index(c) for c in group.channels])]
    adstock, saturation = group.transforms(config.model.normalize_adstock)
    p = {name: pick(params[name], coords[config.prior_dim(name)]) for name in group.parameters}
    adstock_params = {k: p[k] for k in adstock.default_priors}
    saturation_params = {k: p[k] for k in saturation.default_priors}
    if config.model.saturation_first:
        effect = adstock.apply_pt(saturation.apply_pt(x_g, **saturation_params), **adstock_params)
    else:
        effect = saturation.apply_pt(adstock.apply_pt(x_g, **adstock_params), **saturation_params)
    return _weighted_sum(effect, pick(beta, channels))


def _weighted_sum(columns: Any, coefficients: Any) -> Any:
    """``columns @ coefficients`` as an elementwise product summed over the last axis.

    Not ``pt.dot``: PyTensor's numba backend calls SciPy's BLAS for a dot, and the BLAS wrappers
    cost 5.5-6.7 s of the model's first (cold) compile (22.5 -> 15.8 s, 26.7 -> 21.2 s on the demo,
    same round) plus ~0.1 s in every process, where each chain's first gradient looks the BLAS
    function up through numba's object mode. With a handful of columns (controls, Fourier terms,
    channels) the fused loop is as fast: 25.5-27.9 vs 27.0-27.4 us per logp+gradient call.
    """
    return (pt.as_tensor(columns) * coefficients).sum(axis=-1)
