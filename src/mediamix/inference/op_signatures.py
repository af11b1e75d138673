"""The numba argument types of the ops a graph's function calls, read off the PyTensor graph.

The compile helper (:mod:`mediamix.inference.samplers`) compiles the logp function's ops from the
last one back while this process compiles them from the first one on; for that it needs each op's
exact numba argument types (dtype, dimensions, layout, read-only), which numba only learns by
inferring the types of everything before the op. :mod:`mediamix.inference.typing_probe` runs that
type inference in a process of its own (~1.3-2.5 s on the demo model, during which the helper waits).
:func:`graph_calls` reads the same types off the graph in milliseconds instead: the graph's
function is PyTensor's generated source, one line per node, and each node's outputs follow from its
op and its inputs' numba types:

- a native scalar (``ScalarType``) output is that dtype's numba scalar;
- a tensor output of an op known to allocate one (elemwise loops, reductions, joins, allocs) is a
  new C-contiguous array; one the op says is a view of an input or written into it (its
  ``view_map``/``destroy_map``) is the input's type for elemwise loops and ``IncSubtensor``, or for
  ``DimShuffle`` the layout PyTensor's numba code gives it (``_dimshuffle_out_layout``; ``A`` for
  its ``as_strided`` special cases), for ``Subtensor`` numba's own typing of the indexing and for
  ``Split`` numba's typing of the slice ``np.split`` takes;
- a reduction fused into an elemwise loop is squeezed out of its buffer with ``as_strided``
  (layout ``A``) unless it is cast to another dtype (a new array);
- the graph's inputs have the caller's types; constants are globals of the function, which numba
  types read-only.

Outputs no rule covers are unknown (other ops: sorts, cumulative sums and linear algebra return
views or Fortran-ordered arrays, found in review), and the calls that take them are left out: the
helper compiles fewer ops, nothing more. A line is matched to its node by the node's text and by
the names of its inputs; anything unforeseen (an exception) gives None, as a source that does not
match does. On the demo model, the multiplicative and Student-t models and one with a
transform of each kind, every call and every argument type is the typing probe's, in the same order
(``tests/inference/test_op_signatures.py``; 76-203 calls, read in 0.02-0.06 s, plus ~0.3 s for
numba's typing context the first time, where the probe took 2.4-8.4 s). A wrong type would only
cost time: the helper would compile a signature nobody asks for.
"""

from __future__ import annotations

import operator
import re
from textwrap import indent
from typing import Any

__all__ = ["graph_calls"]

_ASSIGN = re.compile(r"^ *(?P<outs>\w+(?:, \w+)*),? = (?P<fn>\w+)\((?P<ins>[\w, ]*)\)$")
_DEF = re.compile(r"^def \w+\((?P<params>[\w, ]*)\):$")


def graph_calls(fgraph: Any, order: list[Any], src: str, globals_: dict[str, Any],
                argtypes: tuple[Any, ...]) -> list[tuple[str, tuple[Any, ...]]] | None:
    """The ops (their names in ``globals_``) that the graph's function ``src`` calls for
    ``argtypes``, each with numba's (folded) argument types of the call, in the order of the calls;
    an op called twice alike is listed once, a call whose argument types are unknown is left out.

    ``order`` is the node order the function was generated from (the linker's schedule of
    ``fgraph``). None when ``src`` is not that graph's function, line for line.
    """
    try:
        return _graph_calls(fgraph, order, src, globals_, argtypes)
    except Exception:  # noqa: BLE001 - a graph no rule foresaw: numba's own type inference instead
        return None


def _graph_calls(fgraph: Any, order: list[Any], src: str, globals_: dict[str, Any],
                 argtypes: tuple[Any, ...]) -> list[tuple[str, tuple[Any, ...]]] | None:
    params = _DEF.match(src.lstrip().splitlines()[0]) if src.strip() else None
    if params is None:
        return None
    names = _split(params["params"])
    if len(names) != len(argtypes) or len(names) != len(fgraph.inputs):
        return None
    nodes = _aligned(order, src, dict(zip(fgraph.inputs, names)), globals_)
    if nodes is None:
        return None
    known: dict[str, Any] = dict(zip(names, argtypes))
    calls: list[tuple[str, tuple[Any, ...]]] = []
    seen: set[tuple[str, tuple[Any, ...]]] = set()
    for node, line in nodes:
        args = tuple(_type_of(name, known, globals_) for name in _split(line["ins"]))
        outs = _split(line["outs"])
        results = _output_types(node, args) if None not in args else [None] * len(outs)
        known.update(zip(outs, results))
        if None in args:
            continue
        dispatcher = globals_.get(line["fn"])
        compiler = getattr(dispatcher, "_compiler", None)
        if compiler is None:
            continue
        _, folded = compiler.fold_argument_types(args, {})
        call = (line["fn"], tuple(folded))
        if call not in seen:
            seen.add(call)
            calls.append(call)
    return calls


def _split(names: str) -> list[str]:
    return [n.strip() for n in names.split(",") if n.strip()]


def _aligned(order: list[Any], src: str, named: dict[Any, str],
             globals_: dict[str, Any]) -> list[tuple[Any, re.Match[str]]] | None:
    """Each node with its line of ``src`` (``outs = fn(ins)``, after the node as a comment).

    ``named``: the graph's inputs by their names in ``src``. Each line must print its node, and each
    of its inputs must be the name the graph's input or an earlier line gave that variable, or a
    global (a constant): the same text for two nodes is not enough (found in review).
    """
    lines = src.splitlines()
    found: list[tuple[Any, re.Match[str]]] = []
    comment: list[str] = []
    for text in lines[1:]:
        stripped = text.strip()
        if stripped.startswith("#"):
            comment.append(stripped)
            continue
        match = _ASSIGN.match(text)
        if match is None:
            comment = []
            continue
        if len(found) >= len(order):
            return None
        node = order[len(found)]
        expected = [c.strip() for c in indent(str(node), "# ").splitlines()]
        ins, outs = _split(match["ins"]), _split(match["outs"])
        if comment != expected or len(outs) != len(node.outputs) or len(ins) != len(node.inputs):
            return None
        for variable, name in zip(node.inputs, ins):
            if named.get(variable, name) != name or (variable not in named and name not in globals_):
                return None
        named.update(zip(node.outputs, outs))
        found.append((node, match))
        comment = []
    return found if len(found) == len(order) else None


def _type_of(name: str, known: dict[str, Any], globals_: dict[str, Any]) -> Any:
    """The numba type of a name in the graph's function: an input, an earlier output, or a global
    (a constant: numba types a global array read-only)."""
    if name in known:
        return known[name]
    if name not in globals_:
        return None
    import numba
    from numba.core import types

    try:
        found = numba.typeof(globals_[name])
    except (ValueError, TypeError):
        return None
    return found.copy(readonly=True) if isinstance(found, types.Array) else found


def _output_types(node: Any, args: tuple[Any, ...]) -> list[Any]:
    """The numba type of each of ``node``'s outputs, given its inputs' (None where unknown)."""
    import numba
    import numpy as np
    from numba.core import types
    from pytensor.scalar.basic import ScalarType
    from pytensor.tensor.type import TensorType

    op = node.op
    aliased = {**getattr(op, "view_map", {}), **getattr(op, "destroy_map", {})}
    reduced = getattr(op, "reduced_outputs", None) or ()
    results: list[Any] = []
    for i, out in enumerate(node.outputs):
        kind = out.type
        if isinstance(kind, ScalarType):
            results.append(numba.from_dtype(np.dtype(kind.dtype)))
        elif not isinstance(kind, TensorType):
            results.append(None)
        elif i < len(reduced) and reduced[i] is not None:  # a reduction fused into an elemwise loop
            cast = np.dtype(reduced[i][3]) != np.dtype(kind.dtype)
            results.append(types.Array(numba.from_dtype(np.dtype(kind.dtype)), kind.ndim, "C" if cast else "A"))
        elif i not in aliased:  # a new array, from the ops known to make C-contiguous ones
            fresh = isinstance(op, _fresh_c_ops())
            results.append(types.Array(numba.from_dtype(np.dtype(kind.dtype)), kind.ndim, "C") if fresh else None)
        else:
            results.append(_alias_type(node, i, args[aliased[i][0]] if aliased[i] else None))
    return results


def _alias_type(node: Any, i: int, source: Any) -> Any:
    """The numba type of output ``i``, a view of (or written into) the input of type ``source``."""
    from numba.core import types
    from pytensor.tensor.basic import Split
    from pytensor.tensor.elemwise import DimShuffle
    from pytensor.tensor.subtensor import Subtensor

    op = node.op
    if isinstance(op, DimShuffle):
        return _dimshuffle_type(op, node, source)
    if not isinstance(source, types.Array):
        return None
    if type(op) is Subtensor:
        return _subtensor_type(op, node, source)
    if isinstance(op, Split):  # np.split: ary[slice, ..., slice] per piece
        return _getitem_type(source, types.UniTuple(types.slice2_type, source.ndim))
    if isinstance(op, _in_place_ops()) and i in getattr(op, "destroy_map", {}) and i not in getattr(op, "view_map", {}):
        return source  # written in place: the input's own array (linear algebra ops copy instead, found in review)
    return None


def _fresh_c_ops() -> tuple[type, ...]:
    """Ops whose numba code returns new C-contiguous arrays (others, e.g. sorts, cumulative sums and
    linear algebra, may return views or Fortran-ordered arrays: found in review)."""
    from pytensor.tensor.basic import Alloc, Join, MakeVector, TensorFromScalar
    from pytensor.tensor.elemwise import CAReduce, Elemwise
    from pytensor.tensor.rewriting.fused_elemwise import FusedElemwise
    from pytensor.tensor.rewriting.scalarize import ScalarizedElemwise, ScalarizedJoin
    from pytensor.tensor.shape import Shape

    return (Elemwise, FusedElemwise, ScalarizedElemwise, ScalarizedJoin, CAReduce, Alloc, Join, MakeVector,
            TensorFromScalar, Shape)


def _in_place_ops() -> tuple[type, ...]:
    """Ops whose numba code returns the input they write into."""
    from pytensor.tensor.elemwise import Elemwise
    from pytensor.tensor.rewriting.fused_elemwise import FusedElemwise
    from pytensor.tensor.rewriting.scalarize import ScalarizedElemwise
    from pytensor.tensor.subtensor import IncSubtensor

    return (Elemwise, FusedElemwise, ScalarizedElemwise, IncSubtensor)


def _dimshuffle_type(op: Any, node: Any, source: Any) -> Any:
    """PyTensor's numba DimShuffle: an ``as_strided`` view (layout ``A``) when it squeezes to 0-d
    or expands a 0-d input (a scalar made an array first), else a view whose layout
    ``_dimshuffle_out_layout`` decides."""
    from numba.core import types

    ndim = node.outputs[0].type.ndim
    new_order = tuple(op._new_order)  # noqa: SLF001 - what PyTensor's numba code reads
    if op.input_ndim == 0 and isinstance(source, types.Number):
        source = types.Array(source, 0, "C")  # np.asarray(x)
    if not isinstance(source, types.Array):
        return None
    if new_order == () or op.input_ndim == 0:
        return source.copy(ndim=ndim, layout="A")
    try:
        from pytensor.link.numba.dispatch.elemwise import _dimshuffle_out_layout
    except ImportError:  # another PyTensor
        return None
    unit_axes = frozenset(axis for axis, length in enumerate(node.inputs[0].type.shape) if length == 1)
    return types.Array(source.dtype, ndim, _dimshuffle_out_layout(source.layout, new_order, unit_axes))


def _subtensor_type(op: Any, node: Any, source: Any) -> Any:
    """PyTensor's numba Subtensor: ``np.asarray(x[index])``, typed by numba's own typing of the
    indexing (integers as given, ``.item()`` of a 0-d index, slices with or without a step)."""
    from numba.core import types

    index_inputs = iter(node.inputs[1:])

    def entry(item: Any) -> Any:
        if item is None:
            return types.none
        if isinstance(item, slice):
            parts = [item.start, item.stop] + ([] if item.step is None else [item.step])
            for part in parts:
                if part is not None:
                    entry(part)  # consumes its input
            return types.slice2_type if len(parts) == 2 else types.slice3_type
        variable = next(index_inputs)
        return _scalar(variable)

    try:
        entries = tuple(entry(item) for item in op.idx_list)
    except (StopIteration, TypeError):
        return None
    if any(t is None for t in entries):
        return None
    result = _getitem_type(source, types.Tuple(entries))
    return result if result is None or isinstance(result, types.Array) else types.Array(result, 0, "C")


def _getitem_type(source: Any, index: Any) -> Any:
    """numba's type of ``source[index]`` (None if numba does not type it)."""
    from numba.core.registry import cpu_target

    typing_context = cpu_target.typing_context
    typing_context.refresh()
    signature = typing_context.resolve_function_type(operator.getitem, (source, index), {})
    return None if signature is None else signature.return_type


def _scalar(variable: Any) -> Any:
    """The numba scalar an integer index input becomes in the generated code."""
    import numba
    import numpy as np

    dtype = getattr(variable.type, "dtype", None)
    return None if dtype is None else numba.from_dtype(np.dtype(dtype))
