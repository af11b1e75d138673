"""``mediamix summary``: print an output folder's results again."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mediamix.cli.app import console
from mediamix.cli.render import print_summary

__all__ = ["summary_command"]


def summary_command(
    folder: Annotated[Path, typer.Argument(help="An output folder written by 'mediamix fit'.")],
) -> None:
    """Print the channel table, diagnostics and timing of a fitted model's folder."""
    from mediamix.output import SUMMARY_FILE, read_json

    print_summary(console, read_json(folder / SUMMARY_FILE))
