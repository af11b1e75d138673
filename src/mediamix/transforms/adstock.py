"""Adstock (carryover): this week's effect of spend from earlier weeks.

Every adstock here is a linear convolution with per-channel lag weights::

    adstock(x)_t = Σ_{l=0}^{l_max-1} w_l · x_{t-l}

spend before the first week taken as zero. The catalogue differs only in the
weights ``w_l`` (lag ``l`` in periods, lag 0 = the same period):

===============  ==========================================  ====================================
name             ``w_l``                                     parameters (PyMC variable names)
===============  ==========================================  ====================================
``geometric``    ``alpha^l``                                 ``alpha``
``delayed``      ``alpha^((l - theta)^2)``                   ``alpha``, ``theta``
``weibull_cdf``  ``1 - F(l)``, Weibull survival              ``weibull_shape``, ``weibull_scale``
``weibull_pdf``  ``f(l + 1)``, Weibull density               ``weibull_shape``, ``weibull_scale``
``binomial``     ``(1 - l / l_max)^(1/binomial_alpha - 1)``  ``binomial_alpha``
===============  ==========================================  ====================================

With ``normalize`` (the default) the weights are divided by their sum, so adstock
moves spend in time without creating or destroying any (total mass is preserved
up to the window's tail at the end of the series). Because every adstock is
linear in ``x``, its transpose is the same adstock run backwards in time, which
is how :mod:`mediamix.analysis.media` gets exact gradients without autodiff.

Each class gives ``weights_np`` / ``weights_pt`` (dims ``(..., lag, channel)`` /
``(lag, channel)``) and ``apply_np`` / ``apply_pt``, which convolve ``x`` with
them through the shared :func:`convolve_np` / :func:`convolve_pt`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from mediamix.errors import ConfigError
from mediamix.priors import Prior
from mediamix.transforms.base import Adstock

__all__ = [
    "GeometricAdstock",
    "DelayedAdstock",
    "WeibullCDFAdstock",
    "WeibullPDFAdstock",
    "BinomialAdstock",
    "geometric_weights",
    "delayed_weights",
    "weibull_cdf_weights",
    "weibull_pdf_weights",
    "binomial_weights",
    "lag_stack",
    "convolve_np",
    "convolve_pt",
    "ADSTOCKS",
]


# --- the shared convolution ------------------------------------------------------------------


def lag_stack(x: np.ndarray, l_max: int) -> np.ndarray:
    """Stack lagged copies of ``x``: ``out[..., l, t, :] = x[..., t - l, :]``, zero before the start.

    Parameters
    ----------
    x : ndarray, dims (..., date, channel)
    l_max : int

    Returns
    -------
    ndarray, dims (..., lag, date, channel)
    """
    x = np.asarray(x, dtype=float)
    n = x.shape[-2]
    out = np.zeros((*x.shape[:-2], l_max, *x.shape[-2:]))
    for lag in range(min(l_max, n)):  # a loop over lags (l_max), never over dates
        out[..., lag, lag:, :] = x[..., : n - lag, :]
    return out


def convolve_np(x: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``out[..., t, c] = Σ_l weights[..., l, c] · x[..., t - l, c]`` with NumPy.

    Parameters
    ----------
    x : ndarray, dims (..., date, channel)
    weights : ndarray, dims (..., lag, channel)
        Leading dims of ``x`` and ``weights`` broadcast against each other.

    Returns
    -------
    ndarray, dims (..., date, channel)
    """
    stack = lag_stack(x, weights.shape[-2])
    # One series under many weight sets (the posterior's draws): einsum's own loop took 21.8 ms for
    # 4000 draws x 179 dates x 2 channels x 8 lags, handed to BLAS (optimize=True) 0.64 ms. Where the
    # series has leading dims too (the budget optimizer's plans per draw) BLAS was slower: 7 -> 11 ms
    # per objective evaluation (benchmarks/optimize.py), so einsum keeps its own loop there.
    return np.einsum("...lc,...ltc->...tc", weights, stack, optimize=stack.ndim == 3 and weights.ndim > 2)


def convolve_pt(x: Any, weights: Any, l_max: int) -> Any:
    """PyTensor twin of :func:`convolve_np` for one weight set.

    Parameters
    ----------
    x : TensorVariable or ndarray, dims (date, channel)
    weights : TensorVariable, dims (lag, channel)
    l_max : int
        Number of lags (the static length of ``weights``' first dim).
    """
    import pytensor.tensor as pt

    x = pt.as_tensor_variable(x)
    # Lags, not weeks, are unrolled: l_max small slices; with constant data
    # PyTensor folds the stack into one constant at compile time (a zero-padded
    # copy sliced l_max ways would not fold: PyTensor never folds an Alloc).
    # Lags last, (date, channel, lag): the convolution's and its gradient's
    # innermost loops run over the lags, not the channels; with the functions
    # that run optimized at LLVM level 3 (inference.machine_code) the demo's
    # gradient is ~30% faster (docs/speed.md). The sum over lags keeps its
    # order: the same results to the bit as with lags first.
    lagged = pt.stack([x] + [pt.concatenate([pt.zeros_like(x[:lag]), x[:-lag]], axis=0) for lag in range(1, l_max)],
                      axis=-1)
    return (lagged * weights.T[None, :, :]).sum(axis=-1)


def _normalize_np(w: np.ndarray) -> np.ndarray:
    return w / w.sum(axis=-2, keepdims=True)


def _softmax_np(log_w: np.ndarray) -> np.ndarray:
    """Weights ``exp(log_w)`` normalized over lags, safe when every weight underflows."""
    w = np.exp(log_w - log_w.max(axis=-2, keepdims=True))
    return _normalize_np(w)


def _lags(l_max: int, start: int = 0) -> np.ndarray:
    """Lag grid as a column, dims (lag, 1), to broadcast against (..., 1, channel) parameters."""
    return np.arange(start, l_max, dtype=float)[:, None]


def _per_lag(param: np.ndarray) -> np.ndarray:
    """Parameter (..., channel) -> (..., 1, channel), ready to broadcast over lags."""
    return np.asarray(param, dtype=float)[..., None, :]


# --- weights with NumPy (public: usable without a class, e.g. to plot lag weights) ---------------


def geometric_weights(alpha: np.ndarray, l_max: int, normalize: bool = True) -> np.ndarray:
    """Geometric lag weights ``alpha^l``.

    Parameters
    ----------
    alpha : ndarray, dims (..., channel)
        Retention rate per period, in [0, 1).
    l_max : int
        Number of periods in the window (lag 0 included).
    normalize : bool, default=True
        Divide the weights by their sum.

    Returns
    -------
    ndarray, dims (..., lag, channel)
    """
    w = _per_lag(alpha) ** _lags(l_max)
    return _normalize_np(w) if normalize else w


def delayed_weights(alpha: np.ndarray, theta: np.ndarray, l_max: int, normalize: bool = True) -> np.ndarray:
    """Delayed lag weights ``alpha^((l - theta)^2)`` (Jin et al. 2017, eq. 2).

    Parameters
    ----------
    alpha : ndarray, dims (..., channel)
        Retention rate, in (0, 1); the smaller, the narrower the peak.
    theta : ndarray, dims (..., channel)
        Delay of the peak in periods, >= 0.
    l_max : int
    normalize : bool, default=True

    Returns
    -------
    ndarray, dims (..., lag, channel)
    """
    exponent = (_lags(l_max) - _per_lag(theta)) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        # x·log(alpha) with 0·log(0) = 0, so alpha = 0 gives 0^0 = 1 at the peak.
        log_w = np.where(exponent == 0.0, 0.0, exponent * np.log(_per_lag(alpha)))
    # Log space: a peak far outside the window underflows every weight, yet the
    # normalized weights stay finite.
    return _softmax_np(log_w) if normalize else np.exp(log_w)


def weibull_cdf_weights(
    weibull_shape: np.ndarray, weibull_scale: np.ndarray, l_max: int, normalize: bool = True
) -> np.ndarray:
    """Weibull-survival lag weights ``1 - F(l) = exp(-(l / scale)^shape)``.

    ``F`` is the Weibull CDF (``scipy.stats.weibull_min.cdf(l, shape, scale=scale)``),
    so ``w_0 = 1`` and the weights fall monotonically; ``shape = 1`` is geometric
    decay with ``alpha = exp(-1 / scale)``, ``shape < 1`` drops fast then lingers,
    ``shape > 1`` holds on and then falls off a cliff near ``scale``.

    Robyn's ``weibull_cdf`` takes the cumulative product of these survival values
    (``w_l = Π_{j=1}^{l} (1 - F(j))``) and gives ``scale`` as a quantile of the
    window; here ``scale`` is in periods and the weights are the survival
    function itself, so that ``shape = 1`` is exactly geometric decay.

    Parameters
    ----------
    weibull_shape : ndarray, dims (..., channel)
        Shape ``k > 0``.
    weibull_scale : ndarray, dims (..., channel)
        Scale ``λ > 0``, in periods.
    l_max : int
    normalize : bool, default=True

    Returns
    -------
    ndarray, dims (..., lag, channel)
    """
    k, lam = _per_lag(weibull_shape), _per_lag(weibull_scale)
    w = np.exp(-((_lags(l_max) / lam) ** k))
    return _normalize_np(w) if normalize else w


def weibull_pdf_weights(
    weibull_shape: np.ndarray, weibull_scale: np.ndarray, l_max: int, normalize: bool = True
) -> np.ndarray:
    """Weibull-density lag weights ``f(l + 1)``, lag ``l`` read at ``t = l + 1`` periods.

    ``f`` is the Weibull density ``(k/λ)(t/λ)^(k-1) exp(-(t/λ)^k)``
    (``scipy.stats.weibull_min.pdf(t, k, scale=λ)``). The shift by one period is
    Robyn's convention (it evaluates the density at ``1..l_max``) and keeps lag 0
    finite for ``shape < 1``, where ``f(0)`` is infinite. ``shape > 1`` gives a
    hump, i.e. a delayed peak. Robyn then min–max scales the weights; here they are
    divided by their sum (``normalize=True``), or left as raw densities.

    Parameters
    ----------
    weibull_shape : ndarray, dims (..., channel)
        Shape ``k > 0``.
    weibull_scale : ndarray, dims (..., channel)
        Scale ``λ > 0``, in periods.
    l_max : int
    normalize : bool, default=True

    Returns
    -------
    ndarray, dims (..., lag, channel)
    """
    k, lam = _per_lag(weibull_shape), _per_lag(weibull_scale)
    log_t = np.log(_lags(l_max + 1, start=1))
    z = log_t - np.log(lam)  # log(t / λ)
    log_w = np.log(k) - np.log(lam) + (k - 1.0) * z - np.exp(k * z)
    return _softmax_np(log_w) if normalize else np.exp(log_w)


def binomial_weights(binomial_alpha: np.ndarray, l_max: int, normalize: bool = True) -> np.ndarray:
    """Meridian's binomial lag weights ``(1 - l / l_max)^(1/binomial_alpha - 1)``.

    In Meridian's notation ``w(s) = (1 - s / (L + 1))^(1/α - 1)`` for ``s = 0..L``
    with ``L = max_lag``; our window ``l_max`` is Meridian's ``max_lag + 1``.
    ``binomial_alpha → 0`` is no carryover (all weight on lag 0), ``0.5`` a linear
    decline to zero at the window's end, ``1`` a flat window.

    Parameters
    ----------
    binomial_alpha : ndarray, dims (..., channel)
        In (0, 1].
    l_max : int
    normalize : bool, default=True

    Returns
    -------
    ndarray, dims (..., lag, channel)
    """
    base = 1.0 - _lags(l_max) / l_max  # in (0, 1], constant
    with np.errstate(divide="ignore"):
        w = base ** (1.0 / _per_lag(binomial_alpha) - 1.0)
    return _normalize_np(w) if normalize else w


# --- the classes ---------------------------------------------------------------------------------


def _pt_lags(l_max: int, start: int = 0) -> Any:
    import pytensor.tensor as pt

    return pt.arange(start, l_max, dtype="float64")[:, None]


def _pt_normalize(w: Any) -> Any:
    return w / w.sum(axis=0, keepdims=True)


def _pt_softmax(log_w: Any) -> Any:
    import pytensor.tensor as pt

    return pt.special.softmax(log_w, axis=0)


@dataclass(frozen=True)
class _LagAdstock:
    """Shared fields and validation: the window length and whether weights sum to one."""

    l_max: int = 8
    normalize: bool = True

    def __post_init__(self) -> None:
        cls = type(self).__name__
        if isinstance(self.l_max, bool) or not isinstance(self.l_max, int) or self.l_max < 1:
            raise ConfigError(f"The 'l_max' parameter of {cls} must be an int >= 1. Got {self.l_max!r} instead.")
        if not isinstance(self.normalize, bool | np.bool_):
            raise ConfigError(f"The 'normalize' parameter of {cls} must be a bool. Got {self.normalize!r} instead.")


@dataclass(frozen=True)
class GeometricAdstock(_LagAdstock):
    """Geometric adstock with a finite window (Jin et al. 2017, eq. 1): ``w_l = alpha^l``.

    Default prior: ``alpha ~ Beta(1, 3)``: mode at 0 (no carryover), mean 0.25
    (half-life ≈ 0.5 periods), ``P(alpha > 0.5) = 1/8``; the data must argue for
    long carryover.

    Parameters
    ----------
    l_max : int, default=8
        Window length in periods, lag 0 included.
    normalize : bool, default=True
        Divide the lag weights by their sum (adstock then preserves total spend).
    """

    name: ClassVar[str] = "geometric"
    default_priors: ClassVar[dict[str, Prior]] = {"alpha": Prior("Beta", {"alpha": 1.0, "beta": 3.0})}

    def weights_np(self, alpha: np.ndarray) -> np.ndarray:
        """Lag weights, dims (..., lag, channel), from ``alpha`` (..., channel)."""
        return geometric_weights(alpha, self.l_max, self.normalize)

    def weights_pt(self, alpha: Any) -> Any:
        """Lag weights with PyTensor, dims (lag, channel), from ``alpha`` (channel,)."""
        w = alpha[None, :] ** _pt_lags(self.l_max)
        return _pt_normalize(w) if self.normalize else w

    def apply_np(self, x: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        """Adstock with NumPy.

        Parameters
        ----------
        x : ndarray, dims (..., date, channel)
        alpha : ndarray, dims (..., channel)
            Leading dims of ``x`` and ``alpha`` broadcast against each other.

        Returns
        -------
        ndarray, dims (..., date, channel)
        """
        return convolve_np(x, self.weights_np(alpha))

    def apply_pt(self, x: Any, alpha: Any) -> Any:
        """Adstock with PyTensor, vectorized over channels: ``x`` (date, channel), ``alpha`` (channel,)."""
        return convolve_pt(x, self.weights_pt(alpha), self.l_max)


@dataclass(frozen=True)
class DelayedAdstock(_LagAdstock):
    """Delayed adstock (Jin et al. 2017, eq. 2): ``w_l = alpha^((l - theta)^2)``, peak at lag ``theta``.

    The impulse response peaks at the lag nearest ``theta`` and falls away on both
    sides; ``theta = 0`` is a half-bell starting at lag 0.

    Default priors: ``alpha ~ Beta(1, 3)`` (shared with ``geometric``: the same
    variable, the same prior; small ``alpha`` is a narrow peak) and
    ``theta ~ HalfNormal(sigma=2)``: peak delay in periods, most mass on 0–4
    periods (``P(theta > 4) ≈ 5 %``), which on weekly data with the default
    8-week window keeps the peak inside the window. Widen it for daily data.

    Parameters
    ----------
    l_max : int, default=8
        Window length in periods, lag 0 included.
    normalize : bool, default=True
        Divide the lag weights by their sum (adstock then preserves total spend).
    """

    name: ClassVar[str] = "delayed"
    default_priors: ClassVar[dict[str, Prior]] = {
        "alpha": Prior("Beta", {"alpha": 1.0, "beta": 3.0}),
        "theta": Prior("HalfNormal", {"sigma": 2.0}),
    }

    def weights_np(self, alpha: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """Lag weights, dims (..., lag, channel), from ``alpha`` and ``theta`` (..., channel)."""
        return delayed_weights(alpha, theta, self.l_max, self.normalize)

    def weights_pt(self, alpha: Any, theta: Any) -> Any:
        """Lag weights with PyTensor, dims (lag, channel), from ``alpha`` and ``theta`` (channel,)."""
        import pytensor.tensor as pt

        exponent = (_pt_lags(self.l_max) - theta[None, :]) ** 2
        # As delayed_weights: 0·log(0) = 0, so alpha = 0 puts all the weight on the peak (not NaN).
        log_w = pt.switch(pt.eq(exponent, 0.0), 0.0, exponent * pt.log(alpha)[None, :])
        return _pt_softmax(log_w) if self.normalize else pt.exp(log_w)

    def apply_np(self, x: np.ndarray, alpha: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """Adstock with NumPy: ``x`` (..., date, channel), params (..., channel), leading dims broadcast."""
        return convolve_np(x, self.weights_np(alpha, theta))

    def apply_pt(self, x: Any, alpha: Any, theta: Any) -> Any:
        """Adstock with PyTensor: ``x`` (date, channel), params (channel,)."""
        return convolve_pt(x, self.weights_pt(alpha, theta), self.l_max)


_WEIBULL_PRIORS = {
    "weibull_shape": Prior("Gamma", {"alpha": 2.0, "beta": 1.0}),
    "weibull_scale": Prior("Gamma", {"alpha": 2.0, "beta": 1.0}),
}

@dataclass(frozen=True)
class _WeibullAdstock(_LagAdstock):
    """What the two Weibull adstocks share: their parameters, priors and convolution.

    Default priors (the same variables for ``weibull_cdf`` and ``weibull_pdf``):
    ``weibull_shape ~ Gamma(alpha=2, beta=1)``, mode 1 (the exponential /
    geometric case), mean 2, ``P(shape < 1) ≈ 0.26`` and ``P(shape > 3) ≈ 0.20``,
    so decaying, humped and S-shaped carryover all get room;
    ``weibull_scale ~ Gamma(alpha=2, beta=1)`` in periods, mean 2, 95 % in about
    (0.24, 5.6), i.e. inside the default 8-period window on weekly data. Scale it
    up for daily data or longer windows.
    """

    default_priors: ClassVar[dict[str, Prior]] = dict(_WEIBULL_PRIORS)

    def weights_np(self, weibull_shape: np.ndarray, weibull_scale: np.ndarray) -> np.ndarray:
        """Lag weights, dims (..., lag, channel), from shape and scale (..., channel)."""
        raise NotImplementedError

    def weights_pt(self, weibull_shape: Any, weibull_scale: Any) -> Any:
        """Lag weights with PyTensor, dims (lag, channel), from shape and scale (channel,)."""
        raise NotImplementedError

    def apply_np(self, x: np.ndarray, weibull_shape: np.ndarray, weibull_scale: np.ndarray) -> np.ndarray:
        """Adstock with NumPy: ``x`` (..., date, channel), params (..., channel), leading dims broadcast."""
        return convolve_np(x, self.weights_np(weibull_shape, weibull_scale))

    def apply_pt(self, x: Any, weibull_shape: Any, weibull_scale: Any) -> Any:
        """Adstock with PyTensor: ``x`` (date, channel), params (channel,)."""
        return convolve_pt(x, self.weights_pt(weibull_shape, weibull_scale), self.l_max)


@dataclass(frozen=True)
class WeibullCDFAdstock(_WeibullAdstock):
    """Weibull-CDF adstock: ``w_l = 1 - F(l)``, the Weibull survival function at lag ``l``.

    Monotone decay starting at ``w_0 = 1``; ``weibull_shape = 1`` is geometric with
    ``alpha = exp(-1 / weibull_scale)``. See :func:`weibull_cdf_weights` for how this
    relates to Robyn's cumulative-product form.

    Default priors: see :class:`_WeibullAdstock`.

    Parameters
    ----------
    l_max : int, default=8
        Window length in periods, lag 0 included.
    normalize : bool, default=True
        Divide the lag weights by their sum (adstock then preserves total spend).
    """

    name: ClassVar[str] = "weibull_cdf"

    def weights_np(self, weibull_shape: np.ndarray, weibull_scale: np.ndarray) -> np.ndarray:
        """Lag weights, dims (..., lag, channel), from shape and scale (..., channel)."""
        return weibull_cdf_weights(weibull_shape, weibull_scale, self.l_max, self.normalize)

    def weights_pt(self, weibull_shape: Any, weibull_scale: Any) -> Any:
        """Lag weights with PyTensor, dims (lag, channel), from shape and scale (channel,)."""
        import pytensor.tensor as pt

        # Lag 0 is exactly 1, written as a constant: (0 / λ)^k has a NaN gradient in k.
        head = pt.ones_like(weibull_scale)[None, :]
        if self.l_max > 1:
            log_ratio = pt.log(_pt_lags(self.l_max, start=1)) - pt.log(weibull_scale)[None, :]
            tail = pt.exp(-pt.exp(weibull_shape[None, :] * log_ratio))
            w = pt.concatenate([head, tail], axis=0)
        else:
            w = head
        return _pt_normalize(w) if self.normalize else w

@dataclass(frozen=True)
class WeibullPDFAdstock(_WeibullAdstock):
    """Weibull-PDF adstock: ``w_l = f(l + 1)``, the Weibull density one period after lag ``l``.

    ``weibull_shape > 1`` gives a delayed peak (a hump), ``<= 1`` a decay from lag
    0. The one-period shift is Robyn's and keeps lag 0 finite for shape < 1; see
    :func:`weibull_pdf_weights`.

    Default priors: see :class:`_WeibullAdstock`.

    Parameters
    ----------
    l_max : int, default=8
        Window length in periods, lag 0 included.
    normalize : bool, default=True
        Divide the lag weights by their sum (adstock then preserves total spend).
    """

    name: ClassVar[str] = "weibull_pdf"

    def weights_np(self, weibull_shape: np.ndarray, weibull_scale: np.ndarray) -> np.ndarray:
        """Lag weights, dims (..., lag, channel), from shape and scale (..., channel)."""
        return weibull_pdf_weights(weibull_shape, weibull_scale, self.l_max, self.normalize)

    def weights_pt(self, weibull_shape: Any, weibull_scale: Any) -> Any:
        """Lag weights with PyTensor, dims (lag, channel), from shape and scale (channel,)."""
        import pytensor.tensor as pt

        k, log_lam = weibull_shape[None, :], pt.log(weibull_scale)[None, :]
        z = pt.log(_pt_lags(self.l_max + 1, start=1)) - log_lam
        log_w = pt.log(k) - log_lam + (k - 1.0) * z - pt.exp(k * z)
        return _pt_softmax(log_w) if self.normalize else pt.exp(log_w)

@dataclass(frozen=True)
class BinomialAdstock(_LagAdstock):
    """Meridian's binomial adstock: ``w_l = (1 - l / l_max)^(1/binomial_alpha - 1)``.

    Weight falls to zero just past the window's end, so more of the effect can sit
    late in the window than with geometric decay. Unlike Meridian, the window does
    not shrink when the series is shorter than ``l_max``.

    Default prior: ``binomial_alpha ~ Beta(1, 3)``, as geometric's ``alpha``: mode
    at 0 (no carryover), mean 0.25 (exponent 3), ``P(binomial_alpha > 0.5) = 1/8``
    (slower than a linear decline). Meridian's own default, Uniform(0, 1), puts half
    the mass on slower-than-linear decline, which is a lot of carryover to assume.

    Parameters
    ----------
    l_max : int, default=8
        Window length in periods, lag 0 included.
    normalize : bool, default=True
        Divide the lag weights by their sum (adstock then preserves total spend).
    """

    name: ClassVar[str] = "binomial"
    default_priors: ClassVar[dict[str, Prior]] = {"binomial_alpha": Prior("Beta", {"alpha": 1.0, "beta": 3.0})}

    def weights_np(self, binomial_alpha: np.ndarray) -> np.ndarray:
        """Lag weights, dims (..., lag, channel), from ``binomial_alpha`` (..., channel)."""
        return binomial_weights(binomial_alpha, self.l_max, self.normalize)

    def weights_pt(self, binomial_alpha: Any) -> Any:
        """Lag weights with PyTensor, dims (lag, channel), from ``binomial_alpha`` (channel,)."""
        base = 1.0 - _pt_lags(self.l_max) / self.l_max
        w = base ** (1.0 / binomial_alpha[None, :] - 1.0)
        return _pt_normalize(w) if self.normalize else w

    def apply_np(self, x: np.ndarray, binomial_alpha: np.ndarray) -> np.ndarray:
        """Adstock with NumPy: ``x`` (..., date, channel), params (..., channel), leading dims broadcast."""
        return convolve_np(x, self.weights_np(binomial_alpha))

    def apply_pt(self, x: Any, binomial_alpha: Any) -> Any:
        """Adstock with PyTensor: ``x`` (date, channel), params (channel,)."""
        return convolve_pt(x, self.weights_pt(binomial_alpha), self.l_max)


#: Adstock registry: config name -> class.
ADSTOCKS: dict[str, type[Adstock]] = {
    cls.name: cls for cls in (GeometricAdstock, DelayedAdstock, WeibullCDFAdstock, WeibullPDFAdstock, BinomialAdstock)
}
