"""Approximate fits (``[fit] method``) against NUTS on the demo data: time and ROAS.

Usage::

    python benchmarks/approximate.py                   # 3 rounds: nuts (nutpie, 4 x 1000 + 750), map, advi, pathfinder
    python benchmarks/approximate.py --quick           # smoke test: 1 round, NUTS 2 x 300 + 300
    python benchmarks/approximate.py --repeats 5 --blackjax --json approx.json
    python benchmarks/approximate.py --case 208x10 --repeats 2   # a larger model: simulated, 208 weeks x 10 channels

What is measured
----------------
Each run builds the demo model with the library's own pieces (``parse_config``,
``validate_data``, ``make_design``, ``build_model``), as ``mediamix fit`` does, and fits it with
``get_sampler("nutpie")`` (method ``nuts``, the demo config's chains, draws and tune) or
``get_approximation(name)`` (``draws`` draws in one chain), then computes each channel's ROAS
with :mod:`mediamix.analysis`. Per run:

- compile s : ``SampleResult.compile_s`` (for the approximations: building and JIT-compiling the
              log density, its gradient and the map back to the constrained parameters; ADVI's own
              step function is compiled inside ``pm.fit`` and so counts as fit).
- fit s     : ``SampleResult.sampling_s``: NUTS tuning and draws; the optimization, Hessian or
              ADVI steps and the draws from the approximation.
- total s   : compile + fit.
- process s : wall time of the whole worker process (Python start, imports, model, fit, ROAS).
- ROAS      : posterior mean ROAS per channel; "vs NUTS" divides it by the NUTS runs' median
              ROAS in the same invocation (the issue's acceptance check: within 10%).
- Pareto k  : of the approximation's importance ratios (0.7 or less: close in shape).

``--blackjax`` adds, for the record, multi-path Pathfinder with BlackJAX on the model's JAX log
density (4 paths, 300 L-BFGS iterations, 20 draws per ELBO estimate, 1000 draws per path, PSIS
importance resampling; row ``blackjax-pf``): why mediamix's ``pathfinder`` runs on the log density
NUTS compiles instead (BlackJAX's spends seconds JIT-compiling for every new model or data). It
needs ``pip install blackjax``, which mediamix does not depend on; without it that row reports the
import error.

``--case WEEKSxCHANNELS`` fits the simulated data of ``benchmarks/scaling.py`` (random spend, geometric
adstock, logistic saturation) with mediamix's default model instead of the demo: where NUTS's
sampling grows with the data and the approximations' cost mostly does not.

How it is run: every run is a fresh subprocess (``--worker METHOD --seed N``, one JSON line out);
methods alternate within each round so machine drift hits all alike, and share one seed per round.
On-disk compile caches persist across processes, so round 1 is reported apart ("first") and the
median of rounds 2..N as "warm"; time ratios use the warm medians (first-run ones with one round).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys

from _process import machine, run_timed  # benchmarks/ is on sys.path when a script runs

METHODS = ("nuts", "map", "advi", "pathfinder")
FIGURES = ("compile_s", "fit_s", "total_s", "process_s")


# --------------------------------------------------------------------------- worker

def run_worker(method: str, seed: int, chains: int, draws: int, tune: int, case: str | None = None) -> dict:
    """Fit the demo model (or ``case``'s simulated data) once with ``method`` and return the figures of one run."""
    from mediamix import analysis
    from mediamix.config import parse_config
    from mediamix.data.validate import validate_data
    from mediamix.inference import get_approximation, get_sampler
    from mediamix.model.build import build_model
    from mediamix.model.design import Scales, make_design
    from mediamix.simulate import seed_example

    if case:
        from scaling import L_MAX, simulate

        weeks, channels = (int(v) for v in case.lower().split("x"))
        data, names = simulate(weeks, channels)
        cfg = parse_config({"data": {"date": "date", "target": "y", "channels": names}, "model": {"l_max": L_MAX}})
    else:
        ds = seed_example()
        data, cfg = ds.data, parse_config(ds.config)
    d = cfg.data
    frame = validate_data(data, date=d.date, target=d.target, channels=d.channels,
                          controls=d.controls, l_max=cfg.model.l_max)
    design = make_design(frame, cfg, Scales.from_frame(frame, cfg))
    model = build_model(cfg, design)
    if method == "blackjax-pf":
        res = pathfinder_blackjax(model, draws, seed)
    else:
        runner = get_sampler("nutpie") if method == "nuts" else get_approximation(method)
        res = runner.sample(model, chains=chains, draws=draws, tune=tune, seed=seed,
                            target_accept=cfg.fit.target_accept, progressbar=False)
    posterior = res.idata["posterior"].to_dataset()
    roas = analysis.channel_roas(analysis.decompose(posterior, design, cfg), design).mean(("chain", "draw"))
    return {"compile_s": res.compile_s, "fit_s": res.sampling_s, "total_s": res.compile_s + res.sampling_s,
            "roas": {str(c): float(roas.sel(channel=c)) for c in roas["channel"].values},
            "pareto_k": posterior.attrs.get("pareto_k"), "draws": int(posterior.sizes["draw"]),
            "chains": int(posterior.sizes["chain"])}


def pathfinder_blackjax(model, draws: int, seed: int):  # noqa: ANN001, ANN201 (a record, not library code)
    """Multi-path Pathfinder with BlackJAX: the route mediamix measured and left out (see the docstring)."""
    import time

    import jax
    import jax.numpy as jnp
    import numpy as np
    from blackjax.diagnostics import psis_weights
    from blackjax.vi.pathfinder import approximate, sample
    from pymc.sampling.jax import get_jaxified_graph

    from mediamix.inference.approximate import _Unconstrained
    from mediamix.inference.samplers import SampleResult

    paths, maxiter, elbo_draws, per_path = 4, 300, 20, 1000
    t0 = time.perf_counter()
    space = _Unconstrained(model)
    logp_fn = get_jaxified_graph(inputs=model.value_vars, outputs=[model.logp(jacobian=True)])
    bounds = np.cumsum([0, *space.sizes])

    def logdensity(x):  # noqa: ANN001, ANN202
        return logp_fn(*[x[a:b].reshape(s) for a, b, s in zip(bounds[:-1], bounds[1:], space.shapes)])[0]

    def run(key, starts):  # noqa: ANN001, ANN202
        k1, k2 = jax.random.split(key)
        states, _ = jax.vmap(lambda k, x0: approximate(k, logdensity, x0, elbo_draws, maxiter=maxiter))(
            jax.random.split(k1, paths), starts)

        def draw(k, state):  # noqa: ANN001, ANN202
            xs, log_q = sample(k, state, per_path)
            return xs, jax.vmap(logdensity)(xs), log_q

        return jax.vmap(draw)(jax.random.split(k2, paths), states)

    rng = np.random.default_rng(seed)
    starts = jnp.asarray(space.start + rng.uniform(-2, 2, size=(paths, space.dim)))
    key = jax.random.key(seed)
    compiled = jax.jit(run).lower(key, starts).compile()
    t1 = time.perf_counter()
    xs, lp, log_q = compiled(key, starts)
    log_weights, k = psis_weights((lp - log_q).ravel())
    pooled = np.asarray(xs).reshape(-1, space.dim)
    weights = np.exp(np.asarray(log_weights, dtype=float))
    chosen = rng.choice(len(pooled), size=draws, p=weights / weights.sum())
    tree = space.posterior(pooled[chosen], np.asarray(lp).ravel()[chosen],
                           {"method": "blackjax-pf", "approximate": 1, "pareto_k": float(k)})
    return SampleResult(idata=tree, compile_s=t1 - t0, sampling_s=time.perf_counter() - t1)


# --------------------------------------------------------------------------- parent

def launch(method: str, seed: int, args: argparse.Namespace) -> dict:
    """Run one worker subprocess; return its figures plus ``process_s``, or ``{"error": ...}``."""
    cmd = [sys.executable, __file__, "--worker", method, "--seed", str(seed), "--chains", str(args.chains),
           "--draws", str(args.draws), "--tune", str(args.tune), *(["--case", args.case] if args.case else [])]
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    done = run_timed(cmd, env, args.timeout)
    if done is None:
        return {"error": f"timed out after {args.timeout} s"}
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if done.returncode != 0 or not lines:
        return {"error": f"exit code {done.returncode}: {done.tail()}"}
    return {**json.loads(lines[-1]), "process_s": done.seconds}


def summarize(runs: dict[str, list[dict]]) -> dict[str, dict]:
    """Per method: first-round and warm (rounds 2..N) medians of the times; median ROAS and Pareto k of all rounds."""
    out = {}
    for name, rs in runs.items():
        ok = [r for r in rs if "error" not in r]
        if not ok:
            out[name] = {"errors": [r["error"] for r in rs]}
            continue
        first = [r for r in ok if r["round"] == 1]
        warm = [r for r in ok if r["round"] > 1]
        channels = ok[0]["roas"]
        ks = [r["pareto_k"] for r in ok if r.get("pareto_k") is not None]
        out[name] = {
            "first": {k: statistics.median(r[k] for r in first) for k in FIGURES} if first else None,
            "warm": {k: statistics.median(r[k] for r in warm) for k in FIGURES} if warm else None,
            "roas": {c: statistics.median(r["roas"][c] for r in ok) for c in channels},
            "roas_range": {c: (min(r["roas"][c] for r in ok), max(r["roas"][c] for r in ok)) for c in channels},
            "pareto_k": statistics.median(ks) if ks else None,
            "n_ok": len(ok), "errors": [r["error"] for r in rs if "error" in r],
        }
    return out


def print_table(summary: dict[str, dict]) -> None:
    nuts = summary.get("nuts", {})
    pick = {n: s.get("warm") or s.get("first") for n, s in summary.items() if "roas" in s}
    base = pick.get("nuts")
    head = (f"{'method':<11} {'phase':<6} {'compile':>8} {'fit':>7} {'total':>7} {'process':>8} {'x NUTS':>7}  "
            f"{'ROAS (median of rounds), vs NUTS':<44} {'Pareto k':>8}")
    print(head + "\n" + "-" * len(head))
    for name, s in summary.items():
        if "roas" not in s:
            print(f"{name:<11} FAILED {s['errors'][-1].splitlines()[-1][:110]}")
            continue
        roas = "  ".join(
            f"{c} {v:.3f}" + (f" ({v / nuts['roas'][c]:.3f})" if "roas" in nuts and name != "nuts" else "")
            for c, v in s["roas"].items())
        k = "-" if s["pareto_k"] is None else f"{s['pareto_k']:.2f}"
        for phase in ("first", "warm"):
            m = s[phase]
            if m is None:
                continue
            ratio = f"{m['total_s'] / base['total_s']:.2f}" if base and m is pick[name] else ""
            print(f"{name:<11} {phase:<6} {m['compile_s']:>8.2f} {m['fit_s']:>7.2f} {m['total_s']:>7.2f} "
                  f"{m['process_s']:>8.2f} {ratio:>7}  {roas if phase == 'first' else '':<44} "
                  f"{k if phase == 'first' else '':>8}")
        for err in s["errors"]:
            print(f"{name:<11} FAILED {err.splitlines()[-1][:110]}")
    print("(seconds, medians; 'x NUTS' = total s over NUTS's, warm medians where there are, this invocation)")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--methods", default=",".join(METHODS), help="comma-separated: nuts, map, advi, pathfinder")
    p.add_argument("--blackjax", action="store_true", help="also BlackJAX's Pathfinder (needs blackjax)")
    p.add_argument("--repeats", type=int, default=3, help="rounds; each method runs once per round")
    p.add_argument("--chains", type=int, default=4, help="NUTS chains")
    p.add_argument("--draws", type=int, default=1000, help="draws (per chain for NUTS)")
    p.add_argument("--tune", type=int, default=750, help="NUTS tuning steps")
    p.add_argument("--seed", type=int, default=1, help="seed of round 1; round r uses seed + r - 1")
    p.add_argument("--case", metavar="WEEKSxCHANNELS", help="simulated data of scaling.py instead of the demo")
    p.add_argument("--quick", action="store_true", help="smoke test: 1 round, NUTS 2 chains x 300 + 300")
    p.add_argument("--timeout", type=float, default=1800, help="seconds before a run is abandoned")
    p.add_argument("--json", metavar="PATH", help="also write the runs and summary as JSON")
    p.add_argument("--worker", metavar="METHOD", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick:
        args.repeats, args.chains, args.draws, args.tune = 1, 2, 300, 300

    if args.worker:
        try:
            out = run_worker(args.worker, args.seed, args.chains, args.draws, args.tune, args.case)
        except Exception as exc:  # reported by the parent, which carries on with the others
            out = {"error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(out), flush=True)
        return

    methods = [m.strip() for m in args.methods.split(",") if m.strip()] + (["blackjax-pf"] if args.blackjax else [])
    info = machine(("mediamix", "pymc", "pytensor", "nutpie", "blackjax", "jax"))
    data = f"simulated {args.case}" if args.case else "demo data"
    print(f"mediamix approximate-fit benchmark: {data}, NUTS {args.chains} chains x {args.draws} draws "
          f"(+{args.tune} tune), approximations 1 x {args.draws} draws, {args.repeats} round(s), "
          f"methods {', '.join(methods)}")
    print("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()), flush=True)
    runs: dict[str, list[dict]] = {m: [] for m in methods}
    for rnd in range(1, args.repeats + 1):
        seed = args.seed + rnd - 1
        for m in methods:
            r = {**launch(m, seed, args), "method": m, "round": rnd, "seed": seed}
            runs[m].append(r)
            if "error" in r:
                print(f"  round {rnd} {m:<10} FAILED:\n    " + r["error"].replace("\n", "\n    "), flush=True)
            else:
                roas = ", ".join(f"{c} {v:.3f}" for c, v in r["roas"].items())
                k = "" if r.get("pareto_k") is None else f", Pareto k {r['pareto_k']:.2f}"
                print(f"  round {rnd} {m:<10} seed {seed}: total {r['total_s']:.2f} s (compile {r['compile_s']:.2f}, "
                      f"fit {r['fit_s']:.2f}), process {r['process_s']:.1f} s, ROAS {roas}{k}", flush=True)
    summary = summarize(runs)
    info["load_avg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print()
    print_table(summary)
    print(f"\nmachine: {info['cpus']} CPUs, {info['platform']}, Python {info['python']}, PyMC {info['pymc']}, "
          f"PyTensor {info['pytensor']}, nutpie {info['nutpie']}, BlackJAX {info['blackjax']}, JAX {info['jax']}; "
          f"load avg start {info['load_avg_at_start']}, end {info['load_avg_at_end']}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"settings": {k: v for k, v in vars(args).items() if k != "worker"}, "machine": info,
                       "runs": runs, "summary": summary}, fh, indent=2)


if __name__ == "__main__":
    main()
