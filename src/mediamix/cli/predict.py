"""``mediamix predict``: the KPI of one or more spend plans, side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from mediamix.cli.app import console
from mediamix.cli.render import print_plan_comparison

__all__ = ["predict_command"]


def predict_command(
    folder: Annotated[Path, typer.Argument(help="An output folder written by 'mediamix fit'.")],
    plan: Annotated[list[Path], typer.Option("--plan", help="A plan table (CSV/Parquet): date and channel spend. Repeat to compare.")],
    out: Annotated[Path | None, typer.Option(help="Write the comparison as CSV here.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the predictive noise.")] = 0,
) -> None:
    """Predict the total KPI (baseline + media, with predictive intervals) of each PLAN and compare them."""
    from mediamix.cli.tables import plan_table
    from mediamix.errors import ConfigError
    from mediamix.mmm import MMM
    from mediamix.output import write_text_atomic

    names = [p.stem for p in plan]
    if len(set(names)) != len(names):
        raise ConfigError("Plans need distinct file names (they label the comparison).")
    mmm = MMM.load(folder)
    comparison = mmm.compare_plans(dict(zip(names, plan, strict=True)), seed=seed)
    table = plan_table(comparison)
    print_plan_comparison(console, table)
    a = comparison.attrs
    console.print(f"Every plan over the same {a['window_periods']} periods, {a['window_start']} to {a['window_end']}: "
                  "the plans' dates and the adstock's carryover after them (zero spend outside a plan).",
                  highlight=False)
    if out is not None:
        path = write_text_atomic(out, table.to_csv(index=False))
        console.print(f"Wrote [bold]{escape(str(path))}[/]", highlight=False)
