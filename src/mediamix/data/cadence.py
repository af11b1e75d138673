"""How far apart a table's rows are: a fixed number of days, or calendar months.

Daily and weekly data (and any fixed step, such as 28-day "four-weekly" periods) are a step in
days. Monthly and quarterly data are not: a month has 28 to 31 days. A table is read as calendar
months when most of its dates are the same day of their month (the 1st to the 28th) or their
month's last day, and the typical step is at least 28 days; any other table as a step in days (the
most common one).

Everything that steps through dates (validation, event windows, the periods after the training
data that a prediction or a plan covers) goes through :class:`Cadence`, so monthly data step by
calendar months, never by a fixed number of days.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from mediamix.errors import DataError

__all__ = ["Cadence", "MONTH_DAYS"]

#: Average days in a calendar month, for what needs a cadence's length in days (Fourier limits,
#: discount rates): a twelfth of the 365.25-day year the Fourier terms use, so that a monthly
#: table's limit for the yearly cycle falls below 6 harmonics, whose sine is zero at every month.
MONTH_DAYS = 365.25 / 12

_DAY_NAMES = {1: "daily", 7: "weekly"}
_MONTH_NAMES = {1: "monthly", 3: "quarterly", 12: "yearly"}


@dataclass(frozen=True)
class Cadence:
    """The spacing of consecutive dates: ``days`` apart, or ``months`` calendar months apart.

    Parameters
    ----------
    days : int, default=0
        A fixed step in days (1 daily, 7 weekly); 0 for calendar months.
    months : int, default=0
        A step in calendar months (1 monthly, 3 quarterly); 0 for a step in days.
    month_end : bool, default=False
        With ``months``: every date is its month's last day (so 31 January is followed by 28 or 29
        February, then 31 March).

    Examples
    --------
    >>> Cadence.of(pd.date_range("2021-01-31", periods=4, freq="ME")).describe()
    '1 calendar month apart (monthly, on month ends)'
    >>> Cadence.of(pd.date_range("2021-01-04", periods=4, freq="7D")).adjective
    'weekly'
    """

    days: int = 0
    months: int = 0
    month_end: bool = False

    def __post_init__(self) -> None:
        if (self.days > 0) == (self.months > 0) or min(self.days, self.months) < 0:
            raise ValueError(f"A cadence is a step in days or in months, not both or neither: {self!r}")
        if self.month_end and not self.months:
            raise ValueError("month_end applies to a cadence in months only")

    @classmethod
    def of(cls, dates: Any) -> Cadence:
        """The cadence of a date series: calendar months when the dates sit on a monthly grid,
        else the most common step in days.

        Parameters
        ----------
        dates : array-like of datetime-like
            NaT and repeats are dropped, the rest sorted.

        Raises
        ------
        DataError
            If there are fewer than two distinct dates, or the most common step is not whole days.
        """
        index = _plain(pd.DatetimeIndex(dates).dropna().unique().sort_values())
        if len(index) < 2:
            n = len(index)
            raise DataError(f"Cannot infer the date step from {n} distinct date{'' if n == 1 else 's'}; "
                            "expected at least 2.")
        monthly = _monthly(index)
        if monthly is not None:
            return monthly
        step = pd.Series(index).diff().dropna().mode().iloc[0]
        days = step / pd.Timedelta(days=1)
        if days != round(days):
            raise DataError(
                f"The most common step between dates is {step}, not a whole number of days; "
                "expected evenly spaced dates such as daily, weekly or monthly."
            )
        return cls(days=int(round(days)))

    # ------------------------------------------------------------------ names
    @property
    def adjective(self) -> str:
        """How often a row comes: ``"weekly"``, ``"daily"``, ``"monthly"``, ``"quarterly"``, ``"14-day"``..."""
        if self.days:
            return _DAY_NAMES.get(self.days, f"{self.days}-day")
        return _MONTH_NAMES.get(self.months, f"{self.months}-month")

    @property
    def spacing(self) -> str:
        """How far apart rows are, in words: ``"7 days apart"``, ``"1 calendar month apart"``."""
        if self.days:
            return f"{self.days} day{'' if self.days == 1 else 's'} apart"
        return f"{self.months} calendar month{'' if self.months == 1 else 's'} apart"

    def describe(self) -> str:
        """``"7 days apart (weekly)"``, ``"1 calendar month apart (monthly, on month ends)"``..."""
        ends = ", on month ends" if self.month_end else ""
        return f"{self.spacing} ({self.adjective}{ends})"

    @property
    def mean_days(self) -> float:
        """Average length of a period in days (a calendar month: :data:`MONTH_DAYS`)."""
        return float(self.days) if self.days else self.months * MONTH_DAYS

    # ------------------------------------------------------------------ stepping
    def shift(self, dates: Any, n: int) -> Any:
        """``dates`` moved ``n`` steps (``n`` may be negative); a Timestamp or a DatetimeIndex."""
        if n == 0:
            return dates
        if self.days:
            return dates + pd.Timedelta(days=self.days * n)
        if self.month_end:
            return dates + pd.offsets.MonthEnd(self.months * n)
        return dates + pd.DateOffset(months=self.months * n)

    def range(self, start: Any, periods: int) -> pd.DatetimeIndex:
        """``periods`` dates from ``start`` on, one step apart."""
        start = pd.Timestamp(start)
        if self.days:
            return pd.date_range(start, periods=periods, freq=f"{self.days}D")
        return pd.DatetimeIndex([self.shift(start, k) for k in range(periods)])

    def index_of(self, anchor: Any, when: Any) -> np.ndarray:
        """For each of ``when``, the ``k`` with ``shift(anchor, k) <= when < shift(anchor, k + 1)``.

        ``anchor`` is a date of the grid (for a month-end cadence, a month's last day); ``k`` is
        negative before it.
        """
        anchor = pd.Timestamp(anchor)
        when = _plain(when)
        if self.days:
            return np.floor((when - anchor) / pd.Timedelta(days=self.days)).to_numpy().astype(int)
        months = (when.year - anchor.year) * 12 + (when.month - anchor.month)
        if self.month_end:  # a date before its own month's end belongs to the period of the month before
            months = months - (~when.is_month_end).astype(int)
        else:  # before the anchor's day of the month: still in the period of the month before
            months = months - np.asarray(when.day < anchor.day, dtype=int)
        return np.floor_divide(np.asarray(months, dtype=int), self.months)

    def steps_between(self, start: Any, end: Any) -> int | None:
        """How many steps lead from ``start`` to ``end`` (negative when earlier); ``None`` when
        ``end`` is not on ``start``'s grid."""
        k = int(self.index_of(start, [end])[0])
        return k if self.shift(pd.Timestamp(start), k) == pd.Timestamp(end) else None

    # ------------------------------------------------------------------ periods
    def period_starts(self, dates: pd.DatetimeIndex, date_marks: str = "start") -> pd.DatetimeIndex:
        """Each row's first day: ``dates`` as they are, or, when they mark period ends, the day after
        the previous period's end (``days - 1`` earlier; the 1st of the month for month ends).

        Examples
        --------
        >>> week_ending = pd.DatetimeIndex(["2019-11-24", "2019-12-01"])  # Sundays
        >>> list(Cadence(days=7).period_starts(week_ending, "end").strftime("%a %Y-%m-%d"))
        ['Mon 2019-11-18', 'Mon 2019-11-25']
        >>> month_ends = pd.DatetimeIndex(["2021-01-31", "2021-02-28"])
        >>> list(Cadence(months=1, month_end=True).period_starts(month_ends, "end").strftime("%Y-%m-%d"))
        ['2021-01-01', '2021-02-01']
        """
        if date_marks == "start":
            return pd.DatetimeIndex(dates)
        if date_marks != "end":
            raise ValueError(f"date_marks must be 'start' or 'end', not {date_marks!r}")
        return pd.DatetimeIndex(self.shift(pd.DatetimeIndex(dates), -1)) + pd.Timedelta(days=1)

    def of_period_starts(self, date_marks: str = "start") -> Cadence:
        """The cadence of :meth:`period_starts`' dates (month ends marking period ends start on the 1st)."""
        return replace(self, month_end=False) if self.months and date_marks == "end" else self


def _plain(dates: Any) -> pd.DatetimeIndex:
    """``dates`` as a DatetimeIndex without a frequency (pandas' month-end test fails on some)."""
    return pd.DatetimeIndex(pd.to_datetime(np.atleast_1d(np.asarray(dates, dtype="datetime64[ns]"))))


def _monthly(index: pd.DatetimeIndex) -> Cadence | None:
    """Calendar months when most dates (more than half) are the same day of their month (1st-28th),
    or their month's last day, at midnight, and the typical step is at least 28 days; else ``None``.

    "Most", not "all": a table of month ends with one date off is monthly data with an error, which
    validation then reports by row, rather than data 30 days apart.
    """
    steps = np.diff(index.to_numpy()) / np.timedelta64(1, "D")
    if np.median(steps) < 28:
        return None
    if np.all(steps == steps[0]) and steps[0] % 7 == 0:  # four-weekly or 13-weekly: whole weeks, never months
        return None
    if (index == index.normalize()).mean() <= 0.5:
        return None
    month_end = bool(index.is_month_end.mean() > 0.5)
    if not month_end:
        days = index.day.value_counts()
        if days.iloc[0] <= len(index) / 2 or days.index[0] > 28:
            return None
    months = int(pd.Series(np.diff(index.year * 12 + index.month)).mode().iloc[0])
    return Cadence(months=months, month_end=month_end) if months >= 1 else None
