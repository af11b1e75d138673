"""Tests for mediamix.transforms.adstock: hand values, a loop reference and the PyTensor twin."""

from __future__ import annotations

import re

import numpy as np
import pytensor.tensor as pt
import pytest

from mediamix.errors import ConfigError
from mediamix.transforms.adstock import ADSTOCKS, GeometricAdstock, geometric_weights, lag_stack


def loop_adstock(x: np.ndarray, alpha: np.ndarray, l_max: int, normalize: bool) -> np.ndarray:
    """Independent reference: out[t, c] = sum_l w[l, c] * x[t - l, c], written as plain loops."""
    n_dates, n_channels = x.shape
    out = np.zeros((n_dates, n_channels))
    for c in range(n_channels):
        weights = [alpha[c] ** lag for lag in range(l_max)]
        total = sum(weights)
        for t in range(n_dates):
            acc = 0.0
            for lag in range(l_max):
                if t - lag >= 0:
                    w = weights[lag] / total if normalize else weights[lag]
                    acc += w * x[t - lag, c]
            out[t, c] = acc
    return out


@pytest.fixture
def spend() -> np.ndarray:
    return np.random.default_rng(7).uniform(0.0, 3.0, size=(20, 3))


# --- hand-computed values -------------------------------------------------------------


def test_geometric_weights_by_hand() -> None:
    alpha = np.array([0.5, 0.0])
    raw = geometric_weights(alpha, l_max=3, normalize=False)
    assert raw.shape == (3, 2)  # (lag, channel)
    np.testing.assert_allclose(raw, [[1.0, 1.0], [0.5, 0.0], [0.25, 0.0]])
    # 1 + 0.5 + 0.25 = 1.75 = 7/4
    norm = geometric_weights(alpha, l_max=3, normalize=True)
    np.testing.assert_allclose(norm, [[4 / 7, 1.0], [2 / 7, 0.0], [1 / 7, 0.0]])


def test_lag_stack_by_hand() -> None:
    x = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0]])
    out = lag_stack(x, l_max=2)
    assert out.shape == (2, 3, 2)  # (lag, date, channel)
    np.testing.assert_array_equal(out[0], x)
    np.testing.assert_array_equal(out[1], [[0.0, 0.0], [1.0, 10.0], [2.0, 20.0]])


def test_lag_stack_window_longer_than_series_pads_zeros() -> None:
    x = np.array([[1.0], [2.0]])
    out = lag_stack(x, l_max=4)
    np.testing.assert_array_equal(out[:, :, 0], [[1.0, 2.0], [0.0, 1.0], [0.0, 0.0], [0.0, 0.0]])


def test_impulse_not_normalized_by_hand() -> None:
    x = np.array([[1.0], [0.0], [0.0], [0.0]])
    out = GeometricAdstock(l_max=3, normalize=False).apply_np(x, alpha=np.array([0.5]))
    np.testing.assert_allclose(out[:, 0], [1.0, 0.5, 0.25, 0.0])


def test_impulse_normalized_by_hand() -> None:
    x = np.array([[1.0], [0.0], [0.0], [0.0]])
    out = GeometricAdstock(l_max=3, normalize=True).apply_np(x, alpha=np.array([0.5]))
    np.testing.assert_allclose(out[:, 0], [4 / 7, 2 / 7, 1 / 7, 0.0])


def test_two_pulses_by_hand() -> None:
    # t0 = 1; t1 = 2 + .5*1; t2 = 0 + .5*2 + .25*1; t3 = 0 + 0 + .25*2
    x = np.array([[1.0], [2.0], [0.0], [0.0]])
    raw = GeometricAdstock(l_max=3, normalize=False).apply_np(x, alpha=np.array([0.5]))
    np.testing.assert_allclose(raw[:, 0], [1.0, 2.5, 1.25, 0.5])
    norm = GeometricAdstock(l_max=3, normalize=True).apply_np(x, alpha=np.array([0.5]))
    np.testing.assert_allclose(norm[:, 0], [4 / 7, 10 / 7, 5 / 7, 2 / 7])


def test_alpha_zero_is_identity() -> None:
    x = np.array([[3.0, 1.0], [0.0, 2.0], [5.0, 0.0]])
    for normalize in (True, False):
        out = GeometricAdstock(l_max=4, normalize=normalize).apply_np(x, alpha=np.zeros(2))
        np.testing.assert_allclose(out, x)


# --- independent loop reference ------------------------------------------------------------


@pytest.mark.parametrize("normalize", [True, False])
@pytest.mark.parametrize("l_max", [1, 4, 25])
def test_matches_loop_reference(spend: np.ndarray, normalize: bool, l_max: int) -> None:
    alpha = np.array([0.1, 0.55, 0.9])
    out = GeometricAdstock(l_max=l_max, normalize=normalize).apply_np(spend, alpha=alpha)
    assert out.shape == spend.shape
    np.testing.assert_allclose(out, loop_adstock(spend, alpha, l_max, normalize), rtol=1e-12)


# --- mass ---------------------------------------------------------------------------------


def test_normalized_adstock_preserves_mass(spend: np.ndarray) -> None:
    l_max = 5
    x = spend.copy()
    x[-(l_max - 1):] = 0.0  # the window's tail fits inside the series
    out = GeometricAdstock(l_max=l_max, normalize=True).apply_np(x, alpha=np.array([0.2, 0.6, 0.95]))
    np.testing.assert_allclose(out.sum(axis=0), x.sum(axis=0), rtol=1e-12)


def test_unnormalized_adstock_scales_mass_by_weight_sum(spend: np.ndarray) -> None:
    l_max = 5
    alpha = np.array([0.2, 0.6, 0.95])
    x = spend.copy()
    x[-(l_max - 1):] = 0.0
    out = GeometricAdstock(l_max=l_max, normalize=False).apply_np(x, alpha=alpha)
    weight_sum = (1 - alpha**l_max) / (1 - alpha)  # geometric series, independent of the code
    np.testing.assert_allclose(out.sum(axis=0), x.sum(axis=0) * weight_sum, rtol=1e-12)


def test_normalized_adstock_loses_only_the_tail_when_spend_runs_to_the_end() -> None:
    # One unit of spend in the last week: only lag 0's weight stays inside the window.
    x = np.array([[0.0], [0.0], [1.0]])
    out = GeometricAdstock(l_max=3, normalize=True).apply_np(x, alpha=np.array([0.5]))
    assert out.sum() == pytest.approx(4 / 7)


# --- batching over posterior draws -------------------------------------------------------


@pytest.mark.parametrize("normalize", [True, False])
def test_alpha_draw_dim_batches(spend: np.ndarray, normalize: bool) -> None:
    alpha = np.random.default_rng(3).uniform(0.0, 0.95, size=(5, 3))  # (draw, channel)
    adstock = GeometricAdstock(l_max=6, normalize=normalize)
    out = adstock.apply_np(spend, alpha=alpha)
    assert out.shape == (5, 20, 3)
    for s in range(5):
        np.testing.assert_allclose(out[s], adstock.apply_np(spend, alpha=alpha[s]), rtol=1e-14)
        np.testing.assert_allclose(out[s], loop_adstock(spend, alpha[s], 6, normalize), rtol=1e-12)


def test_x_draw_dim_batches_like_the_protocol_says(spend: np.ndarray) -> None:
    x = np.stack([spend, 2.0 * spend])  # (draw, date, channel)
    alpha = np.array([[0.3, 0.5, 0.7], [0.1, 0.2, 0.3]])
    adstock = GeometricAdstock(l_max=4)
    out = adstock.apply_np(x, alpha=alpha)
    for s in range(2):
        np.testing.assert_allclose(out[s], adstock.apply_np(x[s], alpha=alpha[s]))


# --- PyTensor twin ----------------------------------------------------------------------------


@pytest.mark.parametrize("normalize", [True, False])
@pytest.mark.parametrize("l_max", [1, 3, 8, 20, 30])  # 20 == T, 30 > T
def test_pytensor_twin_matches_numpy(spend: np.ndarray, normalize: bool, l_max: int) -> None:
    alpha = np.array([0.15, 0.5, 0.85], dtype="float64")
    adstock = GeometricAdstock(l_max=l_max, normalize=normalize)
    got = adstock.apply_pt(pt.as_tensor_variable(spend), pt.as_tensor_variable(alpha)).eval()
    assert got.shape == spend.shape
    np.testing.assert_allclose(got, adstock.apply_np(spend, alpha=alpha), rtol=0, atol=1e-10)


def test_pytensor_twin_accepts_plain_ndarray_x(spend: np.ndarray) -> None:
    alpha = np.array([0.3, 0.6, 0.9], dtype="float64")
    adstock = GeometricAdstock(l_max=4)
    got = adstock.apply_pt(spend, pt.as_tensor_variable(alpha)).eval()
    np.testing.assert_allclose(got, loop_adstock(spend, alpha, 4, True), rtol=0, atol=1e-10)


# --- configuration ----------------------------------------------------------------------------


@pytest.mark.parametrize("l_max", [0, -1, 2.5, True, "8"])
def test_invalid_l_max_raises(l_max: object) -> None:
    expected = f"The 'l_max' parameter of GeometricAdstock must be an int >= 1. Got {l_max!r} instead."
    with pytest.raises(ConfigError, match=re.escape(expected)):
        GeometricAdstock(l_max=l_max)  # type: ignore[arg-type]


def test_defaults_and_registry() -> None:
    adstock = GeometricAdstock()
    assert (adstock.l_max, adstock.normalize) == (8, True)
    assert ADSTOCKS["geometric"] is GeometricAdstock
    prior = GeometricAdstock.default_priors["alpha"]
    assert prior.dist == "Beta"
    assert prior.params == {"alpha": 1.0, "beta": 3.0}
