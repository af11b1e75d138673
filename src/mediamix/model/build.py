"""Build the PyMC model from a config and a design.

The sampled graph holds only what the likelihood needs: derived quantities
(contributions, ROAS, curves) are computed afterwards from the posterior with
the NumPy twins in :mod:`mediamix.analysis`, which keeps compile and sampling
time down (and the posterior file small).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from mediamix.config.schema import MMMConfig, TransformGroup
from mediamix.errors import ConfigError
from mediamix.model.design import Design
from mediamix.priors import Prior
from mediamix.transforms import fourier_labels

__all__ = ["build_model", "TARGET_VAR"]

#: Name of the observed variable in the model and in InferenceData groups.
TARGET_VAR = "y"


def _random_variable(name: str, prior: Prior, dims: str | None, labels: list[str] | None) -> Any:
    params = prior.resolve(labels)
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
        named as the priors.
    """
    priors = config.priors
    coords = _coords(design)

    groups = config.transform_groups()
    for group in groups:  # per-channel transforms: each parameter on the channels that have it
        for name in group.parameters:
            dim = config.prior_dim(name)
            if dim not in coords:
                coords[dim] = list(config.parameter_channels(name))

    def rv(name: str) -> Any:
        dim = config.prior_dim(name)
        labels = coords.get(dim) if dim else None
        return _random_variable(name, priors[name], dim, labels)

    with pm.Model(coords=coords) as model:
        intercept = rv("intercept")
        beta = rv("beta")
        params = {name: rv(name) for group in groups for name in group.parameters if name not in model.named_vars}
        x = pt.as_tensor_variable(np.asarray(design.channels, dtype="float64"))
        mu = intercept
        for group in groups:
            mu = mu + _group_media(config, group, x, beta, params, coords)
        if design.control_names:
            mu = mu + pt.dot(design.controls, rv("gamma_control"))
        if design.fourier_names:
            mu = mu + pt.dot(design.fourier, rv("gamma_fourier"))
        for period, block in design.seasonal.items():
            mu = mu + pt.dot(block, rv(f"gamma_fourier_{period}"))
        if design.trend is not None:
            mu = mu + rv("trend_slope") * design.trend
        if design.changepoints is not None:
            mu = mu + pt.dot(design.changepoints, rv("trend_delta"))
        sigma = rv("sigma")
        if config.model.likelihood == "student_t":
            pm.StudentT(TARGET_VAR, nu=rv("nu"), mu=mu, sigma=sigma, observed=design.target, dims="date")
        else:
            pm.Normal(TARGET_VAR, mu=mu, sigma=sigma, observed=design.target, dims="date")
    return model


def _group_media(
    config: MMMConfig, group: TransformGroup, x: Any, beta: Any, params: dict[str, Any], coords: dict[str, Any]
) -> Any:
    """``Σ_c β_c · sat(adstock(x_c))`` over one transform group's channels, dims (date,)."""
    channels = list(config.data.channels)
    whole = list(group.channels) == channels

    def pick(values: Any, labels: list[str]) -> Any:  # the group's entries of a channel-indexed vector
        if labels == list(group.channels):
            return values
        return values[np.array([labels.index(c) for c in group.channels])]

    x_g = x if whole else x[:, np.array([channels.index(c) for c in group.channels])]
    adstock, saturation = group.transforms(config.model.normalize_adstock)
    p = {name: pick(params[name], coords[config.prior_dim(name)]) for name in group.parameters}
    adstock_params = {k: p[k] for k in adstock.default_priors}
    saturation_params = {k: p[k] for k in saturation.default_priors}
    if config.model.saturation_first:
        effect = adstock.apply_pt(saturation.apply_pt(x_g, **saturation_params), **adstock_params)
    else:
        effect = saturation.apply_pt(adstock.apply_pt(x_g, **adstock_params), **saturation_params)
    return pt.dot(effect, pick(beta, channels))


def _coords(design: Design) -> dict[str, Any]:
    """The model's coordinates: one per dimension the design has."""
    coords: dict[str, Any] = {"date": design.dates, "channel": list(design.channel_names)}
    if design.control_names:
        coords["control"] = list(design.control_names)
    if design.fourier_names:
        coords["fourier_mode"] = list(design.fourier_names)
    for period, block in design.seasonal.items():
        coords[f"fourier_mode_{period}"] = fourier_labels(block.shape[1] // 2)
    if design.changepoint_names:
        coords["changepoint"] = list(design.changepoint_names)
    return coords
