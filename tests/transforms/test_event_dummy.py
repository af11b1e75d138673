"""Event dummies: placement of each date and its window, dates between rows and outside the table."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mediamix.transforms import event_dummy

WEEKS = pd.date_range("2019-11-04", periods=6, freq="7D")  # Mondays: Nov 4, 11, 18, 25, Dec 2, 9


def test_a_date_on_a_row_marks_that_row() -> None:
    np.testing.assert_array_equal(event_dummy(WEEKS, ["2019-11-18"], (0, 0), 7), [0, 0, 1, 0, 0, 0])


def test_a_date_between_rows_marks_the_period_containing_it() -> None:
    # Black Friday 2019-11-29 falls in the week that starts on Monday 2019-11-25.
    np.testing.assert_array_equal(event_dummy(WEEKS, ["2019-11-29"], (0, 0), 7), [0, 0, 0, 1, 0, 0])


def test_window_marks_periods_before_and_after() -> None:
    np.testing.assert_array_equal(event_dummy(WEEKS, ["2019-11-29"], (0, 1), 7), [0, 0, 0, 1, 1, 0])
    np.testing.assert_array_equal(event_dummy(WEEKS, ["2019-11-29"], (2, 1), 7), [0, 1, 1, 1, 1, 0])


def test_several_dates_and_overlapping_windows_stay_zero_one() -> None:
    dummy = event_dummy(WEEKS, ["2019-11-05", "2019-11-12"], (1, 1), 7)
    np.testing.assert_array_equal(dummy, [1, 1, 1, 0, 0, 0])


def test_dates_outside_the_table_count_only_through_their_window() -> None:
    np.testing.assert_array_equal(event_dummy(WEEKS, ["2019-10-01"], (0, 0), 7), np.zeros(6))
    np.testing.assert_array_equal(event_dummy(WEEKS, ["2019-12-31"], (0, 0), 7), np.zeros(6))
    # A week before the first row, with one period after: the first row.
    np.testing.assert_array_equal(event_dummy(WEEKS, ["2019-10-30"], (0, 1), 7), [1, 0, 0, 0, 0, 0])
    # In the week after the last row, with one period before: the last row.
    np.testing.assert_array_equal(event_dummy(WEEKS, ["2019-12-19"], (1, 0), 7), [0, 0, 0, 0, 0, 1])


def test_future_table_is_marked_by_the_same_rule() -> None:
    future = pd.date_range("2020-11-16", periods=3, freq="7D")
    np.testing.assert_array_equal(event_dummy(future, ["2019-11-29", "2020-11-27"], (0, 0), 7), [0, 1, 0])


def test_daily_data() -> None:
    days = pd.date_range("2024-12-22", periods=7, freq="D")
    np.testing.assert_array_equal(event_dummy(days, ["2024-12-25"], (1, 0), 1), [0, 0, 1, 1, 0, 0, 0])
