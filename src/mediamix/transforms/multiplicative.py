"""The multiplicative model's bookkeeping: turning log-scale parts into target units.

With ``form = "multiplicative"`` the model is additive in ``log(target)``, so a
part's effect in target units depends on everything it multiplies. Results
(decomposition, ROAS, plans) split each lift among its parts with
:func:`log_shares`, which adds up exactly and is interaction-free for one part.
"""

from __future__ import annotations

import numpy as np

__all__ = ["log_shares"]


def log_shares(level: np.ndarray, parts: np.ndarray) -> np.ndarray:
    """Split a multiplicative lift among its log-scale parts, in proportion to each part.

    ``level · (exp(Σ_k parts_k) − 1)`` is what the parts add on top of ``level``;
    part ``k`` gets ``level · parts_k · (exp(Σ) − 1) / Σ``. The shares add up
    exactly, and a part alone gets exactly its own counterfactual lift.

    Parameters
    ----------
    level : ndarray, dims (...)
        What the parts multiply (e.g. the baseline), in target units.
    parts : ndarray, dims (..., part)
        Log-scale effects.

    Returns
    -------
    ndarray, dims (..., part), in target units.
    """
    total = parts.sum(axis=-1)
    small = np.abs(total) < 1e-12
    ratio = np.where(small, 1.0, np.expm1(total) / np.where(small, 1.0, total))  # expm1(x)/x -> 1 at 0
    return (level * ratio)[..., None] * parts
