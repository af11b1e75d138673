"""Check that an input table can feed a media mix model, and return a tidy copy.

:func:`validate_data` stops at the first problem and raises a :class:`DataError`
that names the column, the row and what was expected. Row numbers are 1-based
data rows, as a user sees them in a spreadsheet ("row 1" is the first data row,
the header is not counted), followed by that row's date once dates are parsed.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from mediamix.data.cadence import Cadence
from mediamix.errors import ConfigError, DataError, did_you_mean

__all__ = ["validate_data"]

_MAX_SHOWN = 5  # offending rows listed in one message


def validate_data(
    df: pd.DataFrame,
    *,
    date: str,
    target: str | None,
    channels: Sequence[str],
    controls: Sequence[str] = (),
    l_max: int = 1,
    require_spend: bool = True,
    positive_target: bool = False,
) -> pd.DataFrame:
    """Validate a media mix table and return the model's columns, cleanly typed.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per date. Other columns than the ones named are ignored.
    date : str
        The date column: parseable, unique, sorted, evenly spaced in whole days.
    target : str or None
        The outcome column (e.g. sales), may be negative; ``None`` when predicting.
    channels : sequence of str
        Media spend columns: finite, non-negative, not all zero.
    controls : sequence of str, default=()
        Control columns (events, prices, ...): finite, may be negative.
    l_max : int, default=1
        Adstock window length in periods; the table needs more than ``l_max`` rows.
    require_spend : bool, default=True
        Reject a channel with zero spend in every row (right for training; a
        plan to predict may leave a channel off).
    positive_target : bool, default=False
        Require the target to be > 0 in every row (a multiplicative model fits its log).

    Returns
    -------
    pandas.DataFrame
        A new frame with columns ``[date, target, *channels, *controls]`` (no
        target column when ``target`` is None), ``date`` as naive
        ``datetime64[ns]``, every other column ``float64``, and a RangeIndex.

    Raises
    ------
    DataError
        At the first problem: a missing or doubly named column, too few rows, a bad
        date or value, negative or all-zero spend, unsorted or unevenly spaced dates.
    ConfigError
        If ``channels`` is empty or a bare string, or ``l_max`` is not an int >= 0.
    """
    roles = _check_spec(date, target, channels, controls, l_max)
    if len(df) == 0:
        raise DataError("The table is empty (0 rows); expected one row per date.")
    _check_columns(df, roles)
    if len(df) <= l_max:
        raise DataError(
            f"The table has {_plural(len(df), 'row')}, but at least {l_max + 1} are needed: the "
            f"adstock window is l_max={l_max} periods long, so the model needs more rows than that."
        )

    dates = _parse_dates(df[date], date)
    numeric = {name: _to_float(df[name], name, dates) for role, name in roles if role != "date"}
    for name, values in numeric.items():
        _check_values(values, name, dates, spend=name in channels)
    if positive_target and target is not None:
        not_positive = np.flatnonzero(numeric[target] <= 0)
        if not_positive.size:
            rows = _summarize(not_positive, lambda i: f"has {_show(numeric[target][i])}", "are <= 0", dates)
            raise DataError(
                f"Column '{target}' (the target) must be > 0 in every row for a multiplicative model, "
                f"which fits its logarithm: {rows}. Use form = \"additive\", or fix or drop those rows."
            )
    _check_date_order(dates, date)
    _check_even_steps(dates, date)
    zero = [name for name in channels if not np.any(numeric[name] != 0)]
    if zero and require_spend:
        raise DataError(
            f"Channel '{zero[0]}' has zero spend in all {len(dates)} rows; the model cannot "
            "learn its effect. Remove it from the channels or check the data."
        )
    return pd.DataFrame({date: dates, **numeric})


def _check_spec(
    date: str, target: str | None, channels: Sequence[str], controls: Sequence[str], l_max: int
) -> list[tuple[str, str]]:
    """Check the arguments; return (role, column) pairs in output order."""
    for arg, names in (("channels", channels), ("controls", controls)):
        if isinstance(names, str):
            raise ConfigError(
                f"The '{arg}' argument must be a sequence of column names, got the string "
                f"'{names}'. Did you mean ['{names}']?"
            )
    if len(channels) == 0:
        raise ConfigError("The 'channels' argument must name at least one spend column; got none.")
    if isinstance(l_max, bool) or not isinstance(l_max, int | np.integer) or l_max < 0:
        raise ConfigError(f"The 'l_max' argument must be an int >= 0. Got {l_max!r} instead.")

    roles = [("date", date)] + ([("target", target)] if target is not None else [])
    roles += [("channel", name) for name in channels] + [("control", name) for name in controls]
    for name, count in Counter(name for _, name in roles).items():
        if count > 1:
            used_as = " and ".join(role for role, other in roles if other == name)
            raise DataError(
                f"Column '{name}' is named {count} times in the spec (as {used_as}); "
                "each column can play only one role."
            )
    return roles


def _check_columns(df: pd.DataFrame, roles: list[tuple[str, str]]) -> None:
    """Every named column exists, exactly once."""
    available = [str(col) for col in df.columns]
    for role, name in roles:
        count = int(np.sum(df.columns == name))
        if count == 0:
            raise DataError(
                f"Column '{name}' ({role}) is not in the table; available columns: "
                f"{available}.{did_you_mean(name, available)}"
            )
        if count > 1:
            raise DataError(f"Column '{name}' ({role}) appears {count} times; expected once.")


def _parse_dates(raw: pd.Series, name: str) -> pd.Series:
    """Parse the date column to naive datetime64[ns] with a RangeIndex.

    Day-first dates (``16/04/2018``) are read as such when month-first reading fails on some row
    and day-first reading succeeds on every row.
    """
    if raw.isna().all():
        raise DataError(f"Column '{name}' is empty in every row; expected dates (e.g. '2018-04-02').")
    if pd.api.types.is_numeric_dtype(raw.dtype):
        # pandas would read 20180402 as nanoseconds since 1970: refuse, don't guess.
        raise DataError(
            f"Column '{name}' must hold dates (e.g. '2018-04-02'), but it holds numbers "
            f"(dtype {raw.dtype}); row 1 has {_show(raw.iloc[0])}."
        )
    try:
        parsed = raw
        if not pd.api.types.is_datetime64_any_dtype(raw.dtype):
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", "Could not infer format", UserWarning)
                parsed = pd.to_datetime(raw, errors="coerce")
                if parsed.isna().any() and not raw.isna().any():
                    day_first = pd.to_datetime(raw, errors="coerce", dayfirst=True)
                    if not day_first.isna().any():
                        parsed = day_first
        if parsed.dt.tz is not None:
            parsed = parsed.dt.tz_localize(None)
    except (ValueError, TypeError) as exc:
        raise DataError(f"Column '{name}' could not be parsed as dates: {exc}") from exc

    bad = np.flatnonzero(parsed.isna().to_numpy())
    if bad.size:
        rows = _summarize(
            bad, lambda i: "is empty" if pd.isna(raw.iloc[i]) else f"has {_show(raw.iloc[i])}",
            "are not dates",
        )
        raise DataError(f"Column '{name}' must hold dates (e.g. '2018-04-02'): {rows}.")
    try:
        return parsed.astype("datetime64[ns]").reset_index(drop=True)
    except (ValueError, OverflowError) as exc:
        raise DataError(f"Column '{name}' has dates outside 1677-2262: {exc}") from exc


def _to_float(raw: pd.Series, name: str, dates: pd.Series) -> np.ndarray:
    """Convert a column to float64, refusing text that is not a number; NA becomes NaN."""
    if pd.api.types.is_numeric_dtype(raw.dtype):
        return raw.to_numpy(dtype="float64", na_value=np.nan)
    coerced = pd.to_numeric(raw.astype(object), errors="coerce")
    values = coerced.to_numpy(dtype="float64", na_value=np.nan)
    bad = np.flatnonzero(np.isnan(values) & raw.notna().to_numpy())
    if bad.size:
        rows = _summarize(bad, lambda i: f"has {_show(raw.iloc[i])}", "are not", dates)
        raise DataError(f"Column '{name}' must be numeric: {rows}.")
    return values


def _check_values(values: np.ndarray, name: str, dates: pd.Series, *, spend: bool) -> None:
    """Every value is finite; spend is also never negative."""
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        rows = _summarize(
            bad, lambda i: "is missing" if np.isnan(values[i]) else f"is {_show(values[i])}",
            "are missing or infinite", dates,
        )
        raise DataError(f"Column '{name}' must have a finite number in every row: {rows}.")
    negative = np.flatnonzero(values < 0)
    if spend and negative.size:
        rows = _summarize(negative, lambda i: f"has {_show(values[i])}", "are negative", dates)
        raise DataError(f"Channel '{name}' must have spend >= 0: {rows}.")


def _check_date_order(dates: pd.Series, name: str) -> None:
    """Dates are unique and increasing."""
    duplicated = dates.duplicated().to_numpy()
    if duplicated.any():
        later = int(np.argmax(duplicated))
        earlier = int(np.argmax((dates == dates.iloc[later]).to_numpy()))
        n_dup = int(duplicated.sum())
        total = f" ({n_dup} duplicated rows in all)" if n_dup > 1 else ""
        raise DataError(
            f"Column '{name}' must have one row per date, but {_fmt_date(dates.iloc[later])} "
            f"appears in both row {earlier + 1} and row {later + 1}{total}."
        )
    backwards = np.flatnonzero(np.diff(dates.to_numpy()) < np.timedelta64(0, "ns"))
    if backwards.size:
        i = int(backwards[0]) + 1
        raise DataError(
            f"Column '{name}' must be sorted by increasing date, but the date goes "
            f"backwards at {_row(i, dates)}, which follows {_row(i - 1, dates)}. "
            "Sort the table by date."
        )


def _check_even_steps(dates: pd.Series, name: str) -> None:
    """Consecutive dates are one step apart: the most common step in days, or calendar months (see
    :class:`~mediamix.data.cadence.Cadence`)."""
    if len(dates) < 2:
        return
    cadence = Cadence.of(dates)
    index = pd.DatetimeIndex(dates)
    expected = pd.DatetimeIndex(cadence.shift(index[:-1], 1))
    off = np.flatnonzero(index[1:] != expected)
    if off.size:
        i = int(off[0])
        kind = "a gap" if index[i + 1] > expected[i] else "an irregular step"
        total = f"; {off.size} steps are irregular in all" if off.size > 1 else ""
        days = (index[i + 1] - index[i]) / pd.Timedelta(days=1)
        raise DataError(
            f"Column '{name}' has {kind} between rows {i + 1} and {i + 2}: expected {cadence.adjective} dates "
            f"{cadence.spacing}, but {_fmt_date(dates.iloc[i])} is followed by {_fmt_date(dates.iloc[i + 1])} "
            f"({days:g} days; expected {_fmt_date(expected[i])}){total}."
        )


def _summarize(
    rows: np.ndarray, what: Callable[[int], str], verb: str, dates: pd.Series | None = None
) -> str:
    """'row 5 (2018-04-30) has 'abc'' for one row; a count and the first few for more."""
    items = "; ".join(f"{_row(int(i), dates)} {what(int(i))}" for i in rows[:_MAX_SHOWN])
    if rows.size == 1:
        return items
    shown = f" (first {_MAX_SHOWN} shown)" if rows.size > _MAX_SHOWN else ""
    return f"{rows.size} rows {verb}{shown}: {items}"


def _row(i: int, dates: pd.Series | None = None) -> str:
    """'row 12 (2018-06-18)' for 0-based position ``i``; just 'row 12' without dates."""
    return f"row {i + 1}" if dates is None else f"row {i + 1} ({_fmt_date(dates.iloc[i])})"


def _fmt_date(value: pd.Timestamp) -> str:
    return value.strftime("%Y-%m-%d") if value == value.normalize() else str(value)


def _show(value: object) -> str:
    """A raw cell value as a user would recognise it: strings quoted, numbers bare."""
    if isinstance(value, np.generic):
        value = value.item()
    return f"'{value}'" if isinstance(value, str) else repr(value)


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
