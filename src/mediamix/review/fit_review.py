"""The health verdict of a fitted model: convergence, fit, baseline, ROAS, priors.

:func:`review_fit` takes plain inputs (the InferenceData, the decomposition of
:func:`mediamix.analysis.decompose`, the observed target) so it works the same
on a fresh fit and on one loaded from an output folder.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from mediamix import analysis
from mediamix.config.schema import DEFAULT_ROAS_RANGE, MMMConfig
from mediamix.errors import ConfigError
from mediamix.inference.diagnostics import ParameterDiagnostics
from mediamix.model.design import Design
from mediamix.review.convergence import convergence_findings
from mediamix.review.findings import Finding, Review, Severity
from mediamix.review.overlap import overlap_finding

__all__ = [
    "review_fit",
    "R2_REVIEW",
    "R2_FAIL",
    "MAPE_REVIEW",
    "PPP_RANGE",
    "NEGATIVE_BASELINE_REVIEW",
    "NEGATIVE_BASELINE_FAIL",
]

#: Below R² = 0.5 the model leaves most of the KPI's variance unexplained: a missing
#: driver (price, distribution, promotions) is likely, and the media terms absorb part of
#: it. Below 0 the fitted mean is worse than a flat line: the fit is broken.
R2_REVIEW = 0.5
R2_FAIL = 0.0
#: A mean absolute percentage error above 20% is a poor weekly fit for an aggregate KPI.
MAPE_REVIEW = 0.2
#: Posterior predictive p-values concentrate near 0.5 for a model that fits (they are
#: conservative), so one outside [0.05, 0.95] says the replicated data look systematically
#: different from the observed (a mean or spread the model cannot reproduce).
PPP_RANGE = (0.05, 0.95)
#: For a KPI that is never negative, a negative baseline means media is credited with
#: more than all of the KPI. 5% of (draw, date) pairs below zero is worth a look; 25%
#: means the decomposition is systematically wrong.
NEGATIVE_BASELINE_REVIEW = 0.05
NEGATIVE_BASELINE_FAIL = 0.25

_SAMPLE = ("chain", "draw")


def review_fit(
    idata: xr.DataTree,
    decomposition: xr.Dataset,
    observed: Sequence[float] | np.ndarray,
    design: Design,
    config: MMMConfig,
    roas_range: tuple[float, float] = DEFAULT_ROAS_RANGE,
    *,
    seed: int = 0,
    stats: ParameterDiagnostics | None = None,
) -> Review:
    """Review a fitted model.

    Parameters
    ----------
    idata : xarray.DataTree
        ArviZ InferenceData with ``posterior`` and, where recorded, ``sample_stats``.
    decomposition : xarray.Dataset
        :func:`mediamix.analysis.decompose` of the posterior on the training design.
    observed : array-like, dims (date,)
        The observed target in the user's units, one value per date of ``decomposition``.
    design : Design
        The training design (its spend gives ROAS; its scales convert sigma).
    config : MMMConfig
        The fitted config (its priors are compared with the posterior).
    roas_range : (float, float), default=DEFAULT_ROAS_RANGE
        Plausible posterior-mean ROAS, in target units per unit of spend.
    seed : int, default=0
        Seed of the replicated data for the posterior predictive p-values.
    stats : ParameterDiagnostics, optional
        :func:`~mediamix.inference.diagnostics.parameter_diagnostics` of this ``idata``, when
        computed already (not checked: the caller keeps the two together).

    Returns
    -------
    Review
        Findings ``r_hat``, ``ess``, ``divergences``, ``tree_depth`` (when the
        sampler records it), ``fit``, ``posterior_predictive``,
        ``negative_baseline``, ``roas_plausibility`` and ``prior_posterior_overlap``.

    Raises
    ------
    ValueError
        If ``observed`` does not have one value per date.
    ConfigError
        If ``roas_range`` is not (low, high) with low < high.
    """
    y = np.asarray(observed, dtype=float)
    n_dates = decomposition.sizes["date"]
    if y.shape != (n_dates,):
        raise ValueError(f"'observed' must have one value per date ({n_dates}). Got shape {y.shape} instead.")
    low, high = (float(v) for v in roas_range)
    if not low < high:
        raise ConfigError(f"The 'roas_range' must be (low, high) with low < high. Got {tuple(roas_range)!r} instead.")
    posterior = idata["posterior"].to_dataset()
    mu = decomposition["mu"].transpose(*_SAMPLE, "date").to_numpy().reshape(-1, n_dates)
    sigma = posterior["sigma"].transpose(*_SAMPLE).to_numpy().reshape(-1)
    target = config.data.target
    findings = convergence_findings(idata, stats)
    findings += [
        _fit(mu.mean(axis=0), y, target),
        _posterior_predictive(mu, sigma, y, target, seed, _nu(posterior, config), design.scales.target,
                              config.model.form == "multiplicative"),
        _negative_baseline(decomposition, y, target),
        _roas_plausibility(analysis.channel_roas(decomposition, design), (low, high)),
        overlap_finding(posterior, config),
    ]
    return Review(tuple(findings))


def _fit(fitted: np.ndarray, y: np.ndarray, target: str) -> Finding:
    total = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum((y - fitted) ** 2)) / total if total > 0 else float("nan")
    nonzero = y != 0
    mape = float(np.mean(np.abs(y - fitted)[nonzero] / np.abs(y[nonzero]))) if nonzero.any() else float("nan")
    numbers = {"r2": r2, "mape": mape, "r2_review_below": R2_REVIEW, "r2_fail_below": R2_FAIL,
               "mape_review_above": MAPE_REVIEW}
    text = f"The posterior-mean fit explains R² = {r2:.3f} of '{target}' with MAPE {mape:.1%}"
    if r2 < R2_FAIL:
        return Finding("fit", "fail", f"{text}: worse than a flat line at the mean.", numbers,
                       "Check that the target and spend columns are the ones you mean and aligned by date; then "
                       "look for a missing driver (price, distribution, promotions) to add as a control.")
    problems = []
    if not r2 >= R2_REVIEW:
        problems.append(f"R² below {R2_REVIEW}")
    if mape > MAPE_REVIEW:
        problems.append(f"MAPE above {MAPE_REVIEW:.0%}")
    if not problems:
        return Finding("fit", "pass", f"{text}.", numbers)
    return Finding(
        "fit", "review",
        f"{text} ({', '.join(problems)}): much of the KPI is left unexplained, and the media terms may be "
        "absorbing a missing driver.",
        numbers,
        "Plot the residuals over time (MMM.contributions() against the target); add the missing driver as a "
        "control, or raise yearly_seasonality if the residuals follow the calendar.",
    )


def _nu(posterior: xr.Dataset, config: MMMConfig) -> np.ndarray | None:
    """Student-t degrees of freedom per draw (sample,), or ``None`` for a normal likelihood."""
    if config.model.likelihood != "student_t":
        return None
    return posterior["nu"].transpose(*_SAMPLE).to_numpy().reshape(-1)


def _posterior_predictive(mu: np.ndarray, sigma: np.ndarray, y: np.ndarray, target: str, seed: int,
                          nu: np.ndarray | None, target_scale: float, multiplicative: bool) -> Finding:
    rng = np.random.default_rng(seed)
    noise = analysis.standard_noise(rng, mu.shape, nu)
    replicated = analysis.observations(mu, sigma, noise, target_scale, multiplicative)
    p_mean = float(np.mean(replicated.mean(axis=1) >= y.mean()))
    p_sd = float(np.mean(replicated.std(axis=1) >= y.std()))
    lo, hi = PPP_RANGE
    numbers = {"p_mean": p_mean, "p_sd": p_sd, "plausible_low": lo, "plausible_high": hi}
    text = (f"Bayesian p-values of replicated '{target}' vs observed: mean {p_mean:.2f}, sd {p_sd:.2f}")
    off = [name for name, p in (("mean", p_mean), ("sd", p_sd)) if not lo <= p <= hi]
    if not off:
        return Finding("posterior_predictive", "pass", f"{text} (both within [{lo}, {hi}]).", numbers)
    return Finding(
        "posterior_predictive", "review",
        f"{text}: the replicated data's {' and '.join(off)} rarely match the observed (outside [{lo}, {hi}]).",
        numbers,
        "Compare MMM.sample_posterior_predictive() with the target over time: a spread the model cannot "
        "reproduce points to outliers, a changing variance or a missing driver.",
    )


def _negative_baseline(decomposition: xr.Dataset, y: np.ndarray, target: str) -> Finding:
    baseline = (decomposition["intercept"] + decomposition["trend"] + decomposition["seasonality"]
                + decomposition["control_contribution"].sum("control"))
    below = baseline < 0
    share = float(below.mean())
    by_date = below.mean(_SAMPLE)
    likely = [str(np.datetime_as_string(d, unit="D")) for d in by_date["date"].values[by_date.values > 0.5]]
    numbers = {"share_below_zero": share, "dates_likely_negative": likely, "review_above": NEGATIVE_BASELINE_REVIEW,
               "fail_above": NEGATIVE_BASELINE_FAIL, "min_observed": float(y.min())}
    text = f"The baseline (intercept + trend + seasonality + controls) is below zero in {share:.1%} of draws × dates"
    if y.min() < 0:
        return Finding("negative_baseline", "pass", f"{text}; '{target}' itself takes negative values, so a "
                       "negative baseline can be genuine.", numbers)
    if share <= NEGATIVE_BASELINE_REVIEW:
        return Finding("negative_baseline", "pass", f"{text}.", numbers)
    severity: Severity = "fail" if share > NEGATIVE_BASELINE_FAIL else "review"
    dates = f"; more likely negative than not on {len(likely)} date(s) ({', '.join(likely[:5])})" if likely else ""
    return Finding(
        "negative_baseline", severity,
        f"{text}{dates}, although '{target}' is never negative: media is credited with more than all of the KPI.",
        numbers,
        "Tighten the beta priors (smaller sigma) or calibrate a channel with a lift test; check whether a trend "
        "or season moves with spend (data check 'vif') and is being attributed to media.",
    )


def _roas_plausibility(roas: xr.DataArray, roas_range: tuple[float, float]) -> Finding:
    low, high = roas_range
    mean = roas.mean(_SAMPLE)
    channels = [str(c) for c in mean["channel"].values]
    values = mean.to_numpy()
    numbers = {"channel": channels, "roas_mean": values, "plausible_low": low, "plausible_high": high}
    bad = [i for i in range(len(channels)) if not low <= values[i] <= high]
    if not bad:
        listed = ", ".join(f"'{c}' {v:.3g}" for c, v in zip(channels, values, strict=True))
        return Finding("roas_plausibility", "pass", f"Every channel's mean ROAS is within [{low:g}, {high:g}] "
                       f"({listed}).", numbers)
    listed = ", ".join(f"'{channels[i]}' {values[i]:.3g}" for i in bad)
    return Finding(
        "roas_plausibility", "review",
        f"Mean ROAS outside the plausible range [{low:g}, {high:g}] (target units per unit of spend): {listed}.",
        numbers,
        "First check the units (spend and target in the same currency and scale?); if the KPI is not revenue, set "
        "the range for it in [review] roas_range. Otherwise look for baseline the channel absorbs (data check "
        "'vif') and calibrate it with a lift test.",
    )
