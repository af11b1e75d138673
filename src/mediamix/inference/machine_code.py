"""numba's machine code made when it is first needed, not for every function it compiles.

numba compiles each function into a code library and makes the library's machine code as soon as
its IR is final. Most of the functions behind a PyTensor graph never run on their own: an op's
implementation, its scalar kernels and numba's own array helpers are linked, as IR, into the
function that calls them, and optimized and compiled to machine code again there. Their own
machine code is made and never used. In a one-process cold fit of the demo, 218 libraries wait
here and 142 of them never make machine code; the fit takes 10.85 s instead of 12.21 s (medians
of 3 alternating pairs), with the same draws bit for bit.

Inside :func:`machine_code_on_demand`, a library finalized by numba keeps its optimized IR and
makes its machine code only when something asks for it:

- the address of a function it defines (``get_pointer_to_function``: a caller through an address,
  a C callback, a Python wrapper);
- its object code (numba's cache saves it) or its assembly.

Linking it into a caller needs only its IR, as before. Libraries that numba loads from its cache
(their machine code is there already), numba's runtime library (NRT), and those with dynamic
globals or references left for the run-time linker (recursion), are finalized as numba does. numba
points each function's environment global at its environment right after compiling it; for a
library without machine code yet that waits until a library defining the global has machine code,
made here or loaded from the cache (the global comes along with the IR into every caller, and the
run-time loader resolves each caller's copy to the first one loaded). Machine code is made under
numba's compiler lock.

numba's cache saves a function as object code, so saving it makes its machine code. With
``object_code_for`` (:func:`machine_code_on_demand`), only the functions of those names are saved
so; the others still waiting are saved as bitcode (numba's other format, which it loads too): in a
cold compile of the demo the ops' saves took 0.85-0.91 s of this process's time before, and a
later compile only links them into a caller. Loaded inside the block a bitcode function waits
like any other; outside it, numba makes its machine code when it loads it.

A caller links a waiting library's IR as the optimizer left it, where numba links the IR after its
machine-code passes have also run over it, so the caller's machine code may differ from numba's
own; the tests' draws are the same bit for bit. A review found two faults of a first version,
both now tested: numba's runtime library could wait, and a mutually recursive pair compiled later
then crashed the process; and an environment whose only definition came from the cache (a caller
a forked helper had saved) stayed unset.

A thin wrapper is not optimized on its own either. PyTensor wraps each op's numba function in
another one so that numba's cache can find it (``def op(*args): return jitable_func(*args)``), and
LLVM's module passes then run over the wrapper's module, which holds the op's whole code linked in,
already optimized in the op's own library and optimized again in the graph's function that links
the wrapper: ~0.6 CPU-s of the demo's cold compile for nothing the final code keeps. Inside the
block, a library with one small function (at most :data:`THIN_INSTRUCTIONS` LLVM instructions of its
own) at the top level of its module (no ``<locals>`` in its name: a function compiled from source,
as the wrappers and PyTensor's generated functions are), which links other libraries and is not
among ``object_code_for`` (its machine code is what runs), skips LLVM's module passes; its function
passes still run. Measured on the demo (``benchmarks/compile_pairs.py``, one-process cold compile,
4 pairs): 12.82 -> 11.93 s (ratio 0.931, 4 of 4 faster; again 12.00 vs 15.31 s, 3 of 4), the same
draws; each gradient as fast (21.2-21.6 us both, the C callback called directly; 233-236 vs 235-240
us at 520 weeks x 20 channels).

With ``object_code_for``, nothing but the functions that run is optimized on its own. An op's
implementation, its kernels and numba's array helpers are linked, as IR, into the functions in
``object_code_for`` (the graph's functions, nutpie's callbacks), and LLVM optimizes them there
again with everything around them; their own module passes (0.8 CPU-s of the demo's one-process
cold compile on the later sessions' machine) only made the IR that the caller optimizes once more.
Inside the block, such a library skips its module passes when it may wait for its machine code (its
function passes still run); if its own machine code is ever asked for, they run first. With the
ops' code unoptimized, the caller's full module pass at numba's level 1 (the console script's)
left each gradient 14-20% slower (a session of 2026-11-30, measured and left out), so the functions
in ``object_code_for`` get it at level :data:`RUN_LEVEL` (3) instead, unless numba's level is 0 or
"max": each gradient ~7% faster than with both passes at level 1, and the draws the same bit for
bit (no fast-math flags: LLVM may not reorder floating-point arithmetic at any level). Measured on
the demo, the later sessions' machine in a slow phase: one-process cold compile
(``benchmarks/compile_pairs.py``, 6 pairs) 23.45 -> 22.73 s (ratio 0.969, 6 of 6 faster), the same
draws; the graph functions' module passes 0.6-0.75 -> 0.78-0.94 CPU-s; per logp and gradient
36.9 -> 34.2 us (medians of 6 pairs run side by side, 5 of 6 faster); a cold ``mediamix fit`` to
summary.json 17.86 -> 16.85 s (8 alternating pairs, 7 faster, with the compile helper), a warm one
and one with new data of the same shape as before within the noise (8 and 11 pairs; new data
puts the graph function's longer pass on one CPU). The bitcode numba's cache keeps of these
libraries is unoptimized: a later compile outside the block that links them (PyMC's own sampler,
the approximations) optimizes them in its caller at numba's level.

The replaced methods stay in place once installed: outside the block they treat a library exactly
as numba does, and the libraries still waiting keep working after the block. Only numba versions
whose internals were checked are changed (:data:`CHECKED_NUMBA`); with others the block changes
nothing.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Iterator
from typing import Any

__all__ = ["CHECKED_NUMBA", "RUN_LEVEL", "THIN_INSTRUCTIONS", "deferred_count", "linked_only_count",
           "machine_code_on_demand", "thin_count"]

#: numba versions (major, minor) whose code-library internals this module was checked against.
CHECKED_NUMBA = ((0, 68),)

#: LLVM's level for the full module pass over a function in ``object_code_for`` (what runs), whose
#: module holds the code of every op it links, left unoptimized at their own compile.
RUN_LEVEL = 3

#: The most LLVM instructions of its own a thin wrapper's library has (PyTensor's cache wrappers: 11-61
#: on the demo; an op's own implementation has more, or a ``<locals>`` name).
THIN_INSTRUCTIONS = 64

_state = threading.local()  # deferring: whether libraries finalized now wait for their machine code
_lock = threading.Lock()
_installed = False
_pending_envs: dict[str, Any] = {}  # environment global name -> environment, until a module defines it
_deferred = 0  # libraries that waited (for tests and measurements)
_thin = 0  # thin wrappers whose module passes were skipped (for tests and measurements)
_linked = 0  # linked-only libraries whose module passes were left to their callers (likewise)


def deferred_count() -> int:
    """How many code libraries have waited for their machine code in this process so far."""
    return _deferred


def thin_count() -> int:
    """How many thin wrappers' libraries skipped LLVM's module passes in this process so far."""
    return _thin


def linked_only_count() -> int:
    """How many linked-only libraries left LLVM's module passes to their callers in this process so far."""
    return _linked


@contextlib.contextmanager
def machine_code_on_demand(object_code_for: frozenset[str] | None = None) -> Iterator[None]:
    """Inside, libraries numba finalizes make their machine code when first needed (see the module
    docstring); with a numba version not in :data:`CHECKED_NUMBA`, nothing changes.

    ``object_code_for``: when given, numba's cache keeps object code only for the functions of
    these names, and bitcode for the others that have no machine code yet (no machine code made
    to save them; loaded, they are linked as IR into a caller).
    """
    if not _install():
        yield
        return
    before = getattr(_state, "deferring", False), getattr(_state, "object_code_for", None)
    _state.deferring, _state.object_code_for = True, object_code_for
    try:
        yield
    finally:
        _state.deferring, _state.object_code_for = before


def _supported() -> bool:
    import numba
    from numba.core import codegen

    version = tuple(int(part) for part in numba.__version__.split(".")[:2])
    library = codegen.CPUCodeLibrary
    return (version in CHECKED_NUMBA
            and all(hasattr(library, name) for name in ("finalize", "_optimize_final_module",
                                                         "_finalize_final_module", "_finalize_dynamic_globals",
                                                         "_verify_declare_only_symbols", "_get_compiled_object",
                                                         "get_asm_str", "_ensure_finalized", "_unserialize"))
            and hasattr(getattr(codegen, "RuntimeLinker", None), "PREFIX")
            and all(hasattr(codegen.JITCodeLibrary, name) for name in ("get_pointer_to_function", "_finalize_specific"))
            and hasattr(codegen.JITCPUCodegen, "_module_pass_manager")
            and hasattr(codegen.JITCPUCodegen, "set_env"))


def _install() -> bool:
    """Replace numba's methods (once per process); whether they are replaced."""
    global _installed
    with _lock:
        if _installed:
            return True
        if not _supported():
            return False
        from numba.core import codegen, config
        from numba.core.compiler_lock import global_compiler_lock
        from numba.core.registry import cpu_target

        # numba's runtime library (NRT) is compiled with the first target context: let that happen
        # here, as numba does, so that it never waits (found in review: numba's run-time linker
        # asks it for an address in the middle of another library's finalization).
        cpu_target.target_context  # noqa: B018 - creating it compiles NRT
        library_class = codegen.CPUCodeLibrary
        own_finalize = library_class._finalize_final_module
        own_pointer = codegen.JITCodeLibrary.get_pointer_to_function
        own_object = library_class._get_compiled_object
        own_asm = library_class.get_asm_str
        own_set_env = codegen.JITCPUCodegen.set_env
        own_unserialize = library_class._unserialize.__func__
        own_serialize = library_class.serialize_using_object_code

        def finalize_final_module(self: Any) -> None:
            if not getattr(_state, "deferring", False) or not _may_wait(self):
                own_finalize(self)
                _set_waiting_envs(self._codegen)
                return
            global _deferred
            self._finalize_dynamic_globals()
            self._verify_declare_only_symbols()
            # numba's own finalization names this attribute from inside the class: mangled
            self._final_module._CPUCodeLibrary__library = weakref.proxy(self)
            self._finalized = True
            self._mediamix_waiting = True
            _deferred += 1

        def get_pointer_to_function(self: Any, name: str) -> int:
            self._ensure_finalized()  # numba's finalizes here: the library may start waiting only now
            if getattr(self, "_mediamix_waiting", False) and _defines(self, name):
                _make_machine_code(self)
            return own_pointer(self, name)

        def get_compiled_object(self: Any) -> Any:
            self._ensure_finalized()
            _make_machine_code(self)
            return own_object(self)

        def get_asm_str(self: Any) -> str:
            self._ensure_finalized()
            _make_machine_code(self)
            return own_asm(self)

        def set_env(self: Any, env_name: str, env: Any) -> None:
            with global_compiler_lock:
                if self._engine.is_symbol_defined(env_name):
                    own_set_env(self, env_name, env)
                else:  # its module has no machine code yet: set once a module defining it has
                    _pending_envs[env_name] = env

        def serialize_using_object_code(self: Any) -> Any:
            keep = getattr(_state, "object_code_for", None)
            if keep is not None and getattr(self, "_mediamix_waiting", False) and self.name not in keep:
                return self.serialize_using_bitcode()
            return own_serialize(self)

        def unserialize(cls: Any, codegen_: Any, state: Any) -> Any:
            # A library from numba's cache may define a waiting environment global: numba registers
            # its symbols only at the end of this (found in review).
            library = own_unserialize(cls, codegen_, state)
            _set_waiting_envs(codegen_)
            return library

        def _make_machine_code(library: Any) -> None:
            # Under numba's compiler lock: some callers ask for an address outside a compile (found
            # in review), and adding a module to the engine is not safe from two threads.
            with global_compiler_lock:
                if not getattr(library, "_mediamix_waiting", False):
                    return
                library._mediamix_waiting = False
                if getattr(library, "_mediamix_unoptimized", False):  # a linked-only library run on its own
                    library._mediamix_unoptimized = False
                    own_optimize(library)
                codegen_ = library._codegen
                cleanup = codegen_._add_module(library._final_module)
                if cleanup:
                    weakref.finalize(library, cleanup)
                library._finalize_specific()
                _set_waiting_envs(codegen_)

        def _set_waiting_envs(codegen_: Any) -> None:
            with global_compiler_lock:
                for env_name in [n for n in _pending_envs if codegen_._engine.is_symbol_defined(n)]:
                    own_set_env(codegen_, env_name, _pending_envs.pop(env_name))

        own_library_finalize = library_class.finalize
        own_optimize = library_class._optimize_final_module

        def library_finalize(self: Any) -> None:
            # Before numba links the libraries in: the module holds this library's own code only.
            deferring = getattr(_state, "deferring", False)
            keep = getattr(_state, "object_code_for", None)
            self._mediamix_thin = (deferring and bool(self._linking_libraries)
                                   and "." not in self.name and self.name not in (keep or ())
                                   and _one_small_function(self._final_module))
            self._mediamix_runs = deferring and keep is not None and self.name in keep
            self._mediamix_linked = deferring and keep is not None and self.name not in keep
            own_library_finalize(self)

        def optimize_final_module(self: Any) -> None:
            global _thin, _linked
            if getattr(self, "_mediamix_thin", False):
                _thin += 1
                return
            if getattr(self, "_mediamix_linked", False) and _may_wait(self):
                # Optimized where it is linked in; here only if its own machine code is asked for.
                self._mediamix_unoptimized = True
                _linked += 1
                return
            if getattr(self, "_mediamix_runs", False) and config.OPT != 0 and not config.OPT.is_opt_max:
                _optimize_to_run(self)
                return
            own_optimize(self)

        library_class.finalize = library_finalize
        library_class._optimize_final_module = optimize_final_module
        library_class._finalize_final_module = finalize_final_module
        codegen.JITCodeLibrary.get_pointer_to_function = get_pointer_to_function
        library_class._get_compiled_object = get_compiled_object
        library_class.get_asm_str = get_asm_str
        codegen.JITCPUCodegen.set_env = set_env
        library_class._unserialize = classmethod(unserialize)
        library_class.serialize_using_object_code = serialize_using_object_code
        _installed = True
        return True


def _optimize_to_run(library: Any) -> None:
    """LLVM's module passes over ``library``'s final module as numba runs them (a cheap pass for its
    reference-count pruning, then the full one), the full one at :data:`RUN_LEVEL`."""
    from numba.core import config

    codegen_ = library._codegen
    cheap, cheap_builder = codegen_._module_pass_manager(loop_vectorize=codegen_._loopvect, slp_vectorize=False,
                                                         opt=codegen_._opt_level, cost="cheap")
    full, full_builder = codegen_._module_pass_manager(opt=RUN_LEVEL)
    library._mediamix_level = RUN_LEVEL
    cheap.run(library._final_module, cheap_builder)
    if not config.LLVM_REFPRUNE_PASS:  # numba's older pruning, as numba runs it
        from numba.core.runtime.nrtopt import remove_redundant_nrt_refct

        library._final_module = remove_redundant_nrt_refct(library._final_module)
    full.run(library._final_module, full_builder)


def _may_wait(library: Any) -> bool:
    """Whether ``library`` may wait for its machine code: not one loaded from numba's cache (its
    object code is there), and none with dynamic globals or run-time linker references."""
    if getattr(library, "_object_caching_enabled", False) and getattr(library, "_compiled_object", None) is not None:
        return False
    if library.name == "nrt":  # numba's runtime: see _install
        return False
    prefix = library._codegen._rtlinker.PREFIX
    return not any(gv.name.startswith(("numba.dynamic.globals", prefix)) for gv in library._final_module.global_variables)


def _defines(library: Any, name: str) -> bool:
    """Whether ``library``'s module defines the function ``name`` (not only declares it)."""
    try:
        function = library._final_module.get_function(name)
    except NameError:
        return False
    return not function.is_declaration


def _one_small_function(module: Any) -> bool:
    """Whether ``module`` defines exactly one function, of at most :data:`THIN_INSTRUCTIONS` instructions."""
    defined = instructions = 0
    for function in module.functions:
        if function.is_declaration:
            continue
        defined += 1
        if defined > 1:
            return False
        for block in function.blocks:
            for _ in block.instructions:
                instructions += 1
                if instructions > THIN_INSTRUCTIONS:
                    return False
    return defined == 1
