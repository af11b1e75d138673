"""Terminal rendering of results with rich: one function per table."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

__all__ = ["print_summary", "print_review", "print_approximate_warning", "fmt", "SEVERITY_STYLES"]


def fmt(value: float | None, digits: int = 3) -> str:
    """A number with ``digits`` significant digits (whole numbers from ``10**digits`` on, thousands
    separated: ``2,750``, not ``2.75e+03``), or ``n/a``."""
    if value is None or value != value:
        return "n/a"
    if abs(value) >= 10**digits - 0.5:  # 999.7 would round to "1e+03"
        return f"{value:,.0f}"
    return f"{value:,.{digits}g}"


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
    console.print(
        f"Posterior mean ({pct}% HDI), target units. share: of media effect / of spend. "
        "mROAS: return of the next unit of spend.",
        highlight=False,
    )
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1, 0, 0), show_edge=False)
    columns = ["spend", "contribution", "truth", "share", "ROAS", "truth", "mROAS"] if truth else [
        "spend", "contribution", "share", "ROAS", "mROAS"
    ]
    table.add_column("channel", style="bold", no_wrap=True)
    for header in columns:
        table.add_column(header, justify="right", no_wrap=True, style="cyan" if header == "truth" else None)
    for name, entry in summary["channels"].items():
        contribution, roas = _cell(entry["contribution"]), _cell(entry["roas"])
        share = f"{100 * entry['share']['mean']:.0f}%/{100 * entry.get('share_of_spend', float('nan')):.0f}%"
        mroas = fmt(entry["marginal_roas"]["mean"]) if "marginal_roas" in entry else "n/a"
        if truth:
            t = truth.get(name, {})
            cells = [contribution, fmt(t.get("contribution")), share, roas, fmt(t.get("roas")), mroas]
        else:
            cells = [contribution, share, roas, mroas]
        table.add_row(escape(name), fmt(entry["spend"]), *cells)
    console.print(table)

    d = summary["diagnostics"]
    fit = summary.get("fit", {})
    if fit.get("approximate"):
        console.print(
            f"Diagnostics: [bold yellow]approximate fit ({escape(str(fit.get('method')))})[/] — convergence not "
            f"checked (r-hat, ESS and divergences are NUTS diagnostics); Pareto k {fmt(fit.get('pareto_k'), 2)} "
            f"({_shape(fit.get('pareto_k'), fit.get('pareto_k_limit', 0.7))}); {d.get('chains', '?')} chain × "
            f"{d.get('draws', '?')} draws{_resampled(fit)}",
            highlight=False,
        )
        _print_timing(console, summary.get("timing", {}), "fitting")
        return
    verdict = "[green]converged[/]" if d["converged"] else "[bold yellow]NOT converged[/]"
    console.print(
        f"Diagnostics: {verdict} — max r-hat {fmt(d['r_hat_max'], 4)}, min bulk ESS {d['ess_bulk_min']:.0f}, "
        f"min tail ESS {d.get('ess_tail_min', float('nan')):.0f}, divergences {d['divergences']} "
        f"({d.get('chains', '?')} chains × {d.get('draws', '?')} draws, {d.get('sampler', '?')})"
    )
    _print_timing(console, summary.get("timing", {}), "sampling")


def _shape(pareto_k: float | None, limit: float) -> str:
    """What an approximation's Pareto k says, in a few words (its limit: ``pareto_k_limit`` of the draws)."""
    if pareto_k is None or pareto_k != pareto_k:
        return "not estimated"
    if pareto_k <= limit:
        return "close to the posterior in shape"
    return f"above {limit:.2g}: it differs from the posterior; means and intervals may be far off"


def _resampled(fit: dict[str, Any]) -> str:
    """``", importance-resampled (effective sample size 255)"`` for a resampled approximation."""
    if not fit.get("resampled"):
        return ""
    ess = fit.get("importance_ess")
    return f", importance-resampled (effective sample size {ess:.0f})" if ess else ", importance-resampled"


def _print_timing(console: Console, t: dict[str, Any], phase: str) -> None:
    if t:
        console.print(
            f"Timing: compile {t.get('compile_s', 0):.1f} s, {phase} {t.get('sampling_s', 0):.1f} s, "
            f"total {t.get('total_s', 0):.1f} s"
        )


def print_approximate_warning(console: Console, summary: dict[str, Any]) -> None:
    """For an approximate fit (``summary["fit"]["approximate"]``), one visible warning line; else nothing."""
    fit = summary.get("fit", {})
    if fit.get("approximate"):
        console.print(
            f"[bold yellow]Warning: approximate fit ({escape(str(fit.get('method')))}), not for final decisions.[/] "
            "Convergence was not checked; refit with --method nuts before acting on these numbers.",
            highlight=False,
        )


def print_budget_result(console: Console, result: dict[str, Any]) -> None:
    """Print an optimization result: allocation vs reference, expected KPI and uplift."""
    pct = int(round(100 * result["hdi_prob"]))
    title = f"Budget {fmt(result['budget'])} over {result['weeks']} periods (objective: {result['objective']})"
    if "scenario" in result:
        sc = result["scenario"]
        title += "; scenario: " + ", ".join(f"{k.replace('_', ' ')} {fmt(v)}" for k, v in sc.items() if k != "kind")
    console.print(title, highlight=False)
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, padding=(0, 1, 0, 0))
    table.add_column("channel", style="bold", no_wrap=True)
    for header in ("reference", "optimal", "change"):
        table.add_column(header, justify="right", no_wrap=True)
    for name, optimal in result["allocation"].items():
        ref = result["reference_allocation"][name]
        change = "n/a" if ref == 0 else f"{100 * (optimal / ref - 1):+.0f}%"
        table.add_row(escape(name), fmt(ref), fmt(optimal), change)
    table.add_row("total", fmt(sum(result["reference_allocation"].values())), fmt(result["spent"]), "")
    console.print(table)
    k, r, u = result["kpi"], result["reference_kpi"], result["uplift"]
    console.print(
        f"Media KPI: optimal {fmt(k['mean'])} ({pct}% HDI {fmt(k['hdi_low'])}–{fmt(k['hdi_high'])}) vs reference "
        f"{fmt(r['mean'])} ({fmt(r['hdi_low'])}–{fmt(r['hdi_high'])}); uplift {fmt(u['mean'])} "
        f"({fmt(u['hdi_low'])}–{fmt(u['hdi_high'])}), P(uplift > 0) = {u['probability_positive']:.0%}",
        highlight=False,
    )
    s = result["solver"]
    if not s["success"]:
        console.print(f"[bold yellow]Warning:[/] the solver stopped early: {escape(str(s['message']))}")


def print_plan_comparison(console: Console, table_frame: Any) -> None:
    """Print plans side by side: spend, predicted KPI with interval, media part, difference from the first."""
    console.print("Plans: predicted total KPI (94% predictive interval); 'vs first' compares expected KPIs")
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, padding=(0, 1, 0, 0))
    for header in ("plan", "periods", "spend", "KPI", "media", "vs first", "P(>first)"):
        table.add_column(header, justify="left" if header == "plan" else "right", no_wrap=True)
    for row in table_frame.itertuples():
        table.add_row(
            escape(str(row.plan)), str(row.weeks), fmt(row.spend),
            f"{fmt(row.kpi_mean)} ({fmt(row.kpi_low)}–{fmt(row.kpi_high)})", fmt(row.media_kpi_mean),
            f"{fmt(row.vs_first_mean)} ({fmt(row.vs_first_low)}–{fmt(row.vs_first_high)})",
            f"{row.p_higher_than_first:.0%}",
        )
    console.print(table)


#: How each severity looks in the terminal.
SEVERITY_STYLES = {"pass": "green", "review": "bold yellow", "fail": "bold red"}


def print_review(console: Console, review: dict[str, Any], title: str = "Model review",
                 problems_only: bool = False) -> None:
    """Print a review's verdict and its findings (severity, check, what was found, next step).

    Parameters
    ----------
    console : rich.console.Console
    review : dict
        ``Review.to_dict()``: ``{"verdict": ..., "findings": [...]}`` (the ``review`` entry of ``summary.json``).
    title : str, default="Model review"
    problems_only : bool, default=False
        Show only the findings that did not pass (the verdict line is always printed).
    """
    findings = review.get("findings", [])
    shown = [f for f in findings if f["severity"] != "pass"] if problems_only else findings
    verdict = review.get("verdict", "pass")
    tally = {s: sum(f["severity"] == s for f in findings) for s in SEVERITY_STYLES}
    counts = ", ".join(f"{n} {s}" for s, n in tally.items() if n)
    style = SEVERITY_STYLES.get(verdict, "bold")
    console.print(f"{title}: [{style}]{verdict.upper()}[/] ({counts or 'no checks'})", highlight=False)
    if not shown:
        return
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, padding=(0, 1, 0, 0))
    table.add_column("severity", no_wrap=True)
    table.add_column("check", style="bold", no_wrap=True)
    table.add_column("finding", ratio=3)
    with_steps = any(f.get("next_step") for f in shown)
    if with_steps:
        table.add_column("next step", ratio=2)
    for f in shown:
        # Messages name parameters like beta[x1] and config sections like [fit]: not markup.
        cells = [f"[{SEVERITY_STYLES.get(f['severity'], 'bold')}]{f['severity']}[/]", escape(f["check"]),
                 escape(f["message"])]
        table.add_row(*cells, *([escape(f.get("next_step") or "")] if with_steps else []))
    console.print(table, highlight=False)
