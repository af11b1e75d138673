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

__all__ = ["Transform"]


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
