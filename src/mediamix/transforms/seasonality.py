"""Seasonality and trend features, computed from dates alone."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["fourier_features", "fourier_labels", "linear_trend", "max_fourier_order", "YEAR_DAYS", "SEASONAL_PERIODS"]

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


def max_fourier_order(period_days: float, step_days: float) -> int:
    """The highest Fourier order that data ``step_days`` apart can resolve for a ``period_days`` cycle.

    Harmonic ``k`` repeats every ``period_days / k`` days. Sampled every ``step_days``, a cycle of
    two rows or fewer cannot be told apart from a slower one (the Nyquist limit): its columns are
    those of a slower, spurious cycle (aliasing), so its coefficients would be read as the wrong
    seasonality. So ``k`` must satisfy ``period_days / k > 2 * step_days``.

    Parameters
    ----------
    period_days : float
        Cycle length in days (365.25 for the year).
    step_days : float
        Days between consecutive rows (7 for weekly data).

    Returns
    -------
    int
        The largest admissible order; 0 when not even the first harmonic can be seen.

    Examples
    --------
    >>> max_fourier_order(365.25 / 12, 7)  # a monthly cycle on weekly data
    2
    >>> max_fourier_order(7.0, 1)  # a weekly cycle on daily data
    3
    """
    return max(int(np.ceil(period_days / (2.0 * step_days))) - 1, 0)


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
