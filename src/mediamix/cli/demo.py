"""``mediamix demo``: simulate the seed example, fit it, print and write the results."""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import Annotated

import typer

from mediamix.cli.app import console
from mediamix.cli.fit import announce_fit, report_fit
from mediamix.cli.simulate import DEFAULT_DEMO_SEED
from mediamix.errors import ConvergenceWarning

__all__ = ["demo_command"]


def demo_command(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("mediamix-demo"),
    chains: Annotated[int | None, typer.Option(help="Chains (default: the config's 4).")] = None,
    draws: Annotated[int | None, typer.Option(help="Draws per chain (default 1000).")] = None,
    tune: Annotated[int | None, typer.Option(help="Tuning steps per chain (default 750).")] = None,
    sampler: Annotated[str | None, typer.Option(help="nutpie, pymc or numpyro.")] = None,
    method: Annotated[str | None, typer.Option(
        help="nuts (default), or a fast approximation: map, pathfinder, advi (labelled approximate).")] = None,
    mass_matrix: Annotated[str | None, typer.Option(
        help="nutpie's mass matrix: diagonal (the default) or low_rank (for parameters that trade off).")] = None,
    data_seed: Annotated[int, typer.Option(min=0, help="Seed of the simulated data.")] = DEFAULT_DEMO_SEED,
    progress: Annotated[
        bool | None, typer.Option("--progress/--no-progress", help="Show a progress bar (default: on a terminal).")
    ] = None,
) -> None:
    """Fit the built-in demo data (the seed example) and compare with the truth."""
    import tomli_w

    from mediamix.mmm import MMM
    from mediamix.output import check_target
    from mediamix.simulate import seed_example

    check_target(out)
    dataset = seed_example(seed=data_seed)
    console.print(
        f"[bold]mediamix demo[/]: {len(dataset.data)} simulated weeks, channels "
        f"{', '.join(dataset.truth['channels'])}; true values shown in cyan."
    )
    mmm = MMM.from_config(dataset.config)
    announce_fit(mmm.config.with_fit(chains=chains, draws=draws, tune=tune, sampler=sampler, method=method,
                                     mass_matrix=mass_matrix))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        show_progress = sys.stderr.isatty() if progress is None else progress
        mmm.fit(dataset.data, chains=chains, draws=draws, tune=tune, sampler=sampler, method=method,
                mass_matrix=mass_matrix, progressbar=show_progress)
    mmm.save(
        out,
        extra_files={
            "data.csv": dataset.data.to_csv(index=False, date_format="%Y-%m-%d"),
            "truth.json": json.dumps(dataset.truth, indent=2) + "\n",
            "mmm.toml": tomli_w.dumps(dataset.config),
        },
    )
    report_fit(mmm, out, list(caught), truth=dataset.truth["channels"])
