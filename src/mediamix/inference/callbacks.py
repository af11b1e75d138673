"""nutpie's two C callbacks, calling the model's compiled functions through an address.

nutpie samples through two C callbacks (``numba.cfunc``): ``logp`` (log density and gradient at a
point) and ``expand`` (what the trace holds at a point: in mediamix the unconstrained values
themselves, see :mod:`mediamix.inference.traced_values`). Each wraps a function PyTensor compiles
with numba, its *target*. nutpie's own callbacks call the target directly, so numba links the
target's code into the callback and optimizes and emits all of it a second time: on the demo model
(cold caches, 2-CPU machine) 1.8 s of the logp callback's 10.1 s, plus 0.7 s for PyTensor's
wrapper around its function that does the same once more.

Here each callback calls its target through an address it reads, at every call, from nutpie's
``user_data`` record (:func:`with_target_slots` adds the two fields). So

- each target is compiled once, alone, and cached on disk under a key of its own (:func:`compile_target`);
- a callback's code depends only on what it passes on (the sizes, which shared values it reads and
  where they sit in ``user_data``, their dtypes, the target's argument and return types), not on
  the model's graph: it is cached under those and reused by every model that passes on the same,
  e.g. the same model on new data (:func:`callback_source`, :func:`callback_key`);
- targets and callbacks can be compiled in two processes at once (:mod:`mediamix.inference.samplers`).

The call itself follows numba's own calling convention (numba's ``call_conv.call_function``, as when
one numba function calls another); a target that raises makes the callback return an error code,
as nutpie's do. The log density and gradient are nutpie's own callback's, bit for bit: the same
seed gives the same unconstrained draws (``tests/inference/test_nutpie_cache.py``).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from dataclasses import dataclass
from typing import Any

__all__ = [
    "SOURCES", "TARGET_SLOTS", "Target", "address", "argument_types", "callback_function", "callback_key",
    "compile_target", "describe_target", "guess_result_type", "load_callback", "load_target", "target_dispatcher",
    "with_target_slots",
]

#: The fields :func:`with_target_slots` adds to nutpie's ``user_data``: each callback's target address.
TARGET_SLOTS = {"nutpie_logp": "logp_target", "nutpie_expand": "expand_target"}

# The callbacks' source, completed per model by :func:`callback_source`: ``user_data`` is read as
# 64-bit words (nutpie's pointers, sizes and shapes of the shared values, then the targets'
# addresses); ``{read_shared}`` reads each shared value the target takes, ``{shared}`` names them,
# ``{n_words}`` and ``{target_word}`` place the record. Written out rather
# than through nutpie's generic extraction (``literal_unroll`` over a nested record type), whose
# typing took 0.85 s of the demo's 1.05 s logp callback compile.
_LOGP_SRC = """
def nutpie_logp(dim, x_, out_, logp_, user_data_):
    if dim != n_dim:
        return -1
    try:
        x = numba.carray(x_, (n_dim,))
        out = numba.carray(out_, (n_dim,))
        logp = numba.carray(logp_, ())
        words = numba.carray(user_data_, ({n_words},), np.uint64)
        target = words[{target_word}]
        if target == 0:
            return 2
{read_shared}        ok, result = call_target(target, x, ({shared}))
        if not ok:
            return 1
        logp_val, grad = result
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

_EXPAND_SRC = """
def nutpie_expand(dim, expanded, x_, out_, user_data_):
    if dim != n_dim:
        return -1
    if expanded != n_expanded:
        return -1
    try:
        x = numba.carray(x_, (n_dim,))
        out = numba.carray(out_, (n_expanded,))
        words = numba.carray(user_data_, ({n_words},), np.uint64)
        target = words[{target_word}]
        if target == 0:
            return -2
{read_shared}        ok, result = call_target(target, x, ({shared}))
        if not ok:
            return -2
        (values,) = result
        for i in range(n_expanded):
            out[i] = values[i]
    except Exception:
        return -2
    return 0
"""

#: Each callback's source before :func:`callback_source` completes it, by its name.
SOURCES = {"nutpie_logp": _LOGP_SRC, "nutpie_expand": _EXPAND_SRC}


@dataclass(frozen=True)
class Target:
    """A compiled PyTensor function as a callback calls it: how to find it in numba's cache again.

    Attributes
    ----------
    name, src : str
        The function's name and PyTensor's generated source of it.
    key : str
        Its numba cache key (derived from PyTensor's key of the function, which covers the graph).
    argtypes : tuple of numba types
        The point, then the shared values in ``user_data``'s order.
    restype : numba type
        What it returns (a tuple of arrays).
    """

    name: str
    src: str
    key: str
    argtypes: tuple[Any, ...]
    restype: Any


def with_target_slots(user_data: Any) -> Any:
    """nutpie's ``user_data`` record with the two target addresses added (zero: no target yet).

    nutpie reads only its own ``shared`` field and copies the whole record (``with_data``), so the
    addresses travel with it.
    """
    import numpy as np

    if all(name in (user_data.dtype.names or ()) for name in TARGET_SLOTS.values()):
        return user_data
    dtype = np.dtype(user_data.dtype.descr + [(name, np.uintp) for name in TARGET_SLOTS.values()])
    extended = np.zeros((), dtype=dtype)
    for name in user_data.dtype.names:
        extended[name] = user_data[name]
    return extended


def argument_types(shared_data: dict[str, Any], shared_keys: list[str]) -> tuple[Any, ...]:
    """The numba types a callback hands its target: the point, then each shared value."""
    import numba
    from numba import types

    shared = tuple(types.Array(numba.from_dtype(shared_data[k].dtype), shared_data[k].ndim, "C") for k in shared_keys)
    return (types.Array(types.float64, 1, "C"), *shared)


def guess_result_type(outputs: list[Any]) -> Any:
    """The numba type a target with these PyTensor ``outputs`` most likely returns (C-contiguous
    arrays), for compiling its callback before the target itself; a wrong guess only costs the time."""
    import numba
    import numpy as np
    from numba import types

    return types.Tuple(tuple(types.Array(numba.from_dtype(np.dtype(v.type.dtype)), v.type.ndim, "C") for v in outputs))


def describe_target(jit_fn: Any, argtypes: tuple[Any, ...]) -> tuple[Target, dict[str, Any]]:
    """The target behind PyTensor's ``jit_fn`` (``pytensor_function.vm.jit_fn``) for ``argtypes``, and
    its globals (the graph's ops); its ``restype`` is None until :func:`compile_target`.

    ``jit_fn`` is a cached wrapper that only calls the graph's function; the target is the graph's
    function itself, cached under a key derived from PyTensor's key of the wrapper. Raises
    ``LookupError`` when ``jit_fn`` is not such a wrapper (another PyTensor version).
    """
    from pytensor.link.numba.cache import CACHED_SRC_FUNCTIONS

    wrapper = getattr(jit_fn, "py_func", None)
    wrapper_key = CACHED_SRC_FUNCTIONS.get(wrapper) if wrapper is not None else None
    graph_fn = getattr(getattr(wrapper, "__globals__", {}).get("jitable_func"), "py_func", None)
    src = getattr(graph_fn, "__source__", None)
    if wrapper_key is None or graph_fn is None or src is None:
        raise LookupError("not PyTensor's cached wrapper of a graph's function")
    key = hashlib.sha256(f"{wrapper_key}|graph function".encode()).hexdigest()
    return Target(graph_fn.__name__, src, key, argtypes, None), graph_fn.__globals__


def compile_target(target: Target, globals_: dict[str, Any]) -> tuple[Target, Any]:
    """Compile ``target`` (or load it from numba's cache): the target with its return type, and its
    dispatcher (kept for the rest of the process: the callbacks call its code)."""
    dispatcher = _TARGETS.get(target.key) or target_dispatcher(target, globals_)
    dispatcher.compile(target.argtypes)  # found in memory or in numba's cache, or compiled
    _TARGETS[target.key] = dispatcher
    restype = dispatcher.overloads[target.argtypes].signature.return_type
    return dataclasses.replace(target, restype=restype), dispatcher


def load_target(target: Target) -> Any:
    """``target``'s dispatcher, its code loaded from numba's cache; raises when it is not there.

    The function's globals (the graph's ops) are not needed to load it: without them, a cache miss
    fails in numba's typing instead of compiling.
    """
    loaded, dispatcher = compile_target(dataclasses.replace(target, restype=None), {})
    if loaded.restype != target.restype:
        raise LookupError("the cached function returns another type")
    return dispatcher


def address(dispatcher: Any, argtypes: tuple[Any, ...]) -> int:
    """Where the code ``dispatcher`` compiled for ``argtypes`` starts (numba's calling convention);
    raises ``LookupError`` when numba does not know the symbol (it would say 0)."""
    result = dispatcher.overloads[argtypes]
    start = int(result.library.get_pointer_to_function(result.fndesc.llvm_func_name))
    if not start:
        raise LookupError(f"no code for {result.fndesc.llvm_func_name}")
    return start


def callback_function(name: str, target: Target, shared_data: dict[str, Any], shared_keys: list[str],
                      record_dtype: Any, sizes: dict[str, int]) -> tuple[Any, str, str]:
    """The Python function of the C callback ``name`` (``"nutpie_logp"`` or ``"nutpie_expand"``)
    calling ``target`` with the shared values ``shared_keys`` (slots of ``user_data``, whose layout
    ``record_dtype`` is), registered with numba's cache under its key; the key; and its source.

    ``numba.cfunc(c_sig, cache=True)`` of it compiles the callback, or loads it when cached.
    """
    src = callback_source(name, record_dtype, [(k, shared_data[k].ndim) for k in shared_keys])
    key = callback_key(src, target, sizes)
    dtypes = {f"dtype_{i}": shared_data[k].dtype for i, k in enumerate(shared_keys)}
    return _callback_function(name, src, key, target, sizes, dtypes), key, src


def callback_source(name: str, record_dtype: Any, shared: list[tuple[str, int]]) -> str:
    """The source of callback ``name`` reading the shared values ``shared`` (slot, number of
    dimensions) at their places in ``user_data`` (a record of 64-bit words, ``record_dtype``)."""
    lines = []
    for i, (slot, ndim) in enumerate(shared):
        data = _word(record_dtype, ("shared", "data", slot))
        first = _word(record_dtype, ("shared", "shape", slot))
        shape = "".join(f"words[{first + d}], " for d in range(ndim))
        lines.append(f"        shared_{i} = numba.carray(as_pointer(words[{data}]), ({shape}), dtype_{i})\n")
    return SOURCES[name].format(read_shared="".join(lines), shared="".join(f"shared_{i}, " for i in range(len(shared))),
                                n_words=record_dtype.itemsize // 8, target_word=_word(record_dtype, (TARGET_SLOTS[name],)))


def load_callback(name: str, key: str, c_sig: Any, target: Target, src: str, sizes: dict[str, int],
                  shared_data: dict[str, Any], shared_keys: list[str]) -> tuple[Any, Any]:
    """The C callback ``name`` (from numba's cache, or compiled again from ``src`` when it is not
    there: it is all the callback is) and its target's dispatcher (from numba's cache; raises when it
    is not there)."""
    import numba

    dispatcher = load_target(target)
    dtypes = {f"dtype_{i}": shared_data[k].dtype for i, k in enumerate(shared_keys)}
    return numba.cfunc(c_sig, cache=True)(_callback_function(name, src, key, target, sizes, dtypes)), dispatcher


def callback_key(src: str, target: Target, sizes: dict[str, int]) -> str:
    """The numba cache key of a callback: its completed source (which says which shared values it
    reads, where), its sizes, the target's argument types (the shared values' dtypes among them) and
    return type, and the versions.

    Found in review: a first version keyed callbacks by types alone, and two models whose expand
    functions read different shared values of one type (``d = a * u`` vs ``d = a * v``) shared one
    cached callback: the second model's trace held the first one's ``d``.
    """
    import numba
    import nutpie
    import pytensor

    parts = [src, repr(sorted((k, int(v)) for k, v in sizes.items())), str(target.argtypes), str(target.restype),
             nutpie.__version__, numba.__version__, pytensor.__version__]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def _word(record_dtype: Any, path: tuple[str, ...]) -> int:
    """The index of the 64-bit word at ``path`` (nested field names) in a ``user_data`` record."""
    dtype, offset = record_dtype, 0
    for name in path:
        dtype, at = dtype.fields[name][:2]
        offset += at
    if offset % 8 or dtype.base.itemsize != 8:
        raise LookupError(f"user_data field {'/'.join(path)} is not a 64-bit word")
    return offset // 8


#: Targets compiled or loaded in this process, by key: their code must outlive every callback calling it.
_TARGETS: dict[str, Any] = {}


def target_dispatcher(target: Target, globals_: dict[str, Any]) -> Any:
    """A new numba dispatcher of ``target``'s function, cached under its key; nothing compiled yet."""
    from pytensor.link.numba.cache import compile_numba_function_src
    from pytensor.link.numba.dispatch.basic import numba_njit

    py_func = compile_numba_function_src(target.src, target.name, dict(globals_), cache_key=target.key)
    return numba_njit(py_func, cache=True)  # no Python or C wrapper: only ever called through its address


def _callback_function(name: str, src: str, key: str, target: Target, sizes: dict[str, int],
                       dtypes: dict[str, Any]) -> Any:
    import numba
    import numpy as np
    from pytensor.link.numba.cache import compile_numba_function_src

    # Globals, not a closure: numba's cache index hashes closure contents, which differ per process.
    env = {"__name__": __name__, "np": np, "numba": numba, "as_pointer": _as_pointer(),
           "call_target": _caller(target.argtypes, target.restype), **dtypes, **{k: int(v) for k, v in sizes.items()}}
    return compile_numba_function_src(src, name, env, cache_key=key)


@functools.cache
def _as_pointer() -> Any:
    """``as_pointer(address)``: a 64-bit address as a ``void*`` (for ``numba.carray``)."""
    from numba import types
    from numba.core import cgutils
    from numba.extending import intrinsic

    @intrinsic
    def as_pointer(typingctx, address):  # type: ignore[no-untyped-def]
        if not isinstance(address, types.Integer):
            return None

        def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
            return builder.inttoptr(args[0], cgutils.voidptr_t)

        return types.voidptr(address), codegen

    return as_pointer


@functools.cache
def _caller(argtypes: tuple[Any, ...], restype: Any) -> Any:
    """``call_target(address, x, shared)``: call the numba function at ``address`` with ``(x, *shared)``;
    returns ``(ok, result)``, ``ok`` False when it raised."""
    from numba import types
    from numba.extending import intrinsic

    @intrinsic
    def call_target(typingctx, address, x, shared):  # type: ignore[no-untyped-def]
        if not isinstance(address, types.Integer) or (x, *getattr(shared, "types", ())) != argtypes:
            return None  # not what the target was compiled for: numba reports a typing error

        def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
            address, x, shared = args
            values = [x, *(builder.extract_value(shared, i) for i in range(len(argtypes) - 1))]
            function = builder.inttoptr(address, context.call_conv.get_function_type(restype, argtypes).as_pointer())
            status, result = context.call_conv.call_function(builder, function, restype, argtypes, values)
            return context.make_tuple(builder, signature.return_type, [builder.not_(status.is_error), result])

        return types.Tuple((types.boolean, restype))(address, x, shared), codegen

    return call_target
