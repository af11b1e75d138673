"""Test helpers that are part of the public API: a fake sampler without MCMC.

:class:`PriorSampler` satisfies the :class:`~mediamix.inference.Sampler`
protocol by drawing from the prior, so code downstream of sampling (analysis,
output folders, the CLI's rendering) can be tested in a second instead of a
compile and a NUTS run. Its "posterior" is the prior: never use it for results.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import xarray as xr

from mediamix.inference.samplers import SampleResult

__all__ = ["PriorSampler"]


class PriorSampler:
    """A fake sampler: prior draws shaped like a posterior (chain, draw).

    Parameters
    ----------
    divergences : int, default=0
        How many draws to mark as divergent in ``sample_stats`` (to test warnings).
    """

    name = "prior"

    def __init__(self, divergences: int = 0) -> None:
        self.divergences = divergences

    def sample(self, model: Any, *, chains: int, draws: int, tune: int, seed: int | None,
               target_accept: float, progressbar: bool) -> SampleResult:
        """Draw ``chains * draws`` prior samples and reshape them to (chain, draw)."""
        import pymc as pm

        t0 = time.perf_counter()
        prior = pm.sample_prior_predictive(draws=chains * draws, model=model, random_seed=seed)
        ds = prior["prior"].to_dataset().isel(chain=0, drop=True)
        kept = [rv.name for rv in (*model.free_RVs, *model.deterministics)]  # as a sampler stores them
        ds = ds[kept]
        posterior = xr.Dataset(
            {
                name: (("chain", "draw", *da.dims[1:]), da.to_numpy().reshape(chains, draws, *da.shape[1:]))
                for name, da in ds.data_vars.items()
            },
            coords={"chain": np.arange(chains), "draw": np.arange(draws), **{
                k: v for k, v in ds.coords.items() if k != "draw"
            }},
        )
        diverging = np.zeros((chains, draws), dtype=bool)
        diverging.flat[: self.divergences] = True
        stats = xr.Dataset(
            {"diverging": (("chain", "draw"), diverging)},
            coords={"chain": np.arange(chains), "draw": np.arange(draws)},
        )
        tree = xr.DataTree.from_dict({"posterior": posterior, "sample_stats": stats})
        return SampleResult(idata=tree, compile_s=0.0, sampling_s=time.perf_counter() - t0)
