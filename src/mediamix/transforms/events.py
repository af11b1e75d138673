"""Event (holiday) dummies, computed from dates alone.

An event is a list of dates and a window of periods before and after each. A
date that is not one of the table's dates counts for the period that contains
it. Each row's date is the first day of its period (a Friday falls in the week
of the Monday before it, for weekly data dated by Monday) or, with
``[data] date_marks = "end"``, the last (for week-ending dates, the Sunday
after it): :func:`period_starts` turns the latter into the former. Dates outside
the table are allowed: they matter only when their window reaches the table,
and they mark the right rows of a future table when predicting.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["event_dummy", "period_index", "period_starts"]


def period_starts(dates: pd.DatetimeIndex, step_days: int, date_marks: str = "start") -> pd.DatetimeIndex:
    """Each row's first day: ``dates`` as they are, or, when they mark period ends, ``step_days - 1`` earlier.

    Parameters
    ----------
    dates : DatetimeIndex, dims (date,)
        The table's dates, evenly spaced.
    step_days : int
        Length of a period in days.
    date_marks : {"start", "end"}
        Whether ``dates`` are the first or the last day of their periods.

    Returns
    -------
    DatetimeIndex, dims (date,)

    Examples
    --------
    >>> week_ending = pd.DatetimeIndex(["2019-11-24", "2019-12-01"])  # Sundays
    >>> list(period_starts(week_ending, 7, "end").strftime("%a %Y-%m-%d"))
    ['Mon 2019-11-18', 'Mon 2019-11-25']
    """
    if date_marks == "start":
        return pd.DatetimeIndex(dates)
    if date_marks != "end":
        raise ValueError(f"date_marks must be 'start' or 'end', not {date_marks!r}")
    return pd.DatetimeIndex(dates) - pd.Timedelta(days=step_days - 1)


def period_index(dates: pd.DatetimeIndex, when: pd.DatetimeIndex, step_days: int) -> np.ndarray:
    """The row of ``dates`` whose period contains each of ``when``, continued by ``step_days`` outside.

    Parameters
    ----------
    dates : DatetimeIndex, dims (date,)
        Sorted, evenly spaced period start dates.
    when : DatetimeIndex, dims (event_date,)
    step_days : int
        Length of a period in days.

    Returns
    -------
    ndarray of int, dims (event_date,)
        ``i`` with ``dates[i] <= when < dates[i] + step``; negative before the
        first period, ``>= len(dates)`` after the last.
    """
    step = pd.Timedelta(days=step_days)
    inside = np.searchsorted(dates.values, when.values, side="right") - 1
    before = np.floor((when - dates[0]) / step).astype(int)
    after = len(dates) - 1 + np.floor((when - dates[-1]) / step).astype(int)
    return np.where(when < dates[0], before, np.where(when >= dates[-1], after, inside))


def event_dummy(dates: pd.DatetimeIndex, event_dates: Sequence[Any], window: tuple[int, int],
                step_days: int) -> np.ndarray:
    """1.0 in every period within ``window`` of an event date, else 0.0.

    Parameters
    ----------
    dates : DatetimeIndex, dims (date,)
        Sorted, evenly spaced period start dates.
    event_dates : sequence of date-like
    window : (int, int)
        Periods before and after each event date that count too (``(0, 0)``: the period itself).
    step_days : int
        Length of a period in days.

    Returns
    -------
    ndarray, dims (date,)

    Examples
    --------
    >>> weeks = pd.date_range("2019-11-18", periods=4, freq="7D")
    >>> event_dummy(weeks, ["2019-11-29"], (0, 1), 7)
    array([0., 1., 1., 0.])
    """
    rows = period_index(pd.DatetimeIndex(dates), pd.DatetimeIndex(pd.to_datetime(list(event_dates))), step_days)
    before, after = window
    offsets = np.arange(-before, after + 1)
    marked = (rows[:, None] + offsets[None, :]).ravel()
    out = np.zeros(len(dates))
    out[marked[(marked >= 0) & (marked < len(dates))]] = 1.0
    return out
