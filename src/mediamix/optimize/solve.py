"""Solve the budget problem with SciPy over posterior draws.

Variables are fractions of the budget (well scaled whatever the currency):
each channel's share of the total, or with flighting each week's share. SLSQP
handles the budget equality (or inequality, when budget may stay unspent),
per-channel bounds and, with flighting, per-channel totals as linear constraints.
Shares whose bounds pin them (a fixed or excluded channel) are constants, not
variables. Gradients are exact (see :mod:`mediamix.optimize.objective`).
"""

from __future__ import annotations

import dataclasses
import math
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from threadpoolctl import threadpool_limits

from mediamix.errors import ConfigError
from mediamix.optimize.objective import PlanEvaluator, risk_objective
from mediamix.optimize.problem import BudgetProblem

if TYPE_CHECKING:  # SciPy's optimize is imported when a plan is solved: ~0.2 s that `mediamix fit` never needs
    from scipy.optimize import LinearConstraint

__all__ = ["BudgetResult", "solve", "initial_shares", "kpi_summary", "warn_if_not_converged"]


def kpi_summary(draws: np.ndarray, prob: float = 0.94) -> dict[str, float]:
    """Mean and HDI of KPI draws (1-D)."""
    import arviz_stats

    low, high = np.asarray(arviz_stats.hdi(np.asarray(draws)[None, :], prob=prob)).ravel()[:2]
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
    reference_given: bool = False

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
            "reference_source": "given" if self.reference_given else "historical split of the same budget",
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


#: Free shares are evaluated this far above their value. Power and Hill (slope < 1)
#: curves rise infinitely steeply at zero spend, so a channel or week that SLSQP
#: leaves unfunded hands it gradients of up to ~1e300, which break its least-squares
#: subproblem ("Inequality constraints incompatible", "Singular matrix E"); even
#: ~1e8 let it stop early, short of the optimum. A millionth of the budget keeps them
#: tame, moves the optimum by about as much, and leaves other curves unchanged.
#: (A shift, not a floor: the gradient stays exactly that of what SLSQP minimizes.)
_SHARE_OFFSET = 1e-6


@dataclass(frozen=True)
class _Space:
    """SLSQP's variables (budget shares) with their bounds, start and linear constraints.

    ``to_weekly`` maps all variables to the plan (week, channel); ``reduce_grad``
    maps a gradient w.r.t. the plan back to one entry per variable.
    """

    start: np.ndarray
    lows: np.ndarray
    highs: np.ndarray
    constraints: list[tuple[np.ndarray, np.ndarray, np.ndarray]]  # (matrix, lower, upper) per group of rows
    to_weekly: Callable[[np.ndarray], np.ndarray]
    reduce_grad: Callable[[np.ndarray], np.ndarray]

    @property
    def free(self) -> np.ndarray:
        """Variables the bounds leave room for; the others are pinned at their (equal) bounds."""
        return self.lows != self.highs

    def expand(self, z_free: np.ndarray) -> np.ndarray:
        """All variables: the free ones from ``z_free``, the pinned ones at their bounds."""
        z = self.lows.copy()
        z[self.free] = z_free
        return z

    def free_constraints(self) -> list[LinearConstraint]:
        """The constraints on the free variables, the pinned ones' share moved to the sides."""
        from scipy.optimize import LinearConstraint

        free = self.free
        out = []
        for matrix, lower, upper in self.constraints:
            pinned_part = matrix[:, ~free] @ self.lows[~free]
            part = matrix[:, free]
            rows = np.any(part != 0.0, axis=1)  # a row on pinned variables alone holds by their bounds
            if rows.any():
                out.append(LinearConstraint(part[rows], (lower - pinned_part)[rows], (upper - pinned_part)[rows]))
        return out


def _totals_space(
    lows: np.ndarray, highs: np.ndarray, shares0: np.ndarray, budget: float, weeks: int, lower_total: float
) -> _Space:
    """One share per channel, spent evenly over the weeks."""
    def to_weekly(z: np.ndarray) -> np.ndarray:
        return np.tile(z * budget / weeks, (weeks, 1))

    def reduce_grad(g: np.ndarray) -> np.ndarray:
        return g.sum(axis=0) * budget / weeks

    total_row = (np.ones((1, len(lows))), np.array([lower_total]), np.array([1.0]))
    return _Space(shares0, lows, highs, [total_row], to_weekly, reduce_grad)


def _flighting_space(
    lows: np.ndarray, highs: np.ndarray, shares0: np.ndarray, budget: float, weeks: int, lower_total: float
) -> _Space:
    """One share per week and channel; channel totals within their bounds."""
    n_ch = len(lows)

    def to_weekly(z: np.ndarray) -> np.ndarray:
        return z.reshape(weeks, n_ch) * budget

    def reduce_grad(g: np.ndarray) -> np.ndarray:
        return (g * budget).ravel()

    per_channel = np.kron(np.ones((1, weeks)), np.eye(n_ch))  # (channel, weeks*channel): channel totals
    pinned = np.isclose(lows, highs)  # fixed channels: equality rows apart from the range rows
    constraints = [(per_channel[rows], lows[rows], highs[rows]) for rows in (pinned, ~pinned) if rows.any()]
    constraints.append((np.ones((1, weeks * n_ch)), np.array([lower_total]), np.array([1.0])))
    return _Space(np.tile(shares0 / weeks, weeks), np.zeros(weeks * n_ch), np.tile(highs, weeks), constraints,
                  to_weekly, reduce_grad)


def solve(
    evaluator: PlanEvaluator,
    problem: BudgetProblem,
    historical_weekly: np.ndarray,
    reference: Mapping[str, float] | None = None,
    *,
    warn: bool = True,
) -> BudgetResult:
    """Find the allocation that maximizes the problem's objective.

    Channels (or, with flighting, weeks) whose bounds pin their spend are not
    optimized: they keep that spend, and the solver moves only the others. When
    nothing is left free, the pinned plan is the answer (``iterations = 0``).

    Parameters
    ----------
    evaluator : PlanEvaluator
    problem : BudgetProblem
        Bounds already resolved to absolute totals.
    historical_weekly : ndarray, dims (channel,)
        Mean historical weekly spend per channel: the start point and the reference shares.
    reference : mapping of str to float, optional
        Totals per channel to compare against; default the historical shares of the budget.
    warn : bool, default=True
        Warn (:class:`RuntimeWarning`) when the solver stops without converging;
        the result then has ``success = False`` and its allocation is no verified optimum.

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
    budget, weeks = problem.budget, problem.weeks
    lows = np.array([problem.bounds.get(c, (0.0, math.inf))[0] for c in channels]) / budget
    highs = np.minimum(np.array([problem.bounds.get(c, (0.0, math.inf))[1] for c in channels]) / budget, 1.0)
    shares0 = initial_shares(lows, highs, historical_weekly, 1.0)
    lower_total = 0.0 if problem.allow_unspent else 1.0
    build = _flighting_space if problem.flighting else _totals_space
    space = build(lows, highs, shares0, budget, weeks, lower_total)

    if space.free.any():
        weekly, success, message, iterations = _optimize(evaluator, problem, space)
    else:  # every spend is pinned: the one feasible plan is the answer
        weekly, success, message, iterations = (
            space.to_weekly(space.lows), True, "Every channel's spend is fixed by its bounds: nothing to optimize.", 0,
        )
    reference_given = reference is not None
    reference = _reference(reference, channels, historical_weekly, budget)
    ref_weekly = np.tile(np.array([reference[c] for c in channels]) / weeks, (weeks, 1))
    result = BudgetResult(
        channels=channels,
        allocation={c: float(weekly[:, i].sum()) for i, c in enumerate(channels)},
        weekly=weekly,
        reference=reference,
        kpi=evaluator.kpi(weekly),
        reference_kpi=evaluator.kpi(ref_weekly),
        problem=problem,
        success=success,
        message=message,
        iterations=iterations,
        seconds=time.perf_counter() - start,
        reference_given=reference_given,
    )
    if warn:
        warn_if_not_converged(result, stacklevel=2)
    return result


def _optimize(evaluator: PlanEvaluator, problem: BudgetProblem, space: _Space) -> tuple[np.ndarray, bool, str, int]:
    """Run SLSQP over the free variables: the plan (week, channel), success, message and iterations."""
    free = space.free
    lows, highs = space.lows[free], space.highs[free]
    risk = problem.risk_value

    def evaluate(z_free: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return evaluator.kpi_and_gradient(space.to_weekly(space.expand(z_free + _SHARE_OFFSET)))

    z0 = space.start[free]
    scale = max(abs(float(evaluate(z0)[0].mean())), 1e-9)

    def negative_objective(z: np.ndarray) -> tuple[float, np.ndarray]:
        values, grads = evaluate(z)
        value, grad = risk_objective(values, grads, problem.objective, risk)
        return -value / scale, -space.reduce_grad(grad)[free] / scale

    # SLSQP's dense linear algebra is small; BLAS threads only add contention (measured:
    # 10 channels with flighting took 14 s with 2 threads on a busy 2-core box, 2 s with 1).
    from scipy.optimize import minimize

    with threadpool_limits(limits=1, user_api="blas"):
        result = minimize(
            negative_objective, z0, jac=True, method="SLSQP", bounds=list(zip(lows, highs, strict=True)),
            constraints=space.free_constraints(), options={"maxiter": 500, "ftol": 1e-12},
        )
    weekly = space.to_weekly(space.expand(np.clip(result.x, lows, highs)))
    # SciPy leaves out ``nit`` when it never iterates (e.g. bounds that fix every variable).
    return weekly, bool(result.success), str(result.message), int(getattr(result, "nit", 0))


def _reference(
    reference: Mapping[str, float] | None, channels: tuple[str, ...], historical_weekly: np.ndarray, budget: float
) -> dict[str, float]:
    """Totals per channel to compare with: the given ones (checked) or the historical shares of the budget."""
    if reference is None:
        shares = historical_weekly / historical_weekly.sum()
        return {c: float(budget * shares[i]) for i, c in enumerate(channels)}
    unknown = [c for c in reference if c not in channels]
    if unknown:
        raise ConfigError(f"Reference allocation names unknown channel '{unknown[0]}'. Known: {', '.join(channels)}.")
    return {c: float(reference.get(c, 0.0)) for c in channels}


def warn_if_not_converged(result: BudgetResult, stacklevel: int = 1) -> None:
    """Warn (:class:`RuntimeWarning`) when ``result`` is not a converged optimum.

    The result still carries the solver's last point, flagged ``success = False``
    (the CLI prints that too); the warning makes the failure visible from Python.

    Parameters
    ----------
    result : BudgetResult
    stacklevel : int, default=1
        As for :func:`warnings.warn`, counted from the caller of this function.
    """
    if result.success:
        return
    warnings.warn(
        f"The budget optimizer stopped without converging after {result.iterations} iterations "
        f"({result.message}): the allocation is the last point it reached, not a verified optimum "
        "(result.success is False). Check the bounds, or try another objective or budget.",
        RuntimeWarning,
        stacklevel=stacklevel + 1,
    )
