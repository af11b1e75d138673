"""Tests for mediamix.transforms.seasonality: Fourier features and the linear trend."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from mediamix.transforms.seasonality import YEAR_DAYS, fourier_features, fourier_labels, linear_trend

EPOCH = pd.Timestamp("1970-01-01")


def direct_fourier(dates: pd.DatetimeIndex, order: int, period: float) -> np.ndarray:
    """Reference: [sin(2πkd/P), cos(2πkd/P)] per k, d = days since 1970-01-01 from nanoseconds."""
    rows = []
    for ts in dates:
        d = (ts.value - EPOCH.value) / 86_400e9
        row = []
        for k in range(1, order + 1):
            row += [math.sin(2 * math.pi * k * d / period), math.cos(2 * math.pi * k * d / period)]
        rows.append(row)
    return np.array(rows).reshape(len(dates), 2 * order)


@pytest.fixture
def weeks() -> pd.DatetimeIndex:
    return pd.date_range("2018-04-02", periods=60, freq="W-MON")


def test_labels_order() -> None:
    assert fourier_labels(2) == ["sin_1", "cos_1", "sin_2", "cos_2"]
    assert fourier_labels(1) == ["sin_1", "cos_1"]
    assert fourier_labels(0) == []


@pytest.mark.parametrize("order", [1, 2, 5])
def test_shape_matches_labels(weeks: pd.DatetimeIndex, order: int) -> None:
    out = fourier_features(weeks, order)
    assert out.shape == (60, 2 * order)
    assert out.shape[1] == len(fourier_labels(order))


def test_order_zero_is_empty(weeks: pd.DatetimeIndex) -> None:
    out = fourier_features(weeks, 0)
    assert out.shape == (60, 0)


def test_hand_values_at_epoch_and_quarter_year() -> None:
    dates = pd.DatetimeIndex([EPOCH, EPOCH + pd.Timedelta(days=YEAR_DAYS / 4)])
    out = fourier_features(dates, 2)
    # Epoch: phase 0. Quarter year: phase π/2 for k=1, π for k=2.
    np.testing.assert_allclose(out, [[0.0, 1.0, 0.0, 1.0], [1.0, 0.0, 0.0, -1.0]], atol=1e-12)


def test_values_match_direct_formula(weeks: pd.DatetimeIndex) -> None:
    np.testing.assert_allclose(fourier_features(weeks, 3), direct_fourier(weeks, 3, 365.25), atol=1e-10)


def test_custom_period_matches_direct_formula() -> None:
    daily = pd.date_range("2021-02-27 13:00", periods=30, freq="D")
    np.testing.assert_allclose(fourier_features(daily, 2, period=7.0), direct_fourier(daily, 2, 7.0),
                               atol=1e-10)


def test_sin_cos_pairs_lie_on_the_unit_circle(weeks: pd.DatetimeIndex) -> None:
    out = fourier_features(weeks, 4)
    np.testing.assert_allclose(out[:, 0::2] ** 2 + out[:, 1::2] ** 2, 1.0, rtol=1e-12)


def test_periodic_over_whole_years() -> None:
    start = pd.Timestamp("2019-03-07 05:30")  # not midnight, so offsets are fractional days
    dates = pd.DatetimeIndex([start + pd.Timedelta(days=YEAR_DAYS * k) for k in range(4)])
    assert dates[1] - dates[0] == pd.Timedelta(days=365, hours=6)
    out = fourier_features(dates, 3)
    for k in range(1, 4):
        np.testing.assert_allclose(out[k], out[0], atol=1e-9)


def test_half_year_flips_the_first_harmonic() -> None:
    start = pd.Timestamp("2020-11-19 17:45")
    dates = pd.DatetimeIndex([start, start + pd.Timedelta(days=YEAR_DAYS / 2)])
    out = fourier_features(dates, 2)
    np.testing.assert_allclose(out[1, :2], -out[0, :2], atol=1e-9)  # k=1 half a cycle
    np.testing.assert_allclose(out[1, 2:], out[0, 2:], atol=1e-9)  # k=2 a whole cycle


def test_periodic_with_custom_period() -> None:
    start = pd.Timestamp("2022-06-01 08:00")
    dates = pd.DatetimeIndex([start + pd.Timedelta(days=7 * k) for k in range(5)])
    out = fourier_features(dates, 2, period=7.0)
    np.testing.assert_allclose(out, np.repeat(out[:1], 5, axis=0), atol=1e-9)


def test_datetime64_array_gives_same_features(weeks: pd.DatetimeIndex) -> None:
    np.testing.assert_array_equal(fourier_features(weeks.to_numpy(), 2), fourier_features(weeks, 2))


def test_linear_trend_zero_at_start_one_at_span() -> None:
    start = pd.Timestamp("2020-01-06")
    span = 700.0
    dates = pd.DatetimeIndex(
        [start, start + pd.Timedelta(days=350), start + pd.Timedelta(days=700), start - pd.Timedelta(days=70)]
    )
    out = linear_trend(dates, start, span)
    np.testing.assert_allclose(out, [0.0, 0.5, 1.0, -0.1], rtol=1e-14, atol=0)
    assert out[0] == 0.0 and out[2] == 1.0


def test_linear_trend_is_linear_in_time(weeks: pd.DatetimeIndex) -> None:
    span = (weeks[-1] - weeks[0]).days
    out = linear_trend(weeks, weeks[0], span)
    assert out.shape == (60,)
    np.testing.assert_allclose(np.diff(out), 7.0 / span, rtol=1e-12)
    assert out[-1] == pytest.approx(1.0, abs=1e-15)


def test_linear_trend_fractional_days() -> None:
    start = pd.Timestamp("2021-01-01")
    out = linear_trend(pd.DatetimeIndex([start + pd.Timedelta(hours=6)]), start, 2.0)
    assert out[0] == pytest.approx(0.125)  # 0.25 days / 2 days
