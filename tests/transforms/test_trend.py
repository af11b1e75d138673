"""The piecewise trend's hinge basis against hand-computed values and its defining properties."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mediamix.transforms import changepoint_basis, changepoint_locations, linear_trend


def test_locations_are_evenly_spaced_inside_the_span() -> None:
    np.testing.assert_allclose(changepoint_locations(4), [0.2, 0.4, 0.6, 0.8])
    np.testing.assert_allclose(changepoint_locations(1), [0.5])


def test_basis_matches_a_hand_example() -> None:
    t = np.array([0.0, 0.1, 0.25, 0.4, 0.5, 0.9, 1.0, 1.2])
    basis = changepoint_basis(t, np.array([0.25, 0.5]))
    expected = np.array([
        [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.15, 0.0], [0.25, 0.0], [0.65, 0.4], [0.75, 0.5], [0.95, 0.7],
    ])
    np.testing.assert_allclose(basis, expected)


def test_trend_is_continuous_with_the_slope_changing_at_each_changepoint() -> None:
    k, delta, s = 1.0, np.array([-2.0, 0.5, 3.0]), changepoint_locations(3)
    t = np.linspace(0.0, 1.5, 1501)  # past 1: extrapolation
    trend = k * t + changepoint_basis(t, s) @ delta
    step = t[1] - t[0]
    slopes = np.diff(trend) / step
    assert np.max(np.abs(np.diff(trend))) <= np.max(np.abs(k + np.cumsum(delta))) * step + 1e-12  # no jumps
    expected = k + np.concatenate([[0.0], np.cumsum(delta)])
    for lo, hi, slope in zip([0.0, *s], [*s, 1.5], expected, strict=True):
        inside = (t[:-1] > lo + step) & (t[1:] < hi - step)
        np.testing.assert_allclose(slopes[inside], slope, atol=1e-9)
    # After the training span the trend keeps its last slope.
    np.testing.assert_allclose(slopes[t[:-1] > 1.0], k + delta.sum(), atol=1e-9)


def test_basis_on_dates_uses_the_training_span() -> None:
    dates = pd.date_range("2024-01-01", periods=5, freq="W-MON")
    t = linear_trend(dates, dates[0], 28.0)
    basis = changepoint_basis(t, np.array([0.5]))
    np.testing.assert_allclose(basis[:, 0], [0.0, 0.0, 0.0, 0.25, 0.5])
