"""The spacing of a table's dates: fixed days (daily, weekly, four-weekly) or calendar months."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mediamix.data.cadence import MONTH_DAYS, Cadence
from mediamix.errors import DataError


@pytest.mark.parametrize(("start", "freq", "expected", "adjective"), [
    ("2020-01-06", "D", Cadence(days=1), "daily"),
    ("2020-01-06", "7D", Cadence(days=7), "weekly"),
    ("2020-01-06", "14D", Cadence(days=14), "14-day"),
    ("2020-01-06", "28D", Cadence(days=28), "28-day"),  # four-weekly: never calendar months
    ("2020-01-01", "MS", Cadence(months=1), "monthly"),
    ("2020-01-15", pd.DateOffset(months=1), Cadence(months=1), "monthly"),
    ("2020-01-31", "ME", Cadence(months=1, month_end=True), "monthly"),
    ("2020-01-01", "QS", Cadence(months=3), "quarterly"),
    ("2020-03-31", "QE", Cadence(months=3, month_end=True), "quarterly"),
])
def test_cadence_of_regular_dates(start: str, freq: object, expected: Cadence, adjective: str) -> None:
    dates = pd.date_range(start, periods=14, freq=freq)
    cadence = Cadence.of(dates)
    assert cadence == expected
    assert cadence.adjective == adjective
    # The cadence steps through exactly these dates, forwards and backwards.
    assert list(cadence.range(dates[0], len(dates))) == list(dates)
    assert list(cadence.shift(dates[1:], -1)) == list(dates[:-1])
    np.testing.assert_array_equal(cadence.index_of(dates[3], dates), np.arange(len(dates)) - 3)


def test_most_common_step_ignoring_order_and_duplicates() -> None:
    dates = pd.to_datetime(["2020-01-20", "2020-01-06", "2020-01-13", "2020-02-10", "2020-01-13"])
    assert Cadence.of(dates) == Cadence(days=7)  # steps 7, 7, 21


def test_month_ends_with_one_wrong_date_are_still_monthly() -> None:
    """Validation should then name the wrong row, not call the table 30-day data."""
    dates = pd.to_datetime(["2019-01-31", "2019-02-28", "2019-03-31", "2019-04-30", "2019-05-30", "2019-06-30"])
    assert Cadence.of(dates) == Cadence(months=1, month_end=True)


def test_rejects_sub_daily_and_single_dates() -> None:
    with pytest.raises(DataError, match="not a whole number of days"):
        Cadence.of(pd.date_range("2020-01-01", periods=5, freq="12h"))
    with pytest.raises(DataError, match="from 1 distinct date; expected at least 2"):
        Cadence.of(pd.to_datetime(["2020-01-01", "2020-01-01"]))


@pytest.mark.parametrize(("day", "month_end", "when", "expected"), [
    # Month starts: a date belongs to the month it falls in.
    ("2020-01-01", False, ["2019-12-31", "2020-01-01", "2020-01-31", "2020-02-01", "2020-12-25"], [-1, 0, 0, 1, 11]),
    # The 15th: from the 15th to the 14th of the next month.
    ("2020-01-15", False, ["2020-01-14", "2020-01-15", "2020-02-14", "2020-02-15"], [-1, 0, 0, 1]),
    # Month ends: from the last day of a month to the day before the next month's last day.
    ("2020-01-31", True, ["2020-01-30", "2020-01-31", "2020-02-28", "2020-02-29", "2020-03-30"], [-1, 0, 0, 1, 1]),
])
def test_index_of_finds_the_period_containing_a_date(day: str, month_end: bool, when: list[str],
                                                     expected: list[int]) -> None:
    cadence = Cadence(months=1, month_end=month_end)
    np.testing.assert_array_equal(cadence.index_of(day, when), expected)


def test_steps_between_is_none_off_the_grid() -> None:
    assert Cadence(months=1).steps_between("2020-01-15", "2020-04-15") == 3
    assert Cadence(months=1).steps_between("2020-04-15", "2020-01-15") == -3
    assert Cadence(months=1).steps_between("2020-01-15", "2020-04-16") is None
    assert Cadence(days=7).steps_between("2020-01-06", "2020-01-27") == 3
    assert Cadence(days=7).steps_between("2020-01-06", "2020-01-28") is None


def test_period_starts_of_period_end_dates() -> None:
    month_ends = pd.DatetimeIndex(["2020-01-31", "2020-02-29", "2020-03-31"])
    cadence = Cadence(months=1, month_end=True)
    starts = cadence.period_starts(month_ends, "end")
    assert list(starts.strftime("%Y-%m-%d")) == ["2020-01-01", "2020-02-01", "2020-03-01"]
    assert Cadence.of(starts) == cadence.of_period_starts("end") == Cadence(months=1)
    weeks = pd.DatetimeIndex(["2019-11-24", "2019-12-01"])  # Sundays ending Monday-Sunday weeks
    assert list(Cadence(days=7).period_starts(weeks, "end").strftime("%a %d")) == ["Mon 18", "Mon 25"]
    assert list(cadence.period_starts(month_ends, "start")) == list(month_ends)


def test_words_and_lengths() -> None:
    assert Cadence(days=1).spacing == "1 day apart"
    assert Cadence(months=3).spacing == "3 calendar months apart"
    assert Cadence(months=1, month_end=True).describe() == "1 calendar month apart (monthly, on month ends)"
    assert Cadence(months=1).mean_days == pytest.approx(30.4375)
    assert Cadence(months=12).mean_days == pytest.approx(12 * MONTH_DAYS)
    with pytest.raises(ValueError, match="not both or neither"):
        Cadence(days=7, months=1)
    with pytest.raises(ValueError, match="month_end applies"):
        Cadence(days=7, month_end=True)


@pytest.mark.parametrize("dates", [
    ["2023-01-29", "2023-02-26", "2023-03-26"],  # 28 days apart, the same day of the month across February
    ["2021-01-31", "2021-02-28", "2021-03-28"],
    ["2021-01-04", "2021-02-01", "2021-03-01"],
])
def test_four_weekly_dates_stay_four_weekly_across_february(dates: list[str]) -> None:
    """Found in review: three four-weekly dates across a non-leap February look like months."""
    assert Cadence.of(pd.to_datetime(dates)) == Cadence(days=28)


def test_dates_in_the_same_month_are_no_monthly_cadence() -> None:
    """Found in review: the most common month step was 0 here, and Cadence(months=0) raised a ValueError."""
    assert Cadence.of(pd.to_datetime(["2021-02-01", "2021-03-01", "2021-03-29"])).days == 28
