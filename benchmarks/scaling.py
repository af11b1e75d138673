"""How mediamix's fit time grows with the number of weeks and channels (simulated data, default sampler).

Usage::

    python benchmarks/scaling.py                            # 104/208/520 weeks x 2/5/10/20 channels, ~10 min
    python benchmarks/scaling.py --weeks 104,520 --channels 2,20 --draws 1000
    python benchmarks/scaling.py --quick                    # smoke test: 2 small cases

What is measured
----------------
For each (weeks, channels) case the script simulates weekly data with NumPy and mediamix's own
transforms: each channel's spend is random (uniform, with about a third of the weeks dark), goes
through geometric adstock (l_max 8, normalized, alpha drawn in 0.1-0.6) and logistic saturation
(lambda in 1-4), times a coefficient (beta in 0.5-2, scaled by 2/channels so the media share stays
alike), plus intercept, a slow trend, a yearly cycle and Gaussian noise (sd 0.25). The fitted model
is mediamix's default (geometric adstock, logistic saturation, yearly order 2, linear trend,
default priors) with the default sampler (nutpie) and, to keep it short, 2 chains x 500 tune + 500
draws (``--chains``, ``--tune``, ``--draws``), with numba at LLVM level 1 as the ``mediamix``
console script runs it (``--numba-opt 3`` for numba's default, what a library call gets).

Each case is fitted twice, each time in a fresh process with ``MMM.fit``:

- new data: the compile caches hold every generic piece (a warm-up fit fills them first) but not
  this data set: mediamix embeds the data in the compiled logp, so new data or a new shape means
  compiling the model's logp function again. What a refit on new data costs.
- again   : the same data and model a second time (warm cache): what a rerun costs.

Per run: compile s, sampling s, total (compile + sampling), process s (from the launch of the
process to ``MMM.fit`` returned: imports, simulation, validation, compile, sampling, diagnostics), min bulk
ESS, ESS/s (min bulk ESS / total s), max r-hat, divergences, and "us/grad": microseconds per
evaluation of the compiled logp and gradient (timed after the fit, one thread, best of 7 blocks),
which isolates the cost of one step from how many steps the sampler needs. The last lines fit a
power law to sampling s and to us/grad: cost ~ weeks^a at fixed channels, ~ channels^b at fixed weeks.
"""

from __future__ import annotations

import argparse
import importlib.metadata as metadata
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from _process import run_timed  # benchmarks/ is on sys.path when a script runs

L_MAX = 8


# --------------------------------------------------------------------------- data

def simulate(weeks: int, channels: int, seed: int = 0):
    """A weekly table with ``channels`` media columns x1..xN and target y (see module docstring)."""
    import pandas as pd

    from mediamix.transforms import GeometricAdstock, LogisticSaturation

    rng = np.random.default_rng(seed + 1000 * channels + weeks)
    dates = pd.date_range("2015-01-05", periods=weeks, freq="W-MON")
    spend = rng.uniform(0.2, 1.0, size=(weeks, channels)) * (rng.uniform(size=(weeks, channels)) > 0.33)
    alpha = rng.uniform(0.1, 0.6, size=channels)
    lam = rng.uniform(1.0, 4.0, size=channels)
    beta = rng.uniform(0.5, 2.0, size=channels) * 2.0 / channels
    adstocked = GeometricAdstock(l_max=L_MAX, normalize=True).apply_np(spend, alpha=alpha)
    media = beta * LogisticSaturation().apply_np(adstocked, lam=lam)
    t = np.arange(weeks) / 52.0
    y = 2.0 + 0.1 * t + 0.5 * np.sin(2 * np.pi * t) + media.sum(axis=1) + rng.normal(0.0, 0.25, size=weeks)
    names = [f"x{i + 1}" for i in range(channels)]
    return pd.DataFrame({"date": dates, "y": y, **dict(zip(names, spend.T))}), names


# --------------------------------------------------------------------------- worker

def run_worker(weeks: int, channels: int, chains: int, draws: int, tune: int, seed: int, launched: float) -> dict:
    """Fit one case with ``MMM.fit`` and return its figures (``launched``: the parent's time.time() at launch)."""
    import warnings

    from mediamix import MMM

    data, names = simulate(weeks, channels)
    mmm = MMM(channels=names, date="date", target="y", l_max=L_MAX, chains=chains, draws=draws, tune=tune, seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mmm.fit(data)
    process_s = time.time() - launched  # start to fitted (the gradient timing below is not counted)
    d, t = mmm.diagnostics_, mmm.timing_
    total = t["compile_s"] + t["sampling_s"]
    return {"compile_s": t["compile_s"], "sampling_s": t["sampling_s"], "total_s": total, "process_s": process_s,
            "ess_bulk": d.ess_bulk_min, "ess_per_s": d.ess_bulk_min / total, "r_hat_max": d.r_hat_max,
            "divergences": d.divergences, "us_per_grad": time_gradient(mmm)}


def time_gradient(mmm) -> float:
    """Microseconds per logp + gradient evaluation of the fitted model (best of 7 blocks, one thread).

    Measured after the timed fit, on PyTensor's numba function of the graph nutpie's callback calls
    (PyTensor's thin wrapper around it is compiled on the first call, outside the timing; the graph's
    ops come from the cache the fit has just filled).
    """
    from mediamix.inference.samplers import compile_nutpie
    from mediamix.model.build import build_model

    compiled = compile_nutpie(build_model(mmm.config_, mmm.design_), reuse=False)  # with its PyTensor functions
    fn = compiled.logp_func.vm.jit_fn
    x = np.random.default_rng(0).normal(scale=0.3, size=compiled.n_dim)
    shared = [var.get_value(borrow=True) for var in compiled.logp_func.get_shared()]  # the prior numbers
    fn(x, *shared)
    n = 200
    best = float("inf")
    for _ in range(7):
        t0 = time.perf_counter()
        for _ in range(n):
            fn(x, *shared)
        best = min(best, (time.perf_counter() - t0) / n)
    return best * 1e6


# --------------------------------------------------------------------------- parent

def launch(weeks: int, channels: int, args: argparse.Namespace, env: dict[str, str], draws: int | None = None,
           tune: int | None = None) -> dict:
    cmd = [sys.executable, __file__, "--worker", f"{weeks},{channels}", "--chains", str(args.chains),
           "--draws", str(draws or args.draws), "--tune", str(args.tune if tune is None else tune),
           "--seed", str(args.seed), "--launched", repr(time.time())]
    done = run_timed(cmd, env, args.timeout)
    if done is None:
        return {"error": f"timed out after {args.timeout} s"}
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if done.returncode != 0 or not lines:
        return {"error": f"exit code {done.returncode}: " + done.tail()}
    return json.loads(lines[-1])


def slope(xs: list[float], ys: list[float]) -> float:
    """Exponent of a least-squares power law ``y ~ x^a``."""
    ok = [(x, y) for x, y in zip(xs, ys) if x > 0 and y > 0 and np.isfinite(y)]
    if len(ok) < 2:
        return float("nan")
    lx, ly = np.log([x for x, _ in ok]), np.log([y for _, y in ok])
    return float(np.polyfit(lx, ly, 1)[0])


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--weeks", default="104,208,520")
    p.add_argument("--channels", default="2,5,10,20")
    p.add_argument("--chains", type=int, default=2)
    p.add_argument("--draws", type=int, default=500)
    p.add_argument("--tune", type=int, default=500)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--quick", action="store_true", help="smoke test: 104 weeks x 2 and 5 channels, 200 + 200")
    p.add_argument("--timeout", type=float, default=1200)
    p.add_argument("--numba-opt", default="1",
                   help="NUMBA_OPT of the fits: 1 as the mediamix console script sets it (default), 3 numba's own")
    p.add_argument("--json", metavar="PATH")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--launched", type=float, default=0.0, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        weeks, channels = map(int, args.worker.split(","))
        try:
            out = run_worker(weeks, channels, args.chains, args.draws, args.tune, args.seed, args.launched)
        except Exception as exc:  # reported by the parent
            out = {"error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(out), flush=True)
        return
    if args.quick:
        args.weeks, args.channels, args.draws, args.tune = "104", "2,5", 200, 200
    weeks_list = [int(w) for w in args.weeks.split(",")]
    channel_list = [int(c) for c in args.channels.split(",")]

    def version(pkg: str) -> str:
        try:
            return metadata.version(pkg)
        except metadata.PackageNotFoundError:
            return "not installed"

    load0 = [round(x, 2) for x in os.getloadavg()]
    print(f"mediamix scaling: {args.chains} chains x {args.tune} tune + {args.draws} draws, nutpie, "
          f"NUMBA_OPT={args.numba_opt}, weeks {weeks_list} x channels {channel_list}", flush=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="mediamix-scaling-") as tmp:
        env = dict(os.environ)  # this invocation's own caches: "new data" is new to them
        env["PYTENSOR_FLAGS"] = f"{env.get('PYTENSOR_FLAGS', '')},base_compiledir={tmp}/pytensor".lstrip(",")
        env["NUMBA_CACHE_DIR"] = f"{tmp}/numba"
        env["NUMBA_OPT"] = args.numba_opt
        warm = launch(weeks_list[0], channel_list[0] + 1, args, env, draws=20, tune=20)  # generic pieces only
        print(f"  warm-up fit: {'FAILED ' + warm['error'] if 'error' in warm else 'ok'}", flush=True)
        for weeks in weeks_list:
            for channels in channel_list:
                for phase in ("new data", "again"):
                    r = {**launch(weeks, channels, args, env), "weeks": weeks, "channels": channels, "phase": phase}
                    results.append(r)
                    if "error" in r:
                        print(f"  {weeks:>4} weeks {channels:>2} channels {phase:<8} FAILED: {r['error']}", flush=True)
                    else:
                        print(f"  {weeks:>4} weeks {channels:>2} channels {phase:<8}: compile {r['compile_s']:.1f} s, "
                              f"sampling {r['sampling_s']:.1f} s, process {r['process_s']:.1f} s, "
                              f"ESS {r['ess_bulk']:.0f}, r-hat {r['r_hat_max']:.3f}, div {r['divergences']}, "
                              f"{r['us_per_grad']:.0f} us/grad", flush=True)

    ok = [r for r in results if "error" not in r]
    head = (f"{'weeks':>5} {'chan':>4} {'phase':<8} {'compile':>7} {'sampling':>8} {'total':>7} {'process':>7} "
            f"{'ESS bulk':>8} {'ESS/s':>6} {'r-hat':>6} {'div':>4} {'us/grad':>7}")
    print("\n" + head + "\n" + "-" * len(head))
    for r in ok:
        print(f"{r['weeks']:>5} {r['channels']:>4} {r['phase']:<8} {r['compile_s']:>7.1f} {r['sampling_s']:>8.1f} "
              f"{r['total_s']:>7.1f} {r['process_s']:>7.1f} {r['ess_bulk']:>8.0f} {r['ess_per_s']:>6.1f} "
              f"{r['r_hat_max']:>6.3f} {r['divergences']:>4} {r['us_per_grad']:>7.1f}")
    again = [r for r in ok if r["phase"] == "again"]
    print("\nhow cost grows (power-law exponents fitted to the 'again' runs; 1 = linear):")
    for channels in channel_list:
        rs = [r for r in again if r["channels"] == channels]
        if len(rs) > 1:
            w = [r["weeks"] for r in rs]
            samp, grad = slope(w, [r["sampling_s"] for r in rs]), slope(w, [r["us_per_grad"] for r in rs])
            print(f"  {channels:>2} channels, weeks {w}: sampling s ~ weeks^{samp:.2f}, us/grad ~ weeks^{grad:.2f}")
    for weeks in weeks_list:
        rs = [r for r in again if r["weeks"] == weeks]
        if len(rs) > 1:
            c = [r["channels"] for r in rs]
            samp, grad = slope(c, [r["sampling_s"] for r in rs]), slope(c, [r["us_per_grad"] for r in rs])
            print(f"  {weeks:>4} weeks, channels {c}: sampling s ~ channels^{samp:.2f}, us/grad ~ channels^{grad:.2f}")
    print(f"\nmachine: {os.cpu_count()} CPUs, {platform.platform()}, Python {platform.python_version()}, "
          f"mediamix {version('mediamix')}, PyMC {version('pymc')}, PyTensor {version('pytensor')}, "
          f"nutpie {version('nutpie')}; load avg start {load0}, end {[round(x, 2) for x in os.getloadavg()]}")
    if args.json:
        Path(args.json).write_text(json.dumps({"settings": vars(args), "runs": results}, indent=2))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
