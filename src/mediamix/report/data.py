"""What the report shows, as plain values: :class:`ReportData` and the helpers that fill it.

The report renders from these inputs only (tables, dicts and NumPy arrays), never
from a model object, so it can be tested with hand-made data and sits below
:mod:`mediamix.mmm` in the layering.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from mediamix.data.cadence import Cadence
from mediamix.errors import DataError
from mediamix.priors import Prior

__all__ = ["ReportData", "ParameterDraws", "parameter_draws", "fit_table", "fit_metrics"]

#: Columns of :attr:`ReportData.fit`, after the date column.
FIT_COLUMNS = ("observed", "mean", "hdi_low", "hdi_high", "predictive_low", "predictive_high", "residual")


@dataclass(frozen=True)
class ParameterDraws:
    """Prior and posterior draws of one scalar model parameter, on the scaled data.

    Parameters
    ----------
    name : str
        The parameter (``"beta"``, ``"alpha"``, ``"sigma"``...).
    label : str
        The channel, control or Fourier mode it belongs to; ``""`` for a scalar parameter.
    prior, posterior : ndarray, dims (sample,)
    """

    name: str
    label: str
    prior: np.ndarray
    posterior: np.ndarray

    @property
    def title(self) -> str:
        """``"beta · tv"``, or the name alone for a scalar parameter."""
        return f"{self.name} · {self.label}" if self.label else self.name


@dataclass(frozen=True)
class ReportData:
    """Everything ``report.html`` shows, in the user's units unless said otherwise.

    Parameters
    ----------
    summary : mapping
        The ``summary.json`` payload (``hdi_prob``, ``target``, ``dates``,
        ``channels``, ``diagnostics``, ``timing`` and, when the model review ran,
        ``review`` with ``verdict`` and ``findings``).
    observed : DataFrame
        The training table: ``date_column``, the target, each channel's spend, each control.
    fit : DataFrame
        Per date: ``date_column`` and :data:`FIT_COLUMNS` (observed target; the
        fitted mean and its HDI; the HDI of the posterior predictive, noise
        included; observed minus mean).
    decomposition : DataFrame
        Posterior-mean contribution per date of each channel, ``intercept``,
        ``trend``, ``seasonality`` and each control (``contributions.csv``).
    waterfall : DataFrame
        ``component``, ``kind`` ("baseline", "control", "channel"), ``mean``,
        ``hdi_low``, ``hdi_high``: totals over the period (``waterfall.csv``).
    response_curves : DataFrame
        ``channel``, ``point``, ``spend`` (weekly), ``mean``, ``hdi_low``,
        ``hdi_high`` (``response_curves.csv``).
    adstock_curves : DataFrame
        ``lag``, ``channel``, ``mean``, ``hdi_low``, ``hdi_high`` (``adstock.csv``).
    parameters : sequence of ParameterDraws
        Prior and posterior draws of every scalar parameter.
    date_column, target : str
    channels, controls : sequence of str
    config_text : str, default=""
        The resolved config as TOML.
    problems : sequence of str, default=()
        Failed convergence checks in plain language, each with what to try.
    optimization : mapping, optional
        An ``optimization.json`` payload, shown when given.

    Raises
    ------
    DataError
        If a table lacks a column the report needs, naming the table and the column.
    """

    summary: Mapping[str, Any]
    observed: pd.DataFrame
    fit: pd.DataFrame
    decomposition: pd.DataFrame
    waterfall: pd.DataFrame
    response_curves: pd.DataFrame
    adstock_curves: pd.DataFrame
    parameters: Sequence[ParameterDraws]
    date_column: str
    target: str
    channels: Sequence[str]
    controls: Sequence[str] = ()
    config_text: str = ""
    problems: Sequence[str] = ()
    optimization: Mapping[str, Any] | None = field(default=None)

    def __post_init__(self) -> None:
        for name in ("parameters", "channels", "controls", "problems"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        required = {
            "observed": (self.date_column, self.target, *self.channels),
            "fit": (self.date_column, *FIT_COLUMNS),
            "decomposition": (self.date_column, *self.channels),
            "waterfall": ("component", "kind", "mean", "hdi_low", "hdi_high"),
            "response_curves": ("channel", "spend", "mean", "hdi_low", "hdi_high"),
            "adstock_curves": ("lag", "channel", "mean", "hdi_low", "hdi_high"),
        }
        for table, columns in required.items():
            missing = [c for c in columns if c not in getattr(self, table).columns]
            if missing:
                raise DataError(
                    f"ReportData.{table} has no column '{missing[0]}'. Expected columns: {', '.join(columns)}."
                )

    @property
    def diagnostics(self) -> Mapping[str, Any]:
        """``summary["diagnostics"]``: r-hat, ESS, divergences, chains, draws, sampler."""
        return self.summary.get("diagnostics", {})

    @property
    def review(self) -> Mapping[str, Any] | None:
        """The model review (``verdict``, ``findings``) when it ran, else ``None``."""
        return self.summary.get("review")

    @property
    def period(self) -> str:
        """How often a row comes, as an adjective: ``"weekly"``, ``"daily"``, ``"monthly"``, ``"14-day"``...
        (chart labels)."""
        dates = pd.DatetimeIndex(self.observed[self.date_column])
        return Cadence.of(dates).adjective if len(dates) > 1 else "weekly"

    @property
    def hdi_prob(self) -> float:
        """Probability mass of every interval shown."""
        return float(self.summary.get("hdi_prob", 0.94))


def fit_table(observed: pd.DataFrame, date_column: str, target: str, expected: xr.Dataset,
              predictive: xr.Dataset) -> pd.DataFrame:
    """The per-date fit table of :class:`ReportData`.

    Parameters
    ----------
    observed : DataFrame
        The training table.
    date_column, target : str
    expected, predictive : xarray.Dataset
        ``mean``, ``hdi_low``, ``hdi_high`` along dim ``date``: the fitted mean
        and the posterior predictive (noise included).
    """
    y = observed[target].to_numpy(dtype=float)
    mean = expected["mean"].to_numpy()
    return pd.DataFrame(
        {
            date_column: pd.DatetimeIndex(observed[date_column]),
            "observed": y,
            "mean": mean,
            "hdi_low": expected["hdi_low"].to_numpy(),
            "hdi_high": expected["hdi_high"].to_numpy(),
            "predictive_low": predictive["hdi_low"].to_numpy(),
            "predictive_high": predictive["hdi_high"].to_numpy(),
            "residual": y - mean,
        }
    )


def fit_metrics(fit: pd.DataFrame) -> dict[str, float]:
    """R², MAPE (over dates with a non-zero target) and the predictive interval's coverage.

    Returns
    -------
    dict
        ``r2``, ``mape`` (a fraction; NaN when the target is zero throughout) and
        ``coverage`` (share of dates whose observation lies in the predictive HDI).
    """
    y, res = fit["observed"].to_numpy(), fit["residual"].to_numpy()
    total = float(np.sum((y - y.mean()) ** 2))
    nonzero = y != 0
    inside = (fit["predictive_low"] <= fit["observed"]) & (fit["observed"] <= fit["predictive_high"])
    return {
        "r2": 1.0 - float(np.sum(res**2)) / total if total > 0 else float("nan"),
        "mape": float(np.mean(np.abs(res[nonzero] / y[nonzero]))) if nonzero.any() else float("nan"),
        "coverage": float(inside.mean()),
    }


def parameter_draws(
    posterior: xr.Dataset, priors: Mapping[str, Prior], max_draws: int = 2000, seed: int = 0
) -> tuple[ParameterDraws, ...]:
    """Prior and posterior draws of every scalar parameter that has a prior.

    Prior draws come from each prior's :mod:`scipy.stats` twin (no PyMC); the
    posterior is thinned evenly to at most ``max_draws`` draws.

    Parameters
    ----------
    posterior : xarray.Dataset
        Dims (chain, draw, ...) with at most one more dim per variable (``channel``,
        ``control``, ``fourier_mode``, ``<param>_channel``...).
    priors : mapping of str to Prior
        By parameter name; variables without a prior are skipped.
    max_draws : int, default=2000
    seed : int, default=0
        Seed of the prior draws.
    """
    rng = np.random.default_rng(seed)
    out: list[ParameterDraws] = []
    for name, da in posterior.data_vars.items():
        if name not in priors:
            continue
        stacked = da.stack(sample=("chain", "draw")).transpose("sample", ...)
        values = stacked.to_numpy().reshape(stacked.sizes["sample"], -1)
        keep = np.unique(np.linspace(0, len(values) - 1, min(max_draws, len(values))).round().astype(int))
        extra = [d for d in da.dims if d not in ("chain", "draw")]
        labels = [str(v) for v in da[extra[0]].values] if extra else [""]
        prior_of = priors[str(name)]
        dist = prior_of.to_scipy(labels if prior_of.labels() else None)
        prior = np.broadcast_to(dist.rvs(size=(len(keep), len(labels)), random_state=rng), (len(keep), len(labels)))
        for i, label in enumerate(labels):
            out.append(ParameterDraws(str(name), label, np.asarray(prior[:, i]), values[keep, i]))
    return tuple(out)
