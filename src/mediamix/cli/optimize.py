"""``mediamix optimize``: allocate a budget with a fitted model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mediamix.cli.app import console
from mediamix.cli.render import print_budget_result

__all__ = ["optimize_command"]


def optimize_command(
    folder: Annotated[Path, typer.Argument(help="An output folder written by 'mediamix fit'.")],
    budget: Annotated[float | None, typer.Option(help="Total spend over the horizon (first guess for scenarios).")] = None,
    weeks: Annotated[int, typer.Option(
        "--weeks", "--periods", min=1, help="Horizon length in periods of the data (weeks for weekly data, months for monthly).")] = 12,
    bounds: Annotated[Path | None, typer.Option(help="TOML file of per-channel bounds (lower/upper/fixed...).")] = None,
    objective: Annotated[str, typer.Option(help="mean, mean-sd, quantile or cvar.")] = "mean",
    risk: Annotated[float | None, typer.Option(help="k for mean-sd (1); tail share for quantile/cvar (0.1).")] = None,
    flighting: Annotated[bool, typer.Option("--flighting", help="Optimize each period's spend too (when, not only where).")] = False,
    discount_rate: Annotated[float, typer.Option(help="Yearly discount rate of later returns.")] = 0.0,
    allow_unspent: Annotated[bool, typer.Option("--allow-unspent", help="Budget may stay unspent when it does not pay.")] = False,
    target_kpi: Annotated[float | None, typer.Option(help="Scenario: smallest budget reaching this media KPI.")] = None,
    min_mroas: Annotated[float | None, typer.Option(help="Scenario: largest budget keeping marginal ROAS >= this.")] = None,
    reference: Annotated[
        Path | None, typer.Option(help="TOML of channel = total spend to compare with (default: the historical split).")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Write the result as JSON here (default FOLDER/optimization.json).")] = None,
) -> None:
    """Allocate a budget over channels for the next --weeks (or --periods) periods and compare it with the
    historical split."""
    from mediamix.errors import ConfigError
    from mediamix.mmm import MMM
    from mediamix.output import json_text, write_text_atomic

    reference_allocation = _read_reference(reference) if reference is not None else None
    mmm = MMM.load(folder)
    if budget is None:
        if target_kpi is None and min_mroas is None:
            raise ConfigError("Give --budget (or a scenario: --target-kpi or --min-mroas).")
        budget = float(mmm.historical_weekly_spend().sum() * weeks)
    result = mmm.optimize_budget(
        budget, weeks, bounds=bounds, allow_unspent=allow_unspent, flighting=flighting,
        discount_rate=discount_rate, objective=objective, risk=risk,  # type: ignore[arg-type]
        target_kpi=target_kpi, min_marginal_roas=min_mroas, reference=reference_allocation,
    )
    payload = result.to_dict()
    print_budget_result(console, payload)
    path = write_text_atomic(out or folder / "optimization.json", json_text(payload))
    console.print(f"Wrote {path}", markup=False, highlight=False)
    if out is None:  # the result lives in the fit folder: its report shows it from now on
        from mediamix.report import REPORT_FILE, write_report

        report = write_report(folder / REPORT_FILE, mmm.report_data(optimization=payload))
        console.print(f"Updated {report}", markup=False, highlight=False)


def _read_reference(path: Path) -> dict[str, float]:
    """A reference allocation file: ``channel = total spend`` lines (TOML)."""
    import math

    from mediamix.config.io import read_toml
    from mediamix.errors import ConfigError

    raw = read_toml(path, "Reference file", "TOML lines like: tv = 12000")
    for name, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
            raise ConfigError(f"Reference file '{path}': '{name}' must be a spend >= 0. Got {value!r}.")
    return {name: float(value) for name, value in raw.items()}
