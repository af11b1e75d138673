"""``mediamix report``: rebuild ``report.html`` from a saved fit."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mediamix.cli.app import console

__all__ = ["report_command"]

#: Written into the fit folder by ``mediamix optimize``; the report shows it when present.
OPTIMIZATION_FILE = "optimization.json"


def report_command(
    folder: Annotated[Path, typer.Argument(help="An output folder written by 'mediamix fit' or 'mediamix demo'.")],
    out: Annotated[Path | None, typer.Option(help="Write the report here (default FOLDER/report.html).")] = None,
) -> None:
    """Rebuild the HTML report of a saved fit (with its optimization.json, if any) and print its path."""
    from mediamix.mmm import MMM
    from mediamix.output import read_json
    from mediamix.report import REPORT_FILE, write_report

    mmm = MMM.load(folder)
    optimization = read_json(folder / OPTIMIZATION_FILE) if (folder / OPTIMIZATION_FILE).is_file() else None
    path = write_report(out or folder / REPORT_FILE, mmm.report_data(optimization=optimization))
    console.print(f"Wrote {path}", markup=False, highlight=False, soft_wrap=True)
