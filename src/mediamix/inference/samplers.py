"""NUTS samplers behind one small protocol.

Each sampler compiles the model and samples it, timing the two apart, and
returns an ArviZ ``DataTree`` with ``posterior`` and ``sample_stats`` groups.
``nutpie`` is the default: on the demo data on a 2-core machine it reaches a
converged posterior (r-hat <= 1.01, ESS >= 1000) fastest without needing JAX;
see ``benchmarks/seed_example.py`` and the README for the figures.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import inspect
import itertools
import os
import pickle
import threading
import time
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol

import xarray as xr

from mediamix.config.schema import MassMatrix
from mediamix.errors import SamplingError
from mediamix.helper_processes import (ForkedJob, HelperSide, fork_here, groundwork, lay_groundwork, may_fork,
                                       parent_is_done)
from mediamix.inference import cache_saves, callbacks, compiled_models
from mediamix.inference.compiler_bookkeeping import lean_compiles
from mediamix.inference.machine_code import machine_code_on_demand
from mediamix.inference.python_vm import without_c_vm_when_called
from mediamix.inference.rewrite_cache import rewrites_cached, rewrites_shared
from mediamix.inference.scalar_kernels import VERSION as KERNELS_VERSION
from mediamix.inference.scalar_kernels import kernels_inline
from mediamix.inference.traced_values import traced_posterior
from mediamix.inference.variable_shapes import shapes_from_dims
from mediamix.lazy_modules import import_nutpie

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


#: ``mass_matrix`` -> nutpie's ``adaptation``.
_NUTPIE_ADAPTATION: dict[str, str] = {"diagonal": "diag", "low_rank": "low_rank"}


def _mass_matrix_options(nutpie: Any, mass_matrix: str) -> dict[str, Any]:
    """``nutpie.sample``'s arguments for ``mass_matrix``: none for its default diagonal one; for the
    low-rank one ``adaptation`` or, in nutpie releases before that argument, its older flag."""
    if mass_matrix == "diagonal":
        return {}
    if "adaptation" in inspect.signature(nutpie.sample).parameters:
        return {"adaptation": _NUTPIE_ADAPTATION[mass_matrix]}
    return {"low_rank_modified_mass_matrix": True}


def _cores(chains: int) -> int:
    return max(1, min(chains, os.cpu_count() or 1))


@dataclass(frozen=True)
class NutpieSampler:
    """nutpie's Rust NUTS on a numba-compiled model (the default), compiled by :func:`compile_nutpie`.

    Parameters
    ----------
    mass_matrix : {"diagonal", "low_rank"}, default="diagonal"
        How NUTS adapts its mass matrix while tuning: nutpie's diagonal one, or its low-rank
        modified one (nutpie's ``adaptation="low_rank"``), which follows the posterior's strongest
        correlations (see :class:`~mediamix.config.FitConfig`).
    """

    name: ClassVar[str] = "nutpie"
    mass_matrix: MassMatrix = "diagonal"

    def __post_init__(self) -> None:
        if self.mass_matrix not in _NUTPIE_ADAPTATION:
            raise SamplingError(f"Unknown mass_matrix '{self.mass_matrix}'. Expected one of: "
                                f"{', '.join(_NUTPIE_ADAPTATION)}.")

    def sample(self, model: Any, *, chains: int, draws: int, tune: int, seed: int | None,
               target_accept: float, progressbar: bool) -> SampleResult:
        nutpie = import_nutpie()
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
            **_mass_matrix_options(nutpie, self.mass_matrix),
        )
        idata = traced_posterior(idata, model)  # compile_nutpie's model traces the unconstrained values
        t2 = time.perf_counter()
        return SampleResult(idata=idata, compile_s=t1 - t0, sampling_s=t2 - t1)


# ------------------------------------------------------------- compiling the model for nutpie
#
# nutpie wraps PyTensor's numba logp/gradient function and its "expand" function in two
# ``numba.cfunc`` C callbacks. ``compile_nutpie`` runs nutpie's ``compile_pymc_model`` with its
# steps replaced (``_NutpieCompile``), so that
#
# - the callbacks call the two PyTensor functions through an address in nutpie's ``user_data``
#   (:mod:`mediamix.inference.callbacks`): the functions are compiled once each and cached on disk,
#   and a callback's code depends only on the types it passes on, so it is cached and reused across
#   models (nutpie's own callbacks link the function's code in and compile all of it again, and are
#   recompiled in every process: their closures pickle differently each time);
# - the expand function returns the unconstrained values only (nutpie's ``var_names=[]``), and
#   :mod:`mediamix.inference.traced_values` maps all draws to the traced variables after sampling,
#   in NumPy: nutpie's expand function (every free variable on its own scale and every
#   Deterministic) was ~1.3 CPU-s of the demo's cold compile;
# - the names of the shared values' slots in ``user_data`` are numbered in graph order instead of
#   nutpie's random uuid4, so the same graph gives the same code (and keys) in every process;
# - numba makes machine code only for the functions that run on their own or are cached
#   (:mod:`mediamix.inference.machine_code`): an op's implementation, its scalar kernels and numba's
#   array helpers are linked as IR into their callers and compiled there; their own machine code was
#   1.4 s of a one-process cold compile of the demo; and PyTensor's thin cache wrappers around each op
#   skip LLVM's module passes (the op's code is optimized in its own library and again in the graph's
#   function): ~7% of a one-process cold compile; so do the ops themselves, optimized only in the
#   functions that run, whose module passes run at LLVM level 3: ~3% of a one-process cold compile
#   (~6% of a cold ``mediamix fit``) and ~7% off each gradient, the same draws;
# - numba skips its LLVM-lock events and refreshes its contexts only when something new was
#   registered (:mod:`mediamix.inference.compiler_bookkeeping`): ~1.3 s of a one-process cold compile;
# - each fused elemwise op's scalar kernel is one numba function with its one-line scalar
#   operations written inline, where PyTensor compiles one numba function (and a cache wrapper) per
#   operation (:mod:`mediamix.inference.scalar_kernels`): 438 -> 207 numba functions in the demo's
#   compile, ~11% of a one-process cold compile, the same results bit for bit;
# - PyMC's initial-point function and nutpie's shape function compile without a C compiler
#   (:mod:`mediamix.inference.python_vm`), which spares building PyTensor's C VM with g++ on empty caches;
# - on a cold compile with a CPU to spare, a forked helper (``mediamix.helper_processes``) works
#   beside this process, which compiles the logp/gradient function, the longest step (~7 s of the
#   demo's cold compile, ~6.3 s of it its 76 ops). The helper is forked where the logp graph is to
#   be rewritten (``fork_here``: it goes on from there with the same compile): it rewrites the graph
#   and stores it (``rewrite_cache.rewrites_shared``) while this process lays its groundwork
#   (``helper_processes.groundwork``: ArviZ's statistics import, the initial-point function, ~1.2 s
#   of the demo's cold fit on one CPU), then installs the stored graph (PyTensor's rewriting, ~1 s,
#   was the longest stretch of the compile on one CPU). Where no helper may be forked then (no CPU
#   to spare at that moment), it may be once the graphs are made. Having made its functions, the
#   helper compiles the logp function's ops from the last one back, each saved to numba's cache,
#   where this process, compiling them from the first one on, finds them; when this process is
#   done with the logp function it says so (``ForkedJob.tell_done``), and the helper stops and
#   compiles the expand function and both callbacks (for the return types their functions most
#   likely have: a callback needs the types only) while this process waits: the tail where the
#   second CPU was idle. numba compiles an op only once it has inferred the types of everything
#   before it; the helper reads the exact argument types of every op off the graph
#   (``mediamix.inference.op_signatures``, in milliseconds), or, where it cannot (another
#   PyTensor), a third, short-lived process runs numba's type inference alone
#   (``mediamix.inference.typing_probe``, 1.3-2.5 s on the demo, during which the helper waited).
#   The helper saves only what it was asked for, and while it runs both processes save under one
#   lock (``mediamix.inference.cache_saves``: numba's saves are not safe from two processes at
#   once). If a helper fails or is not started, this process compiles everything itself; the
#   compiled code is the same either way.
#
# Shared variables (``pm.Data``, and the vector of prior numbers that ``build_model`` makes a model
# input, see ``mediamix.model.build.PriorParameters``) are read at runtime from ``user_data``, so
# neither the code nor its keys depend on their values: a refit with other prior numbers reuses
# everything (and, with :mod:`mediamix.inference.compiled_models`, skips the graph work too).
# Other nutpie versions, or ``numba__cache=False``, take nutpie's own path (without fastmath, see
# ``compile_nutpie``). Measured figures: README, "Speed", and docs/speed.md.

_NUTPIE_PATCH_LOCK = threading.Lock()
#: The functions whose machine code numba's cache keeps: what a warm run loads and calls (the graph's
#: functions, called through their addresses, and nutpie's callbacks). The ops are cached as
#: bitcode: a compile only links them into the graph's function (machine_code).
_OBJECT_CODE = frozenset({"numba_funcified_fgraph", *callbacks.SOURCES})

#: Set to "0" to keep ``compile_nutpie`` from forking a helper (e.g. where memory is tight).
COMPILE_PROCESS_VARIABLE = "MEDIAMIX_COMPILE_PROCESS"


class _NotCacheable(Exception):
    """The model or the installed versions do not fit the cached-callback path."""


def compile_nutpie(model: Any, *, reuse: bool = True) -> Any:
    """``nutpie.compile_pymc_model(model)`` tracing the unconstrained values, with its C callbacks and
    functions cached on disk when possible.

    The compiled model's trace holds each value variable (``sigma_log__``, ...) in the ``posterior``
    group: :func:`~mediamix.inference.traced_values.traced_posterior` maps it to the traced
    variables after sampling (see that module for why). The callbacks compute the same values as
    nutpie's own (same draws for the same seed); see the comment above for what is cached and how.
    With ``reuse``, a model compiled before (same structure; prior numbers and ``pm.Data`` values
    may differ) is rebuilt from its record instead (:mod:`mediamix.inference.compiled_models`),
    without the PyTensor functions ``logp_func``/``expand_func``; ``reuse=False`` always builds those.
    """
    import pytensor

    nutpie = import_nutpie()  # the first import of nutpie, wherever it happens: without ArviZ's plots

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
            compiled = _compile_nutpie_cached(model, reuse)
        except _NotCacheable:
            compiled = nutpie.compile_pymc_model(model, var_names=[])
    # Every value variable stays in the trace's posterior group (none is set aside as "reparameterized").
    return dataclasses.replace(compiled, reparameterized_names=[])


#: The steps of nutpie's numba compile that ``_NutpieCompile`` replaces (``uuid4`` names the shared slots;
#: ``_compute_shapes`` runs without PyTensor's C VM, see :mod:`mediamix.inference.python_vm`).
_STEPS = ("_make_functions", "make_user_data", "_make_c_logp_func", "_make_c_expand_func", "uuid4", "_compute_shapes")


def _compile_nutpie_cached(model: Any, reuse: bool) -> Any:
    import nutpie
    import nutpie.compile_pymc as ncp
    from numba.core.errors import TypingError
    from pytensor.configdefaults import config

    if not nutpie.__version__.startswith("0.16.") or not config.numba__cache or not all(hasattr(ncp, h) for h in _STEPS):
        raise _NotCacheable
    key = compiled_models.model_key(model, "".join(callbacks.SOURCES.values()) + KERNELS_VERSION) if reuse else None
    if key is not None:
        with _NUTPIE_PATCH_LOCK, rewrites_cached():  # the initial-point function still compiles
            found = compiled_models.load(model, key)
        if found is not None:
            return found
    with _NUTPIE_PATCH_LOCK, rewrites_cached(), _NutpieCompile(ncp) as steps:
        # nutpie passes extra keywords on to numba.cfunc: cache=True stores the callbacks
        # through PyTensor's cache locator, in PyTensor's compiledir (base_compiledir/numba).
        try:
            compiled = steps.run(functools.partial(nutpie.compile_pymc_model, model, cache=True))
        except TypingError as err:  # a callback's types differ from its function's (another numba)
            if "call_target" not in str(err):
                raise
            raise _NotCacheable from err
    if key is not None:
        compiled_models.store(key, compiled, steps.recorded)
    return compiled


class _HelperDone(Exception):
    """Raised in the compile helper once it has compiled ahead: its compile ends there."""


#: The longest this process waits for the helper to rewrite a graph (the logp function's takes 1-2 s).
_SHARED_REWRITE_WAIT = 30.0


class _NutpieCompile:
    """nutpie's ``compile_pymc_model`` steps, replaced for one compile (see the comment above).

    Used as a context manager: inside, nutpie's module calls these methods; on leaving, nutpie's own
    steps are back and a helper still running is killed.
    """

    def __init__(self, ncp: Any) -> None:
        self.ncp = ncp
        self.own = {name: getattr(ncp, name) for name in _STEPS}
        self.functions: tuple[Any, ...] | None = None  # what _make_functions returned
        #: name -> (callback key, C signature, sizes, target, source, shared slots read): what
        #: compiled_models.store keeps
        self.recorded: dict[str, tuple[Any, ...]] = {}
        self.helper: ForkedJob | None = None  # the compile helper, once forked
        self.helping: HelperSide | None = None  # in the compile helper: its side
        self.forked = False  # whether a helper was forked (or the fork failed)
        self.numbers = itertools.count()
        #: What ends with the compile: while a helper may run, both processes save to numba's cache
        #: under a lock (cache_saves); numba makes machine code on demand (machine_code).
        self.locked = contextlib.ExitStack()

    def __enter__(self) -> _NutpieCompile:
        import pymc.initial_point

        replaced = {"_make_functions": self.make_functions, "make_user_data": self.make_user_data,
                    "_make_c_logp_func": self.logp_callback, "_make_c_expand_func": self.expand_callback,
                    "uuid4": self.shared_key,
                    "_compute_shapes": without_c_vm_when_called(self.compute_shapes)}  # python_vm
        for name, step in replaced.items():
            setattr(self.ncp, name, step)
        # nutpie imports PyMC's make_initial_point_fn when it compiles: the module's own is replaced meanwhile.
        self.initial_point = pymc.initial_point, pymc.initial_point.make_initial_point_fn
        pymc.initial_point.make_initial_point_fn = self.make_initial_point_fn
        self.initial_point_fn: _InitialPointLater | None = None  # the sampler's, asked for first
        self.thread = threading.get_ident()  # the compiling thread: the one whose groundwork it joins
        # Machine code only for the functions that run on their own or are cached (machine_code).
        self.locked.enter_context(machine_code_on_demand(object_code_for=_OBJECT_CODE))
        # Without numba's LLVM-lock events and idle context refreshes (compiler_bookkeeping).
        self.locked.enter_context(lean_compiles())
        # Each elemwise kernel one numba function, its one-line scalar operations inline (scalar_kernels).
        self.locked.enter_context(kernels_inline())
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if exc[0] is None and self.initial_point_fn is not None:  # not made as groundwork: made now
                self.initial_point_fn.make()  # its error (e.g. a bad initval) is raised here
        finally:
            for name, step in self.own.items():
                setattr(self.ncp, name, step)
            module, function = self.initial_point
            module.make_initial_point_fn = function
            if self.helper is not None:
                self.helper.kill()
            self.locked.close()

    def run(self, compile_model: Callable[[], Any]) -> Any:
        """``compile_model()`` (nutpie's compile, with these steps); in a compile helper forked on the
        way (:meth:`_fork_helper`), the helper's part of it, after which the helper ends here."""
        ok = False
        try:
            return compile_model()
        except _HelperDone:
            ok = self.helping is not None
            raise
        finally:
            if self.helping is not None:  # the helper ends here, whatever happened: never beyond its compile
                self.helping.end(ok)

    def _fork_helper(self) -> None:
        """Fork the compile helper, once per compile, if one may be forked now (else at the next
        point: the next large graph to rewrite, or :meth:`make_user_data`). The helper goes on with
        the same compile from here, up to where it compiles ahead; see the comment above."""
        if self.forked or os.environ.get(COMPILE_PROCESS_VARIABLE, "1") == "0" or not may_fork():
            return
        self.forked = True
        self.locked.enter_context(cache_saves.saves_locked())  # before the fork: the helper's saves lock too
        try:
            forked = fork_here()
        except OSError:  # out of processes or memory: compile here alone
            return
        if isinstance(forked, HelperSide):
            self.helping = forked
        else:
            self.helper = forked

    def share_rewrite(self, file: Path) -> bool:
        """The rewriting of a large graph (:func:`~mediamix.inference.rewrite_cache.rewrites_shared`):
        the first is where the compile helper is forked, and it rewrites them (and stores them in
        ``file``) while this process lays the groundwork (:func:`~mediamix.helper_processes.lay_groundwork`);
        True once the helper has stored the graph, False to rewrite it here (no helper, or in the
        helper, or the helper ended or took too long)."""
        if not self.forked and not _writable(file.parent):  # the helper could not store it: fork later
            return False
        self._fork_helper()
        if self.helper is None:
            return False
        lay_groundwork()
        deadline = time.monotonic() + _SHARED_REWRITE_WAIT
        while not file.exists():
            if self.helper.ended() or time.monotonic() > deadline:  # failed or stuck: compile here alone
                self.helper.kill()
                self.helper = None
                return False
            time.sleep(0.002)
        return True

    def make_initial_point_fn(self, *args: Any, **kwargs: Any) -> Any:
        """PyMC's initial-point function (compiled without PyTensor's C VM, see python_vm); the
        sampler's, asked for first, is made later (:class:`_InitialPointLater`).

        Its graph is not shared with the compile helper, which does not make it (:func:`rewrites_shared`).
        """
        make = rewrites_shared(None)(without_c_vm_when_called(self.initial_point[1]))
        if self.initial_point_fn is not None or not kwargs.get("return_transformed") \
                or threading.get_ident() != self.thread:  # (PyMC's function is replaced for every thread)
            return make(*args, **kwargs)
        self.initial_point_fn = _InitialPointLater(functools.partial(make, *args, **kwargs))
        # Made while a compile helper works, if one is forked (helper_processes.groundwork); else when
        # the compile ends, or when first called.
        self.locked.enter_context(groundwork(self.initial_point_fn.make))
        return self.initial_point_fn

    def compute_shapes(self, model: Any) -> Any:
        """nutpie's shape measuring: read off the model's dims where they give every shape
        (:mod:`mediamix.inference.variable_shapes`), so that the initial-point function can be made
        later; else measured at the point of the initial-point function made for sampling.

        nutpie makes a second initial-point function (~0.15-0.3 s of a cold compile) only to have a
        point of the right shapes; the sampler's own gives one (its jitter changes the values, not
        the shapes).
        """
        import pymc.initial_point

        shapes = shapes_from_dims(model)
        if shapes is not None:
            return shapes
        first = self.initial_point_fn
        if first is None:
            return self.own["_compute_shapes"](model)
        make = pymc.initial_point.make_initial_point_fn

        def reuse(*args: Any, **kwargs: Any) -> Any:
            if not args and kwargs.keys() == {"model", "return_transformed"} and kwargs["model"] is model \
                    and kwargs["return_transformed"] is True:
                return first
            return make(*args, **kwargs)

        pymc.initial_point.make_initial_point_fn = reuse
        try:
            return self.own["_compute_shapes"](model)
        finally:
            pymc.initial_point.make_initial_point_fn = make

    def make_functions(self, *args: Any, **kwargs: Any) -> Any:
        # var_names=[]: the expand function returns the unconstrained values only (no free variable on
        # its own scale, no Deterministic): mediamix.inference.traced_values maps the draws afterwards.
        # The compile helper is forked at the first large graph to rewrite (the logp function's) and
        # rewrites it, while this process lays groundwork (see the comment above).
        with rewrites_shared(self.share_rewrite):
            self.functions = self.own["_make_functions"](*args, **{**kwargs, "var_names": []})
        return self.functions

    def shared_key(self) -> Any:
        """A slot name for the next shared value: nutpie visits them in graph order."""
        return types.SimpleNamespace(hex=f"shared_{next(self.numbers)}")

    def make_user_data(self, shared_var_keys: dict[Any, str], shared_data: dict[str, Any]) -> Any:
        user_data = callbacks.with_target_slots(self.own["make_user_data"](shared_var_keys, shared_data))
        if self.functions is not None:
            self._fork_helper()  # unless forked already (no large graph to rewrite: all of them cached)
        if self.helping is not None:  # in the helper: compile ahead, and end the helper's compile here
            if self.functions is not None:
                self._compile_ahead(shared_var_keys, shared_data, user_data)
            raise _HelperDone
        if self.helper is not None:
            # What this process would do on one CPU later anyway (e.g. import ArviZ's statistics for
            # the diagnostics) and has not done yet, it does now: the helper compiles more of the ops
            # meanwhile (helper_processes).
            lay_groundwork()
        return user_data

    def logp_callback(self, n_dim: int, logp_fn: Any, user_data: Any, shared_keys: list[str],
                      shared_data: dict[str, Any]) -> tuple[Any, Any]:
        _, c_sig = self.own["_make_c_logp_func"](n_dim, logp_fn, user_data, shared_keys, shared_data)
        return self._callback("nutpie_logp", logp_fn, c_sig, user_data, shared_keys, shared_data, n_dim=n_dim), c_sig

    def expand_callback(self, n_dim: int, n_expanded: int, expand_fn: Any, user_data: Any, shared_keys: list[str],
                        shared_data: dict[str, Any]) -> tuple[Any, Any]:
        _, c_sig = self.own["_make_c_expand_func"](n_dim, n_expanded, expand_fn, user_data, shared_keys, shared_data)
        function = self._callback("nutpie_expand", expand_fn, c_sig, user_data, shared_keys, shared_data,
                                  n_dim=n_dim, n_expanded=n_expanded)
        return function, c_sig

    def _callback(self, name: str, jit_fn: Any, c_sig: Any, user_data: Any, shared_keys: list[str],
                  shared_data: dict[str, Any], **sizes: int) -> Any:
        """Compile (or load) the callback's target, put its address into ``user_data``, and return the
        callback's function (nutpie compiles it with ``numba.cfunc(c_sig, cache=True)``)."""
        try:
            target, globals_ = callbacks.describe_target(jit_fn, callbacks.argument_types(shared_data, shared_keys))
        except LookupError:
            raise _NotCacheable from None
        target, dispatcher = callbacks.compile_target(target, globals_)
        if self.helper is not None and name == "nutpie_logp":  # the helper compiles the callbacks: wait, then load them
            # Told that this process is done, it stops compiling ops (all compiled or loaded here by
            # now) and compiles the expand function and both callbacks, if it has not yet. A helper
            # stuck for half a minute costs less than waiting on.
            self.helper.tell_done()
            self.helper.wait(timeout=30)
            self.helper.kill()
            self.helper = None
        try:  # no code at the address, or a user_data layout without 64-bit words: nutpie's own path
            user_data[callbacks.TARGET_SLOTS[name]] = callbacks.address(dispatcher, target.argtypes)
            function, key, src = callbacks.callback_function(name, target, shared_data, shared_keys, user_data.dtype,
                                                             sizes)
        except LookupError:
            raise _NotCacheable from None
        self.recorded[name] = (key, c_sig, sizes, target, src, list(shared_keys))
        return function

    def _compile_ahead(self, shared_var_keys: dict[Any, str], shared_data: dict[str, Any], user_data: Any) -> None:
        """In the helper: compile logp's ops from the last one back, then the expand function and both
        callbacks (see the comment above)."""
        import numba

        assert self.functions is not None
        n_dim, n_expanded, logp_pt, expand_pt = self.functions[:4]
        logp_keys = [shared_var_keys[v] for v in logp_pt.get_shared()]
        expand_keys = [shared_var_keys[v] for v in expand_pt.get_shared()]
        saving = cache_saves.save_only()
        logp_target, logp_globals = callbacks.describe_target(logp_pt.vm.jit_fn,
                                                              callbacks.argument_types(shared_data, logp_keys))
        # Which ops the logp function calls, with which types, read off the graph (op_signatures);
        # with them this process compiles those ops from the last one back, until this process
        # (compiling them from the first one on) is done with the logp function and says so.
        calls = _graph_calls(logp_pt, logp_target, logp_globals)
        if calls is None:  # not the graph's function line for line (another PyTensor): numba's type inference
            prober = ForkedJob(functools.partial(_find_ops, logp_target, logp_globals))
            try:  # until this process is done with the logp function
                found = prober.wait(timeout=120, until=parent_is_done)
            finally:
                prober.kill()
            calls = None if found is None else pickle.loads(found)  # noqa: S301 - our own child's
        if calls is not None:
            _compile_ops_from_the_end(calls, logp_globals, saving)
        # Then the expand function and both callbacks (what this process waits for, once done with
        # the logp function): the callbacks for the return types their functions most likely have
        # (C arrays), as they need the types only.
        expand_target, globals_ = callbacks.describe_target(expand_pt.vm.jit_fn,
                                                            callbacks.argument_types(shared_data, expand_keys))
        saving.add(expand_target.key)
        callbacks.compile_target(expand_target, globals_)
        for name, pt_function, target, keys, sizes, make in (
                ("nutpie_logp", logp_pt, logp_target, logp_keys, {"n_dim": n_dim}, "_make_c_logp_func"),
                ("nutpie_expand", expand_pt, expand_target, expand_keys,
                 {"n_dim": n_dim, "n_expanded": n_expanded}, "_make_c_expand_func")):
            _, c_sig = self.own[make](*sizes.values(), pt_function.vm.jit_fn, user_data, keys, shared_data)
            guess = callbacks.guess_result_type(pt_function.maker.fgraph.outputs)
            function, key, _ = callbacks.callback_function(name, dataclasses.replace(target, restype=guess),
                                                           shared_data, keys, user_data.dtype, sizes)
            saving.add(key)
            numba.cfunc(c_sig, cache=True)(function)


def _writable(folder: Path) -> bool:
    """Whether files can be written to ``folder`` (made if missing)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(folder, os.W_OK)


class _InitialPointLater:
    """PyMC's initial-point function for the sampler, made when :meth:`make` is first called (or
    the function itself).

    nutpie asks for it first thing in a compile, ~0.3-0.4 s of work on one CPU before the compile
    helper can start (demo, cold). With the shapes read off the dims, nothing needs it before
    sampling: made as groundwork once the helper is forked (while it rewrites the logp graph, or
    compiles ops), the compile does not wait for it on one CPU.
    """

    # No instance __dict__: nutpie wraps the function with functools.wraps, which copies one (and
    # with it a reference to the model through the maker) into its wrapper.
    __slots__ = ("_contexts", "_function", "_lock", "_make")

    def __init__(self, make: Callable[[], Callable[..., Any]]) -> None:
        from pymc.model.core import MODEL_MANAGER

        self._make: Callable[[], Callable[..., Any]] | None = make
        self._function: Callable[..., Any] | None = None
        self._lock = threading.Lock()
        # The model contexts it was asked for in: made as groundwork, it may be made inside nutpie's
        # ``with model:``, and PyMC compiles a function inside a model's context with that model's
        # ``check_bounds``.
        self._contexts = list(MODEL_MANAGER.active_contexts)

    def make(self) -> Callable[..., Any]:
        """The function, made now if it is not yet."""
        from pymc.model.core import MODEL_MANAGER

        with self._lock:
            if self._function is None:
                assert self._make is not None
                contexts, MODEL_MANAGER.active_contexts = MODEL_MANAGER.active_contexts, list(self._contexts)
                try:
                    self._function = self._make()
                finally:
                    MODEL_MANAGER.active_contexts = contexts
                self._make = None
                self._contexts = []
            return self._function

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.make()(*args, **kwargs)


def _graph_calls(function: Any, target: Any, globals_: dict[str, Any]) -> list[tuple[str, tuple[Any, ...]]] | None:
    """The ops ``target`` (PyTensor ``function``'s graph function) calls and their argument types,
    read off its graph (:func:`mediamix.inference.op_signatures.graph_calls`); None if it cannot be."""
    from mediamix.inference.op_signatures import graph_calls

    fgraph = function.maker.fgraph
    schedule = getattr(function.maker.linker, "schedule", None)
    if schedule is None:
        return None
    return graph_calls(fgraph, schedule(fgraph), target.src, globals_, target.argtypes)


def _find_ops(target: Any, globals_: dict[str, Any], report: Callable[[bytes], None]) -> None:
    """In a process of its own: report the ops ``target`` calls (their names in ``globals_``) and
    the argument types of each call, pickled (:func:`mediamix.inference.typing_probe.direct_calls`)."""
    from mediamix.inference.typing_probe import direct_calls

    names = {id(value): name for name, value in globals_.items()}
    calls = direct_calls(callbacks.target_dispatcher(target, globals_), target.argtypes)
    report(pickle.dumps([(names[id(op)], args) for op, args in calls if id(op) in names]))


def _compile_ops_from_the_end(calls: list[tuple[str, tuple[Any, ...]]], globals_: dict[str, Any],
                              saving: set[str]) -> None:
    """In the helper: compile the logp function's ops from the last one back, saving each to numba's
    cache, while the other process compiles them from the first one on (and loads what is saved).
    An op found in the cache (the other process compiled it first) is skipped: numba's type
    inference does not meet the ops strictly in order."""
    from pytensor.link.numba.cache import CACHED_SRC_FUNCTIONS

    for name, args in reversed(calls):
        if parent_is_done():  # it has compiled (or loaded) every op: the callbacks are what it waits for
            return
        op = globals_[name]
        key = CACHED_SRC_FUNCTIONS.get(getattr(op, "py_func", None))
        if key is None:  # not cached: nothing to hand over
            continue
        saving.add(key)
        op.compile(args)  # saved under the cache folder's lock (cache_saves.saves_locked)


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


def get_sampler(name: str, *, mass_matrix: MassMatrix = "diagonal") -> Sampler:
    """The sampler registered as ``name`` (``"nutpie"``, ``"pymc"`` or ``"numpyro"``).

    ``mass_matrix`` is nutpie's (:class:`NutpieSampler`); PyMC's and NumPyro's NUTS adapt a
    diagonal one only (a config that asks them for ``"low_rank"`` does not validate).
    """
    try:
        kind = SAMPLERS[name]
    except KeyError:
        raise SamplingError(f"Unknown sampler '{name}'. Expected one of: {', '.join(SAMPLERS)}.") from None
    return NutpieSampler(mass_matrix=mass_matrix) if kind is NutpieSampler else kind()
