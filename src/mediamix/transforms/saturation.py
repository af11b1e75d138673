"""Saturation (diminishing returns): how the effect bends as spend grows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from mediamix.priors import Prior

__all__ = ["LogisticSaturation", "SATURATIONS"]


@dataclass(frozen=True)
class LogisticSaturation:
    """Logistic saturation ``(1 - e^{-λx}) / (1 + e^{-λx})``.

    Zero at zero, increasing, concave for ``x >= 0`` and bounded by 1; ``λ``
    sets how fast it bends (on the max-abs scaled spend).
    """

    name: ClassVar[str] = "logistic"
    default_priors: ClassVar[dict[str, Prior]] = {"lam": Prior("Gamma", {"alpha": 3.0, "beta": 1.0})}

    def apply_np(self, x: np.ndarray, lam: np.ndarray) -> np.ndarray:
        """Saturate with NumPy.

        Parameters
        ----------
        x : ndarray, dims (..., date, channel)
        lam : ndarray, dims (..., channel)

        Returns
        -------
        ndarray, dims (..., date, channel)
        """
        e = np.exp(-np.asarray(lam)[..., None, :] * x)
        return (1.0 - e) / (1.0 + e)

    def derivative_np(self, x: np.ndarray, lam: np.ndarray) -> np.ndarray:
        """d saturation / dx with NumPy, same dims as :meth:`apply_np`: ``2λe / (1 + e)^2``, ``e = e^{-λx}``."""
        lam = np.asarray(lam)[..., None, :]
        e = np.exp(-lam * x)
        return 2.0 * lam * e / (1.0 + e) ** 2

    def apply_pt(self, x: Any, lam: Any) -> Any:
        """Saturate with PyTensor: ``x`` (date, channel), ``lam`` (channel,)."""
        import pytensor.tensor as pt

        e = pt.exp(-lam[None, :] * x)
        return (1.0 - e) / (1.0 + e)


#: Saturation registry: config name -> class.
SATURATIONS: dict[str, type[LogisticSaturation]] = {LogisticSaturation.name: LogisticSaturation}
