"""How often does the 94% HDI cover the truth? Fit the seed example for many data seeds.

A single fit recovering the truth could be luck; a calibrated model covers the
true contribution and ROAS of each channel in about 94% of simulated data sets.
This script fits ``seed_example(seed=s)`` for ``s`` in ``--seeds`` with the default
model and sampler and prints, per seed and channel, the truth, the posterior mean,
the HDI, whether it covers, and the relative error; then the coverage rate.

    python benchmarks/recovery_coverage.py --seeds 1-10
"""

from __future__ import annotations

import argparse
import warnings

from mediamix import MMM, ConvergenceWarning
from mediamix.simulate import seed_example


def _seeds(text: str) -> list[int]:
    if "-" in text:
        lo, hi = (int(p) for p in text.split("-"))
        return list(range(lo, hi + 1))
    return [int(p) for p in text.split(",")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="1-10", help="data seeds, e.g. 1-10 or 1,5,42")
    parser.add_argument("--draws", type=int, default=None, help="draws per chain (default: the config's)")
    args = parser.parse_args()

    covered = total = 0
    worst = 0.0
    print(f"{'seed':>4} {'channel':>7} {'quantity':>12} {'truth':>9} {'mean':>9} {'hdi_low':>9} {'hdi_high':>9} "
          f"{'covers':>6} {'error':>7} {'r_hat':>6} {'div':>4}")
    for seed in _seeds(args.seeds):
        data = seed_example(seed=seed)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            mmm = MMM.from_config(data.config).fit(data.data, draws=args.draws)
        d = mmm.diagnostics_
        for channel, truth in data.truth["channels"].items():
            for quantity in ("contribution", "roas"):
                stats = mmm.channel_summary()[channel][quantity]
                t = truth[quantity]
                ok = stats["hdi_low"] <= t <= stats["hdi_high"]
                err = stats["mean"] / t - 1
                covered += ok
                total += 1
                worst = max(worst, abs(err))
                print(f"{seed:>4} {channel:>7} {quantity:>12} {t:>9.3f} {stats['mean']:>9.3f} {stats['hdi_low']:>9.3f} "
                      f"{stats['hdi_high']:>9.3f} {'yes' if ok else 'NO':>6} {100 * err:>+6.1f}% "
                      f"{d.r_hat_max:>6.3f} {d.divergences:>4}{'  (warned)' if caught else ''}")
    print(f"\ncoverage of the 94% HDI: {covered}/{total} = {covered / total:.0%}; largest |error| {100 * worst:.1f}%")


if __name__ == "__main__":
    main()
