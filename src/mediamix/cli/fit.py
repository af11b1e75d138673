"""``mediamix fit``: fit a config to a table and write the output folder."""

from __future__ import annotations

import sys
import warnings
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from mediamix.cli.app import REVIEW_FAILED_EXIT_CODE, console, err_console
from mediamix.cli.render import print_approximate_warning, print_review, print_summary
from mediamix.errors import ConvergenceWarning, DataWarning

__all__ = ["fit_command", "announce_fit", "report_fit"]


def announce_fit(config: object) -> None:
    """Say what is about to run: compiling takes seconds before the progress bar appears."""
    f = config.fit  # type: ignore[attr-defined]
    if f.method != "nuts":
        console.print(f"Compiling the model, then fitting an approximate posterior ({f.method}) and drawing "
                      f"{f.draws} draws from it…", highlight=False)
        return
    console.print(
        f"Compiling the model, then sampling {f.chains} chains × {f.draws} draws (+{f.tune} tuning) "
        f"with {f.sampler}…",
        highlight=False,
    )


def report_fit(mmm: object, out: Path, caught: list[warnings.WarningMessage], truth: dict | None = None) -> None:
    """Print a fitted model's summary, the data checks' warnings, the review's problems and where it was written.

    Convergence problems are findings of the review (with next steps), so
    ``ConvergenceWarning`` is not printed twice.
    """
    summary = mmm.summary_dict()  # type: ignore[attr-defined]
    print_summary(console, summary, truth=truth)
    for w in caught:
        if issubclass(w.category, DataWarning):
            err_console.print(f"[bold yellow]Data warning:[/] {escape(str(w.message))}", highlight=False)
    print_review(console, summary["review"], problems_only=True)
    print_approximate_warning(console, summary)
    console.print(f"Wrote [bold]{escape(str(out))}/[/] (summary.json, contributions.csv, posterior.nc, config.toml, "
                  "tables)", highlight=False)
    if (out / "report.html").is_file():
        console.print(f"Report: open [bold]{escape(str(out / 'report.html'))}[/] in a browser", highlight=False)


def fit_command(
    data: Annotated[Path, typer.Argument(help="The data table: CSV or Parquet, one row per date.")],
    config: Annotated[Path, typer.Option("--config", "-c", help="The model config (TOML).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder (created or replaced).")],
    chains: Annotated[int | None, typer.Option(help="Override \\[fit] chains.")] = None,
    draws: Annotated[int | None, typer.Option(help="Override \\[fit] draws.")] = None,
    tune: Annotated[int | None, typer.Option(help="Override \\[fit] tune.")] = None,
    seed: Annotated[int | None, typer.Option(help="Override \\[fit] seed.")] = None,
    sampler: Annotated[str | None, typer.Option(help="Override \\[fit] sampler: nutpie, pymc or numpyro.")] = None,
    method: Annotated[str | None, typer.Option(
        help="Override \\[fit] method: nuts, or a fast approximation for iterating (map, pathfinder, advi): "
        "labelled approximate, convergence not checked.")] = None,
    mass_matrix: Annotated[str | None, typer.Option(
        help="Override \\[fit] mass_matrix: diagonal, or low_rank (nutpie's, for correlated posteriors).")] = None,
    progress: Annotated[bool | None, typer.Option("--progress/--no-progress", help="Show a progress bar.")] = None,
    strict: Annotated[bool, typer.Option(
        "--strict", help=f"Exit with code {REVIEW_FAILED_EXIT_CODE} when the model review's verdict is fail "
        "(OUT is still written).")] = False,
) -> None:
    """Fit the model in CONFIG to DATA and write the results to OUT.

    Prints the channel table and the model review's verdict with every finding that did not pass.
    Exit codes: 0 done; 2 unusable DATA, CONFIG or OUT (nothing written); 3 with --strict when the
    review's verdict is fail (OUT written first).
    """
    from mediamix.config import load_config
    from mediamix.data import read_table
    from mediamix.mmm import MMM
    from mediamix.output import check_target

    check_target(out, inputs=(data, config))
    cfg = load_config(config)
    cfg = cfg.with_fit(chains=chains, draws=draws, tune=tune, seed=seed, sampler=sampler, method=method,
                       mass_matrix=mass_matrix)
    mmm = MMM.from_config(cfg)
    table = read_table(data)
    mmm.check_data(table)  # bad data or a config the dates cannot support: said before "Compiling…" (~10 ms)
    show_progress = sys.stderr.isatty() if progress is None else progress
    announce_fit(cfg)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        warnings.simplefilter("always", DataWarning)
        status = console.status("Fitting…", spinner="dots") if not show_progress else nullcontext()
        with status:
            mmm.fit(table, progressbar=show_progress)
    mmm.save(out)
    report_fit(mmm, out, list(caught))
    if strict and mmm.review().verdict == "fail":
        err_console.print(
            f"[bold red]--strict:[/] the model review's verdict is fail; exiting with code {REVIEW_FAILED_EXIT_CODE} "
            f"({out}/ was written).",
            highlight=False,
        )
        raise typer.Exit(code=REVIEW_FAILED_EXIT_CODE)
