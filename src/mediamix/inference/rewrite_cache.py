"""PyTensor's graph rewrites, cached on disk by the graph they start from.

Every ``pytensor.function`` rewrites its graph before it compiles it (canonicalize, specialize,
fuse, make ops inplace, ...). PyTensor caches the compiled machine code (its numba cache) but not
the rewriting, which it redoes in every process: on the demo model, 0.53 s of nutpie's warm 1.15 s
compile (the logp-and-gradient function alone 0.35 s; fresh processes, warm caches, 2-CPU
machine). With this cache the whole compile takes 0.69-0.76 s instead of 1.21-1.25 s, same draws.

:func:`rewrites_cached` stores each rewritten graph under a key made of the graph before
rewriting and everything else the rewriting depends on, and a later compile of the same graph
takes the stored result instead of rewriting again. A rewritten graph is stored as PyTensor's
:class:`~pytensor.graph.fg.FrozenFunctionGraph` (inputs by position, the node order baked in).
The key holds:

- the graph before rewriting, as text: every node's op with its parameters, where its inputs come
  from, its output types; the inputs' types; constants by dtype, shape and a hash of their bytes
  (variable names carry no meaning and are left out);
- how the function treats its inputs and outputs (mutable, borrowed, updated), which decides
  what may be rewritten inplace;
- the rewrite query of the compile mode and its linker, PyTensor's relevant flags, and the
  PyTensor and PyMC versions (PyMC registers rewrites of its own).

A hit checks the stored graph's input and output types against the live graph before it changes
anything, then rewires the live graph's outputs onto the stored nodes (the inplace bookkeeping
that the rewriting would have attached is attached the same way). The compiled code is then
found in PyTensor's numba cache as usual. ``tests/test_reproducibility.py`` checks that a fit
from an empty cache (every graph rewritten and stored) and a fit that loads them give the same
draws, bit for bit.

The files live in PyTensor's compiledir (``<compiledir>/mediamix-rewrites``), next to PyTensor's
own cache and under the same flag: with ``numba__cache=False`` nothing is read or written. They
are pickles written by this module only, like the numba cache index beside them; the folder
keeps the most recently used :data:`MAX_ENTRIES` graphs.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import marshal
import os
import pickle
import re
import tempfile
import sys
import threading
import types
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

__all__ = ["rewrites_cached", "rewrites_shared", "SHARED_NODES", "cache_directory",
           "graph_text", "value_text", "read_entry", "write_entry", "Unkeyable",
           "MAX_ENTRIES", "stats"]

#: Rewritten graphs kept (the least recently used ones are deleted beyond this).
MAX_ENTRIES = 256

_FORMAT = 1  # bump when what is stored changes
_LOCK = threading.RLock()
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_CODE_DIGESTS: dict[Any, str] = {}  # code object -> digest of its bytecode and constants
_ORIGINAL: list[Any] = []  # PyTensor's own prepare_fgraph while the cache is active

#: Hits, misses and stores since the process started, and how many of the hits another process
#: rewrote meanwhile (:func:`rewrites_shared`); read by the tests and benchmarks.
stats = {"hits": 0, "misses": 0, "stores": 0, "shared": 0}

#: The smallest graph (apply nodes before rewriting) that :func:`rewrites_shared` asks about: the
#: small ones (nutpie's expand function, shape functions) rewrite in milliseconds.
SHARED_NODES = 64

#: Set by :func:`rewrites_shared`.
_SHARE: contextvars.ContextVar[Callable[[Path], bool] | None] = contextvars.ContextVar("mediamix_rewrites_shared",
                                                                                       default=None)


def cache_directory() -> Path:
    """Where the rewritten graphs are kept: ``<PyTensor compiledir>/mediamix-rewrites``."""
    from pytensor.configdefaults import config

    return Path(config.compiledir) / "mediamix-rewrites"


@contextlib.contextmanager
def rewrites_cached() -> Iterator[None]:
    """Inside this block, ``pytensor.function`` reuses stored rewritten graphs (see the module docstring).

    Does nothing when PyTensor's own numba cache is switched off (``numba__cache=False``).
    Re-entrant; another thread's compiles during the block go through the cache too (same
    results, since a hit gives exactly the graph the rewriting would).
    """
    from pytensor.compile.maker import FunctionMaker
    from pytensor.configdefaults import config

    if not config.numba__cache:
        yield
        return
    with _LOCK:
        original = FunctionMaker.__dict__["prepare_fgraph"]
        if getattr(original, "__func__", None) is _prepare_fgraph:  # already active (nested)
            yield
            return
        _ORIGINAL.append(original.__func__)
        FunctionMaker.prepare_fgraph = staticmethod(_prepare_fgraph)
        try:
            yield
        finally:
            FunctionMaker.prepare_fgraph = original
            _ORIGINAL.pop()


@contextlib.contextmanager
def rewrites_shared(share: Callable[[Path], bool] | None) -> Iterator[None]:
    """Inside this block (within :func:`rewrites_cached`), a graph of at least :data:`SHARED_NODES`
    nodes that is not in the cache may be rewritten by another process: ``share(file)`` is called
    with the file the rewritten graph is stored in, and returns True once another process has
    stored it there (it is loaded from there), or False to rewrite it here (and store it).

    For a compile split between processes that go through the same graphs (the compile helper of
    :mod:`mediamix.inference.samplers`). ``None`` shares nothing (e.g. for a nested block that
    compiles a function the other process does not). While ``share`` runs, nothing is shared: it
    may compile functions of its own.
    """
    token = _SHARE.set(share)
    try:
        yield
    finally:
        _SHARE.reset(token)


def _stored_elsewhere(file: Path, fgraph: Any) -> bool:
    """Whether another process has rewritten ``fgraph`` and stored it in ``file`` (:func:`rewrites_shared`)."""
    share = _SHARE.get()
    if share is None or len(fgraph.apply_nodes) < SHARED_NODES:
        return False
    with rewrites_shared(None):
        return share(file)


def _prepare_fgraph(inputs: Any, outputs: Any, additional_outputs: Any, fgraph: Any, mode: Any, profile: Any) -> None:
    """``FunctionMaker.prepare_fgraph`` with the rewriting looked up first (same result either way)."""
    from pytensor.compile.aliasing import insert_deepcopy
    from pytensor.configdefaults import config

    key = None if profile else _key(inputs, outputs, additional_outputs, fgraph, mode)
    if key is None:
        return _ORIGINAL[-1](inputs, outputs, additional_outputs, fgraph, mode, profile)
    file = cache_directory() / f"{key}.pkl"
    rewriter = mode.optimizer
    shared = not file.exists() and _stored_elsewhere(file, fgraph)  # (under the caller's flags)
    with config.change_flags(mode=mode, traceback__limit=config.traceback__compile_limit):
        stored = _load(file)
        if stored is not None and _install(stored, fgraph, rewriter):
            stats["hits"] += 1
            stats["shared"] += shared
        else:
            stats["misses"] += 1
            rewriter(fgraph)
            _store(file, fgraph)
        insert_deepcopy(fgraph, inputs, outputs + additional_outputs)


def _key(inputs: Any, outputs: Any, additional_outputs: Any, fgraph: Any, mode: Any) -> str | None:
    """The cache key of rewriting ``fgraph`` for this function, or None when the graph cannot be keyed."""
    import pymc
    import pytensor
    from pytensor.configdefaults import config

    try:
        graph = _graph_key(fgraph)
    except _Unkeyable:  # an op or constant this module cannot describe canonically: compile as usual
        return None
    parts = [
        f"format={_FORMAT}", f"pytensor={pytensor.__version__}", f"pymc={pymc.__version__}",
        f"linker={type(mode.linker).__module__}.{type(mode.linker).__qualname__}",
        f"query={_query_key(mode._optimizer)}",  # noqa: SLF001 - the rewrite query decides the rewriting
        f"flags={config.floatX},{config.optimizer_excluding},{config.optimizer_including},"
        f"{config.optimizer_requiring},{config.on_opt_error},{config.cast_policy}",
        f"cxx={bool(config.cxx)}",  # without a C compiler some rewrites differ (e.g. fusion's operand limit)
        "inputs=" + repr([(i.mutable, i.borrow, i.update is not None, i.implicit) for i in inputs]),
        "outputs=" + repr([(o.borrow, o.variable in fgraph.inputs) for o in outputs]),
        f"additional={len(additional_outputs)}",
    ]
    if any(_ADDRESS.search(part) for part in parts):  # an object shown by its address: not the same next time
        return None
    return hashlib.sha256("|".join([*parts, graph]).encode()).hexdigest()


class _Unkeyable(Exception):
    """Something in the graph has no description that is the same in every process."""


Unkeyable = _Unkeyable


def _graph_key(fgraph: Any) -> str:
    """The graph as text: each node's op (class and parameters) and where its inputs come from, in order.

    Inputs are numbered, constants are shown by dtype, shape and a hash of their bytes. Two graphs
    with the same text compute the same thing: ops with equal parameters are equal ops (PyTensor's
    own notion, which its merge rewrite relies on too).
    """
    return graph_text(fgraph.inputs, fgraph.toposort(), fgraph.outputs)


def graph_text(inputs: Any, nodes: Any, outputs: Any, label: Any = None) -> str:
    """``nodes`` (in topological order) from ``inputs`` to ``outputs`` as text (see :func:`_graph_key`).

    ``label(variable)``, when given, adds to each input's reference (e.g. the names of shared
    variables, which a caller finds them by). Raises :class:`Unkeyable` for what has no description
    that is the same in every process.
    """
    refs: dict[Any, str] = {var: f"in{i}:{_type_key(var.type)}{label(var) if label else ''}"
                            for i, var in enumerate(inputs)}
    lines = []
    for n, node in enumerate(nodes):
        args = []
        for var in node.inputs:
            ref = refs.get(var)
            if ref is None:
                if var.owner is not None or not hasattr(var, "data"):
                    raise _Unkeyable(f"orphan {var}")
                ref = refs[var] = f"const:{_type_key(var.type)}:{_value_key(var.data)}"
            args.append(ref)
        for k, out in enumerate(node.outputs):
            refs[out] = f"n{n}.{k}"
        lines.append(f"{_op_key(node.op)}({', '.join(args)}) -> {[_type_key(o.type) for o in node.outputs]}")
    lines.append("out " + ", ".join(refs.get(o) or f"const:{_value_key(getattr(o, 'data', None))}"
                                    for o in outputs))
    return "\n".join(lines)


def _op_key(op: Any) -> str:
    """An op as text: its class and parameters (``__props__``), or, for ops that define equality
    themselves (scalar ops), every attribute it has, which is at least as specific.

    An op whose class is made at runtime (PyMC's ``CustomDist_*``, whose logp lives outside the
    op's parameters) is :class:`Unkeyable`: its class name says nothing about what it computes.
    """
    _check_importable(type(op))
    props = getattr(op, "__props__", None)
    names = props if props is not None else sorted(vars(op))
    values = ", ".join(f"{name}={_value_key(getattr(op, name))}" for name in names)
    return f"{type(op).__module__}.{type(op).__qualname__}{{{values}}}"


def _check_importable(cls: type) -> None:
    """Unkeyable unless ``cls`` is what its module and qualified name lead to (not made at runtime)."""
    found: Any = sys.modules.get(cls.__module__)
    for part in cls.__qualname__.split("."):
        found = getattr(found, part, None)
    if found is not cls:
        raise _Unkeyable(f"class {cls.__module__}.{cls.__qualname__} is made at runtime")


def _function_key(function: types.FunctionType, depth: int) -> str:
    """A Python function as text: its name, a digest of its code (bytecode, constants, nested code),
    and the values of its defaults and closure (so ``lambda: lower`` keys ``lower``'s value)."""
    code = function.__code__
    digest = _CODE_DIGESTS.get(code)
    if digest is None:
        digest = _CODE_DIGESTS[code] = hashlib.sha256(marshal.dumps(code)).hexdigest()[:20]
    parts = [f"{function.__module__}.{function.__qualname__}", digest]
    if function.__defaults__:
        parts.append(_value_key(function.__defaults__, depth + 1))
    if function.__kwdefaults__:
        parts.append(_value_key(function.__kwdefaults__, depth + 1))
    if function.__closure__:
        try:
            cells = tuple(cell.cell_contents for cell in function.__closure__)
        except ValueError:  # an empty cell
            raise _Unkeyable(f"function {function.__qualname__} with an empty closure cell") from None
        parts.append(_value_key(cells, depth + 1))
    return f"function({', '.join(parts)})"


def _type_key(t: Any) -> str:
    text = f"{type(t).__module__}.{type(t).__qualname__}:{t}"
    if _ADDRESS.search(text):
        raise _Unkeyable(text)
    return text


def _value_key(value: Any, depth: int = 0) -> str:
    import numpy as np
    from pytensor.graph.basic import Variable
    from pytensor.graph.op import Op
    from pytensor.graph.type import Type

    if depth > 8:
        raise _Unkeyable("nested too deep")
    if value is None or isinstance(value, bool | int | float | complex | str | bytes):
        return repr(value)
    if isinstance(value, np.ndarray | np.generic):
        array = np.ascontiguousarray(value)
        if array.dtype.hasobject:
            raise _Unkeyable("object array")
        return f"array({array.dtype.str}, {array.shape}, {hashlib.sha256(array.tobytes()).hexdigest()})"
    if isinstance(value, np.dtype):
        return f"dtype({value.str})"
    if isinstance(value, tuple | list):
        return f"{type(value).__name__}({', '.join(_value_key(v, depth + 1) for v in value)})"
    if isinstance(value, Mapping):  # dict, PyTensor's frozendict
        items = sorted(((_value_key(k, depth + 1), _value_key(v, depth + 1)) for k, v in value.items()))
        return f"{type(value).__name__}(" + ", ".join(f"{k}: {v}" for k, v in items) + ")"
    if isinstance(value, slice):
        return f"slice({', '.join(_value_key(v, depth + 1) for v in (value.start, value.stop, value.step))})"
    if isinstance(value, Op):
        return _op_key(value)
    if isinstance(value, Type):
        return _type_key(value)
    if isinstance(value, Variable):
        raise _Unkeyable("a variable as an op parameter (inner graph)")
    if isinstance(value, types.FunctionType):
        return _function_key(value, depth)
    if isinstance(value, type | types.BuiltinFunctionType):
        if isinstance(value, type):
            _check_importable(value)
        return f"{value.__module__}.{value.__qualname__}"
    # Anything else (an inner graph, a sparse matrix, an arbitrary object) has no text known to
    # hold all that it computes with: no key, so no cached result is ever used for it.
    raise _Unkeyable(f"{type(value).__module__}.{type(value).__qualname__}")


def value_text(value: Any) -> str:
    """An op parameter or other plain value as text that is the same in every process (or :class:`Unkeyable`)."""
    return _value_key(value)


def _query_key(query: Any) -> str:
    """A rewrite query (tags to include, require and exclude, ...) as text that is the same in every process."""
    if not hasattr(query, "include"):
        return repr(query)
    subqueries = {name: _query_key(sub) for name, sub in sorted(query.subquery.items())}
    return (f"include={list(query.include)} require={list(query.require)} exclude={list(query.exclude)} "
            f"subquery={subqueries} cutoff={query.position_cutoff} extra={[str(r) for r in query.extra_rewrites]}")


def _load(file: Path) -> Any | None:
    try:
        data = file.read_bytes()
    except OSError:
        return None
    try:
        stored = pickle.loads(data)  # our own file, written by _store below
    except Exception:  # truncated by a crash, another version's classes, ...: rewrite and store again
        return None
    with contextlib.suppress(OSError):
        os.utime(file)  # most recently used: kept longest
    return stored


def _install(stored: Any, fgraph: Any, rewriter: Any) -> bool:
    """Rewire ``fgraph``'s outputs onto the stored rewritten graph; False (nothing changed) when it does not fit."""
    if len(stored.inputs) != len(fgraph.inputs) or len(stored.outputs) != len(fgraph.outputs):
        return False
    if any(s.type != f.type for s, f in zip(stored.inputs, fgraph.inputs, strict=True)):
        return False
    try:
        new_outputs = stored.bind(list(fgraph.inputs))
    except Exception:
        return False
    if any(not old.type.is_super(new.type) for old, new in zip(fgraph.outputs, new_outputs, strict=True)):
        return False
    # From here on the graph changes: the features the rewriting attaches (inplace bookkeeping) first.
    rewriter.add_requirements(fgraph)
    for i, new in enumerate(new_outputs):
        node, index = fgraph.get_output_client(i)
        fgraph.change_node_input(node, index, new, reason="mediamix rewrite cache", import_missing=True)
    return True


def _store(file: Path, fgraph: Any) -> None:
    if write_entry(file, fgraph.freeze()):
        stats["stores"] += 1
    else:  # a graph that does not pickle: an empty entry (a miss) tells a process sharing it not to wait on
        write_entry(file, None)


def read_entry(file: Path) -> Any | None:
    """What :func:`write_entry` stored in ``file`` (marked most recently used), or None if it is missing or unreadable."""
    return _load(file)


def write_entry(file: Path, value: Any) -> bool:
    """Pickle ``value`` to ``file`` whole or not at all, then keep the folder's :data:`MAX_ENTRIES` newest.

    False (nothing written) when ``value`` does not pickle or the folder cannot be written.
    """
    try:
        data = pickle.dumps(value, protocol=5)
    except Exception:  # something in it does not pickle: just don't cache it
        return False
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=file.parent, prefix=".tmp-", suffix=".pkl")
    except OSError:
        return False
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, file)  # whole or not at all: a reader never sees half a file
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        return False
    _prune(file.parent)
    return True


def _prune(folder: Path) -> None:
    """Keep the :data:`MAX_ENTRIES` most recently used graphs."""
    with contextlib.suppress(OSError):
        entries = [entry for entry in os.scandir(folder) if entry.name.endswith(".pkl") and entry.is_file()]
        if len(entries) <= MAX_ENTRIES:
            return
        entries.sort(key=lambda entry: entry.stat().st_mtime, reverse=True)
        for entry in entries[MAX_ENTRIES:]:
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
