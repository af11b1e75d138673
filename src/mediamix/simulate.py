"""Simulated data sets with known truth, for the demo, tests and benchmarks.

:func:`seed_example` is the use case of the talk mediamix grew from (the same
process as pymc-marketing's example): two channels with geometric adstock and
logistic saturation over a baseline of intercept, trend, yearly seasonality and
two one-off events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mediamix.transforms.adstock import GeometricAdstock
from mediamix.transforms.saturation import LogisticSaturation

__all__ = ["SimulatedDataset", "seed_example", "seed_config"]


@dataclass(frozen=True)
class SimulatedDataset:
    """A simulated table and the truth that generated it.

    Attributes
    ----------
    data : DataFrame
        One row per date: the date column, target, channel spend and controls.
    truth : dict
        Per channel (keyed by name): ``alpha``, ``lam``, ``beta``, ``spend``,
        ``contribution`` (total over all dates, target units) and ``roas``.
    contributions : DataFrame
        The true weekly contribution of each channel, indexed by date.
    config : dict
        A mediamix config (as a TOML-like dict) that fits this data set.
    """

    data: pd.DataFrame
    truth: dict[str, Any]
    contributions: pd.DataFrame
    config: dict[str, Any] = field(default_factory=dict)


def seed_config() -> dict[str, Any]:
    """The config that matches :func:`seed_example`'s columns (the README's example)."""
    return {
        "data": {
            "date": "date_week",
            "target": "y",
            "channels": ["x1", "x2"],
            "controls": ["event_1", "event_2"],
        },
        "model": {
            "adstock": "geometric",
            "l_max": 8,
            "saturation": "logistic",
            "yearly_seasonality": 2,
            "trend": "linear",
        },
        "fit": {"chains": 4, "draws": 2000, "tune": 1000, "seed": 42},
    }


def seed_example(seed: int = 1, n_weeks: int = 179, noise_sd: float = 0.25) -> SimulatedDataset:
    """The talk's simulated use case: 179 weeks, two channels, known ROAS.

    Parameters
    ----------
    seed : int, default=1
        Seed of the NumPy generator; the same seed gives the same data.
    n_weeks : int, default=179
        Number of weekly dates, starting Monday 2018-04-02.
    noise_sd : float, default=0.25
        Standard deviation of the Gaussian noise on the target.

    Returns
    -------
    SimulatedDataset
    """
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2018-04-02", periods=n_weeks, freq="W-MON")

    u1 = rng.uniform(size=n_weeks)
    x1 = np.where(u1 > 0.9, u1, u1 / 2)
    u2 = rng.uniform(size=n_weeks)
    x2 = np.where(u2 > 0.8, u2, 0.0)
    spend = np.column_stack([x1, x2])

    channels = ["x1", "x2"]
    alpha = np.array([0.4, 0.2])
    lam = np.array([4.0, 3.0])
    beta = np.array([3.0, 2.0])
    adstocked = GeometricAdstock(l_max=8, normalize=True).apply_np(spend, alpha=alpha)
    contributions = beta * LogisticSaturation().apply_np(adstocked, lam=lam)

    intercept = 2.0
    trend = (np.linspace(0, 50, n_weeks) + 10) ** (1 / 4) - 1
    doy = dates.day_of_year.to_numpy()
    seasonality = 0.5 * (-np.sin(2 * 2 * np.pi * doy / 365.5) + np.cos(2 * np.pi * doy / 365.5))
    event_1 = (dates == "2019-05-13").astype(float)
    event_2 = (dates == "2020-09-14").astype(float)
    noise = rng.normal(0.0, noise_sd, size=n_weeks)

    y = intercept + trend + seasonality + 1.5 * event_1 + 2.5 * event_2 + contributions.sum(axis=1) + noise

    data = pd.DataFrame(
        {"date_week": dates, "y": y, "x1": x1, "x2": x2, "event_1": event_1, "event_2": event_2}
    )
    truth: dict[str, Any] = {"channels": {}, "intercept": intercept, "sigma": noise_sd,
                             "events": {"event_1": 1.5, "event_2": 2.5}}
    for i, name in enumerate(channels):
        total = float(contributions[:, i].sum())
        total_spend = float(spend[:, i].sum())
        truth["channels"][name] = {
            "alpha": float(alpha[i]),
            "lam": float(lam[i]),
            "beta": float(beta[i]),
            "spend": total_spend,
            "contribution": total,
            "roas": total / total_spend,
        }
    contrib = pd.DataFrame(contributions, index=pd.Index(dates, name="date_week"), columns=channels)
    return SimulatedDataset(data=data, truth=truth, contributions=contrib, config=seed_config())
