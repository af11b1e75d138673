"""Convergence diagnostics: r-hat, effective sample size and divergences."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import xarray as xr

__all__ = ["Diagnostics", "diagnose", "RHAT_MAX", "ESS_MIN"]

#: Thresholds of Vehtari et al. (2021).
RHAT_MAX = 1.01
ESS_MIN = 400


def _extreme(tree: xr.DataTree, reduce: str) -> float:
    ds = tree.to_dataset() if isinstance(tree, xr.DataTree) else tree
    values = [np.asarray(ds[v]).ravel() for v in ds.data_vars]
    flat = np.concatenate(values) if values else np.array([np.nan])
    flat = flat[np.isfinite(flat)]
    if flat.size == 0:
        return float("nan")
    return float(flat.max() if reduce == "max" else flat.min())


@dataclass(frozen=True)
class Diagnostics:
    """Convergence summary of a posterior.

    Attributes
    ----------
    r_hat_max : float
        Largest rank-normalized split r-hat over all parameters.
    ess_bulk_min, ess_tail_min : float
        Smallest bulk and tail effective sample size.
    divergences : int
        Divergent transitions after tuning.
    chains, draws : int
    """

    r_hat_max: float
    ess_bulk_min: float
    ess_tail_min: float
    divergences: int
    chains: int
    draws: int

    @property
    def converged(self) -> bool:
        """True when r-hat ≤ 1.01, bulk and tail ESS ≥ 400 and no divergences."""
        return not self.problems()

    def problems(self) -> list[str]:
        """One sentence per failed check, each with what to try."""
        out = []
        if not np.isfinite(self.r_hat_max) or self.r_hat_max > RHAT_MAX:
            hint = " (r-hat needs at least 2 chains)" if self.chains < 2 else ""
            out.append(
                f"max r-hat is {self.r_hat_max:.3f} > {RHAT_MAX}{hint}: chains disagree. "
                "Run more tuning steps (--tune) and draws, or use more informative priors."
            )
        ess = min(self.ess_bulk_min, self.ess_tail_min)
        if not np.isfinite(ess) or ess < ESS_MIN:
            out.append(
                f"min ESS is {ess:.0f} < {ESS_MIN}: too few effective draws for stable intervals. "
                "Run more draws (--draws) or chains (--chains)."
            )
        if self.divergences:
            out.append(
                f"{self.divergences} divergent transitions: the sampler could not explore part of the "
                "posterior, so estimates may be biased. Raise fit.target_accept (e.g. 0.95) or "
                "tighten priors on poorly identified parameters."
            )
        return out

    def to_dict(self) -> dict[str, float | int | bool]:
        """Plain values, plus ``converged``, for JSON."""
        return {**asdict(self), "converged": self.converged}


def diagnose(idata: xr.DataTree) -> Diagnostics:
    """Compute :class:`Diagnostics` from an InferenceData ``DataTree``."""
    import arviz as az  # imported here: arviz pulls in matplotlib, ~1 s at import

    posterior = idata["posterior"]
    chains = int(posterior.sizes["chain"])
    draws = int(posterior.sizes["draw"])
    if chains >= 2:
        r_hat = _extreme(az.rhat(idata), "max")
    else:
        r_hat = float("nan")
    ess_bulk = _extreme(az.ess(idata, method="bulk"), "min")
    ess_tail = _extreme(az.ess(idata, method="tail"), "min")
    divergences = 0
    if "sample_stats" in idata.children and "diverging" in idata["sample_stats"].data_vars:
        divergences = int(np.asarray(idata["sample_stats"]["diverging"]).sum())
    return Diagnostics(
        r_hat_max=r_hat,
        ess_bulk_min=ess_bulk,
        ess_tail_min=ess_tail,
        divergences=divergences,
        chains=chains,
        draws=draws,
    )
