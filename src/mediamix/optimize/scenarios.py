"""Efficiency scenarios: the smallest budget that reaches a KPI target, or keeps the
marginal return above a threshold. Both bisect on the budget, optimizing the
allocation at every step (the best achievable KPI grows with the budget, and its
slope, the marginal return, falls: diminishing returns)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np

from mediamix.errors import ConfigError
from mediamix.optimize.objective import PlanEvaluator
from mediamix.optimize.problem import BudgetProblem
from mediamix.optimize.solve import BudgetResult, solve

__all__ = ["minimum_budget_for_kpi", "budget_for_marginal_roas"]

_STEPS = 40  # bisection steps: 2^-40 relative precision, far below the draws' noise


def _bisect(good: Callable[[float], bool], lo: float, hi: float, rel_tol: float) -> float:
    """Smallest budget in [lo, hi] for which ``good`` holds (``good(hi)`` is true, monotone)."""
    for _ in range(_STEPS):
        if hi - lo <= rel_tol * hi:
            break
        mid = 0.5 * (lo + hi)
        if good(mid):
            hi = mid
        else:
            lo = mid
    return hi


def _best_allocation(
    evaluator: PlanEvaluator, template: BudgetProblem, historical_weekly: np.ndarray
) -> Callable[[float], BudgetResult]:
    """The optimum at a given budget, each budget solved once (bisection revisits them)."""
    cache: dict[float, BudgetResult] = {}

    def best(budget: float) -> BudgetResult:
        if budget not in cache:
            problem = dataclasses.replace(template, budget=budget, allow_unspent=False)
            cache[budget] = solve(evaluator, problem, historical_weekly)
        return cache[budget]

    return best


def _ceiling(template: BudgetProblem, channels: tuple[str, ...]) -> float:
    return sum(template.bounds.get(c, (0.0, math.inf))[1] for c in channels)


def minimum_budget_for_kpi(
    evaluator: PlanEvaluator,
    template: BudgetProblem,
    historical_weekly: np.ndarray,
    target: float,
    rel_tol: float = 1e-3,
) -> BudgetResult:
    """The smallest budget whose optimized objective reaches ``target`` (media KPI units).

    ``template`` gives everything but the budget (its budget is the first guess).

    Raises
    ------
    ConfigError
        If ``target`` cannot be reached within the channels' upper bounds.
    """
    best = _best_allocation(evaluator, template, historical_weekly)

    def objective_of(result: BudgetResult) -> float:
        from mediamix.optimize.objective import risk_objective

        value, _ = risk_objective(result.kpi, result.kpi[:, None], template.objective, template.risk_value)
        return value

    ceiling = _ceiling(template, evaluator.media.channels)
    # No budget below the channels' lower bounds (fixed channels included) is feasible.
    floor = sum(template.bounds.get(c, (0.0, math.inf))[0] for c in evaluator.media.channels)
    hi = max(template.budget, floor)
    while objective_of(best(min(hi, ceiling))) < target:
        if hi >= ceiling or hi > 1e6 * template.budget:
            reach = objective_of(best(min(hi, ceiling)))
            raise ConfigError(
                f"The KPI target {target:,.6g} is out of reach: the most the channels' bounds allow is "
                f"{reach:,.6g} (at a budget of {min(hi, ceiling):,.6g}). Lower the target or widen the bounds."
            )
        hi *= 2.0
    hi = min(hi, ceiling)
    budget = _bisect(lambda b: objective_of(best(b)) >= target, floor, hi, rel_tol)
    result = best(budget)
    return dataclasses.replace(result, extra={"scenario": {"kind": "target_kpi", "target": target}})


def budget_for_marginal_roas(
    evaluator: PlanEvaluator,
    template: BudgetProblem,
    historical_weekly: np.ndarray,
    threshold: float,
    rel_tol: float = 1e-3,
    step: float = 0.01,
) -> BudgetResult:
    """The largest budget at which the next unit of spend still returns at least ``threshold``.

    The marginal return of a budget B is (R(B·(1+step)) − R(B)) / (step·B), R being
    the optimized mean media KPI.
    """
    if not threshold > 0:
        raise ConfigError(f"The marginal ROAS threshold must be > 0. Got {threshold!r}.")
    best = _best_allocation(evaluator, template, historical_weekly)

    def margin(budget: float) -> float:
        return (best(budget * (1 + step)).kpi.mean() - best(budget).kpi.mean()) / (step * budget)

    ceiling = _ceiling(template, evaluator.media.channels) / (1 + step)
    floor = max(sum(template.bounds.get(c, (0.0, math.inf))[0] for c in evaluator.media.channels),
                template.budget * 1e-6)
    if margin(floor) < threshold:
        raise ConfigError(
            f"Even the first unit of spend returns {margin(floor):.4g} < the threshold {threshold:.4g}: "
            "no budget keeps the marginal ROAS that high."
        )
    hi = max(template.budget, floor)
    while margin(min(hi, ceiling)) >= threshold and hi < ceiling and hi < 1e6 * template.budget:
        hi *= 2.0
    hi = min(hi, ceiling)
    # Largest B with margin(B) >= threshold: bisect on "margin falls below".
    budget = _bisect(lambda b: margin(b) < threshold, floor, hi, rel_tol) if margin(hi) < threshold else hi
    result = best(budget)
    return dataclasses.replace(
        result, extra={"scenario": {"kind": "marginal_roas", "threshold": threshold, "marginal_roas": margin(budget)}}
    )
