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

The replaced methods stay in place once installed: they treat a library that is not waiting for
its machine code exactly as numba does, and the libraries still waiting keep working after the
block. Only numba versions whose internals were checked are changed (:data:`CHECKED_NUMBA`);
with others the block changes nothing.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Iterator
from typing import Any

__all__ = ["CHECKED_NUMBA", "THIN_INSTRUCTIONS", "deferred_count", "machine_code_on_demand", "thin_count"]

#: numba versions (major, minor) whose code-library internals this module was checked against.
CHECKED_NUMBA = ((0, 68),)

#: The most LLVM instructions of its own a thin wrapper's library has (PyTensor's cache wrappers: 11-61
#: on the demo; an op's own implementation has more, or a ``<locals>`` name).
THIN_INSTRUCTIONS = 64

_state = threading.local()  # deferring: whether libraries finalized now wait for their machine code
_lock = threading.Lock()
_installed = False
_pending_envs: dict[str, Any] = {}  # environment global name -> environment, until a module defines it
_deferred = 0  # libraries that waited (for tests and measurements)
_thin = 0  # thin wrappers whose module passes were skipped (for tests and measurements)


def deferred_count() -> int:
    """How many code libraries have waited for their machine code in this process so far."""
    return _deferred


def thin_count() -> int:
    """How many thin wrappers' libraries skipped LLVM's module passes in this process so far."""
    return _thin


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
            and hasattr(codegen.JITCPUCodegen, "set_env"))


def _install() -> bool:
    """Replace numba's methods (once per process); whether they are replaced."""
    global _installed
    with _lock:
        if _installed:
            return True
        if not _supported():
            return False
        from numba.core import codegen
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
            keep = getattr(_state, "object_code_for", None) or frozenset()
            self._mediamix_thin = (getattr(_state, "deferring", False) and bool(self._linking_libraries)
                                   and "." not in self.name and self.name not in keep
                                   and _one_small_function(self._final_module))
            own_library_finalize(self)

        def optimize_final_module(self: Any) -> None:
            global _thin
            if getattr(self, "_mediamix_thin", False):
                _thin += 1
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
