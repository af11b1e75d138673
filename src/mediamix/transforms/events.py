"""Event (holiday) dummies, computed from dates alone.

An event is a list of dates and a window of periods before and after each. A
date that is not one of the table's dates counts for the period that contains
it. Each row's date is the first day of its period (a Friday falls in the week
of the Monday before it, for weekly data dated by Monday) or, with
``[data] date_marks = "end"``, the last (for week-ending dates, the Sunday
after it): :meth:`mediamix.data.cadence.Cadence.period_starts` turns the latter into the former. Dates outside
the table are allowed: they matter only when their window reaches the table,
and they mark the right rows of a future table when predicting.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from mediamix.data.cadence import Cadence

__all__ = ["event_dummy", "period_index"]


def _cadence(step: Cadence | int) -> Cadence:
    return step if isinstance(step, Cadence) else Cadence(days=int(step))


def period_index(dates: pd.DatetimeIndex, when: pd.DatetimeIndex, step: Cadence | int) -> np.ndarray:
    """The row of ``dates`` whose period contains each of ``when``, continued by the cadence outside.

    Parameters
    ----------
    dates : DatetimeIndex, dims (date,)
        Sorted, evenly spaced period start dates.
    when : DatetimeIndex, dims (event_date,)
    step : Cadence or int
        The dates' cadence (an int: a step of that many days).

    Returns
    -------
    ndarray of int, dims (event_date,)
        ``i`` with ``dates[i] <= when < dates[i + 1]`` (the next period's start past the last);
        negative before the first period, ``>= len(dates)`` after the last.
    """
    dates, when, cadence = pd.DatetimeIndex(dates), pd.DatetimeIndex(when), _cadence(step)
    # Inside the table by the rows themselves (period starts of month-end-marked data dated the 28th
    # are not one grid: 1 March, 29 March, 29 April...); outside it, continued by the cadence.
    inside = np.searchsorted(dates.values, when.values, side="right") - 1
    before = cadence.index_of(dates[0], when)
    after = len(dates) - 1 + cadence.index_of(dates[-1], when)
    return np.where(when < dates[0], before, np.where(when >= dates[-1], after, inside))


def event_dummy(dates: pd.DatetimeIndex, event_dates: Sequence[Any], window: tuple[int, int],
                step: Cadence | int) -> np.ndarray:
    """1.0 in every period within ``window`` of an event date, else 0.0.

    Parameters
    ----------
    dates : DatetimeIndex, dims (date,)
        Sorted, evenly spaced period start dates.
    event_dates : sequence of date-like
    window : (int, int)
        Periods before and after each event date that count too (``(0, 0)``: the period itself).
    step : Cadence or int
        The dates' cadence (an int: a step of that many days).

    Returns
    -------
    ndarray, dims (date,)

    Examples
    --------
    >>> weeks = pd.date_range("2019-11-18", periods=4, freq="7D")
    >>> event_dummy(weeks, ["2019-11-29"], (0, 1), 7)
    array([0., 1., 1., 0.])
    >>> months = pd.date_range("2019-10-01", periods=4, freq="MS")
    >>> event_dummy(months, ["2019-11-29"], (0, 0), Cadence(months=1))
    array([0., 1., 0., 0.])
    """
    rows = period_index(pd.DatetimeIndex(dates), pd.DatetimeIndex(pd.to_datetime(list(event_dates))), step)
    before, after = window
    offsets = np.arange(-before, after + 1)
    marked = (rows[:, None] + offsets[None, :]).ravel()
    out = np.zeros(len(dates))
    out[marked[(marked >= 0) & (marked < len(dates))]] = 1.0
    return out
