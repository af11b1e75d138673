"""The transform slot: what an adstock or a saturation must provide.

A transform is a small frozen object with

- ``name``: its registry name (what the config says, e.g. ``"geometric"``);
- ``default_priors``: a prior for each of its parameters (all on the ``channel`` dim);
- ``apply_np(x, **params)``: the NumPy reference, batched over leading dims;
- ``apply_pt(x, **params)``: the PyTensor twin used inside the PyMC model;
- saturations also give ``derivative_np(x, **params)`` (d/dx), which the
  budget optimizer uses for exact gradients. Adstocks are linear in ``x``, so
  their transpose is the same adstock run backwards in time.

Both functions take ``x`` with dims ``(..., date, channel)`` and parameters with
dims ``(..., channel)``; the NumPy version broadcasts leading (draw, scenario)
dims of both so a whole posterior, or many spend plans, go through in one call. Tests check the two against each
other and against hand-computed values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from mediamix.priors import Prior

__all__ = ["Transform", "Adstock", "Saturation"]


@runtime_checkable
class Transform(Protocol):
    """What every adstock and saturation exposes."""

    name: ClassVar[str]
    default_priors: ClassVar[Mapping[str, Prior]]

    def apply_np(self, x: np.ndarray, **params: np.ndarray) -> np.ndarray:
        """NumPy reference: ``x`` (..., date, channel), params (..., channel)."""
        ...

    def apply_pt(self, x: Any, **params: Any) -> Any:
        """PyTensor twin of :meth:`apply_np` for one parameter set: ``x`` (date, channel)."""
        ...


@runtime_checkable
class Adstock(Transform, Protocol):
    """An adstock: a linear convolution of ``x`` with per-channel lag weights.

    ``apply_np(x, **p) == convolve_np(x, weights_np(**p))``, so the transpose of
    an adstock is the same adstock run backwards in time.
    """

    l_max: int
    normalize: bool

    def weights_np(self, **params: np.ndarray) -> np.ndarray:
        """Lag weights, dims (..., lag, channel), from params (..., channel)."""
        ...

    def weights_pt(self, **params: Any) -> Any:
        """PyTensor twin of :meth:`weights_np`, dims (lag, channel), from params (channel,)."""
        ...


@runtime_checkable
class Saturation(Transform, Protocol):
    """A saturation: an elementwise, increasing curve with ``f(0) = 0`` and its derivative."""

    def derivative_np(self, x: np.ndarray, **params: np.ndarray) -> np.ndarray:
        """d :meth:`apply_np` / dx, same dims as :meth:`apply_np`."""
        ...
