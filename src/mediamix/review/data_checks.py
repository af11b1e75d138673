"""Checks of a validated table before fitting: can these data support this model?

:func:`mediamix.data.validate_data` rejects tables the model cannot read at all
(missing values, gaps, negative spend). The checks here look for tables the
model *can* read but may not learn from: channels that barely vary or move
together, too few rows for the parameters, outliers in the target. Each check
gives one :class:`~mediamix.review.Finding`; thresholds are module constants.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

from mediamix.config.schema import MMMConfig, TransformGroup
from mediamix.data.cadence import Cadence
from mediamix.review.findings import Finding, Review, Severity
from mediamix.transforms import (
    ADSTOCKS,
    SEASONAL_PERIODS,
    changepoint_basis,
    changepoint_locations,
    YEAR_DAYS,
    event_dummy,
    fourier_features,
    linear_trend,
    max_fourier_order,
)

__all__ = [
    "check_data",
    "count_parameters",
    "MAX_ZERO_SHARE",
    "LONG_ZERO_RUN_SHARE",
    "MIN_SPEND_CV",
    "CORRELATION_REVIEW",
    "CORRELATION_FAIL",
    "VIF_REVIEW",
    "VIF_FAIL",
    "ROWS_PER_PARAMETER_REVIEW",
    "ROWS_PER_PARAMETER_FAIL",
    "OUTLIER_Z",
    "MIN_TARGET_SCALED_SD",
]

#: A channel with spend in fewer than 1 in 10 periods leaves its adstock and
#: saturation to be learned from a handful of bursts.
MAX_ZERO_SHARE = 0.9
#: A quarter of the history without spend in one stretch is more often missing data
#: recorded as 0 (a tracking outage) than a real pause; either way, a trend or season
#: that changed during the stretch can be mistaken for the channel's effect.
LONG_ZERO_RUN_SHARE = 0.25
#: Spend within ±10% of its mean most weeks (sd/mean < 0.1) is hard to tell apart from
#: the intercept: the model sees almost no "what if spend were different".
MIN_SPEND_CV = 0.1
#: |r| > 0.7 is where collinearity starts to distort regression estimates
#: (Dormann et al. 2013, Ecography 36:27-46); at |r| ≥ 0.99 two channels are the same
#: column up to scale and their split is decided by the priors alone.
CORRELATION_REVIEW = 0.7
CORRELATION_FAIL = 0.99
#: VIF = 1/(1-R²) of a channel regressed on every other regressor: 10 (R² = 0.9) is the
#: textbook warning level (Kutner et al., Applied Linear Statistical Models); 100 means
#: 99% of the channel's variance is explained by the others, consistent with the 0.99 above.
VIF_REVIEW = 10.0
VIF_FAIL = 100.0
#: Rows per free parameter: 10 is the usual rule of thumb for regression (Harrell,
#: Regression Modeling Strategies); below 3 the likelihood hardly informs the nonlinear
#: adstock and saturation parameters and the posterior is mostly the prior.
ROWS_PER_PARAMETER_REVIEW = 10.0
ROWS_PER_PARAMETER_FAIL = 3.0
#: Robust z-score (0.6745·(y − median)/MAD): 5 is ~1 in 3.5 million under a normal
#: distribution, so a flagged week is an error or an event, not noise.
OUTLIER_Z = 5.0
#: The model divides the target by its largest absolute value; when the sd is below 1%
#: of that, the default priors are set for variation ~100× larger than the data show.
MIN_TARGET_SCALED_SD = 0.01

_MAX_LISTED = 5  # dates or names listed in one message
_NO_RUN = (0, 0)


def count_parameters(config: MMMConfig) -> dict[str, int]:
    """The free parameters the config implies, by group.

    Returns
    -------
    dict of str to int
        ``intercept``, ``sigma``, ``channels`` (β plus adstock and saturation
        parameters per channel), ``controls`` (control columns and events), ``seasonality`` (2 per Fourier
        order of every cycle: yearly, weekly, monthly) and ``trend`` (the slope, plus
        one slope change per changepoint when piecewise); ``nu`` (1) only with a
        Student-t likelihood.
    """
    m = config.model
    trend = {"none": 0, "linear": 1, "piecewise": 1 + m.n_changepoints}[m.trend]
    counts = {
        "intercept": 1,
        "sigma": 1,
        "channels": sum((1 + len(g.parameters)) * len(g.channels) for g in config.transform_groups()),
        "controls": len(config.control_names),
        "seasonality": 2 * (m.yearly_seasonality + m.weekly_seasonality + m.monthly_seasonality),
        "trend": trend,
    }
    if m.likelihood == "student_t":
        counts["nu"] = 1
    return counts


def check_data(frame: pd.DataFrame, config: MMMConfig) -> Review:
    """Run every pre-fit check on a validated table.

    Parameters
    ----------
    frame : pandas.DataFrame
        The output of :func:`mediamix.data.validate_data` for ``config``'s
        columns (the target included).
    config : MMMConfig

    Returns
    -------
    Review
        Findings ``zero_spend``, ``zero_spend_run``, ``constant_spend``,
        ``spend_variation``, ``collinearity``, ``vif``, ``events``, ``data_to_parameters``,
        ``adstock_window``, ``target_outliers`` and ``target_variation``, in that order.
    """
    d = config.data
    dates = pd.DatetimeIndex(frame[d.date])
    spend = frame[list(d.channels)].to_numpy(dtype=float)
    unit = _period_unit(dates)
    channels = list(d.channels)
    findings = [
        _zero_spend(spend, channels),
        _zero_spend_run(spend, channels, dates, unit),
        _constant_spend(spend, channels),
        _spend_variation(spend, channels),
        _collinearity(spend, channels),
        _vif(_regressors(frame, config, dates), channels),
        _events(config, dates, unit),
        _data_to_parameters(len(frame), config),
        _adstock_window(config),
        _target_outliers(frame[d.target].to_numpy(dtype=float), d.target, dates),
        _target_variation(frame[d.target].to_numpy(dtype=float), d.target),
    ]
    return Review(tuple(findings))


# --------------------------------------------------------------------- channels
def _zero_spend(spend: np.ndarray, channels: list[str]) -> Finding:
    share = (spend == 0).mean(axis=0)
    bad = [i for i in range(len(channels)) if share[i] > MAX_ZERO_SHARE]
    numbers = {"channel": channels, "zero_share": share, "max_zero_share": MAX_ZERO_SHARE}
    if not bad:
        return Finding("zero_spend", "pass", f"Every channel has spend in at least {1 - MAX_ZERO_SHARE:.0%} "
                       f"of the periods (most zeros: {_worst(channels, share)}).", numbers)
    listed = ", ".join(f"'{channels[i]}' ({share[i]:.0%} of {spend.shape[0]} periods)" for i in bad)
    return Finding(
        "zero_spend", "review",
        f"Zero spend in more than {MAX_ZERO_SHARE:.0%} of the periods: {listed}; its carryover and "
        "saturation are learned from a few bursts.",
        numbers,
        "Check that the zeros are real (not missing data); consider merging a rarely used channel into a "
        "related one, or give it an informative prior (a lift test).",
    )


def _longest_zero_run(x: np.ndarray) -> tuple[int, int]:
    """(length, start index) of the longest run of zeros in ``x``; (0, 0) if none."""
    padded = np.concatenate([[0], (x == 0).astype(int), [0]])
    edges = np.diff(padded)
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    if starts.size == 0:
        return _NO_RUN
    i = int(np.argmax(ends - starts))
    return int(ends[i] - starts[i]), int(starts[i])


def _zero_spend_run(spend: np.ndarray, channels: list[str], dates: pd.DatetimeIndex, unit: str) -> Finding:
    n = spend.shape[0]
    runs = [_longest_zero_run(spend[:, i]) for i in range(len(channels))]
    lengths = [length for length, _ in runs]
    numbers = {"channel": channels, "longest_zero_run": lengths, "max_share_of_rows": LONG_ZERO_RUN_SHARE}
    bad = [i for i, (length, _) in enumerate(runs) if length > LONG_ZERO_RUN_SHARE * n]
    if max(lengths) == 0:
        return Finding("zero_spend_run", "pass", "Every channel has spend in every period.", numbers)
    if not bad:
        return Finding("zero_spend_run", "pass", f"No channel goes without spend for more than "
                       f"{LONG_ZERO_RUN_SHARE:.0%} of the rows in one stretch (longest: "
                       f"{_worst(channels, lengths, fmt='{:.0f}')} {unit}).", numbers)
    parts = []
    for i in bad:
        length, start = runs[i]
        span = f"{_day(dates[start])} to {_day(dates[start + length - 1])}"
        parts.append(f"'{channels[i]}' for {length} {unit} in a row ({span}, {length / n:.0%} of the rows)")
    return Finding(
        "zero_spend_run", "review",
        f"Long stretch without spend: {'; '.join(parts)}. A trend or season that changed meanwhile can be "
        "mistaken for the channel's effect.",
        numbers,
        "Check whether the zeros are missing data (a tracking outage) rather than a pause; if the channel "
        "launched or stopped then, keep the trend in the model.",
    )


def _constant_spend(spend: np.ndarray, channels: list[str]) -> Finding:
    scale = np.abs(spend).max(axis=0)
    constant = [i for i in range(len(channels)) if np.ptp(spend[:, i]) <= 1e-12 * scale[i]]
    numbers = {"channels": [channels[i] for i in constant]}
    if not constant:
        return Finding("constant_spend", "pass", "Every channel's spend varies over time.", numbers)
    listed = ", ".join(f"'{channels[i]}' ({spend[0, i]:g} in every period)" for i in constant)
    return Finding(
        "constant_spend", "fail",
        f"Spend never changes: {listed}. A constant column cannot be told apart from the intercept, "
        "so its effect is decided by the priors alone.",
        numbers,
        "Remove the channel from the model (its effect is part of the baseline), or calibrate it with an "
        "experiment (a lift test) and an informative prior.",
    )


def _spend_variation(spend: np.ndarray, channels: list[str]) -> Finding:
    mean, sd = spend.mean(axis=0), spend.std(axis=0)
    cv = np.divide(sd, mean, out=np.zeros_like(sd), where=mean > 0)
    numbers = {"channel": channels, "cv": cv, "min_cv": MIN_SPEND_CV}
    bad = [i for i in range(len(channels)) if 0 < cv[i] < MIN_SPEND_CV]
    if not bad:
        lowest = _worst(channels, np.where(cv > 0, -cv, -np.inf), shown=cv, fmt="{:.2f}")
        return Finding("spend_variation", "pass", f"Every varying channel has a coefficient of variation "
                       f"(sd/mean) of at least {MIN_SPEND_CV:g} (lowest: {lowest}).", numbers)
    listed = ", ".join(f"'{channels[i]}' (sd/mean = {cv[i]:.3f})" for i in bad)
    return Finding(
        "spend_variation", "review",
        f"Spend barely varies: {listed} < {MIN_SPEND_CV:g}. The model sees little of what happens at "
        "other spend levels, so the effect leans on the priors.",
        numbers,
        "Vary the spend (pulse or go dark in some periods or regions), or calibrate the channel with a lift test.",
    )


def _collinearity(spend: np.ndarray, channels: list[str]) -> Finding:
    varying = [i for i in range(len(channels)) if spend[:, i].std() > 0]
    pairs, values = [], []
    if len(varying) >= 2:
        corr = np.corrcoef(spend[:, varying], rowvar=False)
        for a, b in combinations(range(len(varying)), 2):
            pairs.append((channels[varying[a]], channels[varying[b]]))
            values.append(float(corr[a, b]))
    strongest = max(np.abs(values), default=0.0)
    flagged = [(p, r) for p, r in zip(pairs, values, strict=True) if abs(r) > CORRELATION_REVIEW]
    numbers = {
        "pairs": [f"{a} ~ {b}" for (a, b), _ in flagged],
        "correlation": [r for _, r in flagged],
        "max_abs_correlation": strongest,
        "review_above": CORRELATION_REVIEW,
        "fail_at": CORRELATION_FAIL,
    }
    if not flagged:
        return Finding("collinearity", "pass", f"No two channels are correlated beyond |r| = "
                       f"{CORRELATION_REVIEW:g} (largest |r|: {strongest:.2f}).", numbers)
    severity: Severity = "fail" if strongest >= CORRELATION_FAIL else "review"
    listed = ", ".join(f"'{a}' and '{b}' (r = {r:.3f})" for (a, b), r in flagged)
    return Finding(
        "collinearity", severity,
        f"Channels move together: {listed}. The data cannot tell their effects apart; only their sum is "
        "well estimated.",
        numbers,
        "Merge the collinear channels into one, or calibrate one of them with a lift test (an informative "
        "prior on its effect); varying them independently in future flights also helps.",
    )


def _event_dummies(config: MMMConfig, dates: pd.DatetimeIndex) -> dict[str, np.ndarray]:
    """Each ``[[model.events]]`` entry's 0/1 column over ``dates``, by name."""
    d = config.data
    cadence = Cadence.of(dates) if len(dates) > 1 else Cadence(days=1)
    starts = cadence.period_starts(dates, d.date_marks)
    return {event.name: event_dummy(starts, event.dates, event.window, cadence.of_period_starts(d.date_marks))
            for event in config.model.events}


def _events(config: MMMConfig, dates: pd.DatetimeIndex, unit: str) -> Finding:
    """``review`` for an event that marks none of the rows, or all of them: its coefficient cannot be told
    from nothing, or from the intercept, and keeps its prior."""
    dummies = _event_dummies(config, dates)
    marked = {name: int(dummy.sum()) for name, dummy in dummies.items()}
    numbers = {"event": list(marked), "rows_marked": list(marked.values()), "rows": len(dates)}
    if not dummies:
        return Finding("events", "pass", "No [[model.events]] entries.", numbers)
    if config.data.date_marks == "start" and len(dates) > 1 and Cadence.of(dates).month_end:
        return Finding(
            "events", "review",
            f"The dates are month ends, read as the first day of each period ([data] date_marks = \"start\"): "
            f"each row's period runs from one month's last day to the next, so an event on the 15th marks the "
            f"row of the month before ({len(marked)} event(s) placed this way).",
            numbers,
            "If each date is the last day of its month, set [data] date_marks = \"end\".",
        )
    span = f"{_day(dates[0])} to {_day(dates[-1])}"
    none = [name for name, n in marked.items() if n == 0]
    every = [name for name, n in marked.items() if n == len(dates)]
    if not none and not every:
        listed = ", ".join(f"'{name}' {n}" for name, n in marked.items())
        return Finding("events", "pass", f"Every event marks some of the {len(dates)} {unit} and not all ({listed}).",
                       numbers)
    parts = []
    if none:
        parts.append(f"{_names(none)} mark{'s' if len(none) == 1 else ''} none of the {len(dates)} {unit} from "
                     f"{span} (every date and its window outside them)")
    if every:
        parts.append(f"{_names(every)} mark{'s' if len(every) == 1 else ''} every one of the {len(dates)} {unit}")
    return Finding(
        "events", "review",
        f"{'; '.join(parts)}. Such an event cannot be told apart from nothing (or from the intercept), so its "
        "coefficient keeps its prior and adds only noise.",
        numbers,
        "Check the event's dates (their year, and [data] date_marks for period-end dates), or drop it from "
        "[[model.events]] for this data.",
    )


def _names(names: list[str]) -> str:
    return ("Event " if len(names) == 1 else "Events ") + ", ".join(f"'{n}'" for n in names)


def _regressors(frame: pd.DataFrame, config: MMMConfig, dates: pd.DatetimeIndex) -> pd.DataFrame:
    """Every column of the mean besides the intercept: channels, controls, trend, seasonality."""
    d, m = config.data, config.model
    out = frame[[*d.channels, *d.controls]].astype(float).copy()
    cadence = Cadence.of(dates) if len(dates) > 1 else Cadence(days=1)
    for name, dummy in _event_dummies(config, dates).items():
        if 0.0 < dummy.mean() < 1.0:  # an event off (or on) throughout explains nothing here
            out[name] = dummy
    if m.trend != "none" and len(dates) > 1:
        t = linear_trend(dates, dates[0], (dates[-1] - dates[0]) / pd.Timedelta(days=1))
        out["trend"] = t
        if m.trend == "piecewise":
            hinges = changepoint_basis(t, changepoint_locations(m.n_changepoints))
            for j in range(hinges.shape[1]):
                out[f"trend_change_{j}"] = hinges[:, j]
    cycles = {"yearly": (m.yearly_seasonality, YEAR_DAYS),
              **{p: (getattr(m, f"{p}_seasonality"), days) for p, days in SEASONAL_PERIODS.items()}}
    for period, (order, days) in cycles.items():
        order = min(order, max_fourier_order(days, cadence.mean_days))  # the design rejects higher orders at fit
        fourier = fourier_features(dates, order, days)
        for k in range(fourier.shape[1]):
            out[f"seasonality_{period}_{k}"] = fourier[:, k]
    return out


def _vif(regressors: pd.DataFrame, channels: list[str]) -> Finding:
    x = regressors.to_numpy(dtype=float)
    sd = x.std(axis=0)
    keep = sd > 0
    z = (x[:, keep] - x[:, keep].mean(axis=0)) / sd[keep]
    names = list(regressors.columns[keep])
    vif = np.full(len(channels), np.nan)
    for i, name in enumerate(channels):
        if name not in names:
            continue  # constant: reported by constant_spend
        j = names.index(name)
        others = np.column_stack([np.ones(len(z)), np.delete(z, j, axis=1)])
        coef, *_ = np.linalg.lstsq(others, z[:, j], rcond=None)
        unexplained = np.mean((z[:, j] - others @ coef) ** 2)  # 1 − R², z has variance 1
        vif[i] = np.inf if unexplained < 1e-10 else 1.0 / unexplained
    numbers = {"channel": channels, "vif": vif, "review_above": VIF_REVIEW, "fail_at": VIF_FAIL}
    bad = [i for i in range(len(channels)) if vif[i] > VIF_REVIEW]
    if not bad:
        return Finding("vif", "pass", f"Every channel's variance inflation factor is at most {VIF_REVIEW:g} "
                       f"(largest: {_worst(channels, np.nan_to_num(vif, nan=0.0), fmt='{:.1f}')}).", numbers)
    severity: Severity = "fail" if any(vif[i] >= VIF_FAIL for i in bad) else "review"
    listed = ", ".join(f"'{channels[i]}' (VIF {_fmt_vif(vif[i])})" for i in bad)
    return Finding(
        "vif", severity,
        f"Channels largely explained by the other regressors (channels, controls, trend, seasonality): "
        f"{listed}. The variance of their effect estimates is inflated by that factor.",
        numbers,
        "Merge the channel with the one it moves with (see collinearity), drop a redundant control, or "
        "calibrate the channel with a lift test.",
    )


# ------------------------------------------------------------------ model size
def _adstock_window(config: MMMConfig) -> Finding:
    """``review`` for channels whose adstock window is one period: no carryover. The adstock's parameters
    then either do not enter the fit at all (the one weight is 1) or only scale the channel's effect,
    which β does too (a raw ``delayed`` or ``weibull_pdf`` weight), so the data cannot tell them apart."""
    short = [g for g in config.transform_groups() if g.l_max == 1]  # every adstock has parameters
    numbers = {"channel": [c for g in short for c in g.channels], "l_max": 1}
    if not short:
        return Finding("adstock_window", "pass", "Every channel's adstock window spans 2 periods or more.", numbers)
    unused, scaling = [], []
    for g in short:
        names = tuple(ADSTOCKS[g.adstock].default_priors)
        listed = f"{', '.join(repr(c) for c in g.channels)} ({g.adstock}: {', '.join(names)})"
        (scaling if _single_weight_varies(g, config.model.normalize_adstock) else unused).append(listed)
    parts = []
    if unused:
        parts.append(f"the adstock parameters of {'; '.join(unused)} do not enter the fit and keep their priors")
    if scaling:
        parts.append(f"those of {'; '.join(scaling)} only scale the channel's effect (the one lag's raw weight), "
                     "as β does, so the data cannot tell them from β")
    return Finding(
        "adstock_window", "review",
        f"l_max = 1 leaves no carryover: {'; and '.join(parts)}.",
        numbers,
        "For carryover, set l_max to the periods a spend keeps acting (e.g. 8 for weekly data); if there is "
        "none, keep l_max = 1 with normalize_adstock = true and read the adstock parameters as unused.",
    )


def _single_weight_varies(group: TransformGroup, normalize: bool) -> bool:
    """Whether the one weight of a 1-period window depends on the adstock's parameters."""
    adstock = ADSTOCKS[group.adstock](l_max=1, normalize=normalize)
    names = ADSTOCKS[group.adstock].default_priors
    low, high = (adstock.weights_np(*[np.array([value]) for _ in names]) for value in (0.3, 0.6))
    return not np.allclose(low, high)


def _data_to_parameters(n_rows: int, config: MMMConfig) -> Finding:
    groups = count_parameters(config)
    n_params = sum(groups.values())
    ratio = n_rows / n_params
    numbers = {"rows": n_rows, "parameters": n_params, "rows_per_parameter": ratio,
               "review_below": ROWS_PER_PARAMETER_REVIEW, "fail_below": ROWS_PER_PARAMETER_FAIL}
    breakdown = ", ".join(f"{k} {v}" for k, v in groups.items() if v)
    text = f"{n_rows} rows for {n_params} free parameters ({breakdown}): {ratio:.1f} rows per parameter"
    if ratio >= ROWS_PER_PARAMETER_REVIEW:
        return Finding("data_to_parameters", "pass", f"{text}.", numbers)
    severity: Severity = "fail" if ratio < ROWS_PER_PARAMETER_FAIL else "review"
    floor = ROWS_PER_PARAMETER_FAIL if severity == "fail" else ROWS_PER_PARAMETER_REVIEW
    return Finding(
        "data_to_parameters", severity,
        f"{text}, below {floor:g}; many parameters will keep close to their priors.",
        numbers,
        f"Use a longer history (≥ {int(np.ceil(ROWS_PER_PARAMETER_REVIEW * n_params))} rows for this model), "
        "or simplify it: fewer channels (merge small ones), a lower yearly_seasonality, fewer controls.",
    )


# ---------------------------------------------------------------------- target
def _target_outliers(y: np.ndarray, target: str, dates: pd.DatetimeIndex) -> Finding:
    median = np.median(y)
    mad = np.median(np.abs(y - median))
    # With MAD = 0 (over half the values equal) fall back to the mean absolute deviation.
    spread = mad / 0.6745 if mad > 0 else np.mean(np.abs(y - median)) * 1.2533
    z = (y - median) / spread if spread > 0 else np.zeros_like(y)
    rows = np.flatnonzero(np.abs(z) > OUTLIER_Z)
    numbers = {"dates": [_day(dates[i]) for i in rows], "robust_z": z[rows], "max_abs_z": float(np.max(np.abs(z))),
               "z_above": OUTLIER_Z}
    if rows.size == 0:
        return Finding("target_outliers", "pass", f"No value of '{target}' is more than {OUTLIER_Z:g} robust "
                       f"standard deviations from its median (largest |z|: {np.max(np.abs(z)):.1f}).", numbers)
    order = rows[np.argsort(-np.abs(z[rows]))][:_MAX_LISTED]
    listed = ", ".join(f"{_day(dates[i])} ({y[i]:g}, z = {z[i]:+.1f})" for i in order)
    more = f" and {rows.size - _MAX_LISTED} more" if rows.size > _MAX_LISTED else ""
    return Finding(
        "target_outliers", "review",
        f"'{target}' has {rows.size} outlier(s) beyond a robust z of {OUTLIER_Z:g} (median {median:g}): "
        f"{listed}{more}. Unexplained, they pull the baseline and the channels active in those periods.",
        numbers,
        "Check those dates for data errors; if a known event explains them, add it as a control "
        "(a 0/1 column for the event's periods, or an [[model.events]] entry).",
    )


def _target_variation(y: np.ndarray, target: str) -> Finding:
    scale = float(np.max(np.abs(y)))
    sd = float(np.std(y))
    scaled_sd = sd / scale if scale > 0 else 0.0
    numbers = {"sd": sd, "max_abs": scale, "scaled_sd": scaled_sd, "min_scaled_sd": MIN_TARGET_SCALED_SD}
    if sd == 0:
        return Finding("target_variation", "fail", f"'{target}' is {y[0]:g} in every row: there is no "
                       "variation for the channels to explain.", numbers,
                       "Check that the target column is the KPI you mean (not a constant or a total).")
    if scaled_sd < MIN_TARGET_SCALED_SD:
        return Finding(
            "target_variation", "review",
            f"'{target}' barely varies: its sd ({sd:g}) is {scaled_sd:.2%} of its largest value ({scale:g}), "
            f"below {MIN_TARGET_SCALED_SD:.0%}. The default priors expect far more variation.",
            numbers,
            f"Model the variation instead: subtract a known level from '{target}' (e.g. its mean), or set "
            "tighter priors on intercept, beta and sigma.",
        )
    return Finding("target_variation", "pass", f"'{target}' varies: sd {sd:g}, {scaled_sd:.1%} of its largest "
                   "absolute value.", numbers)


# --------------------------------------------------------------------- helpers
def _period_unit(dates: pd.DatetimeIndex) -> str:
    cadence = Cadence.of(dates) if len(dates) > 1 else Cadence(days=7)
    names = {(1, 0): "days", (7, 0): "weeks", (0, 1): "months", (0, 3): "quarters"}
    return names.get((cadence.days, cadence.months), f"{cadence.adjective} periods")


def _day(value: pd.Timestamp) -> str:
    return pd.Timestamp(value).strftime("%Y-%m-%d")


def _fmt_vif(value: float) -> str:
    return "infinite: perfectly explained" if not np.isfinite(value) else f"{value:.1f}"


def _worst(names: list[str], key: np.ndarray | list[float], shown: np.ndarray | None = None,
           fmt: str = "{:.0%}") -> str:
    """'x2 84%': the name with the largest ``key`` and its value (``shown``'s, if given)."""
    i = int(np.argmax(key))
    value = (shown if shown is not None else np.asarray(key))[i]
    return f"'{names[i]}' {fmt.format(value)}"
