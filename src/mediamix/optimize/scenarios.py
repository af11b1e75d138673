"""Efficiency scenarios: the smallest budget that reaches a KPI target, or keeps the
marginal return above a threshold. Both bisect on the budget, optimizing the
allocation at every step (the best achievable KPI grows with the budget, and its
slope, the marginal return, falls: diminishing returns)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from mediamix.errors import ConfigError
from mediamix.optimize.objective import PlanEvaluator
from mediamix.optimize.problem import BudgetProblem
from mediamix.optimize.solve import BudgetResult, solve, warn_if_not_converged

__all__ = ["minimum_budget_for_kpi", "budget_for_marginal_roas"]

_STEPS = 40  # bisection steps: 2^-40 relative precision, far below the draws' noise


def _bisect(good: Callable[[float], bool], lo: float, hi: float, rel_tol: float) -> tuple[float, float]:
    """Narrow [lo, hi] to where the monotone ``good`` turns true (``good(hi)`` is true).

    Returns
    -------
    lo : float
        The largest budget found for which ``good`` fails (or the ``lo`` given).
    hi : float
        The smallest budget found for which ``good`` holds.
    """
    for _ in range(_STEPS):
        if hi - lo <= rel_tol * hi:
            break
        mid = 0.5 * (lo + hi)
        if good(mid):
            hi = mid
        else:
            lo = mid
    return lo, hi


def _best_allocation(
    evaluator: PlanEvaluator, template: BudgetProblem, historical_weekly: np.ndarray
) -> Callable[[float], BudgetResult]:
    """The optimum at a given budget, each budget solved once (bisection revisits them)."""
    cache: dict[float, BudgetResult] = {}

    def best(budget: float) -> BudgetResult:
        if budget not in cache:
            problem = dataclasses.replace(template, budget=budget, allow_unspent=False)
            # Quiet: a failure on the way matters only if it is the budget returned (see _finish).
            cache[budget] = solve(evaluator, problem, historical_weekly, warn=False)
        return cache[budget]

    return best


def _ceiling(template: BudgetProblem, channels: tuple[str, ...]) -> float:
    """The most the channels' upper bounds let be spent."""
    return sum(template.bounds.get(c, (0.0, math.inf))[1] for c in channels)


def _lowest(template: BudgetProblem, channels: tuple[str, ...]) -> float:
    """The least the channels' lower bounds (fixed channels included) let be spent."""
    return sum(template.bounds.get(c, (0.0, math.inf))[0] for c in channels)


def _finish(result: BudgetResult, scenario: dict[str, Any]) -> BudgetResult:
    """The scenario's answer with its description, warning if its allocation did not converge."""
    warn_if_not_converged(result, stacklevel=3)  # the caller of the scenario function
    return dataclasses.replace(result, extra={"scenario": scenario})


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
    if ceiling <= 0:
        raise ConfigError("Every channel's upper bound (or fixed spend) is 0: no budget can be spent on a KPI target.")
    # No budget below the channels' lower bounds (fixed channels included) is feasible.
    floor = _lowest(template, evaluator.media.channels)
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
    _, budget = _bisect(lambda b: objective_of(best(b)) >= target, floor, hi, rel_tol)
    return _finish(best(budget), {"kind": "target_kpi", "target": target})


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
    the optimized mean media KPI. When the bounds fix every channel's spend, their
    total is the only feasible budget: that plan is returned as it is, with the
    marginal return of spending a step more in the same mix.
    """
    if not threshold > 0:
        raise ConfigError(f"The marginal ROAS threshold must be > 0. Got {threshold!r}.")
    best = _best_allocation(evaluator, template, historical_weekly)
    channels = evaluator.media.channels
    lowest = _lowest(template, channels)
    if 0 < _ceiling(template, channels) <= lowest:  # every channel pinned: one feasible plan, nothing to bisect
        result = best(lowest)
        return _finish(result, {"kind": "marginal_roas", "threshold": threshold,
                                "marginal_roas": _margin_in_same_mix(evaluator, result, step)})

    def margin(budget: float) -> float:
        return (best(budget * (1 + step)).kpi.mean() - best(budget).kpi.mean()) / (step * budget)

    ceiling = _ceiling(template, channels) / (1 + step)
    floor = max(lowest, template.budget * 1e-6)
    if margin(floor) < threshold:
        raise ConfigError(
            f"Even the first unit of spend returns {margin(floor):.4g} < the threshold {threshold:.4g}: "
            "no budget keeps the marginal ROAS that high."
        )
    hi = max(template.budget, floor)
    while margin(min(hi, ceiling)) >= threshold and hi < ceiling and hi < 1e6 * template.budget:
        hi *= 2.0
    hi = min(hi, ceiling)
    # Largest B with margin(B) >= threshold: bisect on "margin falls below" and keep the
    # bracket's lower end, the last budget still at or above the threshold (floor is one).
    if margin(hi) < threshold:
        budget, _ = _bisect(lambda b: margin(b) < threshold, floor, hi, rel_tol)
    else:
        budget = hi
    scenario = {"kind": "marginal_roas", "threshold": threshold, "marginal_roas": margin(budget)}
    return _finish(best(budget), scenario)


def _margin_in_same_mix(evaluator: PlanEvaluator, result: BudgetResult, step: float) -> float:
    """Marginal return of spending a step more in ``result``'s own mix.

    The margin of a plan the bounds pin: no other allocation of a step more is
    feasible to compare it with.
    """
    evaluator = dataclasses.replace(evaluator, discount_rate=result.problem.discount_rate)
    more = evaluator.kpi(result.weekly * (1 + step)).mean()
    return float((more - result.kpi.mean()) / (step * result.problem.budget))
