"""Decompose the target into its parts, for every posterior (or prior) draw.

The NumPy twins of the transforms push a whole posterior through the design in
one vectorized call per component (no Python loop over draws or weeks). Every
array returned is in the user's target units.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from mediamix.analysis.media import MediaResponse, sample_major
from mediamix.config.schema import MMMConfig
from mediamix.model.design import Design
from mediamix.transforms.multiplicative import log_shares

__all__ = ["decompose", "predictive", "standard_noise", "observations", "BASELINE_COMPONENTS"]

#: Baseline components, in the order they appear in results.
BASELINE_COMPONENTS = ("intercept", "trend", "seasonality")


def decompose(params: xr.Dataset, design: Design, config: MMMConfig) -> xr.Dataset:
    """Every component of the mean, per draw, in target units.

    For ``form = "multiplicative"`` the model is additive in ``log(target)``;
    in target units ``intercept`` is ``exp(intercept)``, trend, seasonality and
    controls share the baseline's rise above it, and the channels share the
    media's lift above the baseline, each in proportion to its log-scale part
    (:func:`~mediamix.transforms.multiplicative.log_shares`). The parts still add up to
    ``mu`` exactly, and ``mu`` is ``exp`` of the log-scale mean (the median
    prediction).

    Parameters
    ----------
    params : xarray.Dataset
        A ``posterior`` or ``prior`` group: dims (chain, draw, ...) holding the
        model's parameters (``intercept``, ``beta``, transform parameters, ...).
    design : Design
        The arrays to push through (training or new data).
    config : MMMConfig

    Returns
    -------
    xarray.Dataset
        ``channel_contribution`` (chain, draw, date, channel),
        ``control_contribution`` (chain, draw, date, control), ``intercept``, ``trend``, ``seasonality`` and ``mu`` (chain,
        draw, date). Rows that ``design`` prepended only for carryover are dropped.
    """
    n_chain, n_draw = params.sizes["chain"], params.sizes["draw"]
    n_dates = len(design.dates)
    y_scale = design.scales.target
    media = MediaResponse.from_posterior(params, config, design.scales.channels, y_scale)

    n = media.n_samples
    intercept = np.broadcast_to(sample_major(params, "intercept")[:, None], (n, n_dates))
    zeros = np.zeros((n, n_dates))
    if design.control_names:
        gamma = sample_major(params, "gamma_control", "control")
        control = design.controls[None, :, :] * gamma[:, None, :]
    else:
        control = np.zeros((n, n_dates, 0))
    seasonality = _seasonality(params, design) if _has_seasonality(design) else zeros
    trend = _trend(params, design) if design.trend is not None else zeros
    if media.multiplicative:  # scaled log units -> target units, parts sharing each lift
        level = np.exp(intercept) * y_scale
        shares = log_shares(level, np.concatenate([trend[..., None], seasonality[..., None], control], axis=-1))
        baseline = level + shares.sum(axis=-1)
        channel = media.contribution(design.spend, baseline)  # (sample, date, channel)
        intercept, trend, seasonality, control = level, shares[..., 0], shares[..., 1], shares[..., 2:]
    else:
        channel = media.contribution(design.spend)  # (sample, date, channel)
        intercept, trend, seasonality, control = (part * y_scale for part in (intercept, trend, seasonality, control))
    mu = intercept + trend + seasonality + channel.sum(axis=-1) + control.sum(axis=-1)

    keep = slice(design.n_history, None)

    def as_da(values: np.ndarray, *extra: str) -> xr.DataArray:
        values = values[:, keep].reshape(n_chain, n_draw, n_dates - design.n_history, *values.shape[2:])
        return xr.DataArray(values, dims=("chain", "draw", "date", *extra))

    coords = {
        "chain": params["chain"].values,
        "draw": params["draw"].values,
        "date": design.dates[keep],
        "channel": list(design.channel_names),
        "control": list(design.control_names),
    }
    return xr.Dataset(
        {
            "channel_contribution": as_da(channel, "channel"),
            "control_contribution": as_da(control, "control"),
            "intercept": as_da(np.ascontiguousarray(intercept)),
            "trend": as_da(trend),
            "seasonality": as_da(seasonality),
            "mu": as_da(mu),
        },
        coords=coords,
    )


def _has_seasonality(design: Design) -> bool:
    return bool(design.fourier_names) or bool(design.seasonal)


def _seasonality(params: xr.Dataset, design: Design) -> np.ndarray:
    """Sum of the yearly, weekly and monthly Fourier blocks, scaled units, dims (sample, date)."""
    out = np.zeros((params.sizes["chain"] * params.sizes["draw"], len(design.dates)))
    if design.fourier_names:
        out += sample_major(params, "gamma_fourier", "fourier_mode") @ design.fourier.T
    for period, block in design.seasonal.items():
        out += sample_major(params, f"gamma_fourier_{period}", f"fourier_mode_{period}") @ block.T
    return out


def _trend(params: xr.Dataset, design: Design) -> np.ndarray:
    """``k·t + Σ_j δ_j·(t − s_j)₊`` in scaled units, dims (sample, date)."""
    out = sample_major(params, "trend_slope")[:, None] * design.trend[None, :]
    if design.changepoints is not None:
        out = out + sample_major(params, "trend_delta", "changepoint") @ design.changepoints.T
    return out


def standard_noise(rng: np.random.Generator, shape: tuple[int, ...], nu: np.ndarray | None = None) -> np.ndarray:
    """Unit-scale observation noise: standard normal, or standard Student-t with ``nu`` degrees of freedom.

    Parameters
    ----------
    rng : numpy.random.Generator
    shape : tuple of int
        ``(*sample_dims, date)``.
    nu : ndarray, optional, dims ``sample_dims``
        Degrees of freedom per draw (``likelihood = "student_t"``); ``None`` for normal noise.

    Returns
    -------
    ndarray of ``shape``; multiply by ``sigma`` for the model's noise.
    """
    if nu is None:
        return rng.standard_normal(shape)
    return rng.standard_t(np.asarray(nu, dtype=float)[..., None], size=shape)


def predictive(
    params: xr.Dataset, design: Design, config: MMMConfig, seed: int | None = None, mu: xr.DataArray | None = None
) -> xr.DataArray:
    """Draws of the observed target (mean plus noise), in target units.

    The noise is Normal(0, sigma), or Student-t(nu, 0, sigma) when the config's
    ``likelihood`` is ``"student_t"``, as in the model.

    Parameters
    ----------
    params : xarray.Dataset
        ``posterior`` or ``prior`` group, with ``sigma`` (and ``nu`` for Student-t).
    design : Design
    config : MMMConfig
    seed : int, optional
        Seed of the noise.
    mu : xarray.DataArray, optional
        ``decompose(params, design, config)["mu"]`` when already computed.

    Returns
    -------
    xarray.DataArray, dims (chain, draw, date)
    """
    mu = (decompose(params, design, config)["mu"] if mu is None else mu).transpose("chain", "draw", "date")
    sigma = params["sigma"].transpose("chain", "draw").to_numpy()
    rng = np.random.default_rng(seed)
    nu = params["nu"].transpose("chain", "draw").to_numpy() if config.model.likelihood == "student_t" else None
    noise = standard_noise(rng, mu.shape, nu)
    values = observations(mu.to_numpy(), sigma, noise, design.scales.target, config.model.form == "multiplicative")
    return mu.copy(data=values).rename("y")


def observations(
    mu: np.ndarray, sigma: np.ndarray, noise: np.ndarray, target_scale: float, multiplicative: bool
) -> np.ndarray:
    """Observed-target draws from the mean and unit noise, in target units.

    Parameters
    ----------
    mu : ndarray, dims (*sample_dims, date)
        The mean (``decompose(...)["mu"]``), target units.
    sigma : ndarray, dims sample_dims
        The model's noise scale (scaled target units, or log units when multiplicative).
    noise : ndarray, same dims as ``mu``
        Unit noise, see :func:`standard_noise`.
    target_scale : float
    multiplicative : bool
        ``mu · exp(sigma · noise)`` (log-scale noise) instead of ``mu + sigma · target_scale · noise``.
    """
    sigma = np.asarray(sigma, dtype=float)[..., None]
    if multiplicative:
        return mu * np.exp(sigma * noise)
    return mu + sigma * target_scale * noise
