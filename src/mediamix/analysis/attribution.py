"""Attribution: channel contributions, shares and ROAS with their intervals."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from mediamix.analysis.decomposition import BASELINE_COMPONENTS
from mediamix.model.design import Design

__all__ = [
    "HDI_PROB",
    "channel_totals",
    "channel_share",
    "channel_roas",
    "hdi_summary",
    "channel_summary",
    "contributions_table",
]

#: Probability mass of every reported interval.
HDI_PROB = 0.94

SAMPLE_DIMS = ("chain", "draw")


def channel_totals(decomposition: xr.Dataset) -> xr.DataArray:
    """Total contribution of each channel over all dates, dims (chain, draw, channel)."""
    return decomposition["channel_contribution"].sum("date").rename("contribution")


def channel_share(decomposition: xr.DataArray | xr.Dataset) -> xr.DataArray:
    """Each channel's share of the total media contribution, dims (chain, draw, channel).

    Shares add up to 1 over channels in every draw.
    """
    totals = channel_totals(decomposition) if isinstance(decomposition, xr.Dataset) else decomposition
    return (totals / totals.sum("channel")).rename("share")


def channel_roas(decomposition: xr.DataArray | xr.Dataset, design: Design) -> xr.DataArray:
    """Return on ad spend: total contribution / total spend, dims (chain, draw, channel).

    ``decomposition`` may be :func:`channel_totals` of it already, as for :func:`channel_share`.
    """
    totals = channel_totals(decomposition) if isinstance(decomposition, xr.Dataset) else decomposition
    spend = xr.DataArray(
        design.spend[design.n_history:].sum(axis=0), dims="channel", coords={"channel": list(design.channel_names)}
    )
    return (totals / spend).rename("roas")


def hdi_summary(draws: xr.DataArray, prob: float = HDI_PROB) -> xr.Dataset:
    """Posterior mean and highest-density interval over (chain, draw).

    Returns
    -------
    xarray.Dataset
        ``mean``, ``hdi_low``, ``hdi_high`` with the remaining dims of ``draws``.
    """
    import arviz_stats  # imported here: with SciPy's stats, 0.4 s

    # A NaN draw makes every figure NaN (ArviZ would give half an interval): it shows, not hides.
    bounds = arviz_stats.hdi(draws, prob=prob, dim=list(SAMPLE_DIMS)).where(~draws.isnull().any(SAMPLE_DIMS))
    return xr.Dataset(
        {
            "mean": draws.mean(SAMPLE_DIMS, skipna=False),
            "hdi_low": bounds.sel(ci_bound="lower", drop=True),
            "hdi_high": bounds.sel(ci_bound="upper", drop=True),
        }
    )


def channel_summary(
    decomposition: xr.Dataset,
    design: Design,
    prob: float = HDI_PROB,
    marginal_roas: xr.DataArray | None = None,
) -> dict[str, dict[str, Any]]:
    """Per channel: spend and its share, and contribution, share of effect, ROAS
    (and marginal ROAS when given) each as mean and HDI.

    Returns
    -------
    dict
        ``{channel: {"spend": float, "share_of_spend": float, "contribution":
        {"mean", "hdi_low", "hdi_high"}, "share": {...}, "roas": {...},
        "marginal_roas": {...}}}`` in target units; the shape of
        ``summary.json``'s ``channels`` entry.
    """
    totals = channel_totals(decomposition)
    stats = {
        "contribution": hdi_summary(totals, prob),
        "share": hdi_summary(channel_share(totals), prob),
        "roas": hdi_summary(channel_roas(totals, design), prob),
    }
    if marginal_roas is not None:
        stats["marginal_roas"] = hdi_summary(marginal_roas, prob)
    spend = design.spend[design.n_history:].sum(axis=0)
    out: dict[str, dict[str, Any]] = {}
    for i, name in enumerate(design.channel_names):
        entry: dict[str, Any] = {"spend": float(spend[i]), "share_of_spend": float(spend[i] / spend.sum())}
        for key, ds in stats.items():
            entry[key] = {k: float(ds[k].sel(channel=name)) for k in ("mean", "hdi_low", "hdi_high")}
        out[name] = entry
    return out


def contributions_table(decomposition: xr.Dataset, date_column: str = "date") -> pd.DataFrame:
    """Posterior-mean contribution of every component per date, in target units.

    Columns: ``date``, each channel, ``intercept``, ``trend``, ``seasonality``
    and each control; each row adds up to the posterior-mean fitted value.
    """
    mean = decomposition.mean(SAMPLE_DIMS)
    frame = pd.DataFrame({date_column: pd.DatetimeIndex(mean["date"].values)})
    for name in mean["channel"].values:
        frame[str(name)] = mean["channel_contribution"].sel(channel=name).values
    for component in BASELINE_COMPONENTS:
        frame[component] = np.asarray(mean[component].values)
    for name in mean["control"].values:
        frame[str(name)] = mean["control_contribution"].sel(control=name).values
    return frame
