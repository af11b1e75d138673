"""NUTS samplers behind one small protocol.

Each sampler compiles the model and samples it, timing the two apart, and
returns an ArviZ ``DataTree`` with ``posterior`` and ``sample_stats`` groups.
``nutpie`` is the default: on the demo data on a 2-core machine it reaches a
converged posterior (r-hat <= 1.01, ESS >= 1000) fastest without needing JAX;
see ``benchmarks/seed_example.py`` and the README for the figures.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any, Protocol

import xarray as xr

from mediamix.errors import SamplingError

__all__ = ["SampleResult", "Sampler", "NutpieSampler", "PymcSampler", "NumpyroSampler", "get_sampler", "SAMPLERS"]


@dataclass(frozen=True)
class SampleResult:
    """A posterior and how long it took.

    Attributes
    ----------
    idata : xarray.DataTree
        ArviZ InferenceData: ``posterior`` (chain, draw, ...) and ``sample_stats``.
    compile_s : float
        Seconds spent compiling the model (for numpyro: JAX graph conversion;
        its JIT compile happens inside sampling and is counted there).
    sampling_s : float
        Seconds spent in tuning and drawing.
    """

    idata: xr.DataTree
    compile_s: float
    sampling_s: float


class Sampler(Protocol):
    """What a sampler backend provides."""

    name: str

    def sample(
        self,
        model: Any,
        *,
        chains: int,
        draws: int,
        tune: int,
        seed: int | None,
        target_accept: float,
        progressbar: bool,
    ) -> SampleResult:
        """Sample ``model`` (a ``pymc.Model``) with NUTS."""
        ...


def _cores(chains: int) -> int:
    return max(1, min(chains, os.cpu_count() or 1))


class NutpieSampler:
    """nutpie's Rust NUTS on a numba-compiled model (the default)."""

    name = "nutpie"

    def sample(self, model: Any, *, chains: int, draws: int, tune: int, seed: int | None,
               target_accept: float, progressbar: bool) -> SampleResult:
        import nutpie

        t0 = time.perf_counter()
        compiled = nutpie.compile_pymc_model(model)
        t1 = time.perf_counter()
        idata = nutpie.sample(
            compiled,
            draws=draws,
            tune=tune,
            chains=chains,
            cores=_cores(chains),
            seed=seed,
            progress_bar=progressbar,
            target_accept=target_accept,
            save_warmup=False,
        )
        t2 = time.perf_counter()
        return SampleResult(idata=idata, compile_s=t1 - t0, sampling_s=t2 - t1)


class PymcSampler:
    """PyMC's own NUTS (C backend, one process per chain)."""

    name = "pymc"

    def sample(self, model: Any, *, chains: int, draws: int, tune: int, seed: int | None,
               target_accept: float, progressbar: bool) -> SampleResult:
        import pymc as pm

        t0 = time.perf_counter()
        step = pm.NUTS(model=model, target_accept=target_accept)
        t1 = time.perf_counter()
        idata = pm.sample(
            draws=draws,
            tune=tune,
            chains=chains,
            cores=_cores(chains),
            step=step,
            random_seed=seed,
            progressbar=progressbar,
            model=model,
            compute_convergence_checks=False,
        )
        t2 = time.perf_counter()
        return SampleResult(idata=idata, compile_s=t1 - t0, sampling_s=t2 - t1)


class NumpyroSampler:
    """NumPyro's NUTS on a JAX-compiled model (needs the ``numpyro`` extra)."""

    name = "numpyro"

    def sample(self, model: Any, *, chains: int, draws: int, tune: int, seed: int | None,
               target_accept: float, progressbar: bool) -> SampleResult:
        try:
            import numpyro  # noqa: F401  (PyMC's import sets up XLA host devices for parallel chains)
        except ImportError:
            raise SamplingError(
                "The 'numpyro' sampler needs NumPyro and JAX: pip install 'mediamix[numpyro]'."
            ) from None
        import pymc as pm

        t0 = time.perf_counter()
        idata = pm.sample(
            draws=draws,
            tune=tune,
            chains=chains,
            nuts_sampler="numpyro",
            random_seed=seed,
            progressbar=progressbar,
            model=model,
            compute_convergence_checks=False,
            nuts={
                "target_accept": target_accept,
                "chain_method": "parallel" if _cores(chains) > 1 else "sequential",
            },
        )
        t1 = time.perf_counter()
        return SampleResult(idata=idata, compile_s=0.0, sampling_s=t1 - t0)


#: Sampler registry: config name -> class.
SAMPLERS: dict[str, type] = {s.name: s for s in (NutpieSampler, PymcSampler, NumpyroSampler)}


def get_sampler(name: str) -> Sampler:
    """The sampler registered as ``name`` (``"nutpie"``, ``"pymc"`` or ``"numpyro"``)."""
    try:
        return SAMPLERS[name]()
    except KeyError:
        raise SamplingError(f"Unknown sampler '{name}'. Expected one of: {', '.join(SAMPLERS)}.") from None
