"""Cold compile of the demo model: this checkout against another, both at once, one per CPU.

A change to the compile worth 5-10% hides in the noise of a shared machine when the two versions
run one after the other (the same one-process compile took 13-23 s within an hour on the 2-CPU
machine of 2026-11-30). Here each round starts both versions *at the same time*, each pinned to a
CPU of its own with empty PyTensor and numba caches, so both meet the same contention; the next
round swaps the CPUs. Each worker builds the demo model (``seed_example``, the demo config) and
compiles it the way ``mediamix fit`` does, in one process (``MEDIAMIX_COMPILE_PROCESS=0``: no
compile helper, which would need the other CPU; numba at LLVM level 1 as the console script sets
it), then draws a short chain with a fixed seed.

It prints, per run, the compile's wall and CPU seconds, how many numba functions were compiled and
a hash of the draws (equal hashes: both versions compute the same bits), then the medians, their
ratio and how many pairs the checkout won.

::

    git worktree add /tmp/base <ref> --detach
    python benchmarks/compile_pairs.py --baseline-src /tmp/base/src --rounds 3

``--baseline-src`` is the ``src`` folder of the other checkout (put first on ``PYTHONPATH``); both
run on this interpreter and its packages. Needs at least 2 CPUs and ``os.sched_setaffinity``
(Linux); elsewhere the workers are not pinned and the pairing means less.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _process import demo_model, machine  # noqa: E402


def worker(cpu: int | None) -> dict:
    """Compile the demo model in this process and draw a short chain; the figures as a dict."""
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})
    import hashlib

    import numba.core.dispatcher as dispatcher

    compiled = [0]
    own_compile = dispatcher.Dispatcher.compile

    def counted(self, sig):  # type: ignore[no-untyped-def]
        before = len(self.overloads)
        try:
            return own_compile(self, sig)
        finally:
            compiled[0] += len(self.overloads) > before

    dispatcher.Dispatcher.compile = counted

    import nutpie

    import mediamix
    from mediamix.inference.samplers import compile_nutpie

    model = demo_model()
    wall, cpu_s = time.perf_counter(), time.process_time()
    compiled_model = compile_nutpie(model, reuse=False)
    wall, cpu_s = time.perf_counter() - wall, time.process_time() - cpu_s
    trace = nutpie.sample(compiled_model, chains=1, tune=100, draws=50, seed=11, cores=1, progress_bar=False)
    digest = hashlib.sha256()
    for name in sorted(trace.posterior.data_vars):
        digest.update(trace.posterior[name].values.tobytes())
    return {"compile_s": wall, "compile_cpu_s": cpu_s, "numba_functions": compiled[0],
            "draws_hash": digest.hexdigest()[:16], "mediamix_from": str(Path(mediamix.__file__).parent)}


def _env(cache: str, src: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTENSOR_FLAGS"] = f"{env.get('PYTENSOR_FLAGS', '')},base_compiledir={cache}/pytensor".lstrip(",")
    env["NUMBA_CACHE_DIR"] = f"{cache}/numba"
    env.setdefault("NUMBA_OPT", "1")  # as the console script runs numba
    env["MEDIAMIX_COMPILE_PROCESS"] = "0"  # one process: the other CPU runs the other version
    if src:
        env["PYTHONPATH"] = os.pathsep.join([src, *filter(None, [env.get("PYTHONPATH")])])
    return env


def _start(cpu: int, cache: str, src: str | None) -> object:
    import subprocess

    return subprocess.Popen([sys.executable, __file__, "--worker", "--cpu", str(cpu)], env=_env(cache, src),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def _result(proc: object, timeout: float) -> dict:
    import signal
    import subprocess

    try:
        out, err = proc.communicate(timeout=timeout)  # type: ignore[attr-defined]
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # type: ignore[attr-defined]
        proc.communicate()  # type: ignore[attr-defined]
        return {"error": f"timed out after {timeout} s"}
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:  # type: ignore[attr-defined]
        return {"error": f"exit code {proc.returncode}: " + "\n".join(err.strip().splitlines()[-5:])}  # type: ignore[attr-defined]
    return json.loads(lines[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline-src", help="the other checkout's src folder (required unless --worker)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of two pairs, CPUs swapped (default 3)")
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--json", help="also write the runs and medians to this file")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--cpu", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.cpu)))
        return
    if not args.baseline_src:
        parser.error("--baseline-src is required")
    if (os.cpu_count() or 1) < 2:
        parser.error("needs at least 2 CPUs: the two versions run at the same time")
    here = str(Path(__file__).resolve().parents[1] / "src")
    print("compile pairs: this checkout vs", args.baseline_src)
    print("machine:", json.dumps(machine(("pymc", "pytensor", "numba", "nutpie"))))
    runs = []
    for round_ in range(1, args.rounds + 1):
        for this_cpu in (0, 1):
            with tempfile.TemporaryDirectory() as cache_a, tempfile.TemporaryDirectory() as cache_b:
                procs = {"this": _start(this_cpu, cache_a, here), "baseline": _start(1 - this_cpu, cache_b, args.baseline_src)}
                pair = {name: _result(proc, args.timeout) for name, proc in procs.items()}
            pair["round"], pair["this_cpu"] = round_, this_cpu
            runs.append(pair)
            cells = []
            for name in ("this", "baseline"):
                r = pair[name]
                cells.append(f"{name} {r['error']}" if "error" in r else
                             f"{name} {r['compile_s']:6.2f} s (cpu {r['compile_cpu_s']:6.2f}, "
                             f"{r['numba_functions']} functions, draws {r['draws_hash']})")
            print(f"  round {round_} cpu {this_cpu}/{1 - this_cpu}: " + " | ".join(cells), flush=True)
    ok = [p for p in runs if "error" not in p["this"] and "error" not in p["baseline"]]
    if not ok:
        sys.exit("no pair finished")
    this = statistics.median(p["this"]["compile_s"] for p in ok)
    base = statistics.median(p["baseline"]["compile_s"] for p in ok)
    won = sum(p["this"]["compile_s"] < p["baseline"]["compile_s"] for p in ok)
    same = all(p["this"]["draws_hash"] == p["baseline"]["draws_hash"] for p in ok)
    print(f"medians: this {this:.2f} s, baseline {base:.2f} s, ratio {this / base:.3f}; this faster in {won} of "
          f"{len(ok)} pairs; draws {'the same' if same else 'DIFFERENT'} in every pair")
    if args.json:
        target = Path(args.json)
        partial = target.with_name(target.name + ".partial")
        partial.write_text(json.dumps({"runs": runs, "median_this_s": this, "median_baseline_s": base,
                                       "pairs_won": won, "pairs": len(ok), "same_draws": same}, indent=1))
        os.replace(partial, target)  # never half a file
        print(f"wrote {target}")


if __name__ == "__main__":
    main()
