"""Tests for every saturation in the catalogue: hand values, properties, derivatives and twins."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.compile.mode import Mode

from mediamix.transforms import (
    ADSTOCKS,
    SATURATIONS,
    HillSaturation,
    LogisticSaturation,
    MichaelisMentenSaturation,
    LogSaturation,
    PowerSaturation,
    TanhSaturation,
)

#: See test_adstock_catalog.PT_MODE: the model's rewrites, run by NumPy, no JIT.
PT_MODE = Mode(linker="py", optimizer="fast_run").excluding("fusion")

NAMES = list(SATURATIONS)
BOUNDED = ["logistic", "hill", "michaelis_menten", "tanh"]


def random_params(name: str, rng: np.random.Generator, size: tuple[int, ...]) -> dict[str, np.ndarray]:
    """Random parameters over (and a bit beyond) each default prior's bulk, dims (*size, channel)."""
    draw = {
        "lam": lambda: rng.uniform(0.3, 8.0, size),
        "half_saturation": lambda: rng.uniform(0.1, 1.5, size),
        "slope": lambda: rng.uniform(0.3, 4.0, size),
        "mm_half": lambda: rng.uniform(0.1, 1.5, size),
        "tanh_scale": lambda: rng.uniform(0.2, 2.5, size),
        "power_exponent": lambda: rng.uniform(0.05, 0.95, size),
        "log_offset": lambda: rng.uniform(0.01, 1.0, size),
    }
    return {k: draw[k]() for k in SATURATIONS[name].default_priors}


@functools.cache
def compiled_pt(name: str) -> pytensor.compile.function.types.Function:
    """``apply_pt`` compiled once per saturation, taking (x, *params) in default-prior order."""
    x = pt.matrix("x", dtype="float64")
    params = [pt.vector(k, dtype="float64") for k in SATURATIONS[name].default_priors]
    out = SATURATIONS[name]().apply_pt(x, **{p.name: p for p in params})
    return pytensor.function([x, *params], out, mode=PT_MODE)


def run_pt(name: str, x: np.ndarray, params: dict[str, np.ndarray]) -> np.ndarray:
    return compiled_pt(name)(x, *(params[k] for k in SATURATIONS[name].default_priors))


@pytest.fixture
def x() -> np.ndarray:
    """Scaled spend (date, channel) with zeros, tiny values and values past the biggest week."""
    out = np.random.default_rng(11).uniform(0.0, 1.5, size=(30, 3))
    out[:3] = 0.0
    out[3, 0] = 1e-300
    out[4, 1] = 1e-9
    return out


# --- hand-computed values --------------------------------------------------------------------


def test_hill_by_hand() -> None:
    # K = 2, S = 2: x = 2 -> 4/8; x = 4 -> 16/20; x = 1 -> 1/5. K = 1, S = 1/2: x = 4 -> 2/3.
    x = np.array([[2.0, 4.0], [4.0, 0.0], [1.0, 1.0]])
    out = HillSaturation().apply_np(x, half_saturation=np.array([2.0, 1.0]), slope=np.array([2.0, 0.5]))
    np.testing.assert_allclose(out, [[0.5, 2 / 3], [0.8, 0.0], [0.2, 0.5]], rtol=1e-14)


def test_michaelis_menten_by_hand() -> None:
    x = np.array([[1.0, 0.5], [3.0, 0.0]])
    out = MichaelisMentenSaturation().apply_np(x, mm_half=np.array([1.0, 0.25]))
    np.testing.assert_allclose(out, [[0.5, 2 / 3], [0.75, 0.0]], rtol=1e-15)


def test_tanh_by_hand() -> None:
    x = np.array([[2.0, 0.0], [1.0, 0.5 * math.log(3.0)]])
    out = TanhSaturation().apply_np(x, tanh_scale=np.array([2.0, 0.5]))
    # tanh(1); tanh(0) = 0; tanh(1/2); tanh(ln 3) = (9 - 1) / (9 + 1).
    np.testing.assert_allclose(out, [[math.tanh(1.0), 0.0], [math.tanh(0.5), 0.8]], rtol=1e-14)


def test_power_by_hand() -> None:
    x = np.array([[4.0, 8.0], [0.25, 0.0]])
    out = PowerSaturation().apply_np(x, power_exponent=np.array([0.5, 1 / 3]))
    np.testing.assert_allclose(out, [[2.0, 2.0], [0.5, 0.0]], rtol=1e-14)


def test_log_by_hand() -> None:
    # log(1 + x/κ): κ = 1, x = e - 1 -> 1; κ = 0.5, x = 1.5 -> log 4; x = 0 -> 0.
    x = np.array([[math.e - 1.0, 1.5], [0.0, 0.0]])
    out = LogSaturation().apply_np(x, log_offset=np.array([1.0, 0.5]))
    np.testing.assert_allclose(out, [[1.0, math.log(4.0)], [0.0, 0.0]], rtol=1e-14)


def test_log_gives_a_constant_elasticity_in_the_multiplicative_form() -> None:
    """exp(β · log(1 + x/κ)) = (1 + x/κ)^β: doubling spend far above κ multiplies the KPI by 2^β."""
    beta, kappa = 0.3, np.array([1e-3])
    x = np.array([[50.0], [100.0]])
    kpi = np.exp(beta * LogSaturation().apply_np(x, log_offset=kappa))
    np.testing.assert_allclose(kpi[1] / kpi[0], 2.0**beta, rtol=1e-4)


def test_tanh_is_logistic_with_lam_two_over_scale(x: np.ndarray) -> None:
    scale = np.array([0.3, 1.0, 2.2])
    np.testing.assert_allclose(
        TanhSaturation().apply_np(x, tanh_scale=scale),
        LogisticSaturation().apply_np(x, lam=2.0 / scale),
        rtol=1e-12,
        atol=1e-15,
    )


def test_michaelis_menten_is_hill_with_slope_one(x: np.ndarray) -> None:
    k = np.array([0.2, 0.6, 1.3])
    np.testing.assert_allclose(
        MichaelisMentenSaturation().apply_np(x, mm_half=k),
        HillSaturation().apply_np(x, half_saturation=k, slope=np.ones(3)),
        rtol=1e-12,
        atol=1e-300,
    )


# --- properties ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_zero_at_zero_and_monotone_increasing(name: str) -> None:
    rng = np.random.default_rng(12)
    grid = np.linspace(0.0, 3.0, 301)[:, None] * np.ones((1, 4))
    for _ in range(5):
        out = SATURATIONS[name]().apply_np(grid, **random_params(name, rng, (4,)))
        assert np.all(out[0] == 0.0)
        assert np.all(np.diff(out, axis=0) > 0.0)


@pytest.mark.parametrize("name", BOUNDED)
def test_bounded_by_one(name: str) -> None:
    rng = np.random.default_rng(13)
    grid = np.concatenate([np.linspace(0.0, 5.0, 101), [50.0, 1e12]])[:, None] * np.ones((1, 4))
    out = SATURATIONS[name]().apply_np(grid, **random_params(name, rng, (4,)))
    assert np.all((out >= 0.0) & (out <= 1.0))
    assert np.all(out[-1] > 0.99)  # and it gets there


def test_power_is_unbounded_but_at_most_one_up_to_the_biggest_week() -> None:
    p = np.array([0.1, 0.5, 0.9])
    grid = np.linspace(0.0, 1.0, 51)[:, None] * np.ones((1, 3))
    assert np.all(PowerSaturation().apply_np(grid, power_exponent=p) <= 1.0)
    assert np.all(PowerSaturation().apply_np(np.full((1, 3), 100.0), power_exponent=p) > 1.0)


@pytest.mark.parametrize("name", ["hill", "michaelis_menten"])
def test_half_saturation_point(name: str) -> None:
    rng = np.random.default_rng(14)
    params = random_params(name, rng, (6,))
    k = params["half_saturation" if name == "hill" else "mm_half"]
    out = SATURATIONS[name]().apply_np(k[None, :], **params)
    np.testing.assert_allclose(out, 0.5, rtol=1e-14)


def test_hill_slope_sets_the_shape() -> None:
    # S <= 1: concave from zero; S > 1: convex below K then concave (an S-curve).
    grid = np.linspace(0.0, 3.0, 301)[:, None]
    k = np.array([1.0])
    concave = HillSaturation().apply_np(grid, half_saturation=k, slope=np.array([0.8]))[:, 0]
    assert np.all(np.diff(concave, 2) < 0.0)
    s_curve = HillSaturation().apply_np(grid, half_saturation=k, slope=np.array([3.0]))[:, 0]
    second = np.diff(s_curve, 2)
    assert np.all(second[:60] > 0.0) and np.all(second[120:] < 0.0)


# --- derivative ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_derivative_matches_finite_differences(name: str) -> None:
    rng = np.random.default_rng(15)
    sat = SATURATIONS[name]()
    x = rng.uniform(0.05, 2.0, size=(40, 4))
    params = random_params(name, rng, (4,))
    h = 1e-6
    numeric = (sat.apply_np(x + h, **params) - sat.apply_np(x - h, **params)) / (2 * h)
    np.testing.assert_allclose(sat.derivative_np(x, **params), numeric, rtol=1e-6, atol=1e-9)
    assert np.all(sat.derivative_np(x, **params) > 0.0)


def test_hill_derivative_limits_at_zero() -> None:
    x = np.zeros((1, 3))
    d = HillSaturation().derivative_np(x, half_saturation=np.array([0.5, 0.5, 0.5]), slope=np.array([0.5, 1.0, 2.0]))
    assert np.isfinite(d[0, 0]) and d[0, 0] > 1e100  # the true limit is +inf
    assert d[0, 1] == pytest.approx(2.0)  # 1 / K
    assert 0.0 <= d[0, 2] < 1e-300  # the true limit is 0


@pytest.mark.parametrize("name", NAMES)
def test_derivative_is_finite_at_zero(name: str) -> None:
    rng = np.random.default_rng(16)
    d = SATURATIONS[name]().derivative_np(np.zeros((2, 5)), **random_params(name, rng, (5,)))
    assert np.all(np.isfinite(d)) and np.all(d >= 0.0)


# --- batching over posterior draws ------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_draw_dim_batches(x: np.ndarray, name: str) -> None:
    rng = np.random.default_rng(17)
    sat = SATURATIONS[name]()
    params = random_params(name, rng, (4, 3))  # (draw, channel)
    out = sat.apply_np(x, **params)
    deriv = sat.derivative_np(x, **params)
    assert out.shape == deriv.shape == (4, 30, 3)
    xs = x * rng.uniform(0.5, 2.0, size=(4, 1, 1))  # (draw, date, channel), paired with params
    out_x = sat.apply_np(xs, **params)
    for s in range(4):
        one = {k: v[s] for k, v in params.items()}
        np.testing.assert_allclose(out[s], sat.apply_np(x, **one), rtol=1e-15)
        np.testing.assert_allclose(deriv[s], sat.derivative_np(x, **one), rtol=1e-15)
        np.testing.assert_allclose(out_x[s], sat.apply_np(xs[s], **one), rtol=1e-15)


# --- PyTensor twin -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_pytensor_twin_matches_numpy(x: np.ndarray, name: str) -> None:
    rng = np.random.default_rng(18)
    params = random_params(name, rng, (4, 3))
    want = SATURATIONS[name]().apply_np(x, **params)
    for s in range(4):
        got = run_pt(name, x, {k: v[s] for k, v in params.items()})
        assert got.shape == x.shape
        np.testing.assert_allclose(got, want[s], rtol=0, atol=1e-10)


@pytest.mark.parametrize("name", NAMES)
def test_pytensor_twin_eval_with_plain_ndarray_x(x: np.ndarray, name: str) -> None:
    params = random_params(name, np.random.default_rng(19), (3,))
    sat = SATURATIONS[name]()
    got = sat.apply_pt(x, **{k: pt.as_tensor_variable(v) for k, v in params.items()}).eval(mode=PT_MODE)
    np.testing.assert_allclose(got, sat.apply_np(x, **params), rtol=0, atol=1e-10)


@pytest.mark.parametrize("name", NAMES)
def test_pytensor_gradients_finite_at_zero_spend(x: np.ndarray, name: str) -> None:
    # Gradients w.r.t. the parameters and w.r.t. x (through which adstock parameters
    # get theirs), with x = 0 in places; slopes/exponents below and above 1.
    sat = SATURATIONS[name]()
    xv = pt.matrix("x", dtype="float64")
    params = {k: pt.vector(k, dtype="float64") for k in sat.default_priors}
    out = sat.apply_pt(xv, **params).sum()
    f = pytensor.function([xv, *params.values()], pt.grad(out, [xv, *params.values()]), mode=PT_MODE)
    rng = np.random.default_rng(20)
    for values in (random_params(name, rng, (3,)) for _ in range(4)):
        if name == "hill":
            values["slope"] = np.array([0.3, 1.0, 3.5])
        for g in f(x, *(values[k] for k in params)):
            assert np.all(np.isfinite(g))


@pytest.mark.parametrize("saturation", NAMES)
@pytest.mark.parametrize("adstock", list(ADSTOCKS))
def test_adstock_then_saturation_gradients_finite_with_zero_spend(adstock: str, saturation: str) -> None:
    # The model's composition, on spend that starts with zero weeks.
    x = np.zeros((8, 2))
    x[3:] = np.random.default_rng(21).uniform(0.0, 1.0, size=(5, 2))
    ad, sat = ADSTOCKS[adstock](l_max=3), SATURATIONS[saturation]()
    ad_p = {k: pt.vector(k, dtype="float64") for k in ad.default_priors}
    sat_p = {k: pt.vector(k, dtype="float64") for k in sat.default_priors}
    inputs = [*ad_p.values(), *sat_p.values()]
    out = sat.apply_pt(ad.apply_pt(x, **ad_p), **sat_p).sum()
    f = pytensor.function(inputs, pt.grad(out, inputs), mode=PT_MODE)
    values = {k: np.array([0.3, 0.7]) for k in (*ad_p, *sat_p)}  # in every parameter's support
    for g in f(*(values[v.name] for v in inputs)):
        assert np.all(np.isfinite(g))
