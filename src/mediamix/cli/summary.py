"""``mediamix summary``: print an output folder's results again."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mediamix.cli.app import console
from mediamix.cli.render import print_approximate_warning, print_review, print_summary

__all__ = ["summary_command"]


def summary_command(
    folder: Annotated[Path, typer.Argument(help="An output folder written by 'mediamix fit'.")],
) -> None:
    """Print the channel table, diagnostics, timing and model review of a fitted model's folder."""
    from mediamix.output import SUMMARY_FILE, read_summary

    summary = read_summary(folder / SUMMARY_FILE)
    print_summary(console, summary)
    if "review" in summary:  # folders written before the review existed have none
        print_review(console, summary["review"], problems_only=True)
    print_approximate_warning(console, summary)
