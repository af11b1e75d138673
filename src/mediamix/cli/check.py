"""``mediamix check``: the pre-fit data checks, as a table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mediamix.cli.app import REVIEW_FAILED_EXIT_CODE, console
from mediamix.cli.render import print_review

__all__ = ["check_command"]


def check_command(
    data: Annotated[Path, typer.Argument(help="The data table: CSV or Parquet, one row per date.")],
    config: Annotated[Path, typer.Option("--config", "-c", help="The model config (TOML).")],
) -> None:
    """Check DATA against the model in CONFIG before fitting: spend, collinearity, rows per parameter, target.

    Each check is pass, review or fail, with the numbers and a next step. Exit codes: 0 when no check
    fails (review findings included), 3 when one fails, 2 when DATA or CONFIG cannot be used at all.
    """
    from mediamix.mmm import MMM

    review = MMM.from_config(config).check_data(data)
    print_review(console, review.to_dict(), title=f"Data checks for {data.name}")
    if review.verdict == "fail":
        raise typer.Exit(code=REVIEW_FAILED_EXIT_CODE)
