"""Tests for mediamix.transforms.saturation.LogisticSaturation."""

from __future__ import annotations

import math

import numpy as np
import pytensor.tensor as pt
import pytest

from mediamix.transforms.saturation import SATURATIONS, LogisticSaturation

SAT = LogisticSaturation()


def test_hand_values() -> None:
    # lam * x = ln 3: e^{-ln 3} = 1/3, so (1 - 1/3) / (1 + 1/3) = 1/2.
    # lam * x = ln 9 on the second channel: (1 - 1/9) / (1 + 1/9) = 8/10.
    x = np.array([[0.0, 0.0], [math.log(3.0), math.log(9.0) / 2.0]])
    out = SAT.apply_np(x, lam=np.array([1.0, 2.0]))
    np.testing.assert_allclose(out, [[0.0, 0.0], [0.5, 0.8]], rtol=1e-14, atol=0)


def test_zero_spend_gives_exactly_zero() -> None:
    out = SAT.apply_np(np.zeros((3, 2)), lam=np.array([0.1, 7.0]))
    assert np.all(out == 0.0)


def test_equals_closed_form_and_tanh() -> None:
    rng = np.random.default_rng(11)
    x = rng.uniform(0.0, 3.0, size=(30, 3))
    lam = np.array([0.3, 2.0, 6.5])
    out = SAT.apply_np(x, lam=lam)
    closed = np.empty_like(x)
    for t in range(x.shape[0]):
        for c in range(x.shape[1]):
            e = math.exp(-lam[c] * x[t, c])
            closed[t, c] = (1.0 - e) / (1.0 + e)
    np.testing.assert_allclose(out, closed, rtol=1e-13)
    np.testing.assert_allclose(out, np.tanh(lam * x / 2.0), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("lam", [0.5, 2.0, 4.0])
def test_monotone_increasing_and_bounded(lam: float) -> None:
    x = np.linspace(0.0, 8.0, 401)[:, None]
    out = SAT.apply_np(x, lam=np.array([lam]))[:, 0]
    assert out[0] == 0.0
    assert np.all(np.diff(out) > 0.0)
    assert np.all((out >= 0.0) & (out < 1.0))


@pytest.mark.parametrize("lam", [0.5, 2.0, 4.0])
def test_concave(lam: float) -> None:
    x = np.linspace(0.0, 4.0, 201)[:, None]
    out = SAT.apply_np(x, lam=np.array([lam]))[:, 0]
    second = out[2:] - 2.0 * out[1:-1] + out[:-2]
    assert np.all(second < 1e-14)
    # Strictly concave where the curve still bends noticeably.
    assert np.all(second[: len(second) // 4] < 0.0)
    # Chords lie below the curve: f((a + b) / 2) > (f(a) + f(b)) / 2.
    assert np.all(out[1:-1] >= (out[:-2] + out[2:]) / 2.0 - 1e-15)


def test_larger_lam_saturates_faster() -> None:
    x = np.full((1, 3), 0.5)
    out = SAT.apply_np(x, lam=np.array([0.5, 1.0, 4.0]))[0]
    assert out[0] < out[1] < out[2]


def test_pytensor_twin_matches_numpy() -> None:
    rng = np.random.default_rng(5)
    x = rng.uniform(0.0, 2.0, size=(25, 3))
    lam = np.array([0.4, 1.5, 5.0], dtype="float64")
    got = SAT.apply_pt(pt.as_tensor_variable(x), pt.as_tensor_variable(lam)).eval()
    assert got.shape == x.shape
    np.testing.assert_allclose(got, SAT.apply_np(x, lam=lam), rtol=0, atol=1e-12)


def test_lam_draw_dim_batches() -> None:
    rng = np.random.default_rng(9)
    x = rng.uniform(0.0, 2.0, size=(12, 2))
    lam = rng.gamma(3.0, 1.0, size=(4, 2))  # (draw, channel)
    out = SAT.apply_np(x, lam=lam)
    assert out.shape == (4, 12, 2)
    for s in range(4):
        np.testing.assert_allclose(out[s], SAT.apply_np(x, lam=lam[s]), rtol=1e-15)
        np.testing.assert_allclose(out[s], np.tanh(lam[s] * x / 2.0), rtol=1e-12, atol=1e-15)


def test_x_and_lam_draw_dims_pair_up() -> None:
    # Adstocked spend differs per draw: x (draw, date, channel) with lam (draw, channel).
    rng = np.random.default_rng(10)
    x = rng.uniform(0.0, 2.0, size=(3, 8, 2))
    lam = rng.gamma(3.0, 1.0, size=(3, 2))
    out = SAT.apply_np(x, lam=lam)
    assert out.shape == (3, 8, 2)
    for s in range(3):
        np.testing.assert_allclose(out[s], SAT.apply_np(x[s], lam=lam[s]), rtol=1e-15)


def test_registry_and_default_prior() -> None:
    assert SATURATIONS["logistic"] is LogisticSaturation
    prior = LogisticSaturation.default_priors["lam"]
    assert (prior.dist, prior.params) == ("Gamma", {"alpha": 3.0, "beta": 1.0})
