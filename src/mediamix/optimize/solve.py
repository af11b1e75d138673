"""Solve the budget problem with SciPy over posterior draws.

Variables are fractions of the budget (well scaled whatever the currency):
each channel's share of the total, or with flighting each week's share. SLSQP
handles the budget equality (or inequality, when budget may stay unspent),
per-channel bounds and, with flighting, per-channel totals as linear constraints.
Gradients are exact (see :mod:`mediamix.optimize.objective`).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import LinearConstraint, minimize
from threadpoolctl import threadpool_limits

from mediamix.errors import ConfigError
from mediamix.optimize.objective import PlanEvaluator, risk_objective
from mediamix.optimize.problem import BudgetProblem

__all__ = ["BudgetResult", "solve", "initial_shares", "kpi_summary"]


def kpi_summary(draws: np.ndarray, prob: float = 0.94) -> dict[str, float]:
    """Mean and HDI of KPI draws (1-D)."""
    import arviz as az

    low, high = np.asarray(az.hdi(np.asarray(draws)[None, :], prob=prob)).ravel()[:2]
    return {"mean": float(np.mean(draws)), "hdi_low": float(low), "hdi_high": float(high)}


@dataclass(frozen=True)
class BudgetResult:
    """An optimized allocation and how it compares with a reference allocation.

    Attributes
    ----------
    channels : tuple of str
    allocation : dict of str to float
        Total spend of each channel over the horizon.
    weekly : ndarray, dims (week, channel)
        The plan week by week (constant per channel without flighting).
    reference : dict of str to float
        The allocation compared against (historical shares of the same budget, or given).
    kpi, reference_kpi : ndarray, dims (sample,)
        Media KPI draws of each plan over the horizon and its spill-over weeks.
    problem : BudgetProblem
    success : bool
    message : str
    iterations : int
    seconds : float
    """

    channels: tuple[str, ...]
    allocation: dict[str, float]
    weekly: np.ndarray
    reference: dict[str, float]
    kpi: np.ndarray
    reference_kpi: np.ndarray
    problem: BudgetProblem
    success: bool
    message: str
    iterations: int
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def spent(self) -> float:
        """Total allocated spend."""
        return float(sum(self.allocation.values()))

    @property
    def uplift(self) -> np.ndarray:
        """KPI of the optimum minus the reference, per draw."""
        return self.kpi - self.reference_kpi

    def to_dict(self, prob: float = 0.94) -> dict[str, Any]:
        """JSON-ready summary (allocation, expected KPI with HDI, uplift and its probability)."""
        p = self.problem
        return {
            "budget": p.budget,
            "spent": self.spent,
            "weeks": p.weeks,
            "objective": p.objective,
            "risk": p.risk_value if p.objective != "mean" else None,
            "flighting": p.flighting,
            "discount_rate": p.discount_rate,
            "allow_unspent": p.allow_unspent,
            "hdi_prob": prob,
            "allocation": self.allocation,
            "reference_allocation": self.reference,
            "kpi": kpi_summary(self.kpi, prob),
            "reference_kpi": kpi_summary(self.reference_kpi, prob),
            "uplift": {**kpi_summary(self.uplift, prob), "probability_positive": float(np.mean(self.uplift > 0))},
            "weekly_plan": {c: self.weekly[:, i].tolist() for i, c in enumerate(self.channels)},
            "solver": {"success": self.success, "message": self.message, "iterations": self.iterations,
                       "seconds": self.seconds},
            **self.extra,
        }


def initial_shares(lows: np.ndarray, highs: np.ndarray, weights: np.ndarray, total: float) -> np.ndarray:
    """A feasible start: the lower bounds, then ``total`` shared in proportion to ``weights`` within the uppers."""
    x = lows.astype(float).copy()
    weights = np.where(weights > 0, weights, 1e-6)
    for _ in range(len(x) + 1):  # water-filling: each round saturates at least one channel
        room = highs - x
        free = room > 1e-12
        left = total - x.sum()
        if left <= 1e-12 or not free.any():
            break
        add = np.zeros_like(x)
        add[free] = left * weights[free] / weights[free].sum()
        x += np.minimum(add, room)
    return x


def solve(
    evaluator: PlanEvaluator,
    problem: BudgetProblem,
    historical_weekly: np.ndarray,
    reference: Mapping[str, float] | None = None,
) -> BudgetResult:
    """Find the allocation that maximizes the problem's objective.

    Parameters
    ----------
    evaluator : PlanEvaluator
    problem : BudgetProblem
        Bounds already resolved to absolute totals.
    historical_weekly : ndarray, dims (channel,)
        Mean historical weekly spend per channel: the start point and the reference shares.
    reference : mapping of str to float, optional
        Totals per channel to compare against; default the historical shares of the budget.

    Raises
    ------
    ConfigError
        If the bounds are infeasible (saying which) or a reference names an unknown channel.
    """
    start = time.perf_counter()
    if evaluator.discount_rate != problem.discount_rate:  # the problem says how to discount
        evaluator = dataclasses.replace(evaluator, discount_rate=problem.discount_rate)
    channels = evaluator.media.channels
    problem.check_feasible(channels)
    budget, weeks, n_ch = problem.budget, problem.weeks, len(channels)
    lows = np.array([problem.bounds.get(c, (0.0, math.inf))[0] for c in channels]) / budget
    highs = np.minimum(np.array([problem.bounds.get(c, (0.0, math.inf))[1] for c in channels]) / budget, 1.0)
    shares0 = initial_shares(lows, highs, historical_weekly, 1.0)

    if problem.flighting:
        def to_weekly(z: np.ndarray) -> np.ndarray:
            return z.reshape(weeks, n_ch) * budget

        def reduce_grad(g: np.ndarray) -> np.ndarray:
            return (g * budget).ravel()

        z0 = np.tile(shares0 / weeks, weeks)
        var_bounds = [(0.0, highs[c]) for _ in range(weeks) for c in range(n_ch)]
        per_channel = np.kron(np.ones((1, weeks)), np.eye(n_ch))  # (channel, weeks*channel): channel totals
        pinned = np.isclose(lows, highs)  # fixed channels: equality rows apart from the range rows
        constraints = [
            LinearConstraint(per_channel[rows], lows[rows], highs[rows])
            for rows in (pinned, ~pinned) if rows.any()
        ]
        total_row = np.ones((1, weeks * n_ch))
    else:
        def to_weekly(z: np.ndarray) -> np.ndarray:
            return np.tile(z * budget / weeks, (weeks, 1))

        def reduce_grad(g: np.ndarray) -> np.ndarray:
            return g.sum(axis=0) * budget / weeks

        z0 = shares0
        var_bounds = list(zip(lows, highs, strict=True))
        constraints = []
        total_row = np.ones((1, n_ch))
    lower_total = 0.0 if problem.allow_unspent else 1.0
    constraints.append(LinearConstraint(total_row, lower_total, 1.0))

    risk = problem.risk_value
    values0, _ = evaluator.kpi_and_gradient(to_weekly(z0))
    scale = max(abs(float(values0.mean())), 1e-9)

    def negative_objective(z: np.ndarray) -> tuple[float, np.ndarray]:
        values, grads = evaluator.kpi_and_gradient(to_weekly(z))
        value, grad = risk_objective(values, grads, problem.objective, risk)
        return -value / scale, -reduce_grad(grad) / scale

    # SLSQP's dense linear algebra is small; BLAS threads only add contention (measured:
    # 10 channels with flighting took 14 s with 2 threads on a busy 2-core box, 2 s with 1).
    with threadpool_limits(limits=1, user_api="blas"):
        result = minimize(
            negative_objective, z0, jac=True, method="SLSQP", bounds=var_bounds, constraints=constraints,
            options={"maxiter": 500, "ftol": 1e-12},
        )
    z = np.clip(result.x, [b[0] for b in var_bounds], [b[1] for b in var_bounds])
    weekly = to_weekly(z)
    allocation = {c: float(weekly[:, i].sum()) for i, c in enumerate(channels)}

    if reference is None:
        shares = historical_weekly / historical_weekly.sum()
        reference = {c: float(budget * shares[i]) for i, c in enumerate(channels)}
    else:
        unknown = [c for c in reference if c not in channels]
        if unknown:
            raise ConfigError(f"Reference allocation names unknown channel '{unknown[0]}'. Known: {', '.join(channels)}.")
        reference = {c: float(reference.get(c, 0.0)) for c in channels}
    ref_weekly = np.tile(np.array([reference[c] for c in channels]) / weeks, (weeks, 1))

    return BudgetResult(
        channels=channels,
        allocation=allocation,
        weekly=weekly,
        reference=dict(reference),
        kpi=evaluator.kpi(weekly),
        reference_kpi=evaluator.kpi(ref_weekly),
        problem=problem,
        success=bool(result.success),
        message=str(result.message),
        iterations=int(result.nit),
        seconds=time.perf_counter() - start,
    )
