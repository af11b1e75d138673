"""Which numba functions a numba function calls, and with which argument types, without compiling.

numba compiles a function's callees while it infers the function's types (it needs their return
types), one after another. To compile some of them elsewhere at the same time (the compile helper in
:mod:`mediamix.inference.samplers`), their exact argument types must be known first: they follow
from numba's type inference of the caller, all the way down. :func:`direct_calls` runs that type
inference alone: every dispatcher's call is typed by type inference of its own body instead of a
compile. On the demo model's logp/gradient function this takes ~1.3 s, against ~7 s to compile it;
the 76 signatures it finds are those the compile then uses (``tests/inference/test_callbacks.py``).

It changes numba's dispatchers for the rest of the process (they answer typing questions without
compiled code), so it is run in a process of its own that ends right after.

The compile helper now reads the same types off the PyTensor graph
(:mod:`mediamix.inference.op_signatures`, milliseconds instead of seconds); this probe is what it
falls back on when the graph's function cannot be read line for line (another PyTensor).
"""

from __future__ import annotations

import functools
from typing import Any

__all__ = ["direct_calls"]


def direct_calls(dispatcher: Any, argtypes: tuple[Any, ...]) -> list[tuple[Any, tuple[Any, ...]]]:
    """The dispatchers ``dispatcher`` calls for ``argtypes``, each with the (folded) argument types of
    the call, in the order type inference meets them; a dispatcher called twice alike is listed once.

    Leaves numba unfit for compiling in this process (see the module docstring).
    """
    from numba.core import dispatcher as numba_dispatcher
    from numba.core import typing

    return_types: dict[tuple[int, tuple[Any, ...]], Any] = {}
    calls: list[tuple[Any, tuple[Any, ...]]] = []
    depth = 0

    def get_call_template(self: Any, args: Any, kws: Any) -> Any:
        nonlocal depth
        pysig, args = self._compiler.fold_argument_types(args, kws)  # noqa: SLF001
        args = tuple(args)
        key = (id(self), args)
        if args in self.overloads:
            restype = self.overloads[args].signature.return_type
        elif key in return_types:
            restype = return_types[key]
        else:
            if depth == 0:
                calls.append((self, args))
            depth += 1
            try:
                restype = _infer_return_type(self, args)
            finally:
                depth -= 1
            return_types[key] = restype
        template = typing.make_concrete_template(f"CallTemplate({self.py_func.__name__})", key=self.py_func.__name__,
                                                 signatures=[typing.signature(restype, *args)])
        return template, pysig, args, {}

    def get_overload(self: Any, args: Any) -> Any:  # what lowering would call: never reached here
        found = self.overloads.get(tuple(args))
        return None if found is None else found.entry_point

    numba_dispatcher._DispatcherBase.get_call_template = get_call_template  # noqa: SLF001
    numba_dispatcher._DispatcherBase.get_overload = get_overload  # noqa: SLF001
    _infer_return_type(dispatcher, tuple(argtypes))
    return calls


class _Typed(Exception):  # noqa: N818 - not an error: how type inference hands back its result
    """Raised by the pass after type inference, carrying the return type."""


def _infer_return_type(dispatcher: Any, args: tuple[Any, ...]) -> Any:
    """``dispatcher``'s return type for ``args``, by numba's frontend and type inference only."""
    from numba.core import compiler

    helper = dispatcher._compiler  # noqa: SLF001
    flags = compiler.Flags()
    helper.targetdescr.options.parse_as_flags(flags, helper.targetoptions)
    flags = helper._customize_flags(flags)  # noqa: SLF001
    try:
        compiler.compile_extra(helper.targetdescr.typing_context, helper.targetdescr.target_context,
                               helper._get_implementation(args, {}), args=args, return_type=None,  # noqa: SLF001
                               flags=flags, locals=helper.locals, pipeline_class=_type_only_pipeline())
    except _Typed as typed:
        return typed.args[0]
    raise RuntimeError(f"type inference of {dispatcher.py_func.__name__} did not finish")


@functools.cache
def _type_only_pipeline() -> type:
    from numba.core import compiler, typed_passes
    from numba.core.compiler_machinery import FunctionPass, register_pass

    @register_pass(mutates_CFG=False, analysis_only=True)
    class StopAfterTyping(FunctionPass):  # type: ignore[misc]
        _name = "mediamix_stop_after_typing"

        def __init__(self) -> None:
            FunctionPass.__init__(self)

        def run_pass(self, state: Any) -> bool:
            raise _Typed(state.return_type)

    class TypeOnly(compiler.CompilerBase):  # type: ignore[misc]
        def define_pipelines(self) -> list[Any]:
            passes = compiler.DefaultPassBuilder.define_untyped_pipeline(self.state)
            passes.add_pass(typed_passes.NopythonTypeInference, "nopython frontend")
            passes.add_pass(StopAfterTyping, "stop after type inference")
            passes.finalize()
            return [passes]

    return TypeOnly
