"""Piecewise-linear trend features (Prophet-style changepoints), computed from time alone.

The trend of the model is ``trend(t) = k·t + Σ_j δ_j·(t − s_j)₊`` on the trend's
0..1 time (0 at the first training date, 1 at the last, see
:func:`~mediamix.transforms.linear_trend`). Each term ``(t − s_j)₊`` is zero before
changepoint ``s_j`` and grows with slope 1 after it, so the trend stays continuous
and its slope after ``s_j`` is ``k + Σ_{i≤j} δ_i``. Dates after the training span
keep the last slope (no new changepoints are invented for the future).
"""

from __future__ import annotations

import numpy as np

__all__ = ["changepoint_locations", "changepoint_basis"]


def changepoint_locations(n_changepoints: int) -> np.ndarray:
    """Changepoints evenly spaced inside the training span, on the trend's 0..1 time.

    The ends are left out: a change at 0 is the base slope and a change at 1
    has no training data after it.

    Parameters
    ----------
    n_changepoints : int
        Number of changepoints (>= 1).

    Returns
    -------
    ndarray, dims (changepoint,)
        ``j / (n_changepoints + 1)`` for ``j = 1..n_changepoints``.

    Examples
    --------
    >>> changepoint_locations(3)
    array([0.25, 0.5 , 0.75])
    """
    return np.arange(1, n_changepoints + 1) / (n_changepoints + 1)


def changepoint_basis(t: np.ndarray, locations: np.ndarray) -> np.ndarray:
    """The hinge columns ``(t − s_j)₊`` of a continuous piecewise-linear trend.

    Parameters
    ----------
    t : ndarray, dims (date,)
        Trend time (0 at the first training date, 1 at the last).
    locations : ndarray, dims (changepoint,)
        Changepoints ``s_j`` on the same time scale.

    Returns
    -------
    ndarray, dims (date, changepoint)
        Zero before each changepoint, ``t − s_j`` after it.

    Examples
    --------
    >>> changepoint_basis(np.array([0.0, 0.5, 1.0]), np.array([0.25, 0.75]))
    array([[0.  , 0.  ],
           [0.25, 0.  ],
           [0.75, 0.25]])
    """
    return np.maximum(np.asarray(t, dtype=float)[:, None] - np.asarray(locations, dtype=float)[None, :], 0.0)
