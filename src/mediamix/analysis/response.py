"""Response curves, marginal ROAS, adstock decay and the decomposition waterfall.

All functions are pure: posterior (or its :class:`MediaResponse`) in, xarray out,
every value in the user's units, vectorized over draws.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from mediamix.analysis.attribution import hdi_summary
from mediamix.analysis.decomposition import BASELINE_COMPONENTS
from mediamix.analysis.media import MediaResponse
from mediamix.model.design import Design

__all__ = [
    "adstock_curves",
    "contribution_bands",
    "marginal_roas",
    "response_curves",
    "to_chain_draw",
    "waterfall",
]


def to_chain_draw(values: np.ndarray, like: xr.Dataset | xr.DataArray, dims: tuple[str, ...],
                  coords: dict | None = None) -> xr.DataArray:
    """Reshape a sample-major array (sample, ...) back to (chain, draw, ...) like ``like``."""
    n_chain, n_draw = like.sizes["chain"], like.sizes["draw"]
    data = values.reshape(n_chain, n_draw, *values.shape[1:])
    base = {"chain": like["chain"].values, "draw": like["draw"].values}
    return xr.DataArray(data, dims=("chain", "draw", *dims), coords={**base, **(coords or {})})


def response_curves(
    media: MediaResponse, design: Design, like: xr.Dataset, points: int = 41, max_multiple: float = 2.0
) -> xr.DataArray:
    """Expected weekly contribution of each channel when the same spend is held every week.

    The steady state of carryover: spend ``s`` every period gives adstock
    ``s · gain`` (``gain`` = 1 for normalized adstock), so the curve is
    ``β · saturation(s · gain)`` per draw (a multiplicative model: the lift of
    the baseline by that channel alone, ``B · (exp(β · saturation(s · gain)) − 1)``),
    from 0 to ``max_multiple`` × the channel's largest historical weekly spend.

    Parameters
    ----------
    media : MediaResponse
    design : Design
        The training design (for the historical maximum spend).
    like : xarray.Dataset
        The posterior, for the chain/draw coordinates.
    points : int, default=41
    max_multiple : float, default=2.0

    Returns
    -------
    xarray.DataArray, dims (chain, draw, channel, point)
        With coordinate ``spend`` (channel, point), weekly spend in user units.
    """
    history_max = design.spend[design.n_history:].max(axis=0)
    grid = np.linspace(0.0, 1.0, points)[None, :] * max_multiple * history_max[:, None]  # (channel, point)
    curve = media.steady_state_contribution(grid)
    out = to_chain_draw(curve, like, ("channel", "point"),
                        {"channel": list(media.channels), "point": np.arange(points)})
    return out.assign_coords(spend=(("channel", "point"), grid)).rename("response")


def marginal_roas(
    media: MediaResponse, design: Design, like: xr.Dataset, step: float = 0.01, baseline: np.ndarray | None = None,
    contribution: np.ndarray | None = None,
) -> xr.DataArray:
    """Return of the next unit of spend at the historical level, per channel.

    Each channel's historical spend is scaled up by ``step`` (1%) in every week,
    others held fixed, and the extra KPI is divided by the extra spend.

    Parameters
    ----------
    baseline : ndarray, dims (sample, date), optional
        Multiplicative models: the baseline on each of ``design``'s dates.
    contribution : ndarray, dims (sample, date, channel), optional
        Additive models: ``media``'s contribution at ``design``'s spend on the dates after the
        carryover lead-in, when computed already (the decomposition's ``channel_contribution``,
        sample-major); computed here otherwise. Multiplicative models ignore it.

    Returns
    -------
    xarray.DataArray, dims (chain, draw, channel)
    """
    spend = design.spend
    keep = slice(design.n_history, None)
    extra_spend = step * spend[keep].sum(axis=0)
    if media.multiplicative:  # channels interact through exp(Σ): bump one channel at a time
        base = media.contribution(spend, baseline)[:, keep].sum(axis=(1, 2))
        values = np.empty((media.n_samples, len(media.channels)))
        for c in range(len(media.channels)):
            bumped = spend.copy()
            bumped[:, c] *= 1.0 + step
            values[:, c] = (media.contribution(bumped, baseline)[:, keep].sum(axis=(1, 2)) - base) / extra_spend[c]
    else:
        if contribution is None:
            contribution = media.contribution(spend)[:, keep, :]
        expected = (media.n_samples, len(spend) - design.n_history, len(media.channels))
        if np.shape(contribution) != expected:
            raise ValueError(f"contribution has shape {np.shape(contribution)}; expected {expected} "
                             "(sample, date after the carryover lead-in, channel).")
        base = contribution.sum(axis=1)  # (sample, channel)
        bumped = media.contribution(spend * (1.0 + step))[:, keep, :].sum(axis=1)
        # Channels are separable (no interaction), so one bumped pass gives every channel's margin.
        values = (bumped - base) / extra_spend
    return to_chain_draw(values, like, ("channel",), {"channel": list(media.channels)}).rename("marginal_roas")


def adstock_curves(media: MediaResponse, like: xr.Dataset) -> xr.DataArray:
    """Share of a one-period pulse of spend that acts in each later period (the decay curve).

    Each draw's lag weights divided by their total: with ``normalize_adstock = false`` the raw
    weights add up to more than 1 (that sum scales the effect), and as shares they would not read
    as the part of the effect in each period (found in review: the report showed shares over 100%).

    Returns
    -------
    xarray.DataArray, dims (chain, draw, lag, channel); sums to 1 over ``lag``.
    """
    weights = media.lag_weights()
    weights = weights / weights.sum(axis=1, keepdims=True)
    return to_chain_draw(weights, like, ("lag", "channel"),
                         {"lag": np.arange(media.l_max), "channel": list(media.channels)}).rename("adstock")


def waterfall(decomposition: xr.Dataset, prob: float = 0.94) -> xr.Dataset:
    """Total of every component over all dates: baseline parts, controls and channels.

    Returns
    -------
    xarray.Dataset
        ``mean``, ``hdi_low``, ``hdi_high`` along dim ``component`` (in the
        order intercept, trend, seasonality, controls..., channels...), plus
        ``kind`` ("baseline", "control" or "channel").
    """
    parts = {name: decomposition[name].sum("date") for name in BASELINE_COMPONENTS}
    for name in decomposition["control"].values:
        parts[str(name)] = decomposition["control_contribution"].sel(control=name, drop=True).sum("date")
    for name in decomposition["channel"].values:
        parts[str(name)] = decomposition["channel_contribution"].sel(channel=name, drop=True).sum("date")
    totals = xr.concat(list(parts.values()), dim=xr.DataArray(list(parts), dims="component", name="component"))
    kinds = (["baseline"] * len(BASELINE_COMPONENTS) + ["control"] * decomposition.sizes["control"]
             + ["channel"] * decomposition.sizes["channel"])
    out = hdi_summary(totals, prob)
    return out.assign_coords(kind=("component", kinds))


def contribution_bands(decomposition: xr.Dataset, prob: float = 0.94) -> xr.Dataset:
    """Each channel's contribution per date: mean and HDI band, dims (date, channel)."""
    return hdi_summary(decomposition["channel_contribution"], prob)

