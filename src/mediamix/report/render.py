"""``report.html``: :class:`ReportData` -> one self-contained HTML page.

The page is rendered with jinja2 with autoescaping on, so every user-supplied
name (columns, channels, controls, config values) is HTML-escaped text. Charts
are PNGs embedded as ``data:`` URIs and the stylesheet is inline: the file opens
without a network, and its Content-Security-Policy forbids scripts and any
request other than those ``data:`` images.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from mediamix import output
from mediamix._version import __version__
from mediamix.inference.diagnostics import ESS_MIN, PARETO_K_MAX, RHAT_MAX
from mediamix.report import figures
from mediamix.report.charts import draw_charts
from mediamix.report.data import ReportData, fit_metrics

__all__ = ["REPORT_FILE", "render_report", "write_report", "verdict"]

#: The report's file name in an output folder.
REPORT_FILE = "report.html"


@functools.cache
def _environment() -> Any:
    """The jinja2 environment (built once): templates from the package, autoescaped, strict about names."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("mediamix.report", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "j2"), default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(num=num, pct=pct, span=span)
    return env


def num(value: float | None, digits: int = 3) -> str:
    """A number with ``digits`` significant digits (thousands separated), or ``n/a``."""
    if value is None or not math.isfinite(float(value)):
        return "n/a"
    value = float(value)
    if abs(value) >= 10**digits - 0.5:  # 999.99 would round to "1e+03"
        return f"{value:,.0f}"
    return f"{value:,.{digits}g}"


def pct(value: float | None, decimals: int = 0) -> str:
    """A fraction as a percentage, or ``n/a``."""
    if value is None or not math.isfinite(float(value)):
        return "n/a"
    return f"{100 * float(value):.{decimals}f}%"


def span(stats: Mapping[str, float], percent: bool = False) -> str:
    """An interval ``stats["hdi_low"]``–``stats["hdi_high"]``; "a to b" when a bound is negative (no "-1–2")."""
    low, high = stats["hdi_low"], stats["hdi_high"]
    fmt = pct if percent else num
    negative = any(v is not None and math.isfinite(v) and v < 0 for v in (low, high))
    return f"{fmt(low)} to {fmt(high)}" if negative else f"{fmt(low)}–{fmt(high)}"


def data_uri(png: bytes) -> str:
    """PNG bytes as a ``data:image/png;base64,...`` URI."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def verdict(diagnostics: Mapping[str, Any], problems: tuple[str, ...] | list[str] = (),
            fit: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The convergence verdict in plain language.

    Parameters
    ----------
    diagnostics : mapping
        ``summary.json``'s ``diagnostics``.
    problems : sequence of str, default=()
        Failed convergence checks.
    fit : mapping, optional
        ``summary.json``'s ``fit``; an approximate fit gets the verdict "not checked", never "converged".

    Returns
    -------
    dict
        ``ok`` (bool), ``approximate`` (bool), ``headline`` and ``details`` (sentences).
    """
    if fit and fit.get("approximate"):
        return _approximate_verdict(fit, diagnostics)
    d = diagnostics
    r_hat, ess = d.get("r_hat_max"), min(d.get("ess_bulk_min", math.nan), d.get("ess_tail_min", math.nan))
    ok = bool(d.get("converged", False)) and not problems
    if ok:
        return {
            "ok": True,
            "approximate": False,
            "headline": "The sampler converged: the intervals in this report can be trusted.",
            "details": [
                f"The {d.get('chains', '?')} chains agree (largest r-hat {num(r_hat, 4)}, at most {RHAT_MAX} needed).",
                f"Every parameter has enough independent draws (smallest ESS {num(ess)}, at least {ESS_MIN} needed).",
                "There were no divergent transitions.",
            ],
        }
    details = list(problems) or [
        f"Largest r-hat {num(r_hat, 4)} (at most {RHAT_MAX}), smallest ESS {num(ess)} (at least {ESS_MIN}), "
        f"{d.get('divergences', '?')} divergent transitions (0 wanted)."
    ]
    return {
        "ok": False,
        "approximate": False,
        "headline": "The sampler did not converge: treat every number below as provisional.",
        "details": details,
    }


def _approximate_verdict(fit: Mapping[str, Any], diagnostics: Mapping[str, Any]) -> dict[str, Any]:
    method, k = fit.get("method", "?"), fit.get("pareto_k")
    limit = float(fit.get("pareto_k_limit", PARETO_K_MAX))
    if k is None or not math.isfinite(float(k)):
        shape = "Its Pareto k could not be estimated."
    elif float(k) > limit:
        shape = (f"Its Pareto k is {float(k):.2f} (above {limit:.2g}): its shape differs from the posterior's, "
                 "so its means and intervals may be far off.")
    else:
        shape = f"Its Pareto k is {float(k):.2f} (at most {limit:.2g}): close to the posterior in shape."
        if fit.get("resampled"):
            ess = fit.get("importance_ess")
            weight = f" (effective sample size {float(ess):.0f})" if ess else ""
            shape += f" Its draws were importance-resampled towards the posterior{weight}."
    return {
        "ok": False,
        "approximate": True,
        "headline": f"Approximate fit ({method}): not for final decisions. Convergence was not checked; "
                    "refit with NUTS before acting on these numbers.",
        "details": [
            f"The {diagnostics.get('draws', '?')} draws come from an approximation of the posterior ({method}), "
            "not from MCMC: r-hat, ESS and divergences do not apply.",
            shape,
            "Use this fit to iterate on the model (data, priors, transforms); run mediamix fit --method nuts "
            "for the numbers you act on.",
        ],
    }


def _overview(data: ReportData) -> dict[str, Any]:
    table = data.observed
    dates = table[data.date_column]
    spend_total = float(sum(table[c].sum() for c in data.channels))
    rows = []
    for channel in data.channels:
        spend = table[channel].to_numpy(dtype=float)
        rows.append({
            "name": channel,
            "total": float(spend.sum()),
            "share": float(spend.sum() / spend_total) if spend_total else math.nan,
            "average": float(spend.mean()),
            "largest": float(spend.max()),
            "active": int((spend > 0).sum()),
        })
    return {
        "periods": len(table),
        "first": str(dates.iloc[0].date()),
        "last": str(dates.iloc[-1].date()),
        "step": data.period,
        "target_total": float(table[data.target].sum()),
        "target_mean": float(table[data.target].mean()),
        "spend_total": spend_total,
        "channels": rows,
    }


def _key_results(data: ReportData) -> dict[str, Any]:
    entries = data.summary["channels"]
    fitted_total = float(data.fit["mean"].sum())
    media_total = sum(e["contribution"]["mean"] for e in entries.values())
    best_roas = max(entries, key=lambda c: entries[c]["roas"]["mean"])
    mroas = {c: e["marginal_roas"]["mean"] for c, e in entries.items() if "marginal_roas" in e}
    best_margin = max(mroas, key=lambda c: mroas[c]) if mroas else None
    return {
        "media_share": media_total / fitted_total if fitted_total > 0 else None,
        "media_total": media_total,
        "fitted_total": fitted_total,
        "best_roas": best_roas,
        "best_roas_stats": entries[best_roas]["roas"],
        "best_margin": best_margin,
        "best_margin_stats": entries[best_margin]["marginal_roas"] if best_margin else None,
    }


def _optimization(result: Mapping[str, Any] | None, channels: tuple[str, ...]) -> dict[str, Any] | None:
    if not result or "allocation" not in result:
        return None
    reference = result.get("reference_allocation", {})
    rows = []
    for name, optimal in result["allocation"].items():
        ref = reference.get(name)
        change = None if not ref else optimal / ref - 1
        rows.append({"name": name, "reference": ref, "optimal": optimal, "change": change})
    return {
        "result": result,
        "rows": rows,
        "chart": data_uri(figures.allocation_chart(result, channels)),
        "scenario": {k: v for k, v in result.get("scenario", {}).items() if k != "kind"},
    }


def render_report(data: ReportData, *, generated: dt.datetime | None = None,
                  charts: Mapping[str, bytes] | None = None) -> str:
    """The report as one self-contained HTML document.

    Parameters
    ----------
    data : ReportData
    generated : datetime, optional
        The time stamp shown in the footer; default now.
    charts : mapping of str to bytes, optional
        The charts of ``data`` as PNG bytes by name (:data:`~mediamix.report.charts.CHARTS`), when
        drawn already (e.g. by :func:`~mediamix.report.charts.start_charts`); default: drawn here.

    Returns
    -------
    str
        HTML with inline CSS and charts as ``data:`` URIs; no scripts and no external references.
    """
    charts = draw_charts(data) if charts is None else charts
    summary = data.summary
    dates = summary.get("dates", {})
    review = data.review
    context = {
        "data": data,
        "summary": summary,
        "version": __version__,
        "generated": (generated or dt.datetime.now()).strftime("%Y-%m-%d %H:%M"),
        "hdi": round(100 * data.hdi_prob),
        "dates": dates,
        "overview": _overview(data),
        "metrics": fit_metrics(data.fit),
        "key": _key_results(data),
        "channels": [(name, summary["channels"][name]) for name in data.channels if name in summary["channels"]],
        "waterfall": data.waterfall.to_dict("records"),
        "diagnostics": data.diagnostics,
        "verdict": verdict(data.diagnostics, data.problems, summary.get("fit")),
        "approximate": summary.get("fit", {}).get("approximate", False),
        "review": review if isinstance(review, Mapping) else None,
        "timing": summary.get("timing", {}),
        "adstock_peak": _adstock_peaks(data),
        "optimization": _optimization(data.optimization, tuple(data.channels)),
        "charts": {name: data_uri(png) for name, png in charts.items()},
        "limits": {"pareto_k": PARETO_K_MAX, "r_hat": RHAT_MAX, "ess": ESS_MIN},
    }
    return _environment().get_template("report.html.j2").render(**context)


def _adstock_peaks(data: ReportData) -> list[dict[str, Any]]:
    """Per channel: share of the effect in the period of spend, and the lag by which half has acted."""
    out = []
    curves = data.adstock_curves
    for channel in data.channels:
        curve = curves[curves["channel"].astype(str) == channel].sort_values("lag")
        weights = curve["mean"].to_numpy(dtype=float)
        total = weights.sum()
        half = int(np.argmax(np.cumsum(weights) >= 0.5 * total)) if total > 0 else 0
        out.append({"name": channel, "immediate": weights[0] / total if total > 0 else math.nan, "half": half})
    return out


def write_report(path: str | os.PathLike[str], data: ReportData, *, charts: Mapping[str, bytes] | None = None) -> Path:
    """Render ``data`` and write it to ``path`` whole or not at all (a temporary file, then a rename).

    ``charts``: as for :func:`render_report`.
    """
    return output.write_text_atomic(path, render_report(data, charts=charts))
