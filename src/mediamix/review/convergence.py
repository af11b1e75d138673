"""Did the sampler converge? r-hat, effective sample size, divergences, tree depth.

An approximate fit (``[fit] method = "map"``, ``"pathfinder"`` or ``"advi"``) gets one ``approximation`` finding
instead: these are MCMC checks, meaningless for draws from an approximation.

Each check names the worst parameter (``beta[x2]``) so the next step can target
it. Sampler statistics differ by backend: nutpie records ``depth`` and
``maxdepth_reached``, PyMC ``tree_depth`` and ``reached_max_treedepth``, NumPyro
(through PyMC) ``tree_depth`` only; a check whose statistic is absent is skipped.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from mediamix.inference.diagnostics import (
    ESS_MIN,
    PARETO_K_MAX,
    RHAT_MAX,
    ParameterDiagnostics,
    fit_method,
    parameter_diagnostics,
    pareto_k_limit,
)
from mediamix.review.findings import Finding, Severity

__all__ = [
    "convergence_findings",
    "approximation_finding",
    "parameter_values",
    "RHAT_REVIEW",
    "RHAT_FAIL",
    "ESS_REVIEW",
    "ESS_FAIL",
    "DIVERGENCE_FAIL_SHARE",
    "MAX_TREE_DEPTH",
    "TREE_DEPTH_REVIEW_SHARE",
]

#: r-hat above 1.01 is not converged by today's standard (Vehtari et al. 2021, the
#: threshold of :mod:`mediamix.inference.diagnostics`). Past 1.05 the chains disagree so
#: much that the posterior means shift from chain to chain by a visible part of a posterior
#: sd: the classic 1.1 (Gelman & Rubin 1992) is too lax to call a fit usable.
RHAT_REVIEW = RHAT_MAX
RHAT_FAIL = 1.05
#: 400 effective draws (100 per chain for 4 chains, Vehtari et al.) give stable 94%
#: intervals; below 100 the interval ends rest on a handful of independent draws.
ESS_REVIEW = ESS_MIN
ESS_FAIL = 100
#: Any divergence means part of the posterior was not explored (review); past 1% of
#: the draws the bias is likely large (fail).
DIVERGENCE_FAIL_SHARE = 0.01
#: The default maximum tree depth of nutpie, PyMC and NumPyro (1023 leapfrog steps).
MAX_TREE_DEPTH = 10
#: Hitting the depth limit truncates trajectories: an efficiency problem, not a bias, so
#: it is worth a look (review) when more than 1% of the draws hit it, never a fail.
TREE_DEPTH_REVIEW_SHARE = 0.01

_DEPTH_FLAGS = ("maxdepth_reached", "reached_max_treedepth")
_DEPTHS = ("depth", "tree_depth")


def parameter_values(stat: xr.Dataset) -> tuple[list[str], np.ndarray]:
    """Flatten a per-parameter statistic to labels (``beta[x2]``) and values."""
    labels: list[str] = []
    values: list[float] = []
    for name, da in stat.data_vars.items():
        arr = np.asarray(da, dtype=float)
        for index in np.ndindex(arr.shape):
            coords = [str(da[dim].values[i]) for dim, i in zip(da.dims, index, strict=True)]
            labels.append(f"{name}[{','.join(coords)}]" if coords else str(name))
            values.append(float(arr[index]))
    return labels, np.asarray(values)


def convergence_findings(idata: xr.DataTree, stats: ParameterDiagnostics | None = None) -> list[Finding]:
    """Findings ``r_hat``, ``ess``, ``divergences`` and (where recorded) ``tree_depth``.

    For an approximate posterior: the single finding of :func:`approximation_finding`.

    Parameters
    ----------
    idata : xarray.DataTree
        ArviZ InferenceData with ``posterior`` (chain, draw, ...) and, where the
        sampler wrote one, ``sample_stats``.
    stats : ParameterDiagnostics, optional
        :func:`~mediamix.inference.diagnostics.parameter_diagnostics` of ``idata``, when computed already.
    """
    method = fit_method(idata)
    if method != "nuts":
        stats = idata["sample_stats"].to_dataset() if "sample_stats" in idata.children else xr.Dataset()
        lp = np.asarray(stats["lp"]).ravel() if "lp" in stats else None
        attrs = idata["posterior"].attrs
        draws = int(idata["posterior"].sizes["chain"] * idata["posterior"].sizes["draw"])
        return [approximation_finding(method, float(attrs.get("pareto_k", np.nan)),
                                      stray_share(lp) if lp is not None else 0.0, bool(attrs.get("resampled", 0)),
                                      draws, float(attrs.get("importance_ess", np.nan)),
                                      int(attrs.get("candidates", draws)))]
    posterior = idata["posterior"].to_dataset()
    chains, draws = int(posterior.sizes["chain"]), int(posterior.sizes["draw"])
    per_parameter = stats or parameter_diagnostics(idata)
    assert per_parameter is not None  # a NUTS posterior
    sampler = idata["sample_stats"].to_dataset() if "sample_stats" in idata.children else xr.Dataset()
    hint = _mass_matrix_hint(sampler)
    findings = [
        _r_hat(per_parameter.r_hat, chains),
        _ess(*parameter_values(per_parameter.ess_bulk), *parameter_values(per_parameter.ess_tail), hint=hint),
        _divergences(sampler, chains * draws),
    ]
    depth = _tree_depth(sampler, chains * draws, hint=hint)
    return findings + ([depth] if depth else [])


#: An approximation's draw is a stray when its log density is this many robust sds of the draws' log
#: densities below their median (a Gaussian's draws stay within a few; a stray sits where the posterior
#: has no mass at all, e.g. -1.3e7 against -20 in a review's MAP fit).
STRAY_SDS = 20.0


def stray_share(lp: np.ndarray) -> float:
    """Share of an approximation's draws where the posterior has (almost) no mass: log density not
    finite, or more than :data:`STRAY_SDS` robust sds below the median.

    Pareto k looks at the draws the approximation under-covers; strays are the opposite (it
    over-covers), and with equal weights a few of them can move means by orders of magnitude.
    """
    lp = np.asarray(lp, dtype=float)
    if lp.size == 0:
        return 0.0
    finite = lp[np.isfinite(lp)]
    if finite.size == 0:
        return 1.0
    median = np.median(finite)
    sd = 1.4826 * np.median(np.abs(finite - median))
    stray = ~np.isfinite(lp) | (lp < median - STRAY_SDS * max(sd, 1.0))
    return float(stray.mean())


def approximation_finding(method: str, pareto_k: float, strays: float = 0.0, resampled: bool = False,
                          draws: int | None = None, importance_ess: float = float("nan"),
                          candidates: int | None = None) -> Finding:
    """The ``approximation`` finding: ``review``, since nothing shows the draws follow the posterior;
    ``fail`` when some draws are strays (see :func:`stray_share`).

    Parameters
    ----------
    method : str
        The approximation (``"advi"``, ``"map"``, ``"pathfinder"``).
    pareto_k : float
        Its Pareto k (NaN when unknown): above its limit (see ``draws``)
        the approximation's shape is off in ways importance sampling cannot correct.
    strays : float, default=0.0
        Share of its draws where the posterior has (almost) no mass.
    resampled : bool, default=False
        Whether its draws were importance-resampled towards the posterior
        (:func:`mediamix.inference.approximate.importance_resample`).
    draws : int, optional
        How many draws it has: the Pareto k limit is :func:`~mediamix.inference.diagnostics.pareto_k_limit`
        of it (:data:`~mediamix.inference.diagnostics.PARETO_K_MAX` when not given).
    importance_ess : float, default=nan
        The importance weights' effective sample size, when resampled.
    candidates : int, optional
        How many draws of the approximation were weighed (``draws`` when not given; pathfinder
        weighs every path's draws and keeps ``draws`` of them).
    """
    limit = pareto_k_limit(draws) if draws else PARETO_K_MAX
    at = f" (the limit for {draws} draws)" if draws and limit < PARETO_K_MAX else ""
    if not np.isfinite(pareto_k):
        shape = "its Pareto k could not be estimated"
    elif pareto_k > limit:
        shape = (f"Pareto k {pareto_k:.2f} > {limit:.2g}{at}: its shape differs from the posterior's, so its means "
                 "and intervals may be far off")
    else:
        shape = f"Pareto k {pareto_k:.2f} ≤ {limit:.2g}{at}: close to the posterior in shape"
        if resampled:
            pool = candidates or draws
            of = f"{pool} candidate draws" if candidates and candidates != draws else f"{pool}"
            ess = f"; effective sample size {importance_ess:.0f} of {of}" if pool and importance_ess > 0 else ""
            shape += f", and its draws were importance-resampled (PSIS{ess}) towards the posterior"
    if strays > 0:
        return Finding(
            "approximation", "fail",
            f"Approximate fit ({method}): {strays:.1%} of its draws lie where the posterior has almost no mass "
            f"(log density over {STRAY_SDS:g} robust sds below the median); with equal weights they can move "
            f"means, ROAS and the optimizer's allocation by orders of magnitude; {shape}.",
            {"method": method, "pareto_k": pareto_k, "pareto_k_limit": limit, "stray_share": strays,
             "resampled": resampled, "importance_ess": importance_ess},
            "Refit with NUTS (--method nuts) before using these numbers; for a quick draft, try --method advi.",
        )
    return Finding(
        "approximation", "review",
        f"Approximate fit ({method}): convergence not checked (r-hat, ESS and divergences do not apply); {shape}.",
        {"method": method, "pareto_k": pareto_k, "pareto_k_limit": limit, "stray_share": strays,
         "resampled": resampled, "importance_ess": importance_ess},
        "Refit with NUTS (--method nuts, or [fit] method = \"nuts\") before acting on these numbers.",
    )


def _r_hat(r_hat: xr.Dataset | None, chains: int) -> Finding:
    if r_hat is None or chains < 2:
        return Finding("r_hat", "review", f"r-hat needs at least 2 chains; this fit has {chains}.",
                       {"chains": chains}, "Refit with 4 chains (--chains 4) so that convergence can be checked.")
    labels, values = parameter_values(r_hat)
    bad = ~np.isfinite(values)
    worst = int(np.argmax(np.where(bad, np.inf, values)))
    value = float(values[worst])
    numbers = {"r_hat_max": value, "parameter": labels[worst], "review_above": RHAT_REVIEW, "fail_above": RHAT_FAIL}
    if np.isfinite(value) and value <= RHAT_REVIEW:
        return Finding("r_hat", "pass", f"max r-hat {value:.3f} ({labels[worst]}) ≤ {RHAT_REVIEW}: the chains agree.",
                       numbers)
    severity: Severity = "review" if np.isfinite(value) and value <= RHAT_FAIL else "fail"
    above = [labels[i] for i in np.argsort(-np.nan_to_num(values, nan=np.inf)) if not values[i] <= RHAT_REVIEW]
    head = (f"max r-hat {value:.3f} ({labels[worst]}) > {RHAT_REVIEW}" if np.isfinite(value) else
            f"r-hat is undefined for {labels[worst]} (its draws do not vary within a chain)")
    return Finding(
        "r_hat", severity,
        f"{head}: the chains disagree on {len(above)} parameter(s) ({', '.join(above[:5])}).",
        numbers,
        "Run more tuning steps and draws (--tune 2000 --draws 4000); if r-hat stays high, give the "
        f"parameters named ({above[0]}) a more informative prior.",
    )


#: nutpie's sampler statistics: one it always records, and the one its low-rank mass matrix adds.
_NUTPIE_STAT, _LOW_RANK_STAT = "fisher_distance", "num_eigenvalues"


def _mass_matrix_hint(stats: xr.Dataset) -> str:
    """A further next step for slow mixing where nutpie adapted its diagonal mass matrix (the
    default): its low-rank one follows parameters that trade off (``[fit] mass_matrix``)."""
    if _NUTPIE_STAT in stats.data_vars and _LOW_RANK_STAT not in stats.data_vars:
        return (' Where parameters trade off, [fit] mass_matrix = "low_rank" (--mass-matrix low_rank) lets '
                "nutpie follow them: on the demo it halved the steps per draw and raised the ESS.")
    return ""


def _ess(bulk_labels: list[str], bulk: np.ndarray, tail_labels: list[str], tail: np.ndarray, hint: str = "") -> Finding:
    # NaN (e.g. a parameter stuck at one value) carries no information: count it as 0 effective draws.
    bulk, tail = np.nan_to_num(bulk, nan=0.0), np.nan_to_num(tail, nan=0.0)
    kind, labels, values = ("bulk", bulk_labels, bulk) if bulk.min() <= tail.min() else ("tail", tail_labels, tail)
    worst = int(np.argmin(values))
    value = float(values[worst])
    numbers = {"ess_bulk_min": float(bulk.min()), "ess_tail_min": float(tail.min()),
               "parameter": labels[worst], "review_below": ESS_REVIEW, "fail_below": ESS_FAIL}
    text = f"min {kind} ESS {value:.0f} ({labels[worst]})"
    if value >= ESS_REVIEW:
        return Finding("ess", "pass", f"{text} ≥ {ESS_REVIEW}: enough effective draws for stable intervals.",
                       numbers)
    severity: Severity = "review" if value >= ESS_FAIL else "fail"
    floor = ESS_REVIEW if severity == "review" else ESS_FAIL
    return Finding(
        "ess", severity,
        f"{text} < {floor}: the {'interval ends' if kind == 'tail' else 'means'} rest on too few independent draws.",
        numbers,
        "Run more draws (--draws) or chains (--chains); a very low ESS next to a high r-hat also needs more "
        "tuning (--tune)." + hint,
    )


def _divergences(stats: xr.Dataset, n_draws: int) -> Finding:
    count = int(np.asarray(stats["diverging"]).sum()) if "diverging" in stats.data_vars else 0
    share = count / n_draws if n_draws else 0.0
    numbers = {"divergences": count, "draws": n_draws, "share": share, "fail_above_share": DIVERGENCE_FAIL_SHARE}
    if count == 0:
        return Finding("divergences", "pass", f"No divergent transitions in {n_draws} draws.", numbers)
    severity: Severity = "fail" if share > DIVERGENCE_FAIL_SHARE else "review"
    return Finding(
        "divergences", severity,
        f"{count} divergent transitions ({share:.2%} of {n_draws} draws): the sampler could not explore part "
        "of the posterior, so estimates may be biased.",
        numbers,
        "Raise [fit] target_accept (e.g. 0.95 or 0.99); if they remain, tighten the priors of poorly "
        "identified parameters (see prior_posterior_overlap).",
    )


def _tree_depth(stats: xr.Dataset, n_draws: int, hint: str = "") -> Finding | None:
    flag = next((name for name in _DEPTH_FLAGS if name in stats.data_vars), None)
    depth = next((name for name in _DEPTHS if name in stats.data_vars), None)
    if flag is not None:
        hits = int(np.asarray(stats[flag]).sum())
    elif depth is not None:
        hits = int((np.asarray(stats[depth]) >= MAX_TREE_DEPTH).sum())
    else:
        return None
    share = hits / n_draws if n_draws else 0.0
    numbers = {"draws_at_max_depth": hits, "share": share, "max_tree_depth": MAX_TREE_DEPTH,
               "review_above_share": TREE_DEPTH_REVIEW_SHARE}
    if share <= TREE_DEPTH_REVIEW_SHARE:
        return Finding("tree_depth", "pass", f"{hits} of {n_draws} draws hit the maximum tree depth.", numbers)
    return Finding(
        "tree_depth", "review",
        f"{hits} of {n_draws} draws ({share:.1%}) hit the maximum tree depth ({MAX_TREE_DEPTH}): the "
        "sampler stopped trajectories early and explores slowly.",
        numbers,
        "Usually a sign of strongly correlated parameters (e.g. beta and lam of one channel): give them more "
        "informative priors, or run more draws." + hint,
    )
