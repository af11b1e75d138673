"""Speed of the budget optimizer over posterior draws (``mediamix.optimize.solve``).

Usage::

    python benchmarks/optimize.py                      # 2, 5, 10 channels x 1000 draws, 12 weeks, 7 repeats
    python benchmarks/optimize.py --channels 2,20 --draws 4000 --repeats 3 --json opt.json

What is measured
----------------
No model is fitted: each case builds a :class:`~mediamix.analysis.media.MediaResponse`
by hand with plausible random parameters (per channel a "true" beta, geometric
adstock alpha and logistic lambda, and per draw a spread around them, like a
posterior; l_max 8, normalized adstock), a history of ``l_max - 1`` weeks of spend
(its carryover counts), and the historical weekly spend times the horizon as the
budget. Per case and objective it times :func:`mediamix.optimize.solve` end to end
(feasibility check, SLSQP with exact gradients, the KPI draws of the optimum and of
the historical split). Objectives:

- ``mean``          posterior-mean KPI, one total per channel;
- ``mean+flight``   the same with flighting: a spend per channel *and week*
                    (channels x weeks variables);
- ``cvar``          mean of the worst 10% of draws, one total per channel.

Columns: median wall seconds per solve over ``--repeats`` solves (after one
warm-up solve, so imports and first-call costs are not counted), min-max range,
SLSQP iterations, objective+gradient evaluations, milliseconds per evaluation
(each is one vectorized pass over all draws), whether SciPy reported success, and
the expected uplift over the historical split. Quote the figures with the machine
line printed at the end.

BLAS threads: SLSQP solves a small least-squares problem per step through
LAPACK. On a busy machine OpenBLAS's worker threads can spend far longer waiting
for a core than the tiny problems take (seen: 45x slower SLSQP steps with 2
threads on a loaded 2-CPU box), so ``--blas-threads 1`` (needs ``threadpoolctl``)
shows the optimizer's own cost; the default leaves BLAS as the user's Python has it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np

from _process import machine  # benchmarks/ is on sys.path when a script runs

from mediamix.analysis.media import MediaResponse
from mediamix.optimize import BudgetProblem, PlanEvaluator, solve
from mediamix.transforms import GeometricAdstock, LogisticSaturation

L_MAX = 8
OBJECTIVES = {
    "mean": {"objective": "mean"},
    "mean+flight": {"objective": "mean", "flighting": True},
    "cvar": {"objective": "cvar", "risk": 0.1},
}
_EVALUATIONS = [0]  # the frozen evaluator cannot hold a counter


@dataclass(frozen=True)
class CountingEvaluator(PlanEvaluator):
    """A PlanEvaluator that counts objective+gradient evaluations."""

    def kpi_and_gradient(self, weekly: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        _EVALUATIONS[0] += 1
        return super().kpi_and_gradient(weekly)


def make_case(n_channels: int, n_draws: int, weeks: int, seed: int) -> tuple[PlanEvaluator, np.ndarray, float]:
    """A random but plausible media response, its evaluator, historical weekly spend and the budget."""
    rng = np.random.default_rng(seed)
    shape = (n_draws, n_channels)
    beta = rng.uniform(0.3, 2.0, n_channels) * rng.lognormal(0.0, 0.25, shape)
    alpha = np.clip(rng.uniform(0.1, 0.7, n_channels) + rng.normal(0.0, 0.05, shape), 0.01, 0.95)
    lam = rng.uniform(0.5, 4.0, n_channels) * rng.lognormal(0.0, 0.25, shape)
    scales = rng.uniform(1e3, 1e5, n_channels)  # largest historical weekly spend, in currency
    weekly = rng.uniform(0.2, 0.6, n_channels) * scales
    history = weekly * rng.uniform(0.5, 1.5, (L_MAX - 1, n_channels))
    media = MediaResponse.from_arrays(
        adstock=GeometricAdstock(l_max=L_MAX, normalize=True),
        saturation=LogisticSaturation(),
        beta=beta,
        adstock_params={"alpha": alpha},
        saturation_params={"lam": lam},
        channel_scales=scales,
        target_scale=1e5,
        channels=tuple(f"channel_{i}" for i in range(n_channels)),
    )
    evaluator = CountingEvaluator(media=media, history=history, weeks=weeks)
    return evaluator, weekly, float(weekly.sum() * weeks)


def run_case(n_channels: int, n_draws: int, weeks: int, objective: str, repeats: int, seed: int) -> dict:
    evaluator, weekly, budget = make_case(n_channels, n_draws, weeks, seed)
    problem = BudgetProblem(budget=budget, weeks=weeks, **OBJECTIVES[objective])
    solve(evaluator, problem, weekly)  # warm-up
    seconds, iterations, evaluations, success = [], [], [], []
    for _ in range(repeats):
        _EVALUATIONS[0] = 0
        t0 = time.perf_counter()
        result = solve(evaluator, problem, weekly)
        seconds.append(time.perf_counter() - t0)
        iterations.append(result.iterations)
        evaluations.append(_EVALUATIONS[0])
        success.append(result.success)
    median = statistics.median(seconds)
    return {
        "channels": n_channels, "draws": n_draws, "weeks": weeks, "objective": objective,
        "variables": n_channels * (weeks if problem.flighting else 1),
        "seconds_median": median, "seconds_min": min(seconds), "seconds_max": max(seconds),
        "iterations": statistics.median(iterations), "evaluations": statistics.median(evaluations),
        "ms_per_evaluation": 1e3 * median / max(statistics.median(evaluations), 1),
        "success": all(success), "uplift_pct": float(100 * result.uplift.mean() / result.reference_kpi.mean()),
    }


def blas_threads() -> str:
    """Threads of each BLAS library loaded (NumPy's and SciPy's), or '?' without threadpoolctl."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "?"
    return "/".join(str(lib["num_threads"]) for lib in threadpool_info() if lib["user_api"] == "blas")


def limit_blas(threads: int | None):
    """A context limiting BLAS to ``threads`` threads (no-op when None)."""
    if threads is None:
        return nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        raise SystemExit("--blas-threads needs threadpoolctl (pip install threadpoolctl)") from None
    return threadpool_limits(limits=threads, user_api="blas")


def run_all(channels: list[int], objectives: list[str], args: argparse.Namespace, rows: list[dict]) -> None:
    for n in channels:
        for objective in objectives:
            r = run_case(n, args.draws, args.weeks, objective, args.repeats, args.seed)
            rows.append(r)
            print(f"{n:>8} {objective:>12} {r['variables']:>5} {r['seconds_median']:>8.3f} "
                  f"{r['seconds_min']:>7.3f}-{r['seconds_max']:<7.3f} {r['iterations']:>6.0f} {r['evaluations']:>6.0f} "
                  f"{r['ms_per_evaluation']:>8.2f} {'y' if r['success'] else 'n':>3} {r['uplift_pct']:>6.1f}%",
                  flush=True)



def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--channels", default="2,5,10", help="comma-separated channel counts")
    p.add_argument("--draws", type=int, default=1000, help="posterior draws")
    p.add_argument("--weeks", type=int, default=12, help="horizon length")
    p.add_argument("--objectives", default=",".join(OBJECTIVES), help="comma-separated: " + ", ".join(OBJECTIVES))
    p.add_argument("--repeats", type=int, default=7, help="timed solves per case (median reported)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--blas-threads", type=int, help="limit BLAS threads (default: leave as is)")
    p.add_argument("--json", help="also write the figures here")
    args = p.parse_args(argv)
    channels = [int(c) for c in args.channels.split(",")]
    objectives = args.objectives.split(",")
    unknown = [o for o in objectives if o not in OBJECTIVES]
    if unknown:
        p.error(f"unknown objective {unknown[0]!r}; expected one of {', '.join(OBJECTIVES)}")

    print(f"mediamix optimizer benchmark: {args.draws} draws, {args.weeks}-week horizon, l_max {L_MAX}, "
          f"median of {args.repeats} solves")
    header = (f"{'channels':>8} {'objective':>12} {'vars':>5} {'s/solve':>8} {'range':>15} {'iters':>6} "
              f"{'evals':>6} {'ms/eval':>8} {'ok':>3} {'uplift':>7}")
    print(header)
    rows = []
    with limit_blas(args.blas_threads):
        info = machine(("mediamix", "numpy", "scipy"), blas_threads=blas_threads())
        run_all(channels, objectives, args, rows)
    print(f"\nmachine: {info['cpus']} CPUs, {info['platform']}, Python {info['python']}, NumPy {info['numpy']}, "
          f"SciPy {info['scipy']}, mediamix {info['mediamix']}; BLAS threads {info['blas_threads']}; "
          f"load avg {info['load_avg_at_start']} at start, {[round(x, 2) for x in os.getloadavg()]} at end")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"settings": vars(args), "machine": info, "results": rows}, fh, indent=2)
        print(f"wrote {args.json}")

if __name__ == "__main__":
    main()
