"""The KPI of a spend plan over the posterior, with its exact gradient.

A plan is the spend of every channel in every week of the horizon. Its KPI is
the media contribution that lands in the horizon and in the ``l_max - 1`` weeks
after it (spend spills forward), plus what the last historical weeks still carry
into the horizon. Later weeks can be discounted. Values and gradients come for
every posterior draw at once (no Python loop over draws).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mediamix.analysis.media import MediaResponse
from mediamix.optimize.problem import Objective

__all__ = ["PlanEvaluator", "risk_objective"]


@dataclass(frozen=True)
class PlanEvaluator:
    """Media KPI of weekly spend plans for a fixed horizon.

    Parameters
    ----------
    media : MediaResponse
    history : ndarray, dims (history, channel)
        Spend of the last weeks before the horizon (user units); their carryover counts.
    weeks : int
        Horizon length.
    discount_rate : float, default=0.0
        Yearly discount of later returns.
    step_days : float, default=7.0
        Days per period (on average: a calendar month is 30.44), to turn the yearly rate into a
        per-period one.
    """

    media: MediaResponse
    history: np.ndarray
    weeks: int
    discount_rate: float = 0.0
    step_days: float = 7.0

    @property
    def tail(self) -> int:
        """Periods after the horizon in which its spend still acts."""
        return self.media.l_max - 1

    @property
    def date_weights(self) -> np.ndarray:
        """Weight of each row of the spend matrix in the KPI: 0 for history, discounted after."""
        ahead = np.arange(self.weeks + self.tail)
        discount = (1.0 + self.discount_rate) ** (-ahead * self.step_days / 365.25)
        return np.concatenate([np.zeros(len(self.history)), discount])

    def spend_matrix(self, weekly: np.ndarray) -> np.ndarray:
        """History, the plan and zero-spend tail weeks stacked, dims (date, channel)."""
        tail = np.zeros((self.tail, weekly.shape[1]))
        return np.vstack([self.history, weekly, tail])

    def kpi(self, weekly: np.ndarray) -> np.ndarray:
        """Media KPI per draw for a plan (weeks, channel), dims (sample,)."""
        contribution = self.media.contribution(self.spend_matrix(weekly))
        return np.einsum("stc,t->s", contribution, self.date_weights)

    def kpi_and_gradient(self, weekly: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """KPI per draw and its gradient w.r.t. the plan, dims (sample,) and (sample, weeks, channel)."""
        total, gradient = self.media.contribution_gradient(self.spend_matrix(weekly), self.date_weights)
        start = len(self.history)
        return total, gradient[:, start:start + self.weeks, :]


def risk_objective(values: np.ndarray, gradients: np.ndarray, objective: Objective, risk: float) -> tuple[float, np.ndarray]:
    """Reduce per-draw KPIs (and gradients) to the objective to maximize.

    Parameters
    ----------
    values : ndarray, dims (sample,)
    gradients : ndarray, dims (sample, ...)
    objective : {"mean", "mean-sd", "quantile", "cvar"}
    risk : float
        ``k`` for mean-sd; tail probability for quantile and cvar.

    Returns
    -------
    value : float
    gradient : ndarray, dims (...)
    """
    if objective == "mean":
        return float(values.mean()), gradients.mean(axis=0)
    if objective == "mean-sd":
        mean = values.mean()
        sd = values.std()
        centered = (values - mean) / max(sd, 1e-300) / len(values)
        grad_sd = np.tensordot(centered, gradients, axes=(0, 0))
        return float(mean - risk * sd), gradients.mean(axis=0) - risk * grad_sd
    order = np.argsort(values)
    if objective == "quantile":
        k = min(len(values) - 1, max(0, int(np.floor(risk * (len(values) - 1)))))
        return float(values[order[k]]), gradients[order[k]]
    # cvar: mean of the worst `risk` fraction of draws
    n_tail = max(1, int(np.ceil(risk * len(values))))
    worst = order[:n_tail]
    return float(values[worst].mean()), gradients[worst].mean(axis=0)
