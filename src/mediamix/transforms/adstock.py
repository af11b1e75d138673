"""Adstock (carryover): this week's effect of spend from earlier weeks.

``adstock(x)_t = Σ_{l=0}^{l_max-1} w_l · x_{t-l}``, spend before the first week
taken as zero. Geometric weights are ``w_l = alpha^l``, divided by their sum when
``normalize`` is true so that adstock moves spend in time without creating or
destroying any (total mass is preserved up to the window's tail at the end).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from mediamix.errors import ConfigError
from mediamix.priors import Prior

__all__ = ["GeometricAdstock", "geometric_weights", "lag_stack", "ADSTOCKS"]


def geometric_weights(alpha: np.ndarray, l_max: int, normalize: bool = True) -> np.ndarray:
    """Geometric lag weights.

    Parameters
    ----------
    alpha : ndarray, dims (..., channel)
        Retention rate per week, in [0, 1).
    l_max : int
        Number of weeks in the window (lag 0 included).
    normalize : bool, default=True
        Divide the weights by their sum.

    Returns
    -------
    ndarray, dims (..., lag, channel)
    """
    alpha = np.asarray(alpha, dtype=float)
    lags = np.arange(l_max, dtype=float)
    w = alpha[..., None, :] ** lags[:, None]
    if normalize:
        w = w / w.sum(axis=-2, keepdims=True)
    return w


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


@dataclass(frozen=True)
class GeometricAdstock:
    """Geometric adstock with a finite window (Jin et al. 2017, eq. 1).

    Parameters
    ----------
    l_max : int, default=8
        Window length in periods, lag 0 included.
    normalize : bool, default=True
        Normalize the weights to sum to one.
    """

    name: ClassVar[str] = "geometric"
    default_priors: ClassVar[dict[str, Prior]] = {"alpha": Prior("Beta", {"alpha": 1.0, "beta": 3.0})}

    l_max: int = 8
    normalize: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.l_max, bool) or not isinstance(self.l_max, int) or self.l_max < 1:
            raise ConfigError(f"The 'l_max' parameter of GeometricAdstock must be an int >= 1. Got {self.l_max!r} instead.")

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
        w = geometric_weights(alpha, self.l_max, self.normalize)
        return np.einsum("...lc,...ltc->...tc", w, lag_stack(x, self.l_max))

    def apply_pt(self, x: Any, alpha: Any) -> Any:
        """Adstock with PyTensor, vectorized over channels.

        Parameters
        ----------
        x : TensorVariable or ndarray, dims (date, channel)
        alpha : TensorVariable, dims (channel,)
        """
        import pytensor.tensor as pt

        x = pt.as_tensor_variable(x)
        # Lags, not weeks, are unrolled: l_max small slices; with constant data
        # PyTensor folds the stack into one constant at compile time.
        lagged = pt.stack(
            [x] + [pt.concatenate([pt.zeros_like(x[:lag]), x[:-lag]], axis=0) for lag in range(1, self.l_max)]
        )
        lags = pt.arange(self.l_max, dtype="float64")
        w = alpha[None, :] ** lags[:, None]
        if self.normalize:
            w = w / w.sum(axis=0, keepdims=True)
        return (lagged * w[:, None, :]).sum(axis=0)


#: Adstock registry: config name -> class.
ADSTOCKS: dict[str, type[GeometricAdstock]] = {GeometricAdstock.name: GeometricAdstock}
