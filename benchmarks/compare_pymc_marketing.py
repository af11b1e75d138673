"""mediamix vs pymc-marketing on the demo data: whole-process time, convergence and ROAS, side by side.

Usage::

    make bench-compare                                     # creates .venv-bench, then runs this
    python benchmarks/compare_pymc_marketing.py --pmm-python /path/to/venv/bin/python --repeats 2
    python benchmarks/compare_pymc_marketing.py --quick    # smoke test: 1 round, 2 chains x 200

pymc-marketing 1.3.0 pins pymc<6.4 and numpy<2.5, so it cannot share mediamix's environment
(PyMC 6.4): its side runs under another interpreter, ``--pmm-python`` (default
``.venv-bench/bin/python``, which ``make bench-compare`` creates), through
``benchmarks/pmm_worker.py``. This script itself runs under mediamix's interpreter.

What is compared
----------------
The same data (``mediamix.simulate.seed_example()``, written to a CSV), the same model and the same
seed, each run a fresh process timed from its start to its results written:

- mediamix  : ``mediamix fit DATA --config CONFIG --out DIR`` with its defaults (nutpie,
              4 chains x 750 tune + 1000 draws, target_accept 0.9, diagonal mass matrix); it writes
              summary.json, posterior.nc, CSV tables and report.html.
- pmm-pymc  : pymc-marketing's ``MMM.fit`` with ``nuts_sampler="pymc"`` (PyMC's own NUTS), writing
              summary.json, then model.nc (``MMM.save``), with its defaults: 1000 tune + 1000 draws
              (``--draws``/``--pmm-default-draws`` add a second draw count when they differ).
- pmm-nutpie: the same with ``nuts_sampler="nutpie"``.

pymc-marketing's default sampler is whatever ``pm.sample`` picks: PyMC >= 6.3 picks nutpie when it
is installed (as in ``.venv-bench``) and PyMC's own NUTS otherwise. So "pymc-marketing's default"
is the pmm-nutpie row in an environment with nutpie and the pmm-pymc row in one without it
(pymc-marketing's own install does not pull in nutpie).

The model on both sides: geometric adstock (l_max 8, normalized), logistic saturation, yearly
Fourier order 2, controls event_1/event_2, a linear trend, max-abs scaled target and channels.
Differences pymc-marketing's API leaves (pmm_worker.py sets the rest to mediamix's defaults):

- trend: a control column ``t`` (0 at the first date, 1 at the last, as mediamix's trend) with
  prior Normal(0, 1) like mediamix's ``trend_slope`` (through a per-control ``gamma_control``
  sigma of [2, 2, 1]); its ``LinearTrend`` component has changepoints and other priors.
- seasonality: pymc-marketing's Fourier terms use the day of the year (restarting each 1 Jan),
  mediamix's use continuous time; both period 365.25 days. ``gamma_fourier`` is set to mediamix's
  Normal(0, 1) (pymc-marketing's default is Laplace(0, 1)).
- sampler settings are each side's defaults: pymc-marketing target_accept 0.8 and 1000 tuning steps,
  mediamix 0.9 and 750 (500 before 2026-11-30) (``--tune`` and ``--mediamix-tune`` set them; with 500 on both sides the warm
  ratios measured ~15% (PyMC NUTS) and ~6% (nutpie) lower in a review's pairs).
- numba's LLVM level: the ``mediamix`` console script compiles at level 1 (``NUMBA_OPT=1``), the
  pymc-marketing worker at numba's default 3 (cold pmm-nutpie 30.1 -> 26.5 s at level 1, one pair).
- pymc-marketing 1.3.0 samples the free parameters and recomputes its deterministics (channel
  contributions per date, ...) afterwards, inside ``fit``: its "compile s" column includes that
  (~0.5 s warm, 2-3 s cold). mediamix computes its derived quantities after sampling too.
- Diagnostics (r-hat, ESS) use the same ArviZ functions; mediamix's minimum ESS is taken over every
  posterior variable (deterministics included), pymc-marketing's over what its trace holds.
- Both processes run without Python's cyclic garbage collector and end without the interpreter's
  final collection: mediamix's CLI turns it off when its command starts (after importing the CLI,
  ~0.8 s, in which it may still collect), the pymc-marketing worker before its imports. So "process
  s" is start to results written plus a ~0.1 s exit on both sides.

Cold and warm
-------------
"cold": the process gets empty compile caches: ``PYTENSOR_FLAGS=base_compiledir=<fresh dir>``
(PyTensor's C modules and its numba cache, where mediamix also caches nutpie's callbacks) and
``NUMBA_CACHE_DIR=<fresh dir>``. What a user's first fit costs (the OS file cache stays warm, so
imports are not cold). "warm": each side has its own cache directories for this invocation, filled
first by one untimed short fit per case (compiled code does not depend on the number of draws).

Each round runs every case cold, then every case warm; the case order rotates from round to round
so that machine drift hits all alike. All cases in a round share one seed (round r: seed + r - 1).
Figures are medians over rounds; ratios compare medians of the same invocation and mode:
"time x" = pymc-marketing's process seconds / mediamix's (> 1: mediamix faster); "to summary.json x"
the same for start to summary.json written, issue #6's measure (each side writes its summary.json
first and its posterior file after it: posterior.nc and report.html, model.nc); "ESS/s x" =
mediamix's min bulk ESS per process second / pymc-marketing's.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from _process import machine, package_version, run_timed  # benchmarks/ is on sys.path when a script runs

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORKER = HERE / "pmm_worker.py"
CHANNELS = ("x1", "x2")
FIGURES = ("process_s", "summary_s", "compile_s", "sampling_s", "ess_bulk", "ess_per_s", "r_hat_max", "divergences",
           "roas_x1", "roas_x2")


@dataclass(frozen=True)
class Case:
    name: str
    side: str  # "mediamix" or "pmm"
    sampler: str
    draws: int

    def tune(self, args: argparse.Namespace) -> int:
        """Each side's own default number of tuning steps (``--mediamix-tune`` / ``--tune``)."""
        return args.mediamix_tune if self.side == "mediamix" else args.tune


def cases(draws: int, pmm_draws: int) -> list[Case]:
    out = [Case("mediamix", "mediamix", "nutpie", draws)]
    for sampler in ("pymc", "nutpie"):
        for n in dict.fromkeys((draws, pmm_draws)):
            out.append(Case(f"pmm-{sampler}", "pmm", sampler, n))
    return out


# --------------------------------------------------------------------------- one run

def cache_env(cache: Path) -> dict[str, str]:
    env = dict(os.environ)
    flags = env.get("PYTENSOR_FLAGS", "")
    env["PYTENSOR_FLAGS"] = f"{flags},base_compiledir={cache / 'pytensor'}".lstrip(",")
    env["NUMBA_CACHE_DIR"] = str(cache / "numba")
    return env


def command(case: Case, args: argparse.Namespace, files: dict[str, Path], out: Path, seed: int,
            chains: int, tune: int, draws: int) -> list[str]:
    if case.side == "mediamix":
        return [sys.executable, "-m", "mediamix", "fit", str(files["data"]), "--config", str(files["config"]),
                "--out", str(out), "--chains", str(chains), "--draws", str(draws), "--tune", str(tune),
                "--seed", str(seed), "--no-progress"]
    return [args.pmm_python, str(WORKER), str(files["data"]), str(out), "--sampler", case.sampler,
            "--chains", str(chains), "--draws", str(draws), "--tune", str(tune), "--seed", str(seed)]


def run_once(case: Case, args: argparse.Namespace, files: dict[str, Path], cache: Path, seed: int,
             chains: int | None = None, tune: int | None = None, draws: int | None = None) -> dict:
    """One fresh process; its wall time and the figures it wrote, or ``{"error": ...}``."""
    out = Path(tempfile.mkdtemp(prefix=f"{case.name}-", dir=files["data"].parent))
    shutil.rmtree(out)  # mediamix fit wants to create it
    cmd = command(case, args, files, out, seed, chains or args.chains, case.tune(args) if tune is None else tune,
                  draws or case.draws)
    done = run_timed(cmd, cache_env(cache), args.timeout, cwd=ROOT)
    if done is None:
        return {"error": f"timed out after {args.timeout} s"}
    stdout, stderr, elapsed = done.stdout, done.stderr, done.seconds
    summary_file = out / "summary.json"
    if done.returncode != 0 or not summary_file.is_file():
        tail = "\n".join((stderr or stdout).strip().splitlines()[-6:])
        return {"error": f"exit code {done.returncode}: {tail}"}
    s = json.loads(summary_file.read_text())
    summary_s = summary_file.stat().st_mtime - done.started  # start to summary.json written (the measure)
    shutil.rmtree(out, ignore_errors=True)
    if case.side == "mediamix":
        diag, timing = s["diagnostics"], s["timing"]
        roas = {ch: s["channels"][ch]["roas"]["mean"] for ch in CHANNELS}
    else:
        diag, timing = s["diagnostics"], s["timing"]
        roas = {ch: s["roas"][ch]["mean"] for ch in CHANNELS}
    return {"process_s": elapsed, "summary_s": summary_s, "compile_s": timing["compile_s"],
            "sampling_s": timing["sampling_s"],
            "ess_bulk": diag["ess_bulk_min"], "ess_per_s": diag["ess_bulk_min"] / elapsed,
            "r_hat_max": diag["r_hat_max"], "divergences": diag["divergences"],
            **{f"roas_{ch}": v for ch, v in roas.items()}}


# --------------------------------------------------------------------------- setup and report

def write_inputs(folder: Path) -> dict[str, Path]:
    """The demo data as CSV and the demo config as TOML (mediamix's side reads both)."""
    from mediamix.config import dump_config, parse_config
    from mediamix.simulate import seed_example

    demo = seed_example()
    files = {"data": folder / "demo.csv", "config": folder / "demo.toml"}
    demo.data.to_csv(files["data"], index=False)
    files["config"].write_text(dump_config(parse_config(demo.config)))
    return files


def machine_info(pmm_python: str) -> dict:
    probe = ("import importlib.metadata as m, json, platform; "
             "print(json.dumps({'python': platform.python_version(), "
             "**{p: m.version(p) for p in ('pymc-marketing', 'pymc', 'pytensor', 'nutpie', 'numpy', 'numba', 'llvmlite', 'arviz')}}))")
    try:
        pmm = json.loads(subprocess.run([pmm_python, "-c", probe], capture_output=True, text=True,
                                        check=True, timeout=120).stdout)
    except (OSError, subprocess.SubprocessError, ValueError) as err:
        pmm = {"error": str(err)}
    mediamix_side = {p: package_version(p) for p in ("mediamix", "pymc", "pytensor", "nutpie", "numpy", "numba",
                                                     "llvmlite", "arviz")}
    return machine((), mediamix_side=mediamix_side, pmm_side=pmm)


def fmt(x: float | None, digits: int = 1) -> str:
    return "-" if x is None else f"{x:,.{digits}f}"


def summarize(runs: list[dict]) -> dict[tuple[str, int, str], dict]:
    out = {}
    for key in dict.fromkeys((r["case"], r["draws"], r["mode"]) for r in runs):
        ok = [r for r in runs if (r["case"], r["draws"], r["mode"]) == key and "error" not in r]
        if ok:
            out[key] = {k: statistics.median(r[k] for r in ok) for k in FIGURES}
            out[key]["range"] = (min(r["process_s"] for r in ok), max(r["process_s"] for r in ok))
            out[key]["n"] = len(ok)
    return out


def print_table(summary: dict, all_cases: list[Case]) -> None:
    head = (f"{'case':<11} {'draws':>5} {'mode':<5} {'process s':>9} {'range':>11} {'summary':>7} {'compile':>8} "
            f"{'sampling':>8} "
            f"{'ESS bulk':>8} {'ESS/s':>6} {'r-hat':>6} {'div':>5} {'ROAS x1':>7} {'ROAS x2':>7} {'n':>2}")
    print(head + "\n" + "-" * len(head))
    for mode in ("cold", "warm"):
        for c in all_cases:
            m = summary.get((c.name, c.draws, mode))
            if m is None:
                continue
            rng = f"{m['range'][0]:.1f}-{m['range'][1]:.1f}"
            print(f"{c.name:<11} {c.draws:>5} {mode:<5} {fmt(m['process_s']):>9} {rng:>11} {fmt(m['summary_s']):>7} "
                  f"{fmt(m['compile_s']):>8} "
                  f"{fmt(m['sampling_s']):>8} {fmt(m['ess_bulk'], 0):>8} {fmt(m['ess_per_s']):>6} "
                  f"{fmt(m['r_hat_max'], 3):>6} {m['divergences']:>5g} {fmt(m['roas_x1'], 2):>7} "
                  f"{fmt(m['roas_x2'], 2):>7} {m['n']:>2}")
    print("(medians over rounds; process s = whole process, start to results written; summary = start to"
          "\n summary.json written (mediamix then still writes report.html); compile s for pymc-marketing ="
          "\n fit time minus PyMC's sampling_time: model build, compile, initial point; ESS/s = min bulk ESS per"
          "\n process second; ROAS = posterior mean)")


def ratios(summary: dict, all_cases: list[Case], draws: int) -> list[dict]:
    out = []
    for mode in ("cold", "warm"):
        base = summary.get(("mediamix", draws, mode))
        if base is None:
            continue
        for c in all_cases:
            m = summary.get((c.name, c.draws, mode))
            if c.side != "pmm" or m is None:
                continue
            out.append({"mode": mode, "case": c.name, "draws": c.draws,
                        "time_x": m["process_s"] / base["process_s"],
                        "summary_x": m["summary_s"] / base["summary_s"],
                        "ess_per_s_x": base["ess_per_s"] / m["ess_per_s"] if m["ess_per_s"] else float("nan")})
    return out


# --------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pmm-python", default=str(ROOT / ".venv-bench" / "bin" / "python"),
                   help="interpreter with pymc-marketing 1.3.0 (default: .venv-bench/bin/python)")
    p.add_argument("--repeats", type=int, default=2, help="rounds; each case runs cold and warm once per round")
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--tune", type=int, default=1000, help="pymc-marketing's tuning steps (its default)")
    p.add_argument("--mediamix-tune", type=int, default=750, help="mediamix's tuning steps (its default)")
    p.add_argument("--draws", type=int, default=1000, help="draws per chain of mediamix and pymc-marketing")
    p.add_argument("--pmm-default-draws", type=int, default=1000,
                   help="pymc-marketing also runs at this many draws (its default)")
    p.add_argument("--modes", default="cold,warm", help="cold, warm or both")
    p.add_argument("--only", default="", help="comma-separated case names, e.g. mediamix,pmm-nutpie")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--quick", action="store_true", help="smoke test: 1 round, 2 chains, 200 + 200, warm only")
    p.add_argument("--timeout", type=float, default=900, help="seconds before a run is abandoned")
    p.add_argument("--json", metavar="PATH", help="also write every run, the medians and the ratios as JSON")
    args = p.parse_args(argv)
    if args.quick:
        args.repeats, args.chains, args.tune, args.mediamix_tune, args.draws, args.pmm_default_draws = 1, 2, 200, 200, 200, 200
        args.modes = "warm"
    if not Path(args.pmm_python).exists():
        sys.exit(f"No pymc-marketing interpreter at {args.pmm_python}: run `make bench-compare` "
                 "(creates .venv-bench) or pass --pmm-python.")
    modes = [m for m in ("cold", "warm") if m in args.modes.split(",")]
    all_cases = cases(args.draws, args.pmm_default_draws)
    if args.only:
        keep = set(args.only.split(",")) | {"mediamix"}
        all_cases = [c for c in all_cases if c.name in keep]

    info = machine_info(args.pmm_python)
    print(f"mediamix vs pymc-marketing: demo data, {args.chains} chains, tune + draws "
          f"({', '.join(f'{c.name} {c.tune(args)} + {c.draws}' for c in all_cases)}), {args.repeats} round(s), "
          f"modes {', '.join(modes)}")
    print("machine: " + json.dumps(info), flush=True)

    runs: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="mediamix-vs-pmm-") as tmp:
        folder = Path(tmp)
        files = write_inputs(folder)
        warm = {"mediamix": folder / "warm-mediamix", "pmm": folder / "warm-pmm"}
        if "warm" in modes:  # fill each side's caches: one short untimed fit per side and sampler
            for c in {(c.side, c.sampler): c for c in all_cases}.values():
                r = run_once(c, args, files, warm[c.side], args.seed, chains=2, tune=20, draws=20)
                print(f"  warm-up {c.name:<10} {'FAILED ' + r['error'] if 'error' in r else 'ok'}", flush=True)
        for rnd in range(1, args.repeats + 1):
            seed = args.seed + rnd - 1
            shift = (rnd - 1) % len(all_cases)
            order = all_cases[shift:] + all_cases[:shift]
            for mode in modes:
                for c in order:
                    cache = Path(tempfile.mkdtemp(prefix="cold-", dir=folder)) if mode == "cold" else warm[c.side]
                    load = os.getloadavg()[0]
                    r = {**run_once(c, args, files, cache, seed), "case": c.name, "draws": c.draws, "mode": mode,
                         "round": rnd, "seed": seed, "load_avg_1min": round(load, 2)}
                    if mode == "cold":
                        shutil.rmtree(cache, ignore_errors=True)
                    runs.append(r)
                    if "error" in r:
                        print(f"  round {rnd} {mode} {c.name:<10} {c.draws:>5} FAILED:\n    "
                              + r["error"].replace("\n", "\n    "), flush=True)
                    else:
                        print(f"  round {rnd} {mode} {c.name:<10} {c.draws:>5} seed {seed}: "
                              f"process {r['process_s']:.1f} s (summary.json at {r['summary_s']:.1f}, "
                              f"compile {r['compile_s']:.1f}, "
                              f"sampling {r['sampling_s']:.1f}), ESS {r['ess_bulk']:.0f}, "
                              f"r-hat {r['r_hat_max']:.3f}, div {r['divergences']}, ROAS {r['roas_x1']:.2f}/"
                              f"{r['roas_x2']:.2f}, load {load:.2f}", flush=True)

    summary = summarize(runs)
    rel = ratios(summary, all_cases, args.draws)
    info["load_avg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print()
    print_table(summary, all_cases)
    if rel:
        print(f"\npymc-marketing relative to mediamix ({args.draws} draws), same invocation and mode "
              "(time x: whole processes; to summary.json x: start to summary.json written, the issue's measure;"
              "\n > 1: mediamix faster; ESS/s x > 1: mediamix more effective draws per second):")
        for q in rel:
            print(f"  {q['mode']:<5} {q['case']:<11} {q['draws']:>5} draws: time x{q['time_x']:.2f}   "
                  f"to summary.json x{q['summary_x']:.2f}   ESS/s x{q['ess_per_s_x']:.2f}")
    mm, pmm = info["mediamix_side"], info["pmm_side"]
    print(f"\nmachine: {info['cpus']} CPUs, {info['platform']}; mediamix side: Python {info['python']}, "
          f"mediamix {mm['mediamix']}, PyMC {mm['pymc']}, PyTensor {mm['pytensor']}, nutpie {mm['nutpie']}; "
          f"pymc-marketing side: Python {pmm.get('python')}, pymc-marketing {pmm.get('pymc-marketing')}, "
          f"PyMC {pmm.get('pymc')}, PyTensor {pmm.get('pytensor')}, nutpie {pmm.get('nutpie')}; "
          f"load avg start {info['load_avg_at_start']}, end {info['load_avg_at_end']}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"settings": vars(args), "machine": info, "runs": runs,
                       "summary": [{"case": k[0], "draws": k[1], "mode": k[2], **v} for k, v in summary.items()],
                       "relative": rel}, fh, indent=2)
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
