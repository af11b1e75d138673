"""NUTS samplers behind one small protocol.

Each sampler compiles the model and samples it, timing the two apart, and
returns an ArviZ ``DataTree`` with ``posterior`` and ``sample_stats`` groups.
``nutpie`` is the default: on the demo data on a 2-core machine it reaches a
converged posterior (r-hat <= 1.01, ESS >= 1000) fastest without needing JAX;
see ``benchmarks/seed_example.py`` and the README for the figures.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
import types
from dataclasses import dataclass
from typing import Any, Protocol

import xarray as xr

from mediamix.errors import SamplingError
from mediamix.inference import compiled_models
from mediamix.inference.rewrite_cache import rewrites_cached

__all__ = [
    "SampleResult", "Sampler", "NutpieSampler", "PymcSampler", "NumpyroSampler", "get_sampler", "SAMPLERS",
    "compile_nutpie",
]


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
    """nutpie's Rust NUTS on a numba-compiled model (the default), compiled by :func:`compile_nutpie`."""

    name = "nutpie"

    def sample(self, model: Any, *, chains: int, draws: int, tune: int, seed: int | None,
               target_accept: float, progressbar: bool) -> SampleResult:
        import nutpie

        t0 = time.perf_counter()
        compiled = compile_nutpie(model)
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


# ------------------------------------------------------------- nutpie's C callbacks, cached on disk
#
# nutpie wraps PyTensor's numba logp/gradient function and its "expand" function in two
# ``numba.cfunc`` C callbacks. PyTensor caches its own functions on disk, but nutpie's two
# callbacks are recompiled in every process (their closures pickle differently each time, so
# numba's cache never hits), and the logp callback's ``out[...] = grad`` makes numba compile its
# slice-assignment error message (string formatting) as well. Measured on the demo model (2-CPU
# machine, warm PyTensor/numba caches, ``benchmarks/seed_example.py``-style fresh processes):
# ``nutpie.compile_pymc_model`` took 4.6-4.9 s, of which 3.4-3.6 s was the logp callback
# (2.2 s of that the error-message formatting) and 0.3 s the expand callback; the rest (0.9 s)
# is PyTensor building and rewriting the logp/gradient graph.
#
# ``compile_nutpie`` gives nutpie the same two callbacks written as source with a copy loop and
# registers them with PyTensor's numba cache under a key made of PyTensor's own cache key of the
# wrapped function (which changes with the model and the data), the callback's source, its sizes
# and the nutpie/numba/PyTensor versions. Measured: compile 1.1 s warm (from 4.7 s); the first
# compile of a new model or new data 1.8 s less than before as well; draws bit-identical to
# plain ``nutpie.compile_pymc_model`` for the same seed. Other nutpie versions, or
# ``numba__cache=False``, take nutpie's own path (still without fastmath, see ``compile_nutpie``).
#
# Shared variables (``pm.Data``, and the vector of prior numbers that ``build_model`` makes a model
# input, see ``mediamix.model.build.PriorParameters``) are read at runtime from nutpie's
# ``user_data``, so neither PyTensor's key nor the callbacks' depend on their values: a refit with
# other prior numbers compiles in ~1.9 s (demo, warm caches) instead of 6.7-6.9 s.

_NUTPIE_LOGP_SRC = """
def nutpie_logp(dim, x_, out_, logp_, user_data_):
    if dim != n_dim:
        return -1
    try:
        x = numba.carray(x_, (n_dim,))
        out = numba.carray(out_, (n_dim,))
        logp = numba.carray(logp_, ())
        logp_val, grad = extract(x, user_data_)
        logp[()] = logp_val
        finite = True
        for i in range(n_dim):
            out[i] = grad[i]
            if not np.isfinite(grad[i]):
                finite = False
        if not finite:
            return 3
        if not np.isfinite(logp_val):
            return 4
    except Exception:
        return 1
    return 0
"""

_NUTPIE_EXPAND_SRC = """
def nutpie_expand(dim, expanded, x_, out_, user_data_):
    if dim != n_dim:
        return -1
    if expanded != n_expanded:
        return -1
    try:
        x = numba.carray(x_, (n_dim,))
        out = numba.carray(out_, (n_expanded,))
        (values,) = extract(x, user_data_)
        for i in range(n_expanded):
            out[i] = values[i]
    except Exception:
        return -2
    return 0
"""

_NUTPIE_PATCH_LOCK = threading.Lock()


class _NotCacheable(Exception):
    """The model or the installed versions do not fit the cached-callback path."""


def compile_nutpie(model: Any, *, reuse: bool = True) -> Any:
    """``nutpie.compile_pymc_model(model)``, with nutpie's two C callbacks cached on disk when possible.

    The callbacks compute the same values as nutpie's own (same draws for the same seed); see the
    comment above for what is cached, under which key, and the measured saving. With ``reuse``, a
    model compiled before (same structure; prior numbers and ``pm.Data`` values may differ) is
    rebuilt from its record instead (:mod:`mediamix.inference.compiled_models`), without the
    PyTensor functions ``logp_func``/``expand_func``; ``reuse=False`` always builds those.
    """
    import nutpie
    import pytensor

    # Reproducibility: with PyTensor's default numba fastmath, a process that compiles the model
    # (cold caches) gets logp/gradient values up to ~1e-12 apart from a process that loads the same
    # functions from the cache (warm), and the draws part ways after a few hundred iterations (demo
    # model, 2 chains x 300 draws: posterior means of beta 0.372 vs 0.343 for one seed). Without
    # fastmath the two agree bit for bit (tests/test_reproducibility.py). Measured cost: 11-13% more
    # CPU time per gradient (16.1-16.9 vs 18.3 us on the demo model, 1 chain, 2-CPU machine).
    # traceback__limit=0: the graph nodes PyMC and nutpie make here do not record the Python stack
    # they were made from (it would point into PyMC's internals): 0.05-0.09 s of a 0.65 s warm compile.
    with pytensor.config.change_flags(numba__fastmath=False, traceback__limit=0):
        try:
            return _compile_nutpie_cached(model, reuse)
        except _NotCacheable:
            return nutpie.compile_pymc_model(model)


def _compile_nutpie_cached(model: Any, reuse: bool) -> Any:
    import hashlib

    import numba
    import numpy as np
    import nutpie
    import nutpie.compile_pymc as ncp
    import pytensor
    from pytensor.configdefaults import config
    from pytensor.link.numba.cache import CACHED_SRC_FUNCTIONS, compile_numba_function_src

    hooks = ("_make_c_logp_func", "_make_c_expand_func", "make_extraction_fn", "uuid4")
    if not nutpie.__version__.startswith("0.16.") or not config.numba__cache or not all(hasattr(ncp, h) for h in hooks):
        raise _NotCacheable

    def callback(src: str, name: str, inner: Any, user_data: Any, shared_keys: Any, shared_data: Any,
                 **sizes: int) -> Any:
        inner_key = CACHED_SRC_FUNCTIONS.get(getattr(inner, "py_func", None))
        if inner_key is None:
            raise _NotCacheable
        # The shared variables' names (deterministic, see _shared_key) and dtypes are compiled into the
        # extraction code, and the record layout of ``user_data`` too; their values are read at runtime.
        shared = [(k, shared_data[k].dtype.str, shared_data[k].ndim) for k in shared_keys]
        parts = [src, inner_key, repr(sorted(sizes.items())), repr(shared), str(user_data.dtype),
                 nutpie.__version__, numba.__version__, pytensor.__version__]
        key = hashlib.sha256("|".join(parts).encode()).hexdigest()
        extract = ncp.make_extraction_fn(inner, shared_data, shared_keys, user_data.dtype)
        recorded[name] = [key, None, sizes]  # the C signature follows from nutpie's own builder
        # Globals, not a closure: numba's cache index hashes closure contents, which differ per process.
        env = {"__name__": __name__, "np": np, "numba": numba, "extract": extract, **sizes}
        return compile_numba_function_src(src, name, env, cache_key=key)

    make_logp, make_expand = ncp._make_c_logp_func, ncp._make_c_expand_func
    recorded: dict[str, list[Any]] = {}  # what compiled_models.store keeps of each callback

    def logp_func(n_dim, logp_fn, user_data, shared_keys, shared_data):  # type: ignore[no-untyped-def]
        _, c_sig = make_logp(n_dim, logp_fn, user_data, shared_keys, shared_data)
        fn = callback(_NUTPIE_LOGP_SRC, "nutpie_logp", logp_fn, user_data, shared_keys, shared_data, n_dim=n_dim)
        recorded["nutpie_logp"][1] = c_sig
        return fn, c_sig

    def expand_func(n_dim, n_expanded, expand_fn, user_data, shared_keys, shared_data):  # type: ignore[no-untyped-def]
        _, c_sig = make_expand(n_dim, n_expanded, expand_fn, user_data, shared_keys, shared_data)
        fn = callback(_NUTPIE_EXPAND_SRC, "nutpie_expand", expand_fn, user_data, shared_keys, shared_data,
                      n_dim=n_dim, n_expanded=n_expanded)
        recorded["nutpie_expand"][1] = c_sig
        return fn, c_sig

    def load_callback(name: str, key: str, c_sig: Any, sizes: dict[str, int]) -> Any:
        """One C callback from numba's cache; if it is not there, numba's attempt to compile it fails
        (its ``extract`` is no function numba can compile) and the record is not used."""
        src = {"nutpie_logp": _NUTPIE_LOGP_SRC, "nutpie_expand": _NUTPIE_EXPAND_SRC}[name]
        env = {"__name__": __name__, "np": np, "numba": numba, "extract": _not_compiled_here, **sizes}
        return numba.cfunc(c_sig, cache=True)(compile_numba_function_src(src, name, env, cache_key=key))

    key = compiled_models.model_key(model, _NUTPIE_LOGP_SRC + _NUTPIE_EXPAND_SRC) if reuse else None
    if key is not None:
        with _NUTPIE_PATCH_LOCK, rewrites_cached():  # the initial-point function still compiles
            found = compiled_models.load(model, key, load_callback)
        if found is not None:
            return found

    # nutpie names each shared variable's slot in ``user_data`` with a random uuid4, which would put a
    # new name into the callbacks' code (and key) in every process; numbered names are the same for
    # the same graph (nutpie visits the functions' shared variables in graph order).
    numbers = itertools.count()

    def shared_key() -> Any:
        return types.SimpleNamespace(hex=f"shared_{next(numbers)}")

    uuid4 = ncp.uuid4
    with _NUTPIE_PATCH_LOCK, rewrites_cached():
        ncp._make_c_logp_func, ncp._make_c_expand_func, ncp.uuid4 = logp_func, expand_func, shared_key
        try:
            # nutpie passes extra keywords on to numba.cfunc: cache=True stores the callbacks
            # through PyTensor's cache locator, in PyTensor's compiledir (base_compiledir/numba).
            compiled = nutpie.compile_pymc_model(model, cache=True)
        finally:
            ncp._make_c_logp_func, ncp._make_c_expand_func, ncp.uuid4 = make_logp, make_expand, uuid4
    if key is not None:
        compiled_models.store(key, compiled, {name: tuple(entry) for name, entry in recorded.items()})
    return compiled


def _not_compiled_here(*args: Any) -> Any:  # pragma: no cover - never called: see load_callback
    raise SamplingError("a cached nutpie callback was not in numba's cache")


class PymcSampler:
    """PyMC's own NUTS (C backend, one process per chain)."""

    name = "pymc"

    def sample(self, model: Any, *, chains: int, draws: int, tune: int, seed: int | None,
               target_accept: float, progressbar: bool) -> SampleResult:
        import pymc as pm
        import pytensor

        # Without fastmath, as for nutpie (see compile_nutpie): the same seed gives the same draws
        # whether the compiled functions are fresh or come from the cache (found in review: ROAS
        # 4.9088 cold vs 4.918 warm for one seed with PyTensor's default fastmath).
        with pytensor.config.change_flags(numba__fastmath=False):
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
