"""Terminal rendering of results with rich: one function per table."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

__all__ = ["print_summary", "fmt"]


def fmt(value: float | None, digits: int = 3) -> str:
    """A number with ``digits`` significant digits, or ``n/a``."""
    if value is None or value != value:
        return "n/a"
    return f"{value:,.{digits}g}" if abs(value) < 1e4 else f"{value:,.0f}"


def _cell(stats: dict[str, float], percent: bool = False) -> str:
    if percent:
        return f"{100 * stats['mean']:.1f}% ({100 * stats['hdi_low']:.0f}–{100 * stats['hdi_high']:.0f})"
    return f"{fmt(stats['mean'])} ({fmt(stats['hdi_low'])}–{fmt(stats['hdi_high'])})"


def print_summary(console: Console, summary: dict[str, Any], truth: dict[str, Any] | None = None) -> None:
    """Print the channel table, diagnostics and timing of a ``summary.json`` payload.

    Parameters
    ----------
    console : rich.console.Console
    summary : dict
        As written to ``summary.json``.
    truth : dict, optional
        Per channel true ``contribution`` and ``roas`` (simulated data) to show beside the estimates.
    """
    pct = int(round(100 * summary["hdi_prob"]))
    table = Table(
        title=f"Posterior mean ({pct}% HDI) in target units; share is of the total media effect",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        padding=(0, 1, 0, 0),
        show_edge=False,
    )
    columns = ["spend", "contribution", "truth", "share", "ROAS", "truth"] if truth else [
        "spend", "contribution", "share", "ROAS"
    ]
    table.add_column("channel", style="bold", no_wrap=True)
    for header in columns:
        table.add_column(header, justify="right", no_wrap=True, style="cyan" if header == "truth" else None)
    for name, entry in summary["channels"].items():
        contribution, share, roas = (_cell(entry["contribution"]), _cell(entry["share"], percent=True),
                                     _cell(entry["roas"]))
        if truth:
            t = truth.get(name, {})
            cells = [contribution, fmt(t.get("contribution")), share, roas, fmt(t.get("roas"))]
        else:
            cells = [contribution, share, roas]
        table.add_row(name, fmt(entry["spend"]), *cells)
    console.print(table)

    d = summary["diagnostics"]
    verdict = "[green]converged[/]" if d["converged"] else "[bold yellow]NOT converged[/]"
    console.print(
        f"Diagnostics: {verdict} — max r-hat {fmt(d['r_hat_max'], 4)}, min bulk ESS {d['ess_bulk_min']:.0f}, "
        f"min tail ESS {d.get('ess_tail_min', float('nan')):.0f}, divergences {d['divergences']} "
        f"({d.get('chains', '?')} chains × {d.get('draws', '?')} draws, {d.get('sampler', '?')})"
    )
    t = summary.get("timing", {})
    if t:
        console.print(
            f"Timing: compile {t.get('compile_s', 0):.1f} s, sampling {t.get('sampling_s', 0):.1f} s, "
            f"total {t.get('total_s', 0):.1f} s"
        )
