"""Tests for every adstock in the catalogue: hand values, references, twins and properties.

GeometricAdstock's own hand values live in test_adstock.py; here every adstock is
checked against a plain-loop reference whose weights come from scalar formulas
(``math``) or from ``scipy.stats``, never from the library's weight functions.
"""

from __future__ import annotations

import functools
import math
import re

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.compile.mode import Mode
from scipy import stats

from mediamix.errors import ConfigError
from mediamix.transforms import (
    ADSTOCKS,
    BinomialAdstock,
    DelayedAdstock,
    GeometricAdstock,
    WeibullCDFAdstock,
    WeibullPDFAdstock,
)
from mediamix.transforms.adstock import convolve_pt, weibull_cdf_weights, weibull_pdf_weights

#: The model's graph rewrites (stabilization, specialization) run by NumPy: no JIT,
#: so the tests stay fast on a cold compile cache. Fusion is left out because the
#: Python implementation of fused scalar code computes 1/x in float32.
PT_MODE = Mode(linker="py", optimizer="fast_run").excluding("fusion")


# --- references ------------------------------------------------------------------------------


def scalar_weight(name: str, lag: int, l_max: int, p: dict[str, float]) -> float:
    """The raw (unnormalized) weight of one lag, straight from each transform's definition."""
    if name == "geometric":
        return p["alpha"] ** lag
    if name == "delayed":
        return p["alpha"] ** ((lag - p["theta"]) ** 2)
    if name == "weibull_cdf":
        return 1.0 - stats.weibull_min.cdf(lag, p["weibull_shape"], scale=p["weibull_scale"])
    if name == "weibull_pdf":
        return stats.weibull_min.pdf(lag + 1, p["weibull_shape"], scale=p["weibull_scale"])
    if name == "binomial":  # Meridian: (1 - s / (L + 1))^(1/alpha - 1), L = max_lag = l_max - 1
        return (1.0 - lag / ((l_max - 1) + 1)) ** (1.0 / p["binomial_alpha"] - 1.0)
    raise AssertionError(name)


def loop_adstock(name: str, x: np.ndarray, params: dict[str, np.ndarray], l_max: int, normalize: bool) -> np.ndarray:
    """out[t, c] = Σ_l w[l, c] x[t - l, c] as plain loops, weights from :func:`scalar_weight`."""
    n_dates, n_channels = x.shape
    out = np.zeros((n_dates, n_channels))
    for c in range(n_channels):
        p = {k: float(v[c]) for k, v in params.items()}
        w = [scalar_weight(name, lag, l_max, p) for lag in range(l_max)]
        total = sum(w)
        for t in range(n_dates):
            for lag in range(min(l_max, t + 1)):
                out[t, c] += (w[lag] / total if normalize else w[lag]) * x[t - lag, c]
    return out


#: Typical parameters per adstock, three channels.
PARAMS: dict[str, dict[str, np.ndarray]] = {
    "geometric": {"alpha": np.array([0.1, 0.5, 0.85])},
    "delayed": {"alpha": np.array([0.2, 0.5, 0.8]), "theta": np.array([0.0, 1.3, 3.6])},
    "weibull_cdf": {"weibull_shape": np.array([0.6, 1.0, 2.5]), "weibull_scale": np.array([0.8, 2.0, 4.0])},
    "weibull_pdf": {"weibull_shape": np.array([0.6, 1.5, 3.0]), "weibull_scale": np.array([0.8, 2.0, 4.0])},
    "binomial": {"binomial_alpha": np.array([0.1, 0.5, 0.9])},
}


def random_params(name: str, rng: np.random.Generator, size: tuple[int, ...]) -> dict[str, np.ndarray]:
    """Random parameters in each parameter's support, dims (*size, channel)."""
    draw = {
        "alpha": lambda: rng.uniform(0.05, 0.95, size),
        "theta": lambda: rng.uniform(0.0, 5.0, size),
        "weibull_shape": lambda: rng.uniform(0.3, 4.0, size),
        "weibull_scale": lambda: rng.uniform(0.3, 6.0, size),
        "binomial_alpha": lambda: rng.uniform(0.05, 1.0, size),
    }
    return {k: draw[k]() for k in ADSTOCKS[name].default_priors}


@functools.cache
def compiled_pt(adstock: object) -> pytensor.compile.function.types.Function:
    """``apply_pt`` compiled once per adstock, taking (x, *params) in default-prior order."""
    x = pt.matrix("x", dtype="float64")
    params = [pt.vector(k, dtype="float64") for k in type(adstock).default_priors]
    out = adstock.apply_pt(x, **{p.name: p for p in params})  # type: ignore[attr-defined]
    return pytensor.function([x, *params], out, mode=PT_MODE, on_unused_input="ignore")


def run_pt(adstock: object, x: np.ndarray, params: dict[str, np.ndarray]) -> np.ndarray:
    return compiled_pt(adstock)(x, *(params[k] for k in type(adstock).default_priors))


@pytest.fixture
def spend() -> np.ndarray:
    return np.random.default_rng(7).uniform(0.0, 3.0, size=(20, 3))


NAMES = list(ADSTOCKS)
IMPULSE = np.array([[1.0], [0.0], [0.0], [0.0]])


# --- hand-computed values --------------------------------------------------------------------


def test_delayed_impulse_by_hand() -> None:
    # alpha = 1/2, theta = 1: exponents (0-1)^2, 0, (2-1)^2 -> weights 1/2, 1, 1/2; sum 2.
    alpha, theta = np.array([0.5]), np.array([1.0])
    raw = DelayedAdstock(l_max=3, normalize=False).apply_np(IMPULSE, alpha=alpha, theta=theta)
    np.testing.assert_allclose(raw[:, 0], [0.5, 1.0, 0.5, 0.0], rtol=1e-14)
    norm = DelayedAdstock(l_max=3).apply_np(IMPULSE, alpha=alpha, theta=theta)
    np.testing.assert_allclose(norm[:, 0], [0.25, 0.5, 0.25, 0.0], rtol=1e-14)


def test_delayed_theta_zero_alpha_zero_is_identity() -> None:
    x = np.array([[3.0, 1.0], [0.0, 2.0], [5.0, 0.0]])
    out = DelayedAdstock(l_max=4).apply_np(x, alpha=np.zeros(2), theta=np.zeros(2))
    np.testing.assert_allclose(out, x)


@pytest.mark.parametrize("normalize", [True, False])
def test_delayed_alpha_zero_puts_everything_on_the_peak_in_both_twins(normalize: bool) -> None:
    """0·log(0) = 0 in NumPy and PyTensor alike (found in review: PyTensor gave NaN weights)."""
    adstock = DelayedAdstock(l_max=3, normalize=normalize)
    alpha, theta = np.array([0.0]), np.array([1.0])
    expected = np.array([0.0, 1.0, 0.0, 0.0])  # the impulse, delayed by theta = 1
    np.testing.assert_allclose(adstock.apply_np(IMPULSE, alpha=alpha, theta=theta)[:, 0], expected)
    np.testing.assert_allclose(run_pt(adstock, IMPULSE, {"alpha": alpha, "theta": theta})[:, 0], expected)


def test_weibull_cdf_impulse_by_hand() -> None:
    # shape 2, scale 2: exp(-(l/2)^2) = 1, e^{-1/4}, e^{-1}.
    out = WeibullCDFAdstock(l_max=3, normalize=False).apply_np(
        IMPULSE, weibull_shape=np.array([2.0]), weibull_scale=np.array([2.0])
    )
    np.testing.assert_allclose(out[:, 0], [1.0, math.exp(-0.25), math.exp(-1.0), 0.0], rtol=1e-14)


def test_weibull_pdf_impulse_by_hand() -> None:
    # shape 2, scale 1: f(t) = 2 t e^{-t^2} at t = 1, 2, 3.
    out = WeibullPDFAdstock(l_max=3, normalize=False).apply_np(
        IMPULSE, weibull_shape=np.array([2.0]), weibull_scale=np.array([1.0])
    )
    np.testing.assert_allclose(out[:, 0], [2 * math.exp(-1), 4 * math.exp(-4), 6 * math.exp(-9), 0.0], rtol=1e-13)
    # shape 1, scale 1 is the exponential density e^{-t}: normalized, 1 : e^-1 : e^-2.
    norm = WeibullPDFAdstock(l_max=3).apply_np(IMPULSE, weibull_shape=np.array([1.0]), weibull_scale=np.array([1.0]))
    total = 1 + math.exp(-1) + math.exp(-2)
    np.testing.assert_allclose(norm[:, 0], [1 / total, math.exp(-1) / total, math.exp(-2) / total, 0.0], rtol=1e-13)


def test_binomial_impulse_by_hand() -> None:
    # binomial_alpha = 1/2: exponent 1, a linear decline 1, 3/4, 1/2, 1/4 (sum 5/2).
    x = np.array([[1.0], [0.0], [0.0], [0.0], [0.0]])
    a = np.array([0.5])
    raw = BinomialAdstock(l_max=4, normalize=False).apply_np(x, binomial_alpha=a)
    np.testing.assert_allclose(raw[:, 0], [1.0, 0.75, 0.5, 0.25, 0.0], rtol=1e-14)
    norm = BinomialAdstock(l_max=4).apply_np(x, binomial_alpha=a)
    np.testing.assert_allclose(norm[:, 0], [0.4, 0.3, 0.2, 0.1, 0.0], rtol=1e-14)
    # binomial_alpha = 1/3: exponent 2: 1, 9/16, 1/4, 1/16.
    sq = BinomialAdstock(l_max=4, normalize=False).apply_np(x, binomial_alpha=np.array([1 / 3]))
    np.testing.assert_allclose(sq[:, 0], [1.0, 9 / 16, 1 / 4, 1 / 16, 0.0], rtol=1e-13)


def test_binomial_limits() -> None:
    x = np.array([[2.0], [0.0], [0.0], [0.0]])
    # alpha -> 0: no carryover; alpha = 1: a flat window.
    np.testing.assert_allclose(BinomialAdstock(l_max=3).apply_np(x, binomial_alpha=np.array([0.0]))[:, 0], [2, 0, 0, 0])
    np.testing.assert_allclose(
        BinomialAdstock(l_max=3).apply_np(x, binomial_alpha=np.array([1.0]))[:, 0], [2 / 3, 2 / 3, 2 / 3, 0]
    )


def test_weibull_cdf_with_shape_one_is_geometric(spend: np.ndarray) -> None:
    scale = np.array([0.5, 2.0, 7.0])
    for normalize in (True, False):
        got = WeibullCDFAdstock(l_max=6, normalize=normalize).apply_np(
            spend, weibull_shape=np.ones(3), weibull_scale=scale
        )
        want = GeometricAdstock(l_max=6, normalize=normalize).apply_np(spend, alpha=np.exp(-1.0 / scale))
        np.testing.assert_allclose(got, want, rtol=1e-12)


# --- independent references -------------------------------------------------------------------


@pytest.mark.parametrize("normalize", [True, False])
@pytest.mark.parametrize("l_max", [1, 4, 25])
@pytest.mark.parametrize("name", NAMES)
def test_matches_loop_reference(spend: np.ndarray, name: str, normalize: bool, l_max: int) -> None:
    params = PARAMS[name]
    out = ADSTOCKS[name](l_max=l_max, normalize=normalize).apply_np(spend, **params)
    assert out.shape == spend.shape
    np.testing.assert_allclose(out, loop_adstock(name, spend, params, l_max, normalize), rtol=1e-10, atol=1e-300)


def test_weibull_weights_match_scipy() -> None:
    shape, scale = np.array([0.4, 1.0, 2.7]), np.array([0.5, 3.0, 6.0])
    lags = np.arange(10.0)[:, None]
    sf = stats.weibull_min.sf(lags, shape, scale=scale)
    pdf = stats.weibull_min.pdf(lags + 1.0, shape, scale=scale)
    np.testing.assert_allclose(weibull_cdf_weights(shape, scale, 10, normalize=False), sf, rtol=1e-12)
    np.testing.assert_allclose(weibull_cdf_weights(shape, scale, 10), sf / sf.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(weibull_pdf_weights(shape, scale, 10, normalize=False), pdf, rtol=1e-12)
    np.testing.assert_allclose(weibull_pdf_weights(shape, scale, 10), pdf / pdf.sum(axis=0), rtol=1e-12)


# --- properties ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_normalized_adstock_preserves_mass(spend: np.ndarray, name: str) -> None:
    l_max = 5
    x = spend.copy()
    x[-(l_max - 1):] = 0.0  # the window's tail fits inside the series
    rng = np.random.default_rng(1)
    for _ in range(3):
        out = ADSTOCKS[name](l_max=l_max).apply_np(x, **random_params(name, rng, (3,)))
        np.testing.assert_allclose(out.sum(axis=0), x.sum(axis=0), rtol=1e-12)


@pytest.mark.parametrize("normalize", [True, False])
@pytest.mark.parametrize("name", NAMES)
def test_adstock_is_linear_and_its_transpose_runs_backwards(spend: np.ndarray, name: str, normalize: bool) -> None:
    rng = np.random.default_rng(2)
    adstock = ADSTOCKS[name](l_max=6, normalize=normalize)
    params = random_params(name, rng, (3,))
    x, y = spend, rng.normal(size=spend.shape)
    a, b = 1.7, -0.4
    np.testing.assert_allclose(
        adstock.apply_np(a * x + b * y, **params),
        a * adstock.apply_np(x, **params) + b * adstock.apply_np(y, **params),
        rtol=1e-12,
        atol=1e-12,
    )
    # <A x, y> = <x, A^T y>, with A^T = the adstock of y reversed in time, reversed back
    # (what analysis.media relies on for exact gradients).
    lhs = (adstock.apply_np(x, **params) * y).sum()
    rhs = (x * adstock.apply_np(y[::-1], **params)[::-1]).sum()
    assert lhs == pytest.approx(rhs, rel=1e-12)


@pytest.mark.parametrize("theta", [0.0, 0.3, 1.7, 3.4, 5.0, 6.6])
@pytest.mark.parametrize("alpha", [0.05, 0.5, 0.9])
def test_delayed_peak_at_round_theta(theta: float, alpha: float) -> None:
    x = np.zeros((12, 1))
    x[0] = 1.0
    for normalize in (True, False):
        out = DelayedAdstock(l_max=8, normalize=normalize).apply_np(x, alpha=np.array([alpha]), theta=np.array([theta]))
        assert int(np.argmax(out[:, 0])) == round(theta)


def test_delayed_peak_far_outside_the_window_stays_finite() -> None:
    # Every raw weight underflows (0.01^(20^2)); the normalized weights must not be 0/0.
    w = DelayedAdstock(l_max=4).weights_np(alpha=np.array([0.01]), theta=np.array([24.0]))
    assert np.all(np.isfinite(w))
    assert w.sum() == pytest.approx(1.0)
    assert np.argmax(w[:, 0]) == 3  # the lag nearest the peak takes the weight
    got = compiled_pt(DelayedAdstock(l_max=4))(IMPULSE, np.array([0.01]), np.array([24.0]))
    np.testing.assert_allclose(got, DelayedAdstock(l_max=4).apply_np(IMPULSE, alpha=[0.01], theta=[24.0]), atol=1e-12)


def test_weibull_pdf_shape_above_one_has_a_delayed_peak() -> None:
    # shape 2, scale 4: f(t) ∝ t e^{-(t/4)^2} -> 0.94, 1.56, 1.71, 1.47 at t = 1..4: peak at t = 3, lag 2.
    w = WeibullPDFAdstock(l_max=8).weights_np(weibull_shape=np.array([2.0]), weibull_scale=np.array([4.0]))[:, 0]
    assert int(np.argmax(w)) == 2
    assert np.all(np.diff(w[:3]) > 0.0) and np.all(np.diff(w[2:]) < 0.0)
    # shape <= 1: a decay from lag 0.
    w1 = WeibullPDFAdstock(l_max=8).weights_np(weibull_shape=np.array([0.7]), weibull_scale=np.array([4.0]))[:, 0]
    assert np.all(np.diff(w1) < 0.0)


def test_weibull_cdf_weights_fall_monotonically() -> None:
    rng = np.random.default_rng(4)
    w = WeibullCDFAdstock(l_max=10, normalize=False).weights_np(**random_params("weibull_cdf", rng, (50, 2)))
    assert np.all(w[..., 0, :] == 1.0)
    assert np.all(np.diff(w, axis=-2) <= 0.0)


# --- batching over posterior draws ---------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_draw_dim_batches(spend: np.ndarray, name: str) -> None:
    rng = np.random.default_rng(3)
    params = random_params(name, rng, (5, 3))  # (draw, channel)
    adstock = ADSTOCKS[name](l_max=6)
    out = adstock.apply_np(spend, **params)
    assert out.shape == (5, 20, 3)
    assert adstock.weights_np(**params).shape == (5, 6, 3)
    x = spend * rng.uniform(0.5, 2.0, size=(5, 1, 1))  # (draw, date, channel), paired with params
    out_x = adstock.apply_np(x, **params)
    for s in range(5):
        one = {k: v[s] for k, v in params.items()}
        np.testing.assert_allclose(out[s], adstock.apply_np(spend, **one), rtol=1e-14)
        np.testing.assert_allclose(out[s], loop_adstock(name, spend, one, 6, True), rtol=1e-10)
        np.testing.assert_allclose(out_x[s], adstock.apply_np(x[s], **one), rtol=1e-14)


# --- PyTensor twin -------------------------------------------------------------------------------


@pytest.mark.parametrize("normalize", [True, False])
@pytest.mark.parametrize("l_max", [1, 3, 8, 30])  # 30 > T
@pytest.mark.parametrize("name", NAMES)
def test_pytensor_twin_matches_numpy(spend: np.ndarray, name: str, l_max: int, normalize: bool) -> None:
    adstock = ADSTOCKS[name](l_max=l_max, normalize=normalize)
    rng = np.random.default_rng(l_max)
    params = random_params(name, rng, (4, 3))  # a batch of draws, compared draw by draw
    want = adstock.apply_np(spend, **params)
    for s in range(4):
        got = run_pt(adstock, spend, {k: v[s] for k, v in params.items()})
        assert got.shape == spend.shape
        np.testing.assert_allclose(got, want[s], rtol=0, atol=1e-10)


@pytest.mark.parametrize("name", NAMES)
def test_pytensor_twin_eval_with_plain_ndarray_x(spend: np.ndarray, name: str) -> None:
    adstock = ADSTOCKS[name](l_max=4)
    params = PARAMS[name]
    got = adstock.apply_pt(spend, **{k: pt.as_tensor_variable(v) for k, v in params.items()}).eval(mode=PT_MODE)
    np.testing.assert_allclose(got, adstock.apply_np(spend, **params), rtol=0, atol=1e-10)
    w = adstock.weights_pt(**{k: pt.as_tensor_variable(v) for k, v in params.items()}).eval(mode=PT_MODE)
    np.testing.assert_allclose(w, adstock.weights_np(**params), rtol=0, atol=1e-12)


def test_constant_spend_folds_into_one_constant(spend: np.ndarray) -> None:
    # The model's spend is data: the l_max lagged copies must fold away at compile time.
    w = pt.matrix("w", dtype="float64")
    f = pytensor.function([w], convolve_pt(spend, w, 8), mode=PT_MODE)
    ops = {type(node.op).__name__ for node in f.maker.fgraph.apply_nodes}
    assert not ops & {"Join", "Subtensor", "Alloc"}, ops
    w_value = np.random.default_rng(8).uniform(size=(8, 3))
    want = np.zeros_like(spend)
    for lag in range(8):
        want[lag:] += w_value[lag] * spend[: len(spend) - lag]
    np.testing.assert_allclose(f(w_value), want, rtol=1e-12)


def test_compiled_convolution_is_bit_for_bit_the_lags_first_one(spend: np.ndarray) -> None:
    # convolve_pt lays the lag stack out lags last, for the compiled gradient's speed; compiled with
    # numba, as the sampler compiles it, it sums each period's lags in the same order as the lags-first
    # layout it replaced, so the draws stay the same bit for bit.
    def lags_first(x: np.ndarray, weights: pt.TensorVariable, l_max: int) -> pt.TensorVariable:
        x_ = pt.as_tensor_variable(x)
        lagged = pt.stack([x_] + [pt.concatenate([pt.zeros_like(x_[:lag]), x_[:-lag]], axis=0)
                                  for lag in range(1, l_max)])
        return (lagged * weights[:, None, :]).sum(axis=0)

    w = pt.matrix("w", dtype="float64")
    f = pytensor.function([w], convolve_pt(spend, w, 8), mode="NUMBA")
    before = pytensor.function([w], lags_first(spend, w, 8), mode="NUMBA")
    w_value = np.random.default_rng(9).uniform(size=(8, 3))
    np.testing.assert_array_equal(f(w_value), before(w_value))
    want = np.zeros_like(spend)
    for lag in range(8):
        want[lag:] += w_value[lag] * spend[: len(spend) - lag]
    np.testing.assert_allclose(f(w_value), want, rtol=1e-12)


@pytest.mark.parametrize("normalize", [True, False])
@pytest.mark.parametrize("name", NAMES)
def test_pytensor_gradients_are_finite(name: str, normalize: bool) -> None:
    # Spend with leading zeros and a zero lag-0 weight term: NUTS needs finite gradients everywhere.
    adstock = ADSTOCKS[name](l_max=6, normalize=normalize)
    x = np.zeros((10, 3))
    x[3:] = np.random.default_rng(5).uniform(0.0, 1.0, size=(7, 3))
    params = {k: pt.vector(k, dtype="float64") for k in adstock.default_priors}
    grads = pt.grad(adstock.apply_pt(x, **params).sum(), list(params.values()))
    f = pytensor.function(list(params.values()), grads, mode=PT_MODE)
    for values in (PARAMS[name], random_params(name, np.random.default_rng(6), (3,))):
        for g in f(*(values[k] for k in params)):
            assert np.all(np.isfinite(g))


# --- configuration ------------------------------------------------------------------------------


@pytest.mark.parametrize("l_max", [0, -1, 2.5, True, "8"])
@pytest.mark.parametrize("name", NAMES)
def test_invalid_l_max_raises(name: str, l_max: object) -> None:
    cls = ADSTOCKS[name]
    expected = f"The 'l_max' parameter of {cls.__name__} must be an int >= 1. Got {l_max!r} instead."
    with pytest.raises(ConfigError, match=re.escape(expected)):
        cls(l_max=l_max)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", NAMES)
def test_invalid_normalize_raises(name: str) -> None:
    cls = ADSTOCKS[name]
    expected = f"The 'normalize' parameter of {cls.__name__} must be a bool. Got 'yes' instead."
    with pytest.raises(ConfigError, match=re.escape(expected)):
        cls(normalize="yes")  # type: ignore[arg-type]


@pytest.mark.parametrize("name", NAMES)
def test_constructor_defaults_and_frozen(name: str) -> None:
    adstock = ADSTOCKS[name]()
    assert (adstock.l_max, adstock.normalize) == (8, True)
    assert ADSTOCKS[name](12, False) == ADSTOCKS[name](l_max=12, normalize=False)
    with pytest.raises(AttributeError):
        adstock.l_max = 3  # type: ignore[misc]
