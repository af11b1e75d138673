"""Tables the CLI prints and writes, built from library results (no rendering here)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

__all__ = ["plan_table"]


def plan_table(comparison: xr.Dataset, prob: float = 0.94) -> pd.DataFrame:
    """One row per plan: spend, predicted KPI (mean and predictive interval), media KPI,
    and the difference from the first plan with the probability that it is higher."""
    from mediamix.analysis import hdi_summary

    kpi = hdi_summary(comparison["kpi"], prob)
    media = hdi_summary(comparison["media_kpi"], prob)
    first = comparison["expected_kpi"].isel(plan=0)
    diff = comparison["expected_kpi"] - first
    diff_stats = hdi_summary(diff, prob)
    rows = []
    for name in comparison["plan"].values:
        sel = {"plan": name}
        rows.append({
            "plan": str(name),
            "weeks": int(comparison["weeks"].sel(sel)),
            "spend": float(comparison["spend"].sel(sel)),
            "kpi_mean": float(kpi["mean"].sel(sel)),
            "kpi_low": float(kpi["hdi_low"].sel(sel)),
            "kpi_high": float(kpi["hdi_high"].sel(sel)),
            "media_kpi_mean": float(media["mean"].sel(sel)),
            "vs_first_mean": float(diff_stats["mean"].sel(sel)),
            "vs_first_low": float(diff_stats["hdi_low"].sel(sel)),
            "vs_first_high": float(diff_stats["hdi_high"].sel(sel)),
            "p_higher_than_first": float(np.mean(diff.sel(sel).values > 0)),
        })
    return pd.DataFrame(rows)
