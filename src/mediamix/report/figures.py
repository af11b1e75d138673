"""The report's charts: one function per chart, :class:`ReportData` in, PNG bytes out.

Each function draws on its own :class:`matplotlib.figure.Figure` with the Agg
canvas attached inside the function: no pyplot, no global backend switch and no
change to the caller's rcParams (the house style is applied in an
``rc_context`` around each chart). matplotlib is imported only when a chart is drawn.

User-supplied names reach matplotlib only as text labels (pixels in the PNG);
:func:`_label` keeps them literal (no mathtext, no hidden legend entries).
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from mediamix.lazy_modules import unloaded_lazy_modules_hidden
from mediamix.report.data import ReportData

__all__ = [
    "CHANNEL_COLORS",
    "spend_chart",
    "fit_chart",
    "decomposition_chart",
    "waterfall_chart",
    "share_chart",
    "response_chart",
    "adstock_chart",
    "prior_posterior_chart",
    "allocation_chart",
    "warm_up",
]

#: Channel colors (Tableau 10), assigned in channel order and reused on every chart.
CHANNEL_COLORS = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7",
                  "#9c755f", "#bab0ac")
BASELINE_COLORS = {"intercept": "#cfd5dc", "trend": "#aab3bd", "seasonality": "#e3e7ec"}
CONTROL_COLORS = ("#d8c3a5", "#b5c99a", "#cdb4db", "#f1c0a8", "#a9d6e5")
INK, MUTED, FIT = "#1f2933", "#7b8794", "#2b6cb0"

Ticks = Literal["dates", "compact", "percent"] | None

#: Width of every chart in inches; the page shows them at most ~920 px wide, so 150 dpi stays sharp.
WIDTH, DPI = 9.0, 150

#: zlib level of the PNGs: 3 instead of Pillow's 6 encodes the demo's charts 0.13 s faster for 16% more
#: bytes (782 vs 676 KiB); 1 is no faster than 3 and bigger.
PNG_COMPRESSION = 3

_STYLE: dict[str, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 9.5,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 9,
    "axes.labelcolor": "#3e4c59",
    "axes.edgecolor": "#9aa5b1",
    "axes.linewidth": 0.8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.color": "#e4e7eb",
    "grid.linewidth": 0.7,
    "xtick.color": "#52606d",
    "ytick.color": "#52606d",
    "xtick.labelsize": 8.5,
    "ytick.labelsize": 8.5,
    "legend.frameon": False,
    "legend.fontsize": 8.5,
    "figure.facecolor": "white",
    "text.usetex": False,
}


def _chart(func: Callable[..., Any]) -> Callable[..., bytes]:
    """Draw ``func``'s figure inside the house style and return it as PNG bytes."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> bytes:
        import matplotlib

        with unloaded_lazy_modules_hidden(), matplotlib.rc_context(_STYLE):
            fig = func(*args, **kwargs)
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png", dpi=DPI, facecolor="white", metadata={"Software": None},
                        pil_kwargs={"compress_level": PNG_COMPRESSION})
        return buffer.getvalue()

    return wrapper


def warm_up() -> None:
    """Import what the charts use and load the house font, so that the first chart drawn pays for neither.

    For a process that has time to spare before its charts (see :mod:`mediamix.report.chart_process`).
    """
    import matplotlib
    import scipy.stats  # noqa: F401  (the prior chart's kernel density)
    from matplotlib.lines import Line2D  # noqa: F401
    from matplotlib.patches import Patch  # noqa: F401
    from matplotlib.ticker import MaxNLocator  # noqa: F401

    with unloaded_lazy_modules_hidden(), matplotlib.rc_context(_STYLE):
        fig = _figure(1.0, 1.0)
        ax = fig.add_subplot()
        ax.set_title("warm-up")
        fig.savefig(io.BytesIO(), format="png", dpi=DPI)


def _figure(height: float, width: float = WIDTH, layout: Literal["constrained"] | None = "constrained") -> Any:
    """A Figure with its own Agg canvas, independent of pyplot's backend.

    ``layout=None`` for charts placed by :func:`_fixed_layout` instead of constrained layout.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def _fixed_layout(fig: Any, legend: Any = None, *, left: float = 0.8, right: float = 0.2, bottom: float = 0.42,
                  top: float = 0.06, hspace: float = 0.0, wspace: float = 0.0) -> None:
    """Place the axes by margins and gaps in inches, under the legend (measured) if there is one.

    Constrained layout measures every text and lays the figure out before drawing it: a third of
    the report's drawing time (all eight charts 0.95 s, 0.69 s with the six time-series and grid charts
    placed here; demo, 2-CPU machine). Their labels have predictable sizes (numbers, dates, titles),
    so fixed margins fit them; the legend's rows depend on the labels, so its height is measured. The
    waterfall and share charts keep constrained layout: their tick labels are user names.
    """
    width, height = fig.get_size_inches()
    if legend is not None:
        top += legend.get_window_extent(fig.canvas.get_renderer()).height / fig.dpi
    rows, columns = fig.axes[0].get_gridspec().get_geometry()
    axes_height = (height - top - bottom - hspace * (rows - 1)) / rows
    axes_width = (width - left - right - wspace * (columns - 1)) / columns
    fig.subplots_adjust(left=left / width, right=1 - right / width, bottom=bottom / height, top=1 - top / height,
                        hspace=hspace / axes_height, wspace=wspace / axes_width)


def _top_legend(fig: Any, handles: Sequence[Any], labels: Sequence[str], ncols: int) -> Any:
    """A legend in the figure's top left corner (placed above the axes by :func:`_fixed_layout`)."""
    return fig.legend(handles, labels, loc="upper left", bbox_to_anchor=(0.0, 1.0), ncols=ncols)


def _label(name: object) -> str:
    """A user-supplied name as literal text: ``$`` would start mathtext, a leading ``_`` hides a legend entry."""
    text = str(name).replace("$", r"\$")
    return " " + text if text.startswith("_") else text


def _legend_on_top(fig: Any, ax: Any, ncols: int | None = None, reverse: bool = False) -> Any:
    """One legend row (or more) above the plot, so every chart keeps the full width for data."""
    handles, labels = ax.get_legend_handles_labels()
    if reverse:
        handles, labels = handles[::-1], labels[::-1]
    return _top_legend(fig, handles, labels, ncols or min(len(labels), 6))


def channel_colors(channels: Sequence[str]) -> dict[str, str]:
    """Each channel's color, in channel order (the palette repeats after ten)."""
    return {c: CHANNEL_COLORS[i % len(CHANNEL_COLORS)] for i, c in enumerate(channels)}


def _compact(value: float, _pos: object = None) -> str:
    """Tick labels like 1.2k, 3.4M, 0.25."""
    size = abs(value)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if size >= limit:
            return f"{value / limit:.3g}{suffix}"
    return f"{value:.3g}"


def _format_axes(ax: Any, *, x: Ticks = None, y: Ticks = "compact") -> None:
    """Tick labels: concise dates, compact numbers (1.2k) or percentages (of 1.0); ``None`` leaves them."""
    import matplotlib.dates as mdates
    from matplotlib.ticker import FuncFormatter, PercentFormatter

    for axis, kind in ((ax.xaxis, x), (ax.yaxis, y)):
        if kind == "dates":
            locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
            axis.set_major_locator(locator)
            axis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        elif kind == "compact":
            axis.set_major_formatter(FuncFormatter(_compact))
        elif kind == "percent":
            axis.set_major_formatter(PercentFormatter(1.0, decimals=0))


def _dates(data: ReportData, table: pd.DataFrame) -> np.ndarray:
    return pd.DatetimeIndex(table[data.date_column]).to_numpy()


@_chart
def spend_chart(data: ReportData) -> Any:
    """Spend per channel over time (top) and the target (bottom)."""
    fig = _figure(4.4, layout=None)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(1.6, 1))
    dates = _dates(data, data.observed)
    for channel, color in channel_colors(data.channels).items():
        spend = data.observed[channel].to_numpy(dtype=float)
        top.plot(dates, spend, color=color, lw=1.4, label=_label(channel))
        top.fill_between(dates, 0, spend, color=color, alpha=0.08, lw=0)
    top.set_ylabel("spend per period")
    top.set_ylim(bottom=0)
    bottom.plot(dates, data.observed[data.target].to_numpy(dtype=float), color=INK, lw=1.3,
                label=f"{_label(data.target)} (target)")
    bottom.set_ylabel(_label(data.target))
    handles, labels = top.get_legend_handles_labels()
    extra_h, extra_l = bottom.get_legend_handles_labels()
    legend = _top_legend(fig, handles + extra_h, labels + extra_l, ncols=min(len(labels) + 1, 6))
    _format_axes(top)
    _format_axes(bottom, x="dates")
    _fixed_layout(fig, legend, hspace=0.15)
    return fig


@_chart
def fit_chart(data: ReportData) -> Any:
    """Observed target vs the fitted mean with its HDI and the predictive interval (top); residuals (bottom)."""
    fit = data.fit
    pct = round(100 * data.hdi_prob)
    fig = _figure(4.8, layout=None)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(2.6, 1))
    dates = _dates(data, fit)
    top.fill_between(dates, fit["predictive_low"], fit["predictive_high"], color=FIT, alpha=0.13, lw=0,
                     label=f"{pct}% predictive interval")
    top.fill_between(dates, fit["hdi_low"], fit["hdi_high"], color=FIT, alpha=0.3, lw=0,
                     label=f"{pct}% HDI of the mean")
    top.plot(dates, fit["mean"], color=FIT, lw=1.5, label="fitted mean")
    top.plot(dates, fit["observed"], "o", color=INK, ms=2.6, label="observed")
    top.set_ylabel(_label(data.target))
    legend = _legend_on_top(fig, top, reverse=True)
    residual = fit["residual"].to_numpy()
    bottom.axhline(0, color=MUTED, lw=0.8)
    bottom.vlines(dates, 0, residual, color=MUTED, lw=1.0)
    bottom.plot(dates, residual, "o", color=INK, ms=2.0)
    bottom.set_ylabel("residual")
    _format_axes(top)
    _format_axes(bottom, x="dates")
    _fixed_layout(fig, legend, hspace=0.15)
    return fig


def _components(data: ReportData) -> list[tuple[str, np.ndarray, str]]:
    """(name, per-date mean, color) bottom to top: baseline (intercept + trend + seasonality), controls, channels."""
    table = data.decomposition
    baseline = [name for name in BASELINE_COLORS if name in table.columns]
    parts = [("baseline", table[baseline].sum(axis=1).to_numpy(dtype=float), BASELINE_COLORS["intercept"])]
    parts += [(c, table[c].to_numpy(dtype=float), CONTROL_COLORS[i % len(CONTROL_COLORS)])
              for i, c in enumerate(data.controls) if c in table.columns]
    parts += [(c, table[c].to_numpy(dtype=float), color) for c, color in channel_colors(data.channels).items()]
    return parts


@_chart
def decomposition_chart(data: ReportData) -> Any:
    """Posterior-mean contributions stacked over time: positive parts upward, negative parts downward."""
    fig = _figure(3.9, layout=None)
    ax = fig.subplots()
    dates = _dates(data, data.decomposition)
    up = np.zeros(len(dates))
    down = np.zeros(len(dates))
    for name, values, color in _components(data):
        pos, neg = np.clip(values, 0, None), np.clip(values, None, 0)
        ax.fill_between(dates, up, up + pos, color=color, lw=0, label=_label(name))
        if (neg < 0).any():
            ax.fill_between(dates, down + neg, down, color=color, lw=0)
        up, down = up + pos, down + neg
    ax.plot(dates, data.fit["mean"].to_numpy(), color=INK, lw=1.1, label="fitted mean")
    ax.plot(dates, data.fit["observed"], "o", color=INK, ms=1.8, alpha=0.6, label="observed")
    ax.axhline(0, color=MUTED, lw=0.8)
    ax.set_ylabel(_label(data.target))
    ax.margins(x=0.01)
    legend = _legend_on_top(fig, ax, ncols=min(len(_components(data)) + 2, 7))
    _format_axes(ax, x="dates")
    _fixed_layout(fig, legend)
    return fig


@_chart
def waterfall_chart(data: ReportData) -> Any:
    """Totals over the period, component by component, from zero to the fitted total (bars with HDI whiskers)."""
    table = data.waterfall
    colors = channel_colors(data.channels)
    controls = {c: CONTROL_COLORS[i % len(CONTROL_COLORS)] for i, c in enumerate(data.controls)}
    names = [str(c) for c in table["component"]]
    means = table["mean"].to_numpy(dtype=float)
    low, high = table["hdi_low"].to_numpy(dtype=float), table["hdi_high"].to_numpy(dtype=float)
    starts = np.concatenate([[0.0], np.cumsum(means)[:-1]])
    fig = _figure(3.6)
    ax = fig.subplots()
    x = np.arange(len(names) + 1)
    bar_colors = [colors.get(n) or controls.get(n) or BASELINE_COLORS.get(n, MUTED) for n in names]
    ax.bar(x[:-1], means, bottom=starts, color=bar_colors, width=0.62, edgecolor="white", lw=0.5)
    ends = starts + means
    ax.errorbar(x[:-1], ends, yerr=_error_bars(means, low, high), fmt="none", ecolor=INK, elinewidth=0.9,
                capsize=2.5)
    total = float(means.sum())
    ax.bar(x[-1], total, color=INK, width=0.62)
    for i, level in enumerate(ends):  # connectors: each bar's end is where the next one starts
        ax.plot([x[i] + 0.31, x[i + 1] - 0.31], [level, level], color=MUTED, lw=0.7)
    tops = np.maximum(starts, ends + (high - means))
    for xi, top, mean in [*zip(x[:-1], tops, means, strict=True), (x[-1], total, total)]:
        ax.annotate(_compact(mean), (xi, top), xytext=(0, 2), textcoords="offset points",
                    ha="center", va="bottom", fontsize=7.5, color="#3e4c59")
    span = max(abs(total), float(tops.max()), 1e-12)
    ax.set_ylim(min(0.0, float(starts.min()), float(ends.min())) - 0.02 * span, 1.1 * span)
    ax.set_xticks(x, [_label(n) for n in names] + ["total (fitted)"],
                  rotation=30 if len(names) > 6 else 0, ha="right" if len(names) > 6 else "center")
    ax.grid(axis="x", visible=False)
    ax.axhline(0, color=MUTED, lw=0.8)
    ax.set_ylabel(f"total {_label(data.target)}")
    _format_axes(ax)
    return fig


@_chart
def share_chart(data: ReportData) -> Any:
    """Share of media effect (with HDI) next to share of spend, per channel."""
    channels = list(data.channels)
    entries = data.summary["channels"]
    n = len(channels)
    fig = _figure(0.55 * n + 1.1, width=7.0)
    ax = fig.subplots()
    y = np.arange(n)[::-1]
    spend = [entries[c]["share_of_spend"] for c in channels]
    share = np.array([entries[c]["share"]["mean"] for c in channels])
    low = np.array([entries[c]["share"]["hdi_low"] for c in channels])
    high = np.array([entries[c]["share"]["hdi_high"] for c in channels])
    colors = list(channel_colors(channels).values())
    ax.barh(y + 0.19, spend, height=0.36, color="#cbd2d9", label="share of spend")
    ax.barh(y - 0.19, share, height=0.36, color=colors, label="share of effect")
    ax.errorbar(share, y - 0.19, xerr=_error_bars(share, low, high), fmt="none", ecolor=INK, elinewidth=0.9,
                capsize=2.5)
    ax.set_yticks(y, [_label(c) for c in channels])
    ax.set_xlim(0, max(1.0, float(high.max()) * 1.05) if n else 1.0)
    ax.grid(axis="y", visible=False)
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncols=2, frameon=False)  # above the bars, never on one
    _format_axes(ax, x="percent", y=None)
    return fig


def _error_bars(mean: np.ndarray, low: np.ndarray, high: np.ndarray) -> list[np.ndarray]:
    """Lengths below and above ``mean`` of its interval, never negative: a skewed posterior (or an
    approximation's tail draws) can put the mean outside its HDI, where matplotlib refuses negative
    lengths (found in review: report.html was not written). The bar then ends at the mean."""
    return [np.clip(mean - low, 0.0, None), np.clip(high - mean, 0.0, None)]


def _grid(fig: Any, n: int, columns: int) -> list[Any]:
    rows = math.ceil(n / columns)
    axes = np.atleast_1d(fig.subplots(rows, columns, squeeze=False)).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    return list(axes[:n])


@_chart
def response_chart(data: ReportData) -> Any:
    """Contribution per period at a constant spend per period, one panel per channel, with the current average
    spend marked; labelled with the data's period (weekly, daily, ...)."""
    channels = list(data.channels)
    columns = min(3, len(channels))
    fig = _figure(2.5 * math.ceil(len(channels) / columns) + 0.2, layout=None)
    curves = data.response_curves
    pct = round(100 * data.hdi_prob)
    for ax, (channel, color) in zip(_grid(fig, len(channels), columns), channel_colors(channels).items(), strict=True):
        curve = curves[curves["channel"].astype(str) == channel].sort_values("spend")
        spend = curve["spend"].to_numpy(dtype=float)
        ax.fill_between(spend, curve["hdi_low"], curve["hdi_high"], color=color, alpha=0.22, lw=0)
        ax.plot(spend, curve["mean"], color=color, lw=1.6)
        current = float(data.observed[channel].mean())
        ax.plot([current], [np.interp(current, spend, curve["mean"])], "o", color=INK, ms=4.5)
        ax.axvline(float(data.observed[channel].max()), color=MUTED, lw=0.9, ls=":")
        ax.set_title(_label(channel))
        ax.set_xlabel(f"{data.period} spend")
        ax.set_ylim(bottom=0)
        ax.set_xlim(0, spend.max() if spend.size else 1)
        _format_axes(ax, x="compact")
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    fig.axes[0].set_ylabel(f"{data.period} {_label(data.target)}")
    legend = _top_legend(
        fig, [Line2D([], [], color=MUTED, lw=1.6), Patch(color=MUTED, alpha=0.3),
              Line2D([], [], marker="o", color=INK, ls="", ms=4.5), Line2D([], [], color=MUTED, lw=0.8, ls=":")],
        ["mean", f"{pct}% HDI", f"average {data.period} spend", f"largest {data.period} spend"], ncols=4)
    _fixed_layout(fig, legend, top=0.3, bottom=0.55, right=0.3, hspace=0.85, wspace=0.6)  # titles, x labels
    return fig


@_chart
def adstock_chart(data: ReportData) -> Any:
    """Share of a pulse of spend acting at each lag, per channel, with HDI bands."""
    fig = _figure(2.9, width=7.0, layout=None)
    ax = fig.subplots()
    curves = data.adstock_curves
    for channel, color in channel_colors(data.channels).items():
        curve = curves[curves["channel"].astype(str) == channel].sort_values("lag")
        lag = curve["lag"].to_numpy()
        ax.fill_between(lag, curve["hdi_low"], curve["hdi_high"], color=color, alpha=0.18, lw=0)
        ax.plot(lag, curve["mean"], "o-", color=color, lw=1.5, ms=3.5, label=_label(channel))
    ax.set_xlabel("periods after the spend")
    ax.set_ylabel("share of the effect")
    ax.set_ylim(bottom=0)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(loc="upper right")
    _format_axes(ax, y="percent")
    _fixed_layout(fig, bottom=0.55, top=0.12)  # x label under the ticks
    return fig


def _view(prior: np.ndarray, posterior: np.ndarray) -> tuple[float, float]:
    """The x-range of a prior/posterior panel: the posterior's range padded, widened towards a
    not-much-wider prior, and kept inside the prior's support when it is bounded at 0 or 1."""
    a, b = np.quantile(posterior, [0.001, 0.999]) if posterior.size else (0.0, 1.0)
    width = max(b - a, 1e-9 * max(1.0, abs(a)))
    lo, hi = a - 0.3 * width, b + 0.3 * width
    if prior.size:
        p_lo, p_hi = np.quantile(prior, [0.02, 0.98])
        lo, hi = min(lo, max(p_lo, a - width)), max(hi, min(p_hi, b + width))
        if prior.min() >= 0:
            lo = max(lo, 0.0)
            if prior.max() <= 1:
                hi = min(hi, 1.0)
    return float(lo), float(hi)


@_chart
def prior_posterior_chart(data: ReportData) -> Any:
    """Prior (line, a kernel density of its draws) vs posterior (histogram) of every scalar parameter.

    Each panel is zoomed on the posterior: a prior much wider than its posterior shows as a nearly flat line.
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.ticker import MaxNLocator
    from scipy.stats import gaussian_kde

    params = list(data.parameters)
    columns = min(5, max(1, len(params)))
    fig = _figure(1.45 * math.ceil(max(1, len(params)) / columns) + 0.4, layout=None)
    if not params:
        fig.text(0.5, 0.5, "No parameter draws available.", ha="center", va="center", color=MUTED)
        return fig
    colors = channel_colors(data.channels)
    for ax, p in zip(_grid(fig, len(params), columns), params, strict=True):
        prior, post = np.asarray(p.prior, dtype=float), np.asarray(p.posterior, dtype=float)
        prior, post = prior[np.isfinite(prior)], post[np.isfinite(post)]
        lo, hi = _view(prior, post)
        bins = np.linspace(max(lo, post.min()), min(hi, post.max()), 25)
        ax.hist(post, bins=bins, density=True, histtype="stepfilled", color=colors.get(p.label, FIT), alpha=0.8, lw=0)
        if prior.size > 1 and np.ptp(prior) > 0:
            grid = np.linspace(lo, hi, 200)
            ax.plot(grid, gaussian_kde(prior)(grid), color=INK, lw=1.0)
        ax.set_xlim(lo, hi)
        ax.set_ylim(bottom=0)
        ax.set_title(_label(p.title), fontsize=8.5)
        ax.set_yticks([])
        ax.grid(False)
        ax.spines["left"].set_visible(False)
        ax.tick_params(axis="x", labelsize=7.5)
        ax.xaxis.set_major_locator(MaxNLocator(4))
    legend = _top_legend(fig, [Line2D([], [], color=INK, lw=1.0), Patch(color=FIT, alpha=0.8)], ["prior", "posterior"],
                         ncols=2)
    _fixed_layout(fig, legend, left=0.15, right=0.3, bottom=0.3, top=0.3, hspace=0.6, wspace=0.25)  # titles, ticks
    return fig


@_chart
def allocation_chart(optimization: Mapping[str, Any], channels: Sequence[str]) -> Any:
    """Reference vs optimal allocation per channel (totals over the horizon)."""
    names = [c for c in optimization["allocation"] if c in optimization.get("reference_allocation", {})]
    n = len(names)
    fig = _figure(0.55 * n + 1.1, width=7.0)
    ax = fig.subplots()
    y = np.arange(n)[::-1]
    colors = channel_colors(channels)
    ax.barh(y + 0.19, [optimization["reference_allocation"][c] for c in names], height=0.36, color="#cbd2d9",
            label="reference")
    ax.barh(y - 0.19, [optimization["allocation"][c] for c in names], height=0.36,
            color=[colors.get(c, FIT) for c in names], label="optimal")
    ax.set_yticks(y, [_label(c) for c in names])
    ax.grid(axis="y", visible=False)
    ax.set_xlabel("spend over the horizon")
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncols=2, frameon=False)  # above the bars, never on one
    _format_axes(ax, x="compact", y=None)
    return fig
