"""Seasonality and trend features, computed from dates alone."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["fourier_features", "fourier_labels", "linear_trend", "YEAR_DAYS", "SEASONAL_PERIODS"]

#: Length of the yearly cycle in days.
YEAR_DAYS = 365.25

#: Cycle length in days of each extra seasonal block (``[model] weekly_seasonality`` ...);
#: the month is the average Gregorian month, so its phase drifts less than a day a year.
SEASONAL_PERIODS: dict[str, float] = {"weekly": 7.0, "monthly": YEAR_DAYS / 12}


def fourier_labels(order: int) -> list[str]:
    """Names of the Fourier columns: ``sin_1, cos_1, ..., sin_K, cos_K``."""
    return [f"{fn}_{k}" for k in range(1, order + 1) for fn in ("sin", "cos")]


def fourier_features(dates: pd.DatetimeIndex | np.ndarray, order: int, period: float = YEAR_DAYS) -> np.ndarray:
    """Fourier terms of a periodic cycle.

    Time is continuous (days since 1970-01-01) so the features run smoothly over
    year ends and the same calendar day maps to (almost) the same phase each year.

    Parameters
    ----------
    dates : DatetimeIndex or datetime64 array, dims (date,)
    order : int
        Number of harmonics ``K``; 0 gives an empty (date, 0) array.
    period : float, default=365.25
        Cycle length in days.

    Returns
    -------
    ndarray, dims (date, fourier_mode) with columns ordered as :func:`fourier_labels`.
    """
    days = (pd.DatetimeIndex(dates) - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)
    t = np.asarray(days, dtype=float) / period
    k = np.arange(1, order + 1)
    angle = 2.0 * np.pi * t[:, None] * k[None, :]
    out = np.empty((t.size, 2 * order))
    out[:, 0::2] = np.sin(angle)
    out[:, 1::2] = np.cos(angle)
    return out


def linear_trend(dates: pd.DatetimeIndex | np.ndarray, start: pd.Timestamp, span_days: float) -> np.ndarray:
    """A linear time index: 0 at ``start``, 1 after ``span_days`` days (the training window).

    Parameters
    ----------
    dates : DatetimeIndex or datetime64 array, dims (date,)
    start : Timestamp
        First training date.
    span_days : float
        Days between the first and last training date (> 0).

    Returns
    -------
    ndarray, dims (date,)
    """
    days = (pd.DatetimeIndex(dates) - start) / pd.Timedelta(days=1)
    return np.asarray(days, dtype=float) / span_days
