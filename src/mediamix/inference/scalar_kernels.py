"""An elemwise op's scalar kernel compiled by numba as one function, its arithmetic written inline.

PyTensor fuses chains of elementwise operations into one loop whose body is a ``Composite``: a
small graph of scalar operations (``add``, ``mul``, ``log``, ``switch``, ...). PyTensor's numba
backend turns that graph into a Python function that calls one numba function per scalar operation,
each made from its own source text (``def add(x0, x1): return x0 + x1``) and wrapped once more so
that numba's cache can find it. numba compiles every one of them on its own (type inference,
lowering, LLVM's passes) and then links it into the kernel: in a one-process cold compile of the
demo model 438 numba functions, about 230 of them these one-line functions and their wrappers, ~2
CPU-s of ~17 on a slow machine.

Inside :func:`kernels_inline`, each scalar operation of a ``Composite`` whose numba function
PyTensor writes as a single expression (``+`` and ``*`` over all inputs, a NumPy ufunc, ``**`` on
floats, a two-way ``switch`` with float branches) has that expression written into the kernel's own
source instead of a call, so numba types and lowers it as part of the kernel. Every other operation
(those with code of their own: ``sigmoid``, ``softplus``, ``gammaln``, casts to small types, ...) is
still called as PyTensor makes it. The kernel computes the same operations on the same types, in
the same order (numba compiles PyTensor's one-line function for exactly the argument types the call
passes; mediamix compiles without fast-math, so LLVM reorders nothing), so its results are the
same bit for bit: the tests compare kernels against PyTensor's own on edge values, and the demo
model's logp and gradient. The kernel's cache key is its own, made from its source, its constants
and the keys of the functions it still calls.

Measured on the demo, one-process cold compile of the logp/gradient function, both variants at the
same time, one per CPU, CPUs swapped each round (``benchmarks/compile_pairs.py``; the slow machine
of 2026-11-30): 438 -> 207 numba functions; 16.4 -> 14.6 s (medians of 6 pairs, 6 faster), and
13.04 vs 14.38 s against the commit before (4 of 4 pairs, ratio 0.907), the same draws.

Only PyTensor versions whose numba backend was read for it are changed (:data:`CHECKED_PYTENSOR`);
with others the block changes nothing.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import threading
from collections.abc import Iterator
from typing import Any

__all__ = ["CHECKED_PYTENSOR", "VERSION", "kernels_inline", "kernel_source"]

#: PyTensor versions (major, minor) whose numba lowering of scalar operations this module was read against.
CHECKED_PYTENSOR = ((3, 3),)

#: Changes whenever the source this module writes changes: part of every kernel's cache key.
VERSION = "mediamix-inline-kernels-1"

#: Output types that PyTensor's scalar lowering returns as computed (others get a cast wrapper).
_UNCAST = frozenset({"bool", "int64", "uint64", "float64", "complex128"})

_active: contextvars.ContextVar[bool] = contextvars.ContextVar("mediamix_kernels_inline", default=False)
_install_lock = threading.Lock()
_installed = False


@contextlib.contextmanager
def kernels_inline() -> Iterator[None]:
    """Inside, PyTensor's numba backend compiles each ``Composite`` scalar kernel as one function
    with its one-line scalar operations written inline (see the module docstring)."""
    if not _install():
        yield
        return
    token = _active.set(True)
    try:
        yield
    finally:
        _active.reset(token)


def _install() -> bool:
    """Register the kernel lowering with PyTensor's numba backend, once; False with an unchecked PyTensor."""
    global _installed
    import pytensor

    if tuple(int(part) for part in pytensor.__version__.split(".")[:2]) not in CHECKED_PYTENSOR:
        return False
    with _install_lock:
        if not _installed:
            import pytensor.link.numba.dispatch.scalar as numba_scalar
            from pytensor.scalar.basic import Composite

            own = numba_scalar.numba_funcify_Composite  # PyTensor's lowering (the name keeps the undecorated one)

            def lower_composite(op: Any, node: Any, **kwargs: Any) -> tuple[Any, str | None]:
                if _active.get():
                    made = _inline_kernel(op, **kwargs)
                    if made is not None:
                        return made
                return own(op, node, **kwargs)

            # Registered like PyTensor's own, so its cast of small output types still wraps the kernel.
            numba_scalar.register_scalar_funcify(Composite)(lower_composite)
            _installed = True
    return True


def kernel_source(op: Any, call: Any = None) -> tuple[str, dict[str, Any], list[Any]] | None:
    """The source of ``op``'s (a ``Composite``) kernel with its one-line operations inline, the names
    its source reads, and the parts of its cache key; None when an operation it calls has no cache key.

    ``call(scalar_op, node)`` lowers an operation that is not written inline and returns ``(numba
    function, cache key)``; by default PyTensor's ``numba_funcify_ensure_cache``.
    """
    import numpy as np
    import pytensor.link.numba.dispatch.basic as numba_basic

    if call is None:
        call = numba_basic.numba_funcify_ensure_cache
    fgraph = op.fgraph
    names: dict[Any, str] = {var: f"i{k}" for k, var in enumerate(fgraph.inputs)}
    env: dict[str, Any] = {"np": np}
    key: list[Any] = [VERSION]

    def name_of(var: Any) -> str:
        if var not in names:  # a constant: a global of the kernel, as PyTensor passes it
            name = f"c{len(names)}"
            env[name] = numba_basic.numba_typify(var.data, dtype=var.type.dtype)
            key.append((name, var.type.dtype, numba_basic.cache_key_for_constant(var.data)))
            names[var] = name
        return names[var]

    lines = []
    for j, node in enumerate(fgraph.toposort()):
        args = [name_of(var) for var in node.inputs]
        outputs = [f"v{j}_{k}" for k in range(len(node.outputs))]
        expression = _expression(node, args)
        if expression is None:
            function, function_key = call(node.op, node)
            if function_key is None:
                return None
            env[f"f{j}"] = function
            key.append((f"f{j}", function_key))
            expression = f"f{j}({', '.join(args)})"
        lines.append(f"    {', '.join(outputs)} = {expression}")
        names.update(zip(node.outputs, outputs, strict=True))
    results = [name_of(var) for var in fgraph.outputs]
    returned = results[0] if len(results) == 1 else f"({', '.join(results)},)"
    parameters = ", ".join(f"i{k}" for k in range(len(fgraph.inputs)))
    source = f"def numba_composite({parameters}):\n" + "\n".join(lines) + f"\n    return {returned}\n"
    return source, env, [*key, source]


def _inline_kernel(op: Any, **kwargs: Any) -> tuple[Any, str] | None:
    import pytensor.link.numba.dispatch.basic as numba_basic
    from pytensor.link.numba.cache import compile_numba_function_src

    kwargs.pop("storage_map", None)
    made = kernel_source(op, lambda scalar_op, node: numba_basic.numba_funcify_ensure_cache(scalar_op, node=node, **kwargs))
    if made is None:
        return None
    source, env, key = made
    function = compile_numba_function_src(source, "numba_composite", env)
    return numba_basic.numba_njit(function), hashlib.sha256(repr(key).encode()).hexdigest()


def _expression(node: Any, args: list[str]) -> str | None:
    """The expression PyTensor's numba function for ``node`` returns, over ``args``; None where that
    function is more than one expression (or casts its result)."""
    import numpy as np
    import pytensor.link.numba.dispatch.basic as numba_basic
    from pytensor.scalar.basic import Add, Mul, Pow, ScalarOp, Switch

    if len(node.outputs) != 1 or node.outputs[0].type.dtype not in _UNCAST:
        return None
    lower = numba_basic.numba_funcify_and_cache_key.dispatch
    kind = lower(type(node.op))
    if kind is lower(Add):  # def add(x0, x1, ...): return x0 + x1 + ...
        return "(" + " + ".join(args) + ")"
    if kind is lower(Mul):
        return "(" + " * ".join(args) + ")"
    if kind is lower(Pow):  # def pow(x, y): return x**y (its fastmath differs for integer exponents)
        if all(var.type.dtype == "float64" for var in node.inputs):
            return f"({args[0]} ** {args[1]})"
        return None
    if kind is lower(Switch):  # if condition: return x  else: return y
        # numba unifies the two branches' types the same way in a function's return and in an
        # expression; kept to float branches and a float64 result.
        if node.outputs[0].type.dtype == "float64" and all(
            var.type.dtype in ("float32", "float64") for var in node.inputs[1:]
        ):
            return f"({args[1]} if {args[0]} else {args[2]})"
        return None
    if kind is lower(ScalarOp):  # def name(x0, ...): return np.<name>(x0, ...)  (a NumPy ufunc)
        spec = getattr(node.op, "nfunc_spec", None)
        if spec is not None and "." not in spec[0] and hasattr(np, spec[0]):
            return f"np.{spec[0]}({', '.join(args)})"
    return None
