"""Tests for mediamix.data.validate: the happy path and one test per bad input."""

from __future__ import annotations

import re
from contextlib import AbstractContextManager

import numpy as np
import pandas as pd
import pytest

from mediamix.data import validate_data
from mediamix.errors import ConfigError, DataError

SPEC = {"date": "date_week", "target": "y", "channels": ["x1", "x2"], "controls": ["event_1"]}
N_ROWS = 30


@pytest.fixture
def weekly() -> pd.DataFrame:
    """30 Mondays from 2018-04-02, dates as strings (as read from a CSV), plus an unused column."""
    rng = np.random.default_rng(0)
    dates = pd.date_range("2018-04-02", periods=N_ROWS, freq="7D")
    x1 = rng.uniform(0, 100, N_ROWS).round(2)
    x1[[3, 10]] = 0.0  # weeks without spend are fine
    return pd.DataFrame(
        {
            "notes": ["ok"] * N_ROWS,
            "date_week": dates.strftime("%Y-%m-%d"),
            "x2": rng.integers(0, 50, N_ROWS),  # int column: must come back as float64
            "y": rng.normal(500, 50, N_ROWS).round(2),
            "event_1": np.where(np.arange(N_ROWS) % 10 == 0, 1.0, 0.0),
            "x1": x1,
        }
    )


def check(df: pd.DataFrame, **overrides: object) -> pd.DataFrame:
    return validate_data(df, **{**SPEC, **overrides})


def data_error(*fragments: str) -> AbstractContextManager[pytest.ExceptionInfo[DataError]]:
    """Expect a DataError whose message contains every fragment, literally."""
    pattern = "".join(f"(?=[\\s\\S]*{re.escape(f)})" for f in fragments)
    return pytest.raises(DataError, match=pattern)


# --- happy path ----------------------------------------------------------------------


def test_valid_frame_is_returned_ordered_and_typed(weekly: pd.DataFrame) -> None:
    original = weekly.copy()
    out = check(weekly)
    assert list(out.columns) == ["date_week", "y", "x1", "x2", "event_1"]
    assert out["date_week"].dtype == np.dtype("datetime64[ns]")
    assert all(out[c].dtype == np.float64 for c in ["y", "x1", "x2", "event_1"])
    assert isinstance(out.index, pd.RangeIndex) and out.index.start == 0
    assert out["date_week"].iloc[0] == pd.Timestamp("2018-04-02")
    assert out["date_week"].iloc[-1] == pd.Timestamp("2018-04-02") + pd.Timedelta(weeks=N_ROWS - 1)
    for col in ["y", "x1", "x2", "event_1"]:
        np.testing.assert_array_equal(out[col].to_numpy(), weekly[col].to_numpy(dtype=float))
    pd.testing.assert_frame_equal(weekly, original)  # the input is not modified
    assert out is not weekly


def test_target_none_drops_the_target_column(weekly: pd.DataFrame) -> None:
    out = check(weekly, target=None)
    assert list(out.columns) == ["date_week", "x1", "x2", "event_1"]


def test_datetime_index_and_tz_aware_dates_are_normalised(weekly: pd.DataFrame) -> None:
    df = weekly.set_index(pd.Index(range(100, 100 + N_ROWS)))
    df["date_week"] = pd.to_datetime(df["date_week"]).dt.tz_localize("Europe/Paris")
    out = check(df)
    assert isinstance(out.index, pd.RangeIndex) and out.index[0] == 0
    assert out["date_week"].dt.tz is None
    assert out["date_week"].iloc[0] == pd.Timestamp("2018-04-02")


def test_numeric_strings_and_nullable_types_become_float(weekly: pd.DataFrame) -> None:
    df = weekly.assign(x2=weekly["x2"].astype(str), event_1=weekly["event_1"].astype("Int64"))
    out = check(df)
    assert out["x2"].dtype == np.float64 and out["event_1"].dtype == np.float64
    np.testing.assert_array_equal(out["x2"], weekly["x2"].to_numpy(dtype=float))


def test_controls_and_target_may_be_negative(weekly: pd.DataFrame) -> None:
    df = weekly.assign(event_1=-weekly["event_1"], y=weekly["y"] - 1000)
    out = check(df)
    assert out["event_1"].min() == -1.0 and (out["y"] < 0).all()


def test_daily_series_is_valid() -> None:
    df = pd.DataFrame({"day": pd.date_range("2024-01-01", periods=10), "x1": np.arange(10.0)})
    out = validate_data(df, date="day", target=None, channels=["x1"])
    assert out.shape == (10, 2)


# --- the spec and the columns ---------------------------------------------------------


def test_missing_column_lists_available_and_suggests(weekly: pd.DataFrame) -> None:
    with data_error("Column 'event1' (control) is not in the table", "'date_week'", "'x1'",
                "Did you mean 'event_1'?"):
        check(weekly, controls=["event1"])


def test_missing_target_column(weekly: pd.DataFrame) -> None:
    with data_error("Column 'sales' (target) is not in the table", "available columns"):
        check(weekly, target="sales")


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"controls": ["x1"]}, "Column 'x1' is named 2 times in the spec (as channel and control)"),
        ({"target": "x2"}, "Column 'x2' is named 2 times in the spec (as target and channel)"),
        ({"channels": ["x1", "x1"]}, "Column 'x1' is named 2 times in the spec (as channel and"),
        ({"controls": ["date_week"]}, "Column 'date_week' is named 2 times in the spec (as date"),
    ],
)
def test_column_named_twice_in_spec(weekly: pd.DataFrame, overrides: dict, expected: str) -> None:
    with data_error(expected, "only one role"):
        check(weekly, **overrides)


def test_column_duplicated_in_table(weekly: pd.DataFrame) -> None:
    df = pd.concat([weekly, weekly[["x1"]]], axis=1)
    with data_error("Column 'x1' (channel) appears 2 times; expected once."):
        check(df)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"channels": "x1"}, "'channels' argument must be a sequence"),
        ({"channels": []}, "at least one spend column"),
        ({"l_max": -1}, "'l_max' argument must be an int >= 0. Got -1"),
        ({"l_max": 2.5}, "Got 2.5"),
    ],
)
def test_invalid_arguments_are_config_errors(
    weekly: pd.DataFrame, overrides: dict, expected: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(expected)):
        check(weekly, **overrides)


def test_empty_frame(weekly: pd.DataFrame) -> None:
    with data_error("The table is empty (0 rows)"):
        check(weekly.iloc[0:0])
    with data_error("The table is empty (0 rows)"):
        check(pd.DataFrame())


def test_too_few_rows_for_adstock_window(weekly: pd.DataFrame) -> None:
    with data_error("The table has 30 rows", "at least 31 are needed", "l_max=30"):
        check(weekly, l_max=30)
    assert len(check(weekly, l_max=29)) == 30  # l_max + 1 rows is enough


# --- dates ---------------------------------------------------------------------------


def test_unparseable_date_names_row_and_value(weekly: pd.DataFrame) -> None:
    weekly.loc[4, "date_week"] = "abc"
    with data_error("Column 'date_week' must hold dates", "row 5 has 'abc'"):
        check(weekly)


def test_missing_date(weekly: pd.DataFrame) -> None:
    weekly.loc[7, "date_week"] = None
    with data_error("Column 'date_week' must hold dates", "row 8 is empty"):
        check(weekly)


def test_numeric_date_column_is_refused(weekly: pd.DataFrame) -> None:
    df = weekly.assign(date_week=weekly["date_week"].str.replace("-", "").astype(int))
    with data_error("Column 'date_week' must hold dates", "holds numbers", "row 1 has 20180402"):
        check(df)


@pytest.mark.parametrize("fmt", ["%d/%m/%Y", "%m/%d/%Y"])
def test_day_first_and_month_first_dates_both_read_right(weekly: pd.DataFrame, fmt: str) -> None:
    expected = pd.to_datetime(weekly["date_week"]).astype("datetime64[ns]")
    df = weekly.assign(date_week=expected.dt.strftime(fmt))  # 02/04/2018 is 2 April in the first
    pd.testing.assert_series_equal(check(df)["date_week"], expected, check_names=False)


def test_an_all_empty_date_column_says_so(weekly: pd.DataFrame) -> None:
    with data_error("Column 'date_week' is empty in every row; expected dates"):
        check(weekly.assign(date_week=None))


def test_duplicated_dates_name_date_and_both_rows(weekly: pd.DataFrame) -> None:
    weekly.loc[3, "date_week"] = weekly.loc[2, "date_week"]  # rows 3 and 4 both 2018-04-16
    with data_error("Column 'date_week' must have one row per date", "2018-04-16",
                "row 3 and row 4"):
        check(weekly)


def test_unsorted_dates_name_first_backwards_row(weekly: pd.DataFrame) -> None:
    df = weekly.iloc[[0, 1, 2, 4, 3, *range(5, N_ROWS)]].reset_index(drop=True)
    with data_error("must be sorted by increasing date", "backwards at row 5 (2018-04-23)",
                "follows row 4 (2018-04-30)"):
        check(df)


def test_gap_names_both_dates_and_expected_step(weekly: pd.DataFrame) -> None:
    df = weekly.drop(index=6)  # 2018-05-14 missing
    with data_error("Column 'date_week' has a gap between rows 6 and 7",
                "expected weekly dates 7 days apart, but 2018-05-07 is followed by "
                "2018-05-21 (14 days; expected 2018-05-14)"):
        check(df)


def test_step_shorter_than_usual_is_irregular(weekly: pd.DataFrame) -> None:
    weekly.loc[11, "date_week"] = "2018-06-13"  # a Wednesday, 2 days after row 11 (2018-06-11)
    with data_error("has an irregular step between rows 11 and 12", "2018-06-11 is followed by "
                "2018-06-13 (2 days; expected 2018-06-18); 2 steps are irregular in all"):
        check(weekly)


def test_daily_gap_says_daily() -> None:
    dates = pd.date_range("2024-01-01", periods=10).delete(4)
    df = pd.DataFrame({"day": dates, "x1": 1.0})
    with data_error("expected daily dates 1 day apart, but 2024-01-04 is followed by 2024-01-06 "
                    "(2 days; expected 2024-01-05)"):
        validate_data(df, date="day", target=None, channels=["x1"])


# --- numeric columns -----------------------------------------------------------------


def test_non_numeric_value_names_column_row_and_value(weekly: pd.DataFrame) -> None:
    weekly["x1"] = weekly["x1"].astype(object)
    weekly.loc[4, "x1"] = "abc"
    with data_error("Column 'x1' must be numeric: row 5 (2018-04-30) has 'abc'."):
        check(weekly)


def test_many_non_numeric_values_are_counted(weekly: pd.DataFrame) -> None:
    weekly["y"] = weekly["y"].astype(str)
    weekly.loc[[2, 3, 5, 8, 13, 21, 29], "y"] = "n/a"
    expected = (
        r"Column 'y' must be numeric: 7 rows are not \(first 5 shown\): "
        r"row 3 \(2018-04-16\) has 'n/a'; row 4 .*row 14 \(2018-07-02\) has 'n/a'\.$"
    )
    with pytest.raises(DataError, match=expected):
        check(weekly)


def test_missing_value_in_target(weekly: pd.DataFrame) -> None:
    weekly.loc[2, "y"] = np.nan
    with data_error("Column 'y' must have a finite number in every row: "
                    "row 3 (2018-04-16) is missing."):
        check(weekly)


def test_infinite_value_in_control(weekly: pd.DataFrame) -> None:
    weekly.loc[11, "event_1"] = -np.inf
    with data_error("Column 'event_1' must have a finite number in every row: "
                    "row 12 (2018-06-18) is -inf."):
        check(weekly)


def test_many_missing_values_are_counted(weekly: pd.DataFrame) -> None:
    weekly.loc[10:, "x2"] = None  # rows 11..30
    expected = (
        r"Column 'x2' must have a finite number in every row: 20 rows are missing or infinite "
        r"\(first 5 shown\): row 11 \(2018-06-11\) is missing;(?!.*row 16).*"
        r"row 15 \(2018-07-09\) is missing\.$"
    )
    with pytest.raises(DataError, match=expected):
        check(weekly)


def test_negative_spend_names_channel_row_and_value(weekly: pd.DataFrame) -> None:
    weekly.loc[3, "x2"] = -10
    with data_error("Channel 'x2' must have spend >= 0: row 4 (2018-04-23) has -10.0."):
        check(weekly)


def test_all_zero_channel(weekly: pd.DataFrame) -> None:
    weekly["x2"] = 0
    with data_error("Channel 'x2' has zero spend in all 30 rows", "cannot learn its effect"):
        check(weekly)


# --- monthly data ---------------------------------------------------------------------


@pytest.mark.parametrize("freq", ["MS", "ME", "QS"])
def test_calendar_months_are_even_steps(freq: str) -> None:
    """Monthly and quarterly dates are 28 to 92 days apart, and regular."""
    dates = pd.date_range("2019-01-31" if freq == "ME" else "2019-01-01", periods=30, freq=freq)
    df = pd.DataFrame({"month": dates, "y": 1.0, "x1": 1.0})
    out = validate_data(df, date="month", target="y", channels=["x1"])
    assert list(out["month"]) == list(dates)


def test_missing_month_is_a_gap_naming_the_month_expected() -> None:
    dates = pd.date_range("2019-01-01", periods=12, freq="MS").delete(5)  # no June
    df = pd.DataFrame({"month": dates, "x1": 1.0})
    with data_error("has a gap between rows 5 and 6", "expected monthly dates 1 calendar month apart, but "
                    "2019-05-01 is followed by 2019-07-01 (61 days; expected 2019-06-01)"):
        validate_data(df, date="month", target=None, channels=["x1"])


def test_month_end_dates_step_by_month_ends() -> None:
    dates = pd.DatetimeIndex(["2019-01-31", "2019-02-28", "2019-03-31", "2019-04-30", "2019-05-30"])
    df = pd.DataFrame({"month": dates, "x1": 1.0})
    with data_error("has an irregular step between rows 4 and 5", "expected 2019-05-31"):
        validate_data(df, date="month", target=None, channels=["x1"])
