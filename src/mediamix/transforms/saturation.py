"""Saturation (diminishing returns): how the effect bends as spend grows.

Every curve maps non-negative (max-abs scaled, adstocked) spend ``x`` to an
effect that is zero at zero and increasing; the channel coefficient ``beta``
carries the units. Each class gives ``apply_np`` (the NumPy reference, batched
over leading dims), ``derivative_np`` (d/dx, for the budget optimizer's exact
gradients) and ``apply_pt`` (the PyTensor twin inside the model).

====================  =======================================  ======================================
name                  curve                                    parameters (PyMC variable names)
====================  =======================================  ======================================
``logistic``          ``(1 - e^{-lam x}) / (1 + e^{-lam x})``  ``lam``
``hill``              ``x^S / (x^S + K^S)``                    ``half_saturation`` (K), ``slope`` (S)
``michaelis_menten``  ``x / (mm_half + x)``                    ``mm_half``
``tanh``              ``tanh(x / tanh_scale)``                 ``tanh_scale``
``power``             ``x^power_exponent``                     ``power_exponent``
====================  =======================================  ======================================

The default priors are on max-abs scaled spend, where a channel's biggest week
is 1 and typical weeks sit around 0.3–0.6; the half-saturation points (Hill's K,
Michaelis–Menten's ``mm_half``, ``0.55 · tanh_scale`` for tanh) get priors with
mean ≈ 0.55–0.6 and 95 % in about (0.1, 1.4): inside or near the observed range,
where the data can say something, and away from 0, where the curve would be a step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from mediamix.priors import Prior
from mediamix.transforms.base import Saturation

__all__ = [
    "LogisticSaturation",
    "HillSaturation",
    "MichaelisMentenSaturation",
    "TanhSaturation",
    "PowerSaturation",
    "SATURATIONS",
]

#: Spend is clipped at the smallest positive float before a logarithm, so curves
#: with ``x^S`` (S possibly < 1) have finite values and gradients at ``x = 0``.
_TINY = float(np.finfo(np.float64).tiny)


def _per_date(param: np.ndarray) -> np.ndarray:
    """Parameter (..., channel) -> (..., 1, channel), ready to broadcast over dates."""
    return np.asarray(param, dtype=float)[..., None, :]


def _softplus(z: np.ndarray) -> np.ndarray:
    """``log(1 + e^z)`` without overflow."""
    return np.logaddexp(0.0, z)


@dataclass(frozen=True)
class LogisticSaturation:
    """Logistic saturation ``(1 - e^{-λx}) / (1 + e^{-λx})``, i.e. ``tanh(λx / 2)``.

    Zero at zero, increasing, concave for ``x >= 0`` and bounded by 1; ``λ``
    sets how fast it bends (on the max-abs scaled spend).

    Default prior: ``lam ~ Gamma(alpha=3, beta=1)``, mean 3: half-saturation at
    ``x = ln 3 / λ``, 0.37 of the biggest week at the prior mean.
    """

    name: ClassVar[str] = "logistic"
    default_priors: ClassVar[dict[str, Prior]] = {"lam": Prior("Gamma", {"alpha": 3.0, "beta": 1.0})}

    def apply_np(self, x: np.ndarray, lam: np.ndarray) -> np.ndarray:
        """Saturate with NumPy.

        Parameters
        ----------
        x : ndarray, dims (..., date, channel)
        lam : ndarray, dims (..., channel)
            Leading dims of ``x`` and ``lam`` broadcast against each other.

        Returns
        -------
        ndarray, dims (..., date, channel)
        """
        z = 0.5 * _per_date(lam) * x
        return np.tanh(z, out=z)  # = (1 - e^{-λx}) / (1 + e^{-λx}), one pass instead of four

    def derivative_np(self, x: np.ndarray, lam: np.ndarray) -> np.ndarray:
        """d saturation / dx with NumPy, same dims as :meth:`apply_np`: ``2λe / (1 + e)^2``, ``e = e^{-λx}``."""
        lam = _per_date(lam)
        e = np.exp(-lam * x)
        return 2.0 * lam * e / (1.0 + e) ** 2

    def apply_pt(self, x: Any, lam: Any) -> Any:
        """Saturate with PyTensor: ``x`` (date, channel), ``lam`` (channel,)."""
        import pytensor.tensor as pt

        e = pt.exp(-lam[None, :] * x)
        return (1.0 - e) / (1.0 + e)


@dataclass(frozen=True)
class HillSaturation:
    """Hill saturation ``x^S / (x^S + K^S)`` (Meridian's and Robyn's default).

    Zero at zero, increasing and bounded by 1; exactly 1/2 at ``x = K`` (the
    half-saturation point). ``S <= 1`` is concave everywhere, ``S > 1`` is
    S-shaped (a threshold before returns start). Computed as
    ``sigmoid(S · (log x - log K))`` with ``x`` clipped at the smallest positive
    float and exactly 0 returned at ``x = 0``, so neither the value nor the
    PyTensor gradients with respect to ``K``, ``S`` or ``x`` are NaN at zero
    spend, whatever ``S``.

    Default priors: ``half_saturation ~ Gamma(alpha=3, beta=5)``, mean 0.6, 95 %
    in about (0.12, 1.44) of the biggest week; ``slope ~ Gamma(alpha=3, beta=2)``,
    mode 1 (the Michaelis–Menten curve), mean 1.5, ``P(S < 1) ≈ 0.32``,
    ``P(S > 3) ≈ 0.06``: concave and mildly S-shaped curves both plausible,
    near-step curves not.
    """

    name: ClassVar[str] = "hill"
    default_priors: ClassVar[dict[str, Prior]] = {
        "half_saturation": Prior("Gamma", {"alpha": 3.0, "beta": 5.0}),
        "slope": Prior("Gamma", {"alpha": 3.0, "beta": 2.0}),
    }

    @staticmethod
    def _log_odds_np(x: np.ndarray, half_saturation: np.ndarray, slope: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``r = S (log K - log x)`` (so the curve is ``1 / (1 + e^r)``) and ``log x``, x clipped."""
        log_x = np.log(np.maximum(x, _TINY))
        return _per_date(slope) * (np.log(_per_date(half_saturation)) - log_x), log_x

    def apply_np(self, x: np.ndarray, half_saturation: np.ndarray, slope: np.ndarray) -> np.ndarray:
        """Saturate with NumPy.

        Parameters
        ----------
        x : ndarray, dims (..., date, channel)
            Non-negative.
        half_saturation : ndarray, dims (..., channel)
            ``K > 0``.
        slope : ndarray, dims (..., channel)
            ``S > 0``.

        Returns
        -------
        ndarray, dims (..., date, channel)
        """
        r, _ = self._log_odds_np(x, half_saturation, slope)
        return np.where(np.asarray(x) > 0.0, np.exp(-_softplus(r)), 0.0)

    def derivative_np(self, x: np.ndarray, half_saturation: np.ndarray, slope: np.ndarray) -> np.ndarray:
        """d saturation / dx: ``S · h (1 - h) / x`` with ``h`` the curve, same dims as :meth:`apply_np`.

        At ``x = 0`` the true derivative is ``+inf`` for ``S < 1``, ``1/K`` for
        ``S = 1`` and 0 for ``S > 1``; with ``x`` clipped at the smallest positive
        float this returns a huge finite number, ``1/K`` and 0.
        """
        r, log_x = self._log_odds_np(x, half_saturation, slope)
        return np.exp(np.log(_per_date(slope)) - _softplus(r) - _softplus(-r) - log_x)

    def apply_pt(self, x: Any, half_saturation: Any, slope: Any) -> Any:
        """Saturate with PyTensor: ``x`` (date, channel), params (channel,)."""
        import pytensor.tensor as pt

        x = pt.as_tensor_variable(x)
        log_x = pt.log(pt.maximum(x, _TINY))
        curve = pt.sigmoid(slope[None, :] * (log_x - pt.log(half_saturation)[None, :]))
        # switch, not multiply: the unused branch's gradient is masked, never 0 · inf.
        return pt.switch(pt.gt(x, 0.0), curve, 0.0)


@dataclass(frozen=True)
class MichaelisMentenSaturation:
    """Michaelis–Menten saturation ``x / (mm_half + x)``: Hill with slope 1.

    Zero at zero, increasing, concave and bounded by 1, exactly 1/2 at
    ``x = mm_half`` (the half-saturation point).

    Default prior: ``mm_half ~ Gamma(alpha=3, beta=5)``, as Hill's K: mean 0.6,
    95 % in about (0.12, 1.44) of the biggest week.
    """

    name: ClassVar[str] = "michaelis_menten"
    default_priors: ClassVar[dict[str, Prior]] = {"mm_half": Prior("Gamma", {"alpha": 3.0, "beta": 5.0})}

    def apply_np(self, x: np.ndarray, mm_half: np.ndarray) -> np.ndarray:
        """Saturate with NumPy: ``x`` (..., date, channel), ``mm_half`` (..., channel), leading dims broadcast."""
        return x / (_per_date(mm_half) + x)

    def derivative_np(self, x: np.ndarray, mm_half: np.ndarray) -> np.ndarray:
        """d saturation / dx: ``mm_half / (mm_half + x)^2``, same dims as :meth:`apply_np`."""
        k = _per_date(mm_half)
        return k / (k + x) ** 2

    def apply_pt(self, x: Any, mm_half: Any) -> Any:
        """Saturate with PyTensor: ``x`` (date, channel), ``mm_half`` (channel,)."""
        return x / (mm_half[None, :] + x)


@dataclass(frozen=True)
class TanhSaturation:
    """Tanh saturation ``tanh(x / tanh_scale)``.

    Zero at zero, increasing, concave and bounded by 1; reaches 1/2 at
    ``x = atanh(1/2) · tanh_scale ≈ 0.55 · tanh_scale``. The same curve as
    ``logistic`` with ``lam = 2 / tanh_scale``, parametrized by a spend level.

    Default prior: ``tanh_scale ~ Gamma(alpha=3, beta=3)``, mean 1, 95 % in about
    (0.21, 2.4): half-saturation at ≈ 0.55 of the biggest week on average.
    """

    name: ClassVar[str] = "tanh"
    default_priors: ClassVar[dict[str, Prior]] = {"tanh_scale": Prior("Gamma", {"alpha": 3.0, "beta": 3.0})}

    def apply_np(self, x: np.ndarray, tanh_scale: np.ndarray) -> np.ndarray:
        """Saturate with NumPy: ``x`` (..., date, channel), ``tanh_scale`` (..., channel), leading dims broadcast."""
        return np.tanh(x / _per_date(tanh_scale))

    def derivative_np(self, x: np.ndarray, tanh_scale: np.ndarray) -> np.ndarray:
        """d saturation / dx: ``(1 - tanh²(x / c)) / c``, same dims as :meth:`apply_np`."""
        c = _per_date(tanh_scale)
        t = np.tanh(x / c)
        return (1.0 - t * t) / c

    def apply_pt(self, x: Any, tanh_scale: Any) -> Any:
        """Saturate with PyTensor: ``x`` (date, channel), ``tanh_scale`` (channel,)."""
        import pytensor.tensor as pt

        return pt.tanh(x / tanh_scale[None, :])


@dataclass(frozen=True)
class PowerSaturation:
    """Power ("root") saturation ``x^power_exponent`` with the exponent in (0, 1).

    Zero at zero, increasing and concave, but not bounded: returns keep
    diminishing without a ceiling (it is at most 1 only for ``x <= 1``, i.e. up
    to the biggest observed week). Computed with ``x`` clipped at the smallest
    positive float and exactly 0 at ``x = 0``, so the PyTensor gradient with
    respect to the exponent is finite at zero spend.

    Default prior: ``power_exponent ~ Beta(2, 2)``: mean 0.5 (the square root),
    95 % in about (0.09, 0.91), away from 0 (a step) and 1 (no saturation).
    """

    name: ClassVar[str] = "power"
    default_priors: ClassVar[dict[str, Prior]] = {"power_exponent": Prior("Beta", {"alpha": 2.0, "beta": 2.0})}

    def apply_np(self, x: np.ndarray, power_exponent: np.ndarray) -> np.ndarray:
        """Saturate with NumPy: ``x`` (..., date, channel), ``power_exponent`` (..., channel), dims broadcast."""
        log_x = np.log(np.maximum(x, _TINY))
        return np.where(np.asarray(x) > 0.0, np.exp(_per_date(power_exponent) * log_x), 0.0)

    def derivative_np(self, x: np.ndarray, power_exponent: np.ndarray) -> np.ndarray:
        """d saturation / dx: ``p · x^(p-1)``, same dims as :meth:`apply_np`.

        At ``x = 0`` the true derivative is ``+inf`` for ``p < 1``; with ``x``
        clipped at the smallest positive float this returns a huge finite number.
        """
        p = _per_date(power_exponent)
        return p * np.exp((p - 1.0) * np.log(np.maximum(x, _TINY)))

    def apply_pt(self, x: Any, power_exponent: Any) -> Any:
        """Saturate with PyTensor: ``x`` (date, channel), ``power_exponent`` (channel,)."""
        import pytensor.tensor as pt

        x = pt.as_tensor_variable(x)
        curve = pt.exp(power_exponent[None, :] * pt.log(pt.maximum(x, _TINY)))
        return pt.switch(pt.gt(x, 0.0), curve, 0.0)


@dataclass(frozen=True)
class LogSaturation:
    """Log saturation ``log(1 + x / log_offset)``: the log-log model's curve.

    Zero at zero, increasing, concave and unbounded. With ``form =
    "multiplicative"`` (``log y = ... + β · log(1 + x / κ)``) the KPI is
    ``∝ (1 + x / κ)^β``, so ``β`` is the constant elasticity of the KPI to
    spend once ``x ≫ κ``: the classic log-log MMM, with the offset ``κ`` making
    weeks without spend well defined. Additively it is a slowly diminishing
    curve like ``power``.

    Default prior: ``log_offset ~ Gamma(alpha=2, beta=10)`` in scaled spend, mean
    0.2, 95 % in about (0.024, 0.56) of the biggest week.
    """

    name: ClassVar[str] = "log"
    default_priors: ClassVar[dict[str, Prior]] = {"log_offset": Prior("Gamma", {"alpha": 2.0, "beta": 10.0})}

    def apply_np(self, x: np.ndarray, log_offset: np.ndarray) -> np.ndarray:
        """Saturate with NumPy: ``x`` (..., date, channel), ``log_offset`` (..., channel), dims broadcast."""
        return np.log1p(x / _per_date(log_offset))

    def derivative_np(self, x: np.ndarray, log_offset: np.ndarray) -> np.ndarray:
        """d saturation / dx: ``1 / (κ + x)``, same dims as :meth:`apply_np`."""
        return 1.0 / (_per_date(log_offset) + x)

    def apply_pt(self, x: Any, log_offset: Any) -> Any:
        """Saturate with PyTensor: ``x`` (date, channel), ``log_offset`` (channel,)."""
        import pytensor.tensor as pt

        return pt.log1p(x / log_offset[None, :])


#: Saturation registry: config name -> class.
SATURATIONS: dict[str, type[Saturation]] = {
    cls.name: cls
    for cls in (LogisticSaturation, HillSaturation, MichaelisMentenSaturation, TanhSaturation, PowerSaturation,
                LogSaturation)
}
