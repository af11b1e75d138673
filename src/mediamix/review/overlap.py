"""Prior–posterior overlap: which parameters did the data not inform?

The overlap coefficient ``OVL = ∫ min(p_prior(θ), p_post(θ)) dθ`` is 1 when the
posterior equals the prior and 0 when they share no mass. It is unchanged by
any monotone change of variable, so we measure it on the prior's CDF scale: with
``u = F_prior(θ)`` the prior becomes Uniform(0, 1) and

    OVL = ∫₀¹ min(1, p_post(u)) du ≈ Σ_b min(1/B, share of posterior draws in bin b)

over ``B`` equal bins. This needs only the prior's CDF (exact, from
:meth:`~mediamix.priors.Prior.to_scipy`) and a histogram of the draws: no
density estimate, no trouble at the edges of a bounded support.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from mediamix.config.schema import MMMConfig
from mediamix.review.findings import Finding

__all__ = ["prior_posterior_overlap", "overlap_finding", "OVERLAP_REVIEW", "MAX_BINS", "MIN_BINS"]

#: A posterior sharing more than 90% of its mass with the prior has learned little from
#: the data: its estimate (and what depends on it) is mostly the prior's.
OVERLAP_REVIEW = 0.9
#: Bins on the CDF scale: about sqrt(draws)/4 (≥ 16 draws per bin keeps the downward
#: bias of min(·) from sampling noise below ~10%), between 5 and 20 (a posterior within
#: one prior twentieth reads as overlap ≤ 0.05, ample resolution for a 0.9 threshold).
MIN_BINS = 5
MAX_BINS = 20


def _bins(n_draws: int) -> int:
    return int(np.clip(np.sqrt(n_draws) / 4, MIN_BINS, MAX_BINS))


def prior_posterior_overlap(posterior: xr.Dataset, config: MMMConfig) -> xr.DataArray:
    """Overlap coefficient between each parameter's prior and posterior.

    Parameters
    ----------
    posterior : xarray.Dataset
        Draws with dims (chain, draw, ...), named like ``config.priors``.
    config : MMMConfig
        Its ``priors`` give the prior of every parameter.

    Returns
    -------
    xarray.DataArray, dims (parameter,)
        Values in [0, 1], labelled ``beta[x1]``, ``sigma``, ...; parameters
        without a prior in ``config`` are left out.
    """
    labels: list[str] = []
    values: list[float] = []
    n_draws = posterior.sizes["chain"] * posterior.sizes["draw"]
    bins = _bins(n_draws)
    for name, prior in config.priors.items():
        if name not in posterior.data_vars:
            continue
        da = posterior[name]
        core = [d for d in da.dims if d not in ("chain", "draw")]
        da = da.transpose("chain", "draw", *core)
        names = [str(v) for v in da[core[0]].values] if core else []
        dist = prior.to_scipy(names if prior.labels() else None)
        draws = da.to_numpy().reshape(n_draws, -1)
        u = np.asarray(dist.cdf(draws), dtype=float)  # (sample, label); a scalar prior broadcasts
        for j in range(u.shape[1]):
            counts, _ = np.histogram(u[:, j], bins=bins, range=(0.0, 1.0))
            values.append(float(np.minimum(counts / n_draws, 1.0 / bins).sum()))
            labels.append(f"{name}[{names[j]}]" if names else name)
    return xr.DataArray(np.asarray(values), dims="parameter", coords={"parameter": labels}, name="overlap")


def overlap_finding(posterior: xr.Dataset, config: MMMConfig) -> Finding:
    """Finding ``prior_posterior_overlap``: review when a parameter's overlap exceeds :data:`OVERLAP_REVIEW`."""
    overlap = prior_posterior_overlap(posterior, config)
    labels = [str(v) for v in overlap["parameter"].values]
    values = overlap.to_numpy()
    numbers = {"parameter": labels, "overlap": values, "review_above": OVERLAP_REVIEW}
    flagged = [i for i in np.argsort(-values) if values[i] > OVERLAP_REVIEW]
    if not flagged:
        i = int(np.argmax(values))
        return Finding("prior_posterior_overlap", "pass", f"Every parameter's posterior moved away from its prior "
                       f"(largest overlap: {labels[i]} {values[i]:.2f} ≤ {OVERLAP_REVIEW}).", numbers)
    listed = ", ".join(f"{labels[i]} ({values[i]:.2f})" for i in flagged)
    return Finding(
        "prior_posterior_overlap", "review",
        f"{len(flagged)} parameter(s) barely moved from the prior (overlap > {OVERLAP_REVIEW}): {listed}. The "
        "data say little about them, so their estimates are the prior's.",
        numbers,
        "Make sure those priors encode real knowledge (a lift test, industry benchmarks) or simplify the model "
        "(e.g. fewer Fourier terms, merge small channels); results driven by these parameters need that caveat.",
    )
