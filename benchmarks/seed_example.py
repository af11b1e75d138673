"""Speed of each sampler backend on the demo data (``mediamix.simulate.seed_example``).

Usage::

    python benchmarks/seed_example.py                 # 3 rounds, the demo config's 4 x 1000 draws (+750 tune)
    python benchmarks/seed_example.py --compare-reparametrization   # nutpie vs nutpie-direct, same run
    python benchmarks/seed_example.py --quick         # smoke test: 1 round, 2 chains, 200 + 200
    python benchmarks/seed_example.py --samplers nutpie,pymc --repeats 5 --json bench.json

What is measured
----------------
Each run builds the demo model with the library's own pieces (``parse_config``,
``validate_data``, ``make_design``, ``build_model``) and samples it with
``get_sampler(name).sample(...)``, exactly as ``mediamix fit`` does. Per run:

- compile s   : ``SampleResult.compile_s``. For numpyro this is 0: its JAX JIT
                compile happens inside sampling and is counted there, so compare
                numpyro on total s, not on sampling s.
- sampling s  : ``SampleResult.sampling_s`` (tuning + draws).
- total s     : compile + sampling.
- process s   : wall time of the whole worker process (Python start, imports,
                data and model building, sampling, diagnostics).
- ESS bulk / tail : smallest bulk / tail effective sample size over all parameters.
- ESS/s       : min bulk ESS / total s, the figure to choose a default by.
- ESS/s samp. : min bulk ESS / sampling s (the sampler's speed once compiled).
- r-hat, div. : largest r-hat and number of divergent transitions; a fast
                sampler that does not converge is not fast.

How it is run, and how to read it
---------------------------------
Every run is a fresh subprocess (``--worker SAMPLER --seed N``, one JSON line
out), so no in-process cache flatters later runs. Samplers alternate within each
round (nutpie, pymc, numpyro, nutpie, ...) so machine drift hits all alike; all
samplers in a round share one seed. On-disk compile caches (PyTensor's C
compiledir, numba's cache) persist across processes, so round 1 is reported
apart as "first": it may be the first compile on this machine or may already be
cached by earlier use (``--cold-first`` gives round 1 empty caches: what a new
user's very first fit costs). "warm" is the median of rounds 2..N. The range
column spans the total s of all rounds. Ratios compare each sampler with the
default (nutpie) measured in the same invocation: total-time ratio > 1 is
slower, ESS/s ratio < 1 is less efficient.

Numpyro runs with ``JAX_PLATFORMS=cpu``. JAX runs parallel chains as one
(virtual) device per chain, so its worker asks XLA for max(chains, CPU count)
host devices; with fewer devices than chains numpyro would silently draw the
chains one after another. (PyMC itself asks for 100 devices when no count is
set; a count equal to the CPU count alone would undercut what users get.)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile

from _process import demo_model, machine, run_timed  # benchmarks/ is on sys.path when a script runs

SAMPLER_ORDER = ("nutpie", "pymc", "numpyro")
DEFAULT = "nutpie"
FIGURES = ("compile_s", "sampling_s", "total_s", "process_s", "ess_bulk", "ess_tail",
           "ess_per_s", "ess_per_s_sampling", "r_hat_max", "divergences")


# --------------------------------------------------------------------------- worker

def run_worker(sampler: str, seed: int, chains: int, draws: int, tune: int) -> dict:
    """Fit the demo model once with ``sampler`` and return the figures of one run.

    ``<sampler>-direct`` samples β and the intercept directly, as before the
    reparametrization of :mod:`mediamix.model.build` (the baseline it is measured against).
    """
    import mediamix.model.build as build
    from mediamix.config import parse_config
    from mediamix.inference import diagnose, get_sampler
    from mediamix.simulate import seed_example

    if sampler.endswith("-direct"):
        sampler, build.REPARAMETRIZE = sampler.removesuffix("-direct"), False
    model = demo_model()
    target_accept = parse_config(seed_example().config).fit.target_accept
    res = get_sampler(sampler).sample(model, chains=chains, draws=draws, tune=tune, seed=seed,
                                      target_accept=target_accept, progressbar=False)
    diag = diagnose(res.idata)
    total = res.compile_s + res.sampling_s
    out = {"compile_s": res.compile_s, "sampling_s": res.sampling_s, "total_s": total,
           "ess_bulk": diag.ess_bulk_min, "ess_tail": diag.ess_tail_min,
           "ess_per_s": diag.ess_bulk_min / total,
           "ess_per_s_sampling": diag.ess_bulk_min / res.sampling_s,
           "r_hat_max": diag.r_hat_max, "divergences": diag.divergences}
    if sampler == "numpyro":
        import jax
        out["jax_devices"] = jax.device_count()
    return out


# --------------------------------------------------------------------------- parent

def worker_env(sampler: str, chains: int, cache_dir: str | None) -> dict[str, str]:
    env = dict(os.environ)
    if sampler == "numpyro":
        env["JAX_PLATFORMS"] = "cpu"
        devices = max(chains, os.cpu_count() or 1)
        env["XLA_FLAGS"] = f"{env.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count={devices}".strip()
    if cache_dir:  # --cold-first: empty PyTensor and numba caches for this run
        env["PYTENSOR_FLAGS"] = f"{env.get('PYTENSOR_FLAGS', '')},base_compiledir={cache_dir}/pytensor".lstrip(",")
        env["NUMBA_CACHE_DIR"] = f"{cache_dir}/numba"
    return env


def launch(sampler: str, seed: int, args: argparse.Namespace, cache_dir: str | None) -> dict:
    """Run one worker subprocess; return its figures plus ``process_s``, or ``{"error": ...}``."""
    cmd = [sys.executable, __file__, "--worker", sampler, "--seed", str(seed),
           "--chains", str(args.chains), "--draws", str(args.draws), "--tune", str(args.tune)]
    done = run_timed(cmd, worker_env(sampler, args.chains, cache_dir), args.timeout)
    if done is None:
        return {"error": f"timed out after {args.timeout} s"}
    stdout, stderr, elapsed = done.stdout, done.stderr, done.seconds
    lines = [ln for ln in stdout.splitlines() if ln.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = "\n".join((stderr or stdout).strip().splitlines()[-5:])
        return {"error": f"exit code {done.returncode}: {tail}"}
    return {**json.loads(lines[-1]), "process_s": elapsed}


def median_of(runs: list[dict]) -> dict | None:
    if not runs:
        return None
    return {k: statistics.median(r[k] for r in runs) for k in FIGURES}


def summarize(runs: dict[str, list[dict]]) -> dict[str, dict]:
    """Per sampler: ``first`` (round 1), ``warm`` (median of rounds 2..N), total-time range."""
    out = {}
    for name, rs in runs.items():
        ok = [r for r in rs if "error" not in r]
        first = [r for r in ok if r["round"] == 1]
        out[name] = {"first": median_of(first), "warm": median_of([r for r in ok if r["round"] > 1]),
                     "n_ok": len(ok),
                     "total_range": (min(r["total_s"] for r in ok), max(r["total_s"] for r in ok)) if ok else None,
                     "errors": [r["error"] for r in rs if "error" in r]}
    return out


def fmt(x: float | None, digits: int = 1) -> str:
    return "-" if x is None else f"{x:,.{digits}f}"


def print_table(summary: dict[str, dict]) -> None:
    head = (f"{'sampler':<8} {'phase':<6} {'compile':>8} {'sampling':>9} {'total':>8} {'range':>13} "
            f"{'process':>8} {'ESS bulk':>9} {'ESS tail':>9} {'ESS/s':>7} {'ESS/s smp':>9} {'r-hat':>6} {'div':>4}")
    print(head + "\n" + "-" * len(head))
    for name, s in summary.items():
        rng = s["total_range"]
        for phase in ("first", "warm"):
            m = s[phase]
            if m is None:
                continue
            print(f"{name:<8} {phase:<6} {fmt(m['compile_s']):>8} {fmt(m['sampling_s']):>9} {fmt(m['total_s']):>8} "
                  f"{(fmt(rng[0]) + '-' + fmt(rng[1])) if phase == 'first' else '':>13} {fmt(m['process_s']):>8} "
                  f"{fmt(m['ess_bulk'], 0):>9} {fmt(m['ess_tail'], 0):>9} {fmt(m['ess_per_s']):>7} "
                  f"{fmt(m['ess_per_s_sampling']):>9} {fmt(m['r_hat_max'], 3):>6} {m['divergences']:>4g}")
        for err in s["errors"]:
            print(f"{name:<8} FAILED {err.splitlines()[-1][:110]}")
    print("(seconds; medians; 'range' = min-max total s over all rounds; 'ESS/s smp' = ESS per sampling second)")


def ratios(summary: dict[str, dict]) -> dict[str, dict]:
    """Each sampler's warm (else first-run) median total s and ESS/s over the default's."""
    pick = {n: s["warm"] or s["first"] for n, s in summary.items()}
    base = pick.get(DEFAULT)
    if base is None:
        return {}
    return {n: {"total_s": m["total_s"] / base["total_s"], "ess_per_s": m["ess_per_s"] / base["ess_per_s"]}
            for n, m in pick.items() if m is not None}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--samplers", default=",".join(SAMPLER_ORDER), help="comma-separated, e.g. nutpie,pymc")
    p.add_argument("--repeats", type=int, default=3, help="rounds; each sampler runs once per round")
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--draws", type=int, default=1000)
    p.add_argument("--tune", type=int, default=750)
    p.add_argument("--compare-reparametrization", action="store_true",
                   help="run nutpie and nutpie-direct (β and intercept sampled directly) alternately")
    p.add_argument("--seed", type=int, default=1, help="seed of round 1; round r uses seed + r - 1")
    p.add_argument("--quick", action="store_true", help="smoke test: 1 round, 2 chains, 200 draws, 200 tune")
    p.add_argument("--cold-first", action="store_true", help="round 1 with empty PyTensor/numba caches")
    p.add_argument("--timeout", type=float, default=1800, help="seconds before a run is abandoned")
    p.add_argument("--json", metavar="PATH", help="also write the runs and summary as JSON")
    p.add_argument("--worker", metavar="SAMPLER", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick:
        args.repeats, args.chains, args.draws, args.tune = 1, 2, 200, 200

    if args.worker:
        try:
            out = run_worker(args.worker, args.seed, args.chains, args.draws, args.tune)
        except Exception as exc:  # reported by the parent, which carries on with the others
            out = {"error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(out), flush=True)
        return

    samplers = [s.strip() for s in args.samplers.split(",") if s.strip()]
    if args.compare_reparametrization:
        samplers = [DEFAULT, f"{DEFAULT}-direct"]
    info = machine(("mediamix", "pymc", "pytensor", "nutpie", "numpyro", "jax"))
    print(f"mediamix sampler benchmark: demo data, {args.chains} chains x {args.draws} draws "
          f"(+{args.tune} tune), {args.repeats} round(s), samplers {', '.join(samplers)}")
    print("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()), flush=True)

    runs: dict[str, list[dict]] = {s: [] for s in samplers}
    failed: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="mediamix-bench-") as tmp:
        for rnd in range(1, args.repeats + 1):
            seed = args.seed + rnd - 1
            for s in samplers:
                if s in failed:
                    continue
                cache = f"{tmp}/{s}" if args.cold_first and rnd == 1 else None
                r = {**launch(s, seed, args, cache), "sampler": s, "round": rnd, "seed": seed}
                runs[s].append(r)
                if "error" in r:
                    failed.add(s)  # print once, skip its later rounds, carry on with the rest
                    print(f"  round {rnd} {s:<8} FAILED, skipped from now on:\n    "
                          + r["error"].replace("\n", "\n    "), flush=True)
                else:
                    print(f"  round {rnd} {s:<8} seed {seed}: total {r['total_s']:.1f} s "
                          f"(compile {r['compile_s']:.1f}, sampling {r['sampling_s']:.1f}), "
                          f"process {r['process_s']:.1f} s, ESS bulk {r['ess_bulk']:.0f}, "
                          f"r-hat {r['r_hat_max']:.3f}, div {r['divergences']}", flush=True)

    summary = summarize(runs)
    rel = ratios(summary)
    info["load_avg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print()
    print_table(summary)
    if rel:
        basis = "warm" if args.repeats > 1 else "first-run"
        print(f"\nrelative to {DEFAULT} ({basis} medians, this invocation):")
        for n, q in rel.items():
            print(f"  {n:<8} total time x{q['total_s']:.2f}   ESS/s x{q['ess_per_s']:.2f}")
    print(f"\nmachine: {info['cpus']} CPUs, {info['platform']}, Python {info['python']}, "
          f"PyMC {info['pymc']}, PyTensor {info['pytensor']}, nutpie {info['nutpie']}, "
          f"numpyro {info['numpyro']}, JAX {info['jax']}; load avg start {info['load_avg_at_start']}, "
          f"end {info['load_avg_at_end']}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"settings": {k: v for k, v in vars(args).items() if k != "worker"}, "machine": info,
                       "runs": [r for rs in runs.values() for r in rs], "summary": summary, "relative": rel},
                      fh, indent=2)
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
