"""Terminal rendering of results with rich: one function per table."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

__all__ = ["print_summary", "fmt"]


def fmt(value: float | None, digits: int = 3) -> str:
    """A number with ``digits`` significant digits, or ``n/a``."""
    if value is None or value != value:
        return "n/a"
    return f"{value:,.{digits}g}" if abs(value) < 1e4 else f"{value:,.0f}"


def _interval(stats: dict[str, float], percent: bool = False) -> str:
    if percent:
        return f"{100 * stats['mean']:.1f}% [{100 * stats['hdi_low']:.1f}, {100 * stats['hdi_high']:.1f}]"
    return f"{fmt(stats['mean'])} [{fmt(stats['hdi_low'])}, {fmt(stats['hdi_high'])}]"


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
    table = Table(title=f"Channels (posterior mean [{pct}% HDI], target units)", title_justify="left")
    table.add_column("channel", style="bold")
    table.add_column("spend", justify="right")
    table.add_column("contribution", justify="right")
    table.add_column("share of media", justify="right")
    table.add_column("ROAS", justify="right")
    if truth:
        table.add_column("true contribution", justify="right", style="cyan")
        table.add_column("true ROAS", justify="right", style="cyan")
    for name, entry in summary["channels"].items():
        row = [
            name,
            fmt(entry["spend"]),
            _interval(entry["contribution"]),
            _interval(entry["share"], percent=True),
            _interval(entry["roas"]),
        ]
        if truth:
            t = truth.get(name, {})
            row += [fmt(t.get("contribution")), fmt(t.get("roas"))]
        table.add_row(*row)
    console.print(table)

    d = summary["diagnostics"]
    verdict = "[green]converged[/]" if d["converged"] else "[bold yellow]NOT converged[/]"
    console.print(
        f"Diagnostics: {verdict} — max r-hat {fmt(d['r_hat_max'], 4)}, min bulk ESS {fmt(d['ess_bulk_min'], 4)}, "
        f"min tail ESS {fmt(d.get('ess_tail_min'), 4)}, divergences {d['divergences']} "
        f"({d.get('chains', '?')} chains × {d.get('draws', '?')} draws, {d.get('sampler', '?')})"
    )
    t = summary.get("timing", {})
    if t:
        console.print(
            f"Timing: compile {t.get('compile_s', 0):.1f} s, sampling {t.get('sampling_s', 0):.1f} s, "
            f"total {t.get('total_s', 0):.1f} s"
        )
