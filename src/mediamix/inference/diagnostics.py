"""Convergence diagnostics: r-hat, effective sample size and divergences.

They are MCMC diagnostics: for an approximate posterior (``[fit] method = "map"``,
``"pathfinder"`` or ``"advi"``, recognised by its ``posterior`` group's ``approximate`` attribute) none is computed,
and :class:`Diagnostics` says that convergence was not checked.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import xarray as xr

__all__ = ["Diagnostics", "ParameterDiagnostics", "diagnose", "parameter_diagnostics", "fit_method", "approximate_note", "pareto_k_limit", "RHAT_MAX", "ESS_MIN",
           "PARETO_K_MAX"]

#: Thresholds of Vehtari et al. (2021).
RHAT_MAX = 1.01
ESS_MIN = 400
#: Above this Pareto k, importance sampling cannot correct an approximation (Yao et al. 2018).
PARETO_K_MAX = 0.7


def pareto_k_limit(draws: int) -> float:
    """The largest Pareto k at which importance sampling with ``draws`` draws is reliable:
    ``min(1 - 1/log10(draws), 0.7)`` (Vehtari et al. 2024): 0.67 at 1000 draws, 0.57 at 200, 0 at 10 or fewer."""
    if draws <= 10:
        return 0.0
    return float(min(1.0 - 1.0 / np.log10(draws), PARETO_K_MAX))


def fit_method(idata: xr.DataTree) -> str:
    """How a posterior was made: ``"nuts"``, or the approximation's name from its ``posterior`` attrs."""
    attrs = idata["posterior"].attrs
    return str(attrs.get("method", "nuts")) if attrs.get("approximate") else "nuts"


def approximate_note(method: str) -> str:
    """The label of an approximate fit, in one sentence (for the CLI, the report and the review)."""
    return (f"Approximate fit ({method}): convergence not checked; use it to iterate on the model, "
            "and refit with NUTS before acting on the numbers.")


def _extreme(tree: xr.DataTree, reduce: str) -> float:
    """The largest (``"max"``: r-hat) or smallest (``"min"``: ESS) value over every parameter.

    For r-hat, one undefined value (ArviZ's NaN for a parameter that never moved) makes the whole
    maximum undefined, so the fit does not count as converged (found in review: the NaN was
    dropped and a stuck parameter's fit was reported converged while its review failed).
    """
    ds = tree.to_dataset() if isinstance(tree, xr.DataTree) else tree
    values = [np.asarray(ds[v]).ravel() for v in ds.data_vars]
    flat = np.concatenate(values) if values else np.array([np.nan])
    if reduce == "max" and not np.isfinite(flat).all():
        return float("nan")
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
    method : str, default="nuts"
        ``"nuts"``, or the approximation that made the draws; then r-hat, ESS and
        divergences are NaN, NaN and 0: not computed.
    pareto_k : float, default=nan
        An approximation's Pareto k (see :mod:`mediamix.inference.approximate`).
    """

    r_hat_max: float
    ess_bulk_min: float
    ess_tail_min: float
    divergences: int
    chains: int
    draws: int
    method: str = "nuts"
    pareto_k: float = float("nan")

    @property
    def approximate(self) -> bool:
        """Whether the draws come from an approximation, not from NUTS."""
        return self.method != "nuts"

    @property
    def converged(self) -> bool:
        """True when r-hat ≤ 1.01, bulk and tail ESS ≥ 400 and no divergences; False for an approximation."""
        return not self.approximate and not self.problems()

    def problems(self) -> list[str]:
        """One sentence per failed check, each with what to try; none for an approximation (not checked)."""
        if self.approximate:
            return []
        out = []
        if not np.isfinite(self.r_hat_max) or self.r_hat_max > RHAT_MAX:
            hint = (" (r-hat needs at least 2 chains)" if self.chains < 2 else
                    " (undefined for some parameter: one that never moved)" if not np.isfinite(self.r_hat_max) else "")
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


@dataclass(frozen=True)
class ParameterDiagnostics:
    """ArviZ's r-hat and bulk and tail ESS of every parameter of a NUTS posterior.

    Computed once per fit (:func:`parameter_diagnostics`) for both :func:`diagnose` and the model
    review, which names the worst parameter.
    """

    r_hat: xr.Dataset | None  # None with fewer than 2 chains
    ess_bulk: xr.Dataset
    ess_tail: xr.Dataset


def import_statistics() -> None:
    """Import ArviZ's statistics, which :func:`parameter_diagnostics` needs (SciPy's stats come with
    them: 0.3 s on the reference machine, 0.76-1 s on a slower one).

    ``MMM.fit`` registers it as groundwork (:func:`mediamix.helper_processes.groundwork`): a cold
    nutpie compile with a helper process runs it right after the fork, where the helper compiles
    more of the ops meanwhile and the fit waits about half as long for it as after sampling.
    """
    import arviz_stats  # noqa: F401


def parameter_diagnostics(idata: xr.DataTree) -> ParameterDiagnostics | None:
    """r-hat and ESS of every parameter of ``idata``'s posterior; None for an approximation (not MCMC)."""
    # ArviZ's statistics alone (imported here: 0.4 s, SciPy's stats with them); the ``arviz`` package
    # would bring its plotting and matplotlib's pyplot too (another 0.23 s).
    import arviz_stats

    if fit_method(idata) != "nuts":
        return None
    posterior = idata["posterior"].to_dataset()
    r_hat = arviz_stats.rhat(posterior) if int(posterior.sizes["chain"]) >= 2 else None
    return ParameterDiagnostics(r_hat, arviz_stats.ess(posterior, method="bulk"),
                                arviz_stats.ess(posterior, method="tail"))


def diagnose(idata: xr.DataTree, stats: ParameterDiagnostics | None = None) -> Diagnostics:
    """Compute :class:`Diagnostics` from an InferenceData ``DataTree``.

    ``stats``: :func:`parameter_diagnostics` of ``idata``, when computed already.
    """
    posterior = idata["posterior"]
    chains = int(posterior.sizes["chain"])
    draws = int(posterior.sizes["draw"])
    method = fit_method(idata)
    if method != "nuts":
        nan = float("nan")
        k = float(posterior.attrs.get("pareto_k", nan))
        return Diagnostics(nan, nan, nan, 0, chains, draws, method=method, pareto_k=k)
    stats = stats or parameter_diagnostics(idata)
    assert stats is not None  # a NUTS posterior
    r_hat = _extreme(stats.r_hat, "max") if stats.r_hat is not None else float("nan")
    ess_bulk = _extreme(stats.ess_bulk, "min")
    ess_tail = _extreme(stats.ess_tail, "min")
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
