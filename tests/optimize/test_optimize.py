"""The budget optimizer on constructed media responses with known parameters (no fitting).

KPIs are checked against :func:`reference_kpi`, a plain NumPy re-implementation of
"media contribution over the horizon and its spill-over weeks, plus the
history's carryover", written here without the library's transforms.
"""

from __future__ import annotations

import importlib
import math
import warnings

import numpy as np
import pytest
from scipy.optimize import OptimizeResult

from mediamix.analysis.media import MediaResponse
from mediamix.errors import ConfigError
from mediamix.optimize import (
    BudgetProblem,
    ChannelBounds,
    PlanEvaluator,
    budget_for_marginal_roas,
    load_bounds,
    minimum_budget_for_kpi,
    resolve_bounds,
    risk_objective,
    solve,
)
from mediamix.optimize.solve import kpi_summary
from mediamix.transforms import GeometricAdstock, HillSaturation, LogisticSaturation, PowerSaturation

CHANNELS = ("tv", "search", "social")
L_MAX = 4


def make_media(beta, alpha, lam, *, scales=None, target_scale: float = 1.0, normalize: bool = True) -> MediaResponse:
    """A MediaResponse from (sample, channel) arrays (or per-channel values broadcast to every draw)."""
    beta = np.asarray(beta, dtype=float)
    n, c = beta.shape
    return MediaResponse.from_arrays(
        adstock=GeometricAdstock(l_max=L_MAX, normalize=normalize),
        saturation=LogisticSaturation(),
        beta=beta,
        adstock_params={"alpha": np.broadcast_to(np.asarray(alpha, dtype=float), (n, c)).copy()},
        saturation_params={"lam": np.broadcast_to(np.asarray(lam, dtype=float), (n, c)).copy()},
        channel_scales=np.ones(c) if scales is None else np.asarray(scales, dtype=float),
        target_scale=target_scale,
        channels=CHANNELS[:c],
    )


def reference_kpi(media: MediaResponse, plans: np.ndarray, history: np.ndarray,
                  discount_rate: float = 0.0) -> np.ndarray:
    """KPI per (plan, draw) with explicit lags: ``plans`` is (plan, week, channel), returns (plan, sample)."""
    plans = np.asarray(plans, dtype=float)
    n_plan, weeks, n_ch = plans.shape
    alpha = media.groups[0].adstock_params["alpha"]  # (sample, channel)
    lam = media.groups[0].saturation_params["lam"]
    w = np.stack([alpha**lag for lag in range(L_MAX)], axis=1)  # (sample, lag, channel)
    if media.groups[0].adstock.normalize:
        w = w / w.sum(axis=1, keepdims=True)
    n_hist = len(history)
    spend = np.concatenate(
        [np.broadcast_to(history, (n_plan, n_hist, n_ch)), plans, np.zeros((n_plan, L_MAX - 1, n_ch))], axis=1
    ) / media.channel_scales
    total = np.zeros((n_plan, media.n_samples))
    for k, t in enumerate(range(n_hist, spend.shape[1])):  # every week of the horizon and its tail
        level = sum(w[None, :, lag, :] * spend[:, None, t - lag, :] for lag in range(L_MAX) if t - lag >= 0)
        e = np.exp(-lam[None] * level)
        weekly = (media.beta[None] * (1 - e) / (1 + e)).sum(axis=-1) * media.target_scale
        total += weekly * (1 + discount_rate) ** (-k * 7 / 365.25)
    return total


@pytest.fixture(scope="module")
def two_channels() -> MediaResponse:
    """tv: strong but slow to saturate at its scale; search: weaker, bends early."""
    rng = np.random.default_rng(0)
    n = 200
    beta = np.column_stack([rng.normal(3.0, 0.3, n), rng.normal(2.0, 0.2, n)])
    return make_media(beta, [0.5, 0.2], [1.0, 2.0], scales=[10.0, 5.0])


@pytest.fixture(scope="module")
def three_channels() -> MediaResponse:
    rng = np.random.default_rng(0)
    beta = rng.gamma(20, 0.1, (200, 3)) * np.array([3.0, 2.0, 1.0])
    return make_media(beta, [0.5, 0.2, 0.3], [1.0, 2.0, 0.5], scales=[10.0, 5.0, 8.0])


def evaluator(media: MediaResponse, weeks: int = 8, history: np.ndarray | None = None, **kw) -> PlanEvaluator:
    n_ch = len(media.channels)
    return PlanEvaluator(media=media, history=np.zeros((L_MAX - 1, n_ch)) if history is None else history,
                         weeks=weeks, **kw)


def constant_plan(totals: np.ndarray, weeks: int) -> np.ndarray:
    return np.tile(np.asarray(totals, dtype=float) / weeks, (weeks, 1))


HISTORICAL_WEEKLY = np.array([5.0, 5.0, 5.0])


# ----------------------------------------------------------------- the evaluator


@pytest.mark.parametrize("discount_rate", [0.0, 0.5])
def test_plan_kpi_matches_the_reference_loop(three_channels: MediaResponse, discount_rate: float) -> None:
    history = np.array([[4.0, 1.0, 0.0], [2.0, 3.0, 8.0], [6.0, 0.0, 1.0]])
    ev = evaluator(three_channels, weeks=6, history=history, discount_rate=discount_rate)
    plan = np.random.default_rng(2).uniform(0, 10, (6, 3))
    expected = reference_kpi(three_channels, plan[None], history, discount_rate)[0]
    np.testing.assert_allclose(ev.kpi(plan), expected, rtol=1e-12)
    values, gradient = ev.kpi_and_gradient(plan)
    np.testing.assert_allclose(values, expected, rtol=1e-12)
    assert gradient.shape == (200, 6, 3)
    h = 1e-5
    for t, c in [(0, 0), (3, 2), (5, 1)]:
        up, down = plan.copy(), plan.copy()
        up[t, c] += h
        down[t, c] -= h
        np.testing.assert_allclose(gradient[:, t, c], (ev.kpi(up) - ev.kpi(down)) / (2 * h), rtol=1e-6)


def test_carryover_from_history_raises_the_kpi_of_the_same_plan(three_channels: MediaResponse) -> None:
    plan = constant_plan([30.0, 20.0, 10.0], 8)
    history = np.array([[10.0, 5.0, 5.0]] * 3)
    without = evaluator(three_channels).kpi(plan)
    with_history = evaluator(three_channels, history=history).kpi(plan)
    assert np.all(with_history > without)
    # What history alone leaves in the horizon is exactly its carryover.
    leftover = evaluator(three_channels, history=history).kpi(np.zeros((8, 3)))
    np.testing.assert_allclose(leftover, reference_kpi(three_channels, np.zeros((1, 8, 3)), history)[0], rtol=1e-12)
    assert np.all(leftover > 0)


# ----------------------------------------------------------------- optimum vs brute force


@pytest.mark.parametrize("budget", [20.0, 80.0, 300.0])  # a corner (all to search), and two interior optima
def test_two_channel_optimum_matches_a_brute_force_grid(two_channels: MediaResponse, budget: float) -> None:
    weeks = 8
    result = solve(evaluator(two_channels, weeks), BudgetProblem(budget=budget, weeks=weeks), HISTORICAL_WEEKLY[:2])

    shares = np.linspace(0.0, 1.0, 1001)
    plans = np.stack([constant_plan([s * budget, (1 - s) * budget], weeks) for s in shares])
    grid = reference_kpi(two_channels, plans, np.zeros((L_MAX - 1, 2))).mean(axis=1)
    best = int(np.argmax(grid))

    optimum = float(result.kpi.mean())
    assert abs(optimum - grid[best]) <= 0.01 * grid[best]  # the bar
    assert optimum >= grid[best] * (1 - 1e-9)  # and in fact no grid point beats it
    assert result.allocation["tv"] == pytest.approx(shares[best] * budget, abs=0.002 * budget)
    assert result.spent == pytest.approx(budget, rel=1e-9)
    assert result.success
    # The reported KPI draws are those of the allocation, by the independent loop.
    np.testing.assert_allclose(
        result.kpi,
        reference_kpi(two_channels, result.weekly[None], np.zeros((L_MAX - 1, 2)))[0], rtol=1e-10,
    )


def test_result_compares_with_historical_shares_by_default(two_channels: MediaResponse) -> None:
    result = solve(evaluator(two_channels), BudgetProblem(budget=80.0, weeks=8), np.array([3.0, 1.0]))
    assert result.reference == pytest.approx({"tv": 60.0, "search": 20.0})
    expected = reference_kpi(two_channels, constant_plan([60.0, 20.0], 8)[None], np.zeros((3, 2)))[0]
    np.testing.assert_allclose(result.reference_kpi, expected, rtol=1e-12)
    np.testing.assert_allclose(result.uplift, result.kpi - expected)
    assert result.uplift.mean() > 0
    payload = result.to_dict()
    assert {"allocation", "reference_allocation", "kpi", "reference_kpi", "uplift", "solver",
            "weekly_plan"} <= set(payload)
    assert set(payload["uplift"]) == {"mean", "hdi_low", "hdi_high", "probability_positive"}
    assert payload["kpi"]["hdi_low"] <= payload["kpi"]["mean"] <= payload["kpi"]["hdi_high"]


def test_kpi_summary_is_the_mean_and_the_narrowest_interval_holding_94_percent() -> None:
    draws = np.random.default_rng(0).exponential(1.0, 5000)  # skewed: the HDI starts at the minimum
    ordered = np.sort(draws)
    k = int(np.floor(0.94 * len(draws)))
    i = int(np.argmin(ordered[k:] - ordered[:-k]))
    summary = kpi_summary(draws)
    assert summary == pytest.approx({"mean": draws.mean(), "hdi_low": ordered[i], "hdi_high": ordered[i + k]})
    assert summary["hdi_low"] == pytest.approx(draws.min())


def test_a_given_reference_is_used_and_checked(two_channels: MediaResponse) -> None:
    ev = evaluator(two_channels)
    result = solve(ev, BudgetProblem(budget=80.0, weeks=8), HISTORICAL_WEEKLY[:2], reference={"tv": 80.0})
    assert result.reference == {"tv": 80.0, "search": 0.0}
    with pytest.raises(ConfigError, match="Reference allocation names unknown channel 'radio'"):
        solve(ev, BudgetProblem(budget=80.0, weeks=8), HISTORICAL_WEEKLY[:2], reference={"radio": 80.0})


# ----------------------------------------------------------------- bounds


@pytest.mark.parametrize("flighting", [False, True])
def test_bounds_and_fixed_channels_are_honoured_exactly(three_channels: MediaResponse, flighting: bool) -> None:
    # Unbounded, the optimum is about tv 52, search 48, social 0: each bound below binds.
    bounds = {"tv": (10.0, 30.0), "search": (25.0, 25.0), "social": (40.0, math.inf)}
    problem = BudgetProblem(budget=100.0, weeks=8, bounds=bounds, flighting=flighting)
    result = solve(evaluator(three_channels), problem, HISTORICAL_WEEKLY)
    assert result.allocation["tv"] == pytest.approx(30.0, rel=1e-6)
    assert result.allocation["search"] == pytest.approx(25.0, rel=1e-6)
    assert result.allocation["social"] == pytest.approx(45.0, rel=1e-6)
    assert result.spent == pytest.approx(100.0, rel=1e-6)
    assert (result.weekly >= 0).all() and result.weekly.shape == (8, 3)
    np.testing.assert_allclose(result.weekly.sum(axis=0), [result.allocation[c] for c in CHANNELS])
    if not flighting:
        np.testing.assert_allclose(result.weekly, result.weekly[[0]].repeat(8, axis=0))  # same every week


def steep_media(saturation: object, params: dict[str, list[float]], l_max: int = L_MAX, seed: int = 0) -> MediaResponse:
    """Channels whose curve rises infinitely steeply at zero spend (power, Hill with slope < 1)."""
    n, c = 100, len(next(iter(params.values())))
    beta = np.random.default_rng(seed).gamma(20, 0.1, (n, c)) * np.array([3.0, 2.0, 1.0])[:c]
    return MediaResponse.from_arrays(
        adstock=GeometricAdstock(l_max=l_max),
        saturation=saturation,
        beta=beta,
        adstock_params={"alpha": np.broadcast_to([0.5, 0.2, 0.3][:c], (n, c)).copy()},
        saturation_params={k: np.broadcast_to(v, (n, c)).copy() for k, v in params.items()},
        channel_scales=np.array([10.0, 5.0, 8.0][:c]),
        target_scale=1.0,
        channels=CHANNELS[:c],
    )


STEEP_AT_ZERO = {
    "power": (PowerSaturation(), {"power_exponent": [0.5, 0.4, 0.3]}),
    "hill": (HillSaturation(), {"half_saturation": [0.5, 0.5, 0.5], "slope": [0.8, 0.6, 0.5]}),
}


@pytest.mark.parametrize("flighting", [False, True])
@pytest.mark.parametrize("curve", sorted(STEEP_AT_ZERO))
@pytest.mark.parametrize("social", [{"fixed": 0.0}, {"upper": 0.0}])
def test_a_channel_excluded_under_a_curve_steep_at_zero_is_left_out_of_the_solve(
    curve: str, flighting: bool, social: dict[str, float]
) -> None:
    # At zero spend social's slope is ~1e300: as a variable, it broke SLSQP on its first
    # step, and the historical split (50/50 of the budget here) came back as the optimum.
    media = steep_media(*STEEP_AT_ZERO[curve])
    ev, budget = evaluator(media), 100.0
    bounds = resolve_bounds({"social": social}, CHANNELS, {c: 40.0 for c in CHANNELS})
    result = solve(ev, BudgetProblem(budget=budget, weeks=8, bounds=bounds, flighting=flighting), HISTORICAL_WEEKLY)
    assert result.success, result.message
    assert result.allocation["social"] == 0.0
    assert (result.weekly[:, 2] == 0.0).all()
    assert result.spent == pytest.approx(budget, rel=1e-9)

    shares = np.linspace(0.0, 1.0, 1001)
    grid = np.array([ev.kpi(constant_plan([s * budget, (1 - s) * budget, 0.0], 8)).mean() for s in shares])
    best = int(np.argmax(grid))
    assert grid[best] > ev.kpi(constant_plan([50.0, 50.0, 0.0], 8)).mean() * 1.005  # the start is no optimum
    assert result.kpi.mean() >= grid[best] * (1 - 1e-9)
    if not flighting:
        assert result.allocation["tv"] == pytest.approx(shares[best] * budget, abs=0.002 * budget)


@pytest.mark.parametrize(
    ("saturation", "params"),
    [(PowerSaturation(), {"power_exponent": [0.5, 0.3]}),
     (HillSaturation(), {"half_saturation": [0.5, 0.5], "slope": [0.8, 0.5]})],
    ids=["power", "hill"],
)
def test_a_free_channel_left_unfunded_under_a_curve_steep_at_zero_does_not_break_the_solve(
    saturation: object, params: dict[str, list[float]]
) -> None:
    # With flighting, SLSQP's steps leave some of search's weeks at zero spend (it starts from
    # a tiny share: no historical spend), where the slope is ~1e200 or more: it stopped there,
    # "Singular matrix E" or "Inequality constraints incompatible".
    ev = evaluator(steep_media(saturation, params))
    flighted = solve(ev, BudgetProblem(budget=1.0, weeks=8, flighting=True), np.array([5.0, 0.0]))
    even = solve(ev, BudgetProblem(budget=1.0, weeks=8), np.array([5.0, 0.0]))
    assert flighted.success, flighted.message
    assert even.success, even.message
    assert flighted.spent == pytest.approx(1.0, rel=1e-9)
    assert flighted.kpi.mean() >= even.kpi.mean() * (1 - 1e-9)  # flighting can always spend evenly


def test_a_plan_fixed_by_the_bounds_is_returned_without_solving(three_channels: MediaResponse) -> None:
    # SciPy returns no iteration count when no variable is free: this used to be AttributeError: nit.
    bounds = {"tv": (50.0, 50.0), "search": (30.0, 30.0), "social": (20.0, 20.0)}
    fixed = solve(evaluator(three_channels), BudgetProblem(budget=100.0, weeks=8, bounds=bounds), HISTORICAL_WEEKLY)
    assert (fixed.success, fixed.iterations) == (True, 0)
    assert fixed.allocation == pytest.approx({"tv": 50.0, "search": 30.0, "social": 20.0}, rel=1e-12)
    expected = reference_kpi(three_channels, constant_plan([50.0, 30.0, 20.0], 8)[None], np.zeros((3, 3)))[0]
    np.testing.assert_allclose(fixed.kpi, expected, rtol=1e-12)
    # Unspent budget allowed, channels fixed at 0 included: still nothing to choose.
    zero = {"tv": (0.0, 0.0), "search": (10.0, 10.0), "social": (0.0, 0.0)}
    unspent = solve(evaluator(three_channels), BudgetProblem(budget=100.0, weeks=8, bounds=zero, allow_unspent=True),
                    HISTORICAL_WEEKLY)
    assert (unspent.success, unspent.iterations) == (True, 0)
    assert unspent.allocation == pytest.approx({"tv": 0.0, "search": 10.0, "social": 0.0}, rel=1e-12)
    # With flighting, fixed totals still leave the weeks to choose: that is solved.
    flighted = solve(evaluator(three_channels), BudgetProblem(budget=100.0, weeks=8, bounds=bounds, flighting=True),
                     HISTORICAL_WEEKLY)
    assert flighted.success and flighted.iterations > 0
    assert flighted.allocation == pytest.approx({"tv": 50.0, "search": 30.0, "social": 20.0}, rel=1e-9)
    assert flighted.kpi.mean() >= fixed.kpi.mean() * (1 - 1e-12)


def test_a_single_channel_fixed_at_the_budget_is_returned_without_solving(two_channels: MediaResponse) -> None:
    one = make_media(two_channels.beta[:, :1], [0.5], [1.0], scales=[10.0])
    result = solve(evaluator(one), BudgetProblem(budget=40.0, weeks=8, bounds={"tv": (40.0, 40.0)}), np.array([5.0]))
    assert (result.success, result.iterations) == (True, 0)
    assert result.allocation == pytest.approx({"tv": 40.0}, rel=1e-12)
    expected = reference_kpi(one, constant_plan([40.0], 8)[None], np.zeros((3, 1)))[0]
    np.testing.assert_allclose(result.kpi, expected, rtol=1e-12)


def test_upper_bounds_move_budget_to_the_next_best_channel(three_channels: MediaResponse) -> None:
    problem = BudgetProblem(budget=100.0, weeks=8, bounds={"tv": (0.0, 10.0), "social": (0.0, 20.0)})
    result = solve(evaluator(three_channels), problem, HISTORICAL_WEEKLY)
    assert result.allocation["tv"] == pytest.approx(10.0, rel=1e-6)
    assert result.allocation["search"] == pytest.approx(90.0, rel=1e-6)
    assert result.allocation["social"] == pytest.approx(0.0, abs=1e-6)


def test_lower_bounds_that_exceed_the_budget_are_infeasible(three_channels: MediaResponse) -> None:
    problem = BudgetProblem(budget=50.0, weeks=8, bounds={"tv": (40.0, math.inf), "social": (30.0, math.inf)})
    with pytest.raises(ConfigError, match=r"lower bounds add up to 70, more than the budget 50 \(tv: 40, social: 30\)"):
        solve(evaluator(three_channels), problem, HISTORICAL_WEEKLY)


def test_upper_bounds_below_the_budget_are_infeasible_unless_it_may_stay_unspent(three_channels: MediaResponse) -> None:
    bounds = {"tv": (0.0, 10.0), "search": (0.0, 20.0), "social": (0.0, 15.0)}
    message = r"upper bounds add up to 45, less than the budget 100 .*allow unspent budget"
    with pytest.raises(ConfigError, match=message):
        solve(evaluator(three_channels), BudgetProblem(budget=100.0, weeks=8, bounds=bounds), HISTORICAL_WEEKLY)
    result = solve(evaluator(three_channels), BudgetProblem(budget=100.0, weeks=8, bounds=bounds, allow_unspent=True),
                   HISTORICAL_WEEKLY)
    assert result.allocation == pytest.approx({"tv": 10.0, "search": 20.0, "social": 15.0}, rel=1e-6)


def test_a_lower_bound_above_the_upper_bound_names_the_channel(three_channels: MediaResponse) -> None:
    resolved = resolve_bounds({"search": {"lower_relative": 2.0, "upper": 50.0}}, CHANNELS,
                              {"tv": 40.0, "search": 40.0, "social": 40.0})
    assert resolved["search"] == (80.0, 50.0)
    with pytest.raises(ConfigError, match="channel 'search' has lower 80 > upper 50"):
        solve(evaluator(three_channels), BudgetProblem(budget=200.0, weeks=8, bounds=resolved), HISTORICAL_WEEKLY)


def test_bounds_on_an_unknown_channel_suggest_the_closest_name() -> None:
    message = r"unknown channel 'socal'\. Did you mean 'social'\? Known channels: tv, search, social"
    with pytest.raises(ConfigError, match=message):
        resolve_bounds({"socal": {"upper": 5.0}}, CHANNELS, {c: 1.0 for c in CHANNELS})


def test_resolve_bounds_turns_relative_bounds_into_totals() -> None:
    historical = {"tv": 100.0, "search": 40.0, "social": 10.0}
    resolved = resolve_bounds(
        {"tv": ChannelBounds(lower=20.0, upper_relative=1.5), "search": {"fixed": 7.0}}, CHANNELS, historical
    )
    assert resolved == {"tv": (20.0, 150.0), "search": (7.0, 7.0), "social": (0.0, math.inf)}


# ----------------------------------------------------------------- risk


@pytest.fixture(scope="module")
def certain_vs_uncertain() -> MediaResponse:
    """Same transforms and the same mean beta; search's beta is spread widely over the draws, tv's is not."""
    rng = np.random.default_rng(1)
    wide = rng.uniform(0.1, 1.9, 200)
    beta = np.column_stack([np.ones(200), wide - wide.mean() + 1.0])
    return make_media(beta, [0.3, 0.3], [1.0, 1.0])


@pytest.mark.parametrize(("objective", "risk"), [("mean-sd", 1.0), ("cvar", 0.1), ("quantile", 0.1)])
def test_a_risk_aware_objective_moves_budget_to_the_less_uncertain_channel(
    certain_vs_uncertain: MediaResponse, objective: str, risk: float
) -> None:
    ev = evaluator(certain_vs_uncertain, weeks=4)
    neutral = solve(ev, BudgetProblem(budget=8.0, weeks=4), np.array([1.0, 3.0]))
    # Equal mean responses: the mean objective splits evenly (from an uneven start).
    assert neutral.allocation["tv"] == pytest.approx(4.0, rel=1e-3)
    cautious = solve(ev, BudgetProblem(budget=8.0, weeks=4, objective=objective, risk=risk), np.array([1.0, 3.0]))
    assert cautious.allocation["tv"] > 0.9 * 8.0
    assert cautious.kpi.std() < 0.5 * neutral.kpi.std()
    # It gives up (a little) expected KPI for certainty, and its own objective is better.
    assert cautious.kpi.mean() <= neutral.kpi.mean() + 1e-9
    mine, _ = risk_objective(cautious.kpi, cautious.kpi[:, None], objective, risk)
    theirs, _ = risk_objective(neutral.kpi, neutral.kpi[:, None], objective, risk)
    assert mine > theirs


def test_risk_objectives_match_their_definitions_and_gradients() -> None:
    rng = np.random.default_rng(3)
    design = rng.normal(size=(50, 3))  # values_s = design_s · theta: gradients are design rows
    theta = np.array([0.5, -1.0, 2.0])
    values = design @ theta

    value, _ = risk_objective(values, design, "mean", 0.0)
    assert value == pytest.approx(values.mean())
    value, grad = risk_objective(values, design, "mean-sd", 2.0)
    assert value == pytest.approx(values.mean() - 2.0 * values.std())
    h = 1e-6
    numeric = [
        (np.mean(design @ (theta + h * e)) - 2 * np.std(design @ (theta + h * e))
         - np.mean(design @ (theta - h * e)) + 2 * np.std(design @ (theta - h * e))) / (2 * h)
        for e in np.eye(3)
    ]
    np.testing.assert_allclose(grad, numeric, rtol=1e-6)
    value, grad = risk_objective(values, design, "cvar", 0.1)
    worst = np.argsort(values)[:5]  # ceil(0.1 * 50)
    assert value == pytest.approx(values[worst].mean())
    np.testing.assert_allclose(grad, design[worst].mean(axis=0))
    value, grad = risk_objective(values, design, "quantile", 0.1)
    assert value == pytest.approx(np.sort(values)[4])  # floor(0.1 * 49)


@pytest.fixture(scope="module")
def certain_at_first() -> MediaResponse:
    """beta·lam is the same in every draw (certain first units) but beta is not (uncertain saturation level)."""
    lam = np.random.default_rng(1).uniform(0.5, 4.0, 200)
    return make_media(np.column_stack([1 / lam, 1 / lam[::-1]]), [0.3, 0.3], np.column_stack([lam, lam[::-1]]))


def test_budget_stays_unspent_when_more_spend_adds_more_risk_than_return(certain_at_first: MediaResponse) -> None:
    ev = evaluator(certain_at_first, weeks=4)
    problem = BudgetProblem(budget=40.0, weeks=4, objective="mean-sd", risk=3.0, allow_unspent=True)
    result = solve(ev, problem, np.array([1.0, 1.0]))
    assert result.spent < 0.5 * 40.0
    assert result.spent > 0.05 * 40.0  # the first units are nearly certain, so some spend pays

    def score(plan: np.ndarray) -> float:
        values = reference_kpi(certain_at_first, plan[None], np.zeros((3, 2)))[0]
        return float(values.mean() - 3.0 * values.std())

    best = score(result.weekly)
    assert best > score(0.8 * result.weekly) and best > score(1.25 * result.weekly)
    spend_all = solve(ev, BudgetProblem(budget=40.0, weeks=4, objective="mean-sd", risk=3.0), np.array([1.0, 1.0]))
    assert spend_all.spent == pytest.approx(40.0)
    assert best > score(spend_all.weekly)
    # The plain mean never leaves money on the table: every unit returns something.
    mean = solve(ev, BudgetProblem(budget=40.0, weeks=4, allow_unspent=True), np.array([1.0, 1.0]))
    assert mean.spent == pytest.approx(40.0, rel=1e-6)


# ----------------------------------------------------------------- flighting


@pytest.mark.parametrize("discount_rate", [0.0, 0.5])
def test_flighting_is_at_least_as_good_as_an_even_plan(two_channels: MediaResponse, discount_rate: float) -> None:
    ev = evaluator(two_channels, weeks=12, discount_rate=discount_rate)
    even = solve(ev, BudgetProblem(budget=120.0, weeks=12, discount_rate=discount_rate), HISTORICAL_WEEKLY[:2])
    flighted = solve(ev, BudgetProblem(budget=120.0, weeks=12, flighting=True, discount_rate=discount_rate),
                     HISTORICAL_WEEKLY[:2])
    assert flighted.kpi.mean() >= even.kpi.mean() * (1 - 1e-9)
    assert flighted.spent == pytest.approx(120.0, rel=1e-6)
    assert (flighted.weekly >= -1e-12).all()


def test_with_discounting_flighting_spends_more_early(two_channels: MediaResponse) -> None:
    ev = evaluator(two_channels, weeks=12, discount_rate=0.5)
    result = solve(ev, BudgetProblem(budget=120.0, weeks=12, flighting=True, discount_rate=0.5), HISTORICAL_WEEKLY[:2])
    per_week = result.weekly.sum(axis=1)
    assert per_week[:6].sum() > 1.2 * per_week[6:].sum()
    assert result.kpi.mean() > solve(ev, BudgetProblem(budget=120.0, weeks=12, discount_rate=0.5), HISTORICAL_WEEKLY[:2]).kpi.mean()


# ----------------------------------------------------------------- scenarios


def _marginal_return(ev: PlanEvaluator, weekly: np.ndarray, channel: int) -> float:
    """d mean KPI / d (channel's total), spread evenly over the weeks."""
    _, gradient = ev.kpi_and_gradient(weekly)
    return float(gradient.mean(axis=0)[:, channel].mean())


def test_target_kpi_scenario_finds_the_smallest_budget(two_channels: MediaResponse) -> None:
    ev = evaluator(two_channels)
    result = minimum_budget_for_kpi(ev, BudgetProblem(budget=50.0, weeks=8), HISTORICAL_WEEKLY[:2], target=25.0)
    budget = result.problem.budget
    assert 25.0 <= result.kpi.mean() <= 25.0 * 1.01
    assert result.spent == pytest.approx(budget, rel=1e-6)
    short = solve(ev, BudgetProblem(budget=0.98 * budget, weeks=8), HISTORICAL_WEEKLY[:2])
    assert short.kpi.mean() < 25.0
    assert result.extra == {"scenario": {"kind": "target_kpi", "target": 25.0}}
    assert result.to_dict()["scenario"]["kind"] == "target_kpi"


def test_target_kpi_scenario_respects_lower_bounds(two_channels: MediaResponse) -> None:
    # The target is met already at the fixed channel's spend: the answer is that spend, not an error.
    ev = evaluator(two_channels)
    problem = BudgetProblem(budget=5.0, weeks=8, bounds={"search": (10.0, 10.0)})
    result = minimum_budget_for_kpi(ev, problem, HISTORICAL_WEEKLY[:2], target=3.0)
    assert result.problem.budget == pytest.approx(10.0, rel=2e-3)
    assert result.allocation["search"] == pytest.approx(10.0, rel=1e-6)


def test_an_unreachable_target_kpi_is_an_error(two_channels: MediaResponse) -> None:
    ev = evaluator(two_channels)
    problem = BudgetProblem(budget=50.0, weeks=8, bounds={"tv": (0.0, 30.0), "search": (0.0, 30.0)})
    ceiling = float(reference_kpi(two_channels, constant_plan([30.0, 30.0], 8)[None], np.zeros((3, 2))).mean())
    with pytest.raises(ConfigError, match=r"target 1e\+06 is out of reach: the most the channels' bounds allow is "
                                          rf"{ceiling:.6g} \(at a budget of 60\)"):
        minimum_budget_for_kpi(ev, problem, HISTORICAL_WEEKLY[:2], target=1e6)
    with pytest.raises(ConfigError, match="out of reach"):  # unbounded channels still saturate
        minimum_budget_for_kpi(ev, BudgetProblem(budget=50.0, weeks=8), HISTORICAL_WEEKLY[:2], target=1e6)


def test_marginal_roas_scenario_stops_where_the_next_unit_returns_the_threshold(two_channels: MediaResponse) -> None:
    ev = evaluator(two_channels)
    result = budget_for_marginal_roas(ev, BudgetProblem(budget=50.0, weeks=8), HISTORICAL_WEEKLY[:2], threshold=0.1)
    # At an interior optimum every funded channel returns the same at the margin (the budget's shadow price).
    margins = [_marginal_return(ev, result.weekly, c) for c in range(2)]
    assert all(result.allocation[c] > 0 for c in ("tv", "search"))
    assert margins == pytest.approx([0.1, 0.1], rel=0.03)
    assert result.extra["scenario"]["kind"] == "marginal_roas"
    assert result.extra["scenario"]["marginal_roas"] == pytest.approx(0.1, rel=0.03)
    # Less budget: the margin is higher; more: lower.
    for factor, above in [(0.8, True), (1.25, False)]:
        other = solve(ev, BudgetProblem(budget=factor * result.problem.budget, weeks=8), HISTORICAL_WEEKLY[:2])
        assert (_marginal_return(ev, other.weekly, 0) > 0.1) is above


def test_marginal_roas_scenario_starts_from_the_lower_bounds(two_channels: MediaResponse) -> None:
    ev = evaluator(two_channels)
    problem = BudgetProblem(budget=5.0, weeks=8, bounds={"tv": (20.0, math.inf)})
    result = budget_for_marginal_roas(ev, problem, HISTORICAL_WEEKLY[:2], threshold=0.1)
    assert result.allocation["tv"] >= 20.0 * (1 - 1e-6)
    assert result.extra["scenario"]["marginal_roas"] == pytest.approx(0.1, rel=0.03)


@pytest.mark.parametrize("threshold", [0.05, 0.1, 0.3])
def test_marginal_roas_scenario_returns_a_budget_still_at_or_above_the_threshold(
    two_channels: MediaResponse, threshold: float
) -> None:
    ev = evaluator(two_channels)

    def margin(budget: float) -> float:
        def kpi(b: float) -> float:
            return float(solve(ev, BudgetProblem(budget=b, weeks=8), HISTORICAL_WEEKLY[:2]).kpi.mean())

        return (kpi(1.01 * budget) - kpi(budget)) / (0.01 * budget)

    result = budget_for_marginal_roas(ev, BudgetProblem(budget=50.0, weeks=8), HISTORICAL_WEEKLY[:2],
                                      threshold=threshold)
    budget, reported = result.problem.budget, result.extra["scenario"]["marginal_roas"]
    assert reported == pytest.approx(margin(budget), rel=1e-9)
    assert reported >= threshold  # it used to be the first budget below it
    assert margin(budget * (1 + 2e-3)) < threshold  # and it is the largest such budget, within rel_tol


def test_scenarios_return_a_plan_fixed_by_the_bounds_without_solving(three_channels: MediaResponse) -> None:
    ev = evaluator(three_channels)
    bounds = {"tv": (50.0, 50.0), "search": (30.0, 30.0), "social": (20.0, 20.0)}
    plan = constant_plan([50.0, 30.0, 20.0], 8)
    kpi = float(reference_kpi(three_channels, plan[None], np.zeros((3, 3))).mean())

    target = minimum_budget_for_kpi(ev, BudgetProblem(budget=70.0, weeks=8, bounds=bounds), HISTORICAL_WEEKLY,
                                    target=0.9 * kpi)
    assert (target.success, target.iterations) == (True, 0)
    assert target.problem.budget == pytest.approx(100.0, rel=1e-12)
    assert target.allocation == pytest.approx({"tv": 50.0, "search": 30.0, "social": 20.0}, rel=1e-12)
    with pytest.raises(ConfigError, match="out of reach"):
        minimum_budget_for_kpi(ev, BudgetProblem(budget=70.0, weeks=8, bounds=bounds), HISTORICAL_WEEKLY,
                               target=1.1 * kpi)

    roas = budget_for_marginal_roas(ev, BudgetProblem(budget=70.0, weeks=8, bounds=bounds), HISTORICAL_WEEKLY,
                                    threshold=0.1)
    assert (roas.success, roas.iterations) == (True, 0)
    assert roas.problem.budget == pytest.approx(100.0, rel=1e-12)
    np.testing.assert_allclose(roas.weekly, plan)
    # The one feasible plan's margin: a step (1 %) more spent in the same mix.
    more = float(reference_kpi(three_channels, 1.01 * plan[None], np.zeros((3, 3))).mean())
    assert roas.extra["scenario"]["marginal_roas"] == pytest.approx((more - kpi) / 1.0, rel=1e-9)
    # Every channel fixed at 0: no budget at all, said plainly (was "The budget must be a positive number").
    nothing = BudgetProblem(budget=70.0, weeks=8, bounds={c: (0.0, 0.0) for c in CHANNELS})
    with pytest.raises(ConfigError, match="Every channel's upper bound .* is 0"):
        minimum_budget_for_kpi(ev, nothing, HISTORICAL_WEEKLY, target=1.0)


def test_an_unattainable_marginal_roas_is_an_error(two_channels: MediaResponse) -> None:
    with pytest.raises(ConfigError, match=r"Even the first unit of spend returns .* < the threshold 1000"):
        budget_for_marginal_roas(evaluator(two_channels), BudgetProblem(budget=50.0, weeks=8), HISTORICAL_WEEKLY[:2],
                                 threshold=1000.0)
    with pytest.raises(ConfigError, match="threshold must be > 0. Got -1"):
        budget_for_marginal_roas(evaluator(two_channels), BudgetProblem(budget=50.0, weeks=8), HISTORICAL_WEEKLY[:2],
                                 threshold=-1.0)


# ----------------------------------------------------------------- problem validation


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"budget": 0.0}, r"budget must be a positive number. Got 0.0"),
        ({"budget": math.nan}, r"budget must be a positive number. Got nan"),
        ({"weeks": 0}, r"'weeks' must be an int >= 1. Got 0"),
        ({"objective": "cvarr"}, r"Unknown objective 'cvarr'. Did you mean 'cvar'\? Expected one of"),
        ({"discount_rate": 1.0}, r"discount rate must be in \[0, 1\) per year. Got 1.0"),
        ({"objective": "cvar", "risk": 1.5}, r"For objective 'cvar', risk must be in \(0, 1\). Got 1.5"),
        ({"objective": "mean-sd", "risk": -1.0}, r"risk \(k\) must be >= 0. Got -1.0"),
    ],
)
def test_a_bad_problem_is_refused_with_a_clear_message(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        BudgetProblem(**{"budget": 100.0, "weeks": 4, **kwargs})


def test_risk_defaults_depend_on_the_objective() -> None:
    assert BudgetProblem(budget=1.0, weeks=1, objective="mean-sd").risk_value == 1.0
    assert BudgetProblem(budget=1.0, weeks=1, objective="cvar").risk_value == 0.1


# ----------------------------------------------------------------- bounds files


def test_load_bounds_reads_absolute_relative_and_fixed_bounds(tmp_path) -> None:
    path = tmp_path / "bounds.toml"
    path.write_text(
        "[tv]\nlower = 10000\nupper = 50000\n\n[search]\nlower_relative = 0.8\nupper_relative = 1.5\n\n"
        "[social]\nfixed = 12000\n"
    )
    bounds = load_bounds(path)
    assert bounds["tv"] == ChannelBounds(lower=10000, upper=50000)
    assert bounds["search"] == ChannelBounds(lower_relative=0.8, upper_relative=1.5)
    assert bounds["social"] == ChannelBounds(fixed=12000)
    resolved = resolve_bounds(bounds, CHANNELS, {"tv": 1.0, "search": 20000.0, "social": 1.0})
    assert resolved == {"tv": (10000.0, 50000.0), "search": (16000.0, 30000.0), "social": (12000.0, 12000.0)}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[search]\nuper = 5\n", r"channel 'search': .*unknown key 'uper'. Did you mean 'upper'\? "
                                 r"Valid keys here: lower, upper, lower_relative, upper_relative, fixed"),
        ("[tv]\nlower = -1\n", r"channel 'tv': .*'lower': Input should be greater than or equal to 0. Got -1"),
        ("[tv]\nlower = 1\nlower_relative = 0.5\n", r"channel 'tv': .*give lower or lower_relative, not both"),
        ("[tv]\nfixed = 1\nupper = 5\n", r"channel 'tv': .*a fixed channel takes no other bounds"),
        ("tv = 5\n", r"'tv' must be a table like \[tv\] with lower/upper/fixed"),
        ("[tv\nlower = 1\n", r"is not valid TOML"),
    ],
)
def test_a_bad_bounds_file_names_the_channel_and_key(tmp_path, text: str, message: str) -> None:
    path = tmp_path / "bounds.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_bounds(path)


def test_a_missing_bounds_file_is_an_error(tmp_path) -> None:
    with pytest.raises(ConfigError, match=r"Bounds file '.*nope.toml' does not exist"):
        load_bounds(tmp_path / "nope.toml")


def test_bad_keys_in_python_bounds_name_the_channel() -> None:
    with pytest.raises(ConfigError, match=r"Bounds of channel 'tv': .*unknown key 'lowr'. Did you mean 'lower'\?"):
        resolve_bounds({"tv": {"lowr": 1.0}}, CHANNELS, {c: 1.0 for c in CHANNELS})


def test_the_problem_s_discount_rate_is_the_one_used(two_channels: MediaResponse) -> None:
    undiscounted = evaluator(two_channels, weeks=12)  # evaluator built without a rate
    result = solve(undiscounted, BudgetProblem(budget=120.0, weeks=12, discount_rate=0.5), HISTORICAL_WEEKLY[:2])
    discounted = evaluator(two_channels, weeks=12, discount_rate=0.5)
    np.testing.assert_allclose(result.kpi, discounted.kpi(result.weekly))


# ----------------------------------------------------------------- solver failures


def _failing_minimize(fun, x0, **kwargs) -> OptimizeResult:
    """SLSQP giving up where it started (as it did on slopes of ~1e300)."""
    return OptimizeResult(x=np.asarray(x0, dtype=float), success=False, message="Iteration limit reached", nit=500)


def test_a_solver_failure_is_flagged_and_warned_about(two_channels: MediaResponse, monkeypatch) -> None:
    monkeypatch.setattr(importlib.import_module("scipy.optimize"), "minimize", _failing_minimize)  # solve imports it when called
    ev, problem = evaluator(two_channels), BudgetProblem(budget=80.0, weeks=8)
    with pytest.warns(RuntimeWarning, match=r"stopped without converging after 500 iterations "
                                            r"\(Iteration limit reached\).*not a verified optimum"):
        result = solve(ev, problem, np.array([3.0, 1.0]))
    assert not result.success
    assert result.to_dict()["solver"] == {"success": False, "message": "Iteration limit reached", "iterations": 500,
                                          "seconds": result.seconds}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not solve(ev, problem, np.array([3.0, 1.0]), warn=False).success


def test_a_scenario_warns_once_about_the_budget_it_returns(two_channels: MediaResponse, monkeypatch) -> None:
    monkeypatch.setattr(importlib.import_module("scipy.optimize"), "minimize", _failing_minimize)  # solve imports it when called
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = minimum_budget_for_kpi(evaluator(two_channels), BudgetProblem(budget=50.0, weeks=8),
                                        HISTORICAL_WEEKLY[:2], target=10.0)
    assert not result.success
    assert [w.category for w in caught] == [RuntimeWarning]  # not one per bisection step
