"""Optimize layer: budget allocation over posterior draws with SciPy.

Layer rule: imports analysis (the media response), config and errors; never PyMC.
"""

from mediamix.optimize.objective import PlanEvaluator, risk_objective
from mediamix.optimize.problem import BudgetProblem, ChannelBounds, load_bounds, resolve_bounds
from mediamix.optimize.scenarios import budget_for_marginal_roas, minimum_budget_for_kpi
from mediamix.optimize.solve import BudgetResult, solve

__all__ = [
    "BudgetProblem",
    "BudgetResult",
    "ChannelBounds",
    "PlanEvaluator",
    "budget_for_marginal_roas",
    "load_bounds",
    "minimum_budget_for_kpi",
    "resolve_bounds",
    "risk_objective",
    "solve",
]
