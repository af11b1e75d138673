"""numba's machine code on demand (mediamix.inference.machine_code): what waits, and that everything
that runs, raises, prints or is cached works as with numba's own finalization."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numba
import pytest

from mediamix.inference import machine_code

pytestmark = pytest.mark.skipif(not machine_code._supported(), reason="numba version not checked by machine_code")

NO_WRAPPERS = {"no_cpython_wrapper": True, "no_cfunc_wrapper": True}  # as PyTensor compiles its ops


def _run(tmp_path: Path, source: str, *args: str) -> list[str]:
    """Run ``source`` in a fresh Python process with its own numba cache under ``tmp_path``; its
    standard output, split into words."""
    script = tmp_path / "script.py"
    script.write_text(source)
    done = subprocess.run([sys.executable, "-W", "ignore", str(script), *args], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba")})
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.split()


def _library(dispatcher: numba.core.dispatcher.Dispatcher) -> object:
    (result,) = dispatcher.overloads.values()
    return result.library


def test_a_function_only_linked_into_its_caller_never_makes_machine_code() -> None:
    with machine_code.machine_code_on_demand():
        @numba.njit(**NO_WRAPPERS)
        def inner(x: float) -> float:
            return x * 2.0

        @numba.njit
        def outer(x: float) -> float:
            return inner(x) + 1.0

        before = machine_code.deferred_count()
        assert outer(3.0) == 7.0
        assert machine_code.deferred_count() >= before + 2  # inner and outer (outer until called)
    assert getattr(_library(inner), "_mediamix_waiting", False)  # its code only ever ran inside outer's
    assert not getattr(_library(outer), "_mediamix_waiting", False)  # called from Python: made
    assert outer(-1.5) == -2.0  # still works after the block


def test_a_waiting_function_prints_and_raises_inside_its_caller(capfd: pytest.CaptureFixture[str]) -> None:
    """print needs the function's environment (numba sets it once a module defining it has code);
    a raise travels through the caller's code."""
    with machine_code.machine_code_on_demand():
        @numba.njit(**NO_WRAPPERS)
        def checked(x: float) -> float:
            print("checked sees", x)
            if x < 0:
                raise ValueError("negative spend")
            return x + 0.5

        @numba.njit
        def caller(x: float) -> float:
            return checked(x) * 2.0

        assert caller(1.0) == 3.0
        with pytest.raises(ValueError, match="negative spend"):
            caller(-1.0)
    out = capfd.readouterr().out
    assert "checked sees 1.0" in out and "checked sees -1.0" in out


def test_recursion_and_a_c_callback_work_inside() -> None:
    with machine_code.machine_code_on_demand():
        @numba.njit
        def fib(n: int) -> int:
            return n if n < 2 else fib(n - 1) + fib(n - 2)

        @numba.cfunc("float64(float64)")
        def half(x: float) -> float:
            return x / 2.0

        assert fib(15) == 610
        address = half.address
    assert address != 0
    assert ctypes.CFUNCTYPE(ctypes.c_double, ctypes.c_double)(address)(5.0) == 2.5


def test_outside_the_block_nothing_waits() -> None:
    @numba.njit(**NO_WRAPPERS)
    def plain(x: float) -> float:
        return x - 1.0

    @numba.njit
    def user(x: float) -> float:
        return plain(x)

    before = machine_code.deferred_count()
    assert user(2.0) == 1.0
    assert machine_code.deferred_count() == before
    assert not getattr(_library(plain), "_mediamix_waiting", False)


def test_other_numba_versions_are_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(machine_code, "CHECKED_NUMBA", ())
    assert not machine_code._supported()


_FIRST_COMPILE = textwrap.dedent("""
    import numba
    from mediamix.inference import machine_code

    with machine_code.machine_code_on_demand():  # the process's first numba compile: NRT's too
        @numba.njit
        def foo(n):
            return 0 if n <= 0 else bar(n - 1) + 1

        @numba.njit
        def bar(n):
            return 0 if n <= 0 else foo(n - 1) + 1

        print(foo(10))
""")


def test_numbas_runtime_never_waits_and_mutual_recursion_works(tmp_path: Path) -> None:
    """Found in review: with the process's first compile inside the block, numba's runtime library
    waited, and the run-time linker of a mutually recursive pair asked it for an address in the
    middle of another library's finalization (a segfault)."""
    assert _run(tmp_path, _FIRST_COMPILE) == ["10"]


_FORKED_CACHE = textwrap.dedent("""
    import os, sys
    import numba
    from mediamix.inference import machine_code

    # As PyTensor's functions: source run with exec, globals without __name__ (an environment numba
    # does not cache); print needs the environment.
    namespace = {"numba": numba}
    exec("@numba.njit(no_cpython_wrapper=True, no_cfunc_wrapper=True)\\n"
         "def inner(x):\\n    print('inner sees', x)\\n    return x * 2.0\\n", namespace)
    inner = namespace["inner"]

    @numba.njit(cache=True)
    def outer(x):
        return inner(x) + 1.0

    with machine_code.machine_code_on_demand():
        inner.compile("float64(float64)")  # waits here, its environment too
        pid = os.fork()
        if pid == 0:  # as mediamix's compile helper: compiles the caller into numba's cache
            outer.compile((numba.float64,))
            os._exit(0)
        os.waitpid(pid, 0)
        print(outer(1.0), sum(outer.stats.cache_hits.values()), flush=True)
""")


def test_a_waiting_environment_is_set_when_a_cached_caller_defines_it(tmp_path: Path) -> None:
    """Found in review: a forked helper saved a caller that links a function waiting here; loaded
    here from the cache, the caller's copy of the function's environment was not set ("missing
    Environment") until some later finalization."""
    assert _run(tmp_path, _FORKED_CACHE) == ["inner", "sees", "1.0", "3.0", "1"]


_CACHED = textwrap.dedent("""
    import sys
    import numba
    from mediamix.inference import machine_code

    @numba.njit(no_cpython_wrapper=True, no_cfunc_wrapper=True, cache=True)
    def op(x):
        if x < 0:
            raise ValueError("negative")
        return x * 3.0

    @numba.njit(cache=True)
    def graph(x):
        return op(x) + 1.0

    keep = frozenset({"graph"}) if sys.argv[2] == "bitcode" else None  # None: everything as object code
    if sys.argv[1] == "compile":
        with machine_code.machine_code_on_demand(object_code_for=keep):
            print(graph(2.0), machine_code.deferred_count() > 0)
    elif sys.argv[1] == "link":  # a new caller links the op loaded from the cache
        with machine_code.machine_code_on_demand(object_code_for=keep):
            @numba.njit
            def user(x):
                return op(x) - 1.0

            print(user(2.0), sum(op.stats.cache_hits.values()))
            (result,) = op.overloads.values()
            print(getattr(result.library, "_mediamix_waiting", False))  # bitcode waits; object code never
            try:
                user(-1.0)
            except ValueError as err:
                print("raised", err)
    else:  # numba's own finalization: the op's bitcode gets machine code when loaded
        print(graph(2.0), sum(graph.stats.cache_hits.values()))
        @numba.njit
        def user(x):
            return op(x) - 1.0
        print(user(2.0), sum(op.stats.cache_hits.values()))
""")


@pytest.mark.parametrize("kind", ["object", "bitcode"])
def test_a_cached_op_links_into_new_callers_with_or_without_the_block(tmp_path: Path, kind: str) -> None:
    """A function compiled inside the block is saved to numba's cache (the machine code made for
    it, or, outside ``object_code_for``, as bitcode without any); a fresh process links it into a
    new caller inside the block (bitcode: still without machine code) and raises through it, and
    outside the block loads it as numba does. The named function keeps object code."""
    assert _run(tmp_path, _CACHED, "compile", kind) == ["7.0", "True"]
    waits = str(kind == "bitcode")
    assert _run(tmp_path, _CACHED, "link", kind) == ["5.0", "1", waits, "raised", "negative"]
    assert _run(tmp_path, _CACHED, "plain", kind) == ["7.0", "1", "5.0", "1"]


_MIXED = textwrap.dedent("""
    import sys
    import numba
    import numpy as np
    from mediamix.inference import machine_code

    NO_WRAPPERS = dict(no_cpython_wrapper=True, no_cfunc_wrapper=True, cache=True)

    @numba.njit(**NO_WRAPPERS)
    def op1(x):
        if x > 100.0:
            print("op1 sees", x)  # needs op1's environment
        if x < 0:
            raise ValueError("negative")
        return (np.arange(3.0) * x).sum()

    @numba.njit(**NO_WRAPPERS)
    def op2(x):
        return op1(x) + (np.arange(4.0) + x).sum()  # op1 linked into op2

    @numba.njit(**NO_WRAPPERS)
    def graph(x):
        return op1(x) * 10.0 + op2(x)  # kept as object code

    @numba.cfunc("float64(float64)", cache=True)
    def callback(x):  # not among the names kept: bitcode, made into machine code when loaded
        return op2(x) - 0.5

    keep = frozenset({"graph"})
    with machine_code.machine_code_on_demand(object_code_for=keep):
        if sys.argv[1] == "load":  # graph (object) and the ops (bitcode) linked into one new caller
            @numba.njit
            def caller(x):
                return graph(x) + op1(x) + op2(x)

            print(caller(1.0), caller(200.0))
            try:
                caller(-1.0)
            except ValueError as err:
                print("raised", err)
        else:
            @numba.njit
            def first(x):
                return graph(x) + op2(x)

            print(first(1.0))
        print(callback.ctypes(2.0))
""")


def test_object_and_bitcode_functions_link_into_one_caller_and_a_bitcode_callback_runs(tmp_path: Path) -> None:
    """From a second review: the graph's object code and two ops' bitcode (one linked into the
    other) in one new caller, printing (an op's environment) and raising through it; a C callback
    outside ``object_code_for`` is cached as bitcode and still runs."""
    def op1(x: float) -> float:  # the script's functions in plain Python
        return sum(i * x for i in range(3))

    def op2(x: float) -> float:
        return op1(x) + sum(i + x for i in range(4))

    def graph(x: float) -> float:
        return op1(x) * 10.0 + op2(x)

    def caller(x: float) -> float:
        return graph(x) + op1(x) + op2(x)

    assert _run(tmp_path, _MIXED, "compile") == [str(graph(1.0) + op2(1.0)), str(op2(2.0) - 0.5)]
    printed = ["op1", "sees", "200.0"] * 4  # op1 runs 4 times in caller: twice through graph, once through op2
    assert _run(tmp_path, _MIXED, "load") == [*printed, str(caller(1.0)), str(caller(200.0)), "raised", "negative",
                                              str(op2(2.0) - 0.5)]


def _from_source(source: str, name: str, **globals_: object) -> object:
    """A function compiled from source at the top level of its namespace, as PyTensor makes its
    wrappers (its qualified name has no ``<locals>``)."""
    namespace: dict[str, object] = dict(globals_)
    exec(textwrap.dedent(source), namespace)  # noqa: S102 - a literal
    return namespace[name]


def test_a_thin_wrapper_skips_llvms_module_passes_and_its_caller_still_gets_it_right() -> None:
    with machine_code.machine_code_on_demand():
        @numba.njit(**NO_WRAPPERS)
        def op_impl(x: float, y: float) -> float:  # an op's own code: <locals> in its name
            return (x * y + 1.0) / (x - y)

        wrapper = numba.njit(**NO_WRAPPERS)(_from_source(
            "def op_wrapper_t1(*args):\n    return jitable_func(*args)\n", "op_wrapper_t1", jitable_func=op_impl))
        graph = numba.njit(_from_source(
            "def graph_t1(x, y):\n    return wrapper(x, y) * 2.0\n", "graph_t1", wrapper=wrapper))
        before = machine_code.thin_count()
        assert graph(3.0, 1.0) == 4.0
        with pytest.raises(ZeroDivisionError):  # raised in the op's code, through the wrapper
            graph(1.0, 1.0)
        assert machine_code.thin_count() == before + 1  # the wrapper only
    assert getattr(_library(wrapper), "_mediamix_thin", False)
    assert not getattr(_library(op_impl), "_mediamix_thin", False)  # a nested name: its own code
    assert not getattr(_library(graph), "_mediamix_thin", False)  # links a library, but called from Python


def test_an_implementation_a_kept_function_and_code_outside_the_block_are_optimized() -> None:
    inner = numba.njit(**NO_WRAPPERS)(_from_source("def inner_t2(x):\n    return x + 1.0\n", "inner_t2"))
    # a top-level function with more than a thin wrapper's code of its own
    body = "".join(f"    x = inner(x) * {k}.5 - x / {k + 1}.0\n" for k in range(20))
    big_source = f"def big_t2(x):\n{body}    return x\n"
    big = numba.njit(**NO_WRAPPERS)(_from_source(big_source, "big_t2", inner=inner))
    expected = _from_source(big_source, "big_t2", inner=inner.py_func)(0.25) + 2.5  # the same in Python
    kept = numba.njit(**NO_WRAPPERS)(_from_source("def kept_t2(x):\n    return inner(x)\n", "kept_t2", inner=inner))
    outside = numba.njit(**NO_WRAPPERS)(_from_source("def outside_t2(x):\n    return inner(x)\n", "outside_t2",
                                                     inner=inner))
    caller = numba.njit(_from_source("def caller_t2(x):\n    return big(x) + kept(x) + outside(x)\n", "caller_t2",
                                     big=big, kept=kept, outside=outside))
    outside.compile("(float64,)")
    before = machine_code.thin_count()
    with machine_code.machine_code_on_demand(object_code_for=frozenset({"kept_t2"})):
        assert caller(0.25) == pytest.approx(expected)
    assert machine_code.thin_count() == before
    for function in (big, kept, outside):
        assert not getattr(_library(function), "_mediamix_thin", False)


def test_a_linked_only_library_is_optimized_where_it_runs() -> None:
    """Inside the block with ``object_code_for``, a library that is only linked into its callers skips
    LLVM's module passes; a function that runs (in ``object_code_for``) is optimized at RUN_LEVEL with
    their code in it, and one not in it whose machine code is asked for gets its module passes then."""
    @numba.njit(**NO_WRAPPERS)
    def squares(x: float, n: int) -> float:  # an op's own code, with a loop for the optimizer
        total = 0.0
        for k in range(n):
            total += (x + k) * (x + k)
        return total

    runs = numba.njit(**NO_WRAPPERS)(_from_source("def runs_t3(x, n):\n    return squares(x, n) * 2.0\n", "runs_t3",
                                                  squares=squares))
    from_python = numba.njit(_from_source("def from_python_t3(x, n):\n    return squares(x, n) + 1.0\n",
                                          "from_python_t3", squares=squares))
    caller = numba.njit(_from_source("def caller_t3(x, n):\n    return runs(x, n)\n", "caller_t3", runs=runs))
    expected = sum((0.5 + k) ** 2 for k in range(7))
    before = machine_code.linked_only_count()
    with machine_code.machine_code_on_demand(object_code_for=frozenset({"runs_t3"})):
        runs.compile("(float64, int64)")
        assert getattr(_library(squares), "_mediamix_unoptimized", False)  # left to its callers
        assert getattr(_library(runs), "_mediamix_level", None) == machine_code.RUN_LEVEL
        assert machine_code.linked_only_count() >= before + 1
        assert from_python(0.5, 7) == pytest.approx(expected + 1.0)  # its own machine code: optimized first
        assert not getattr(_library(from_python), "_mediamix_unoptimized", False)
        assert caller(0.5, 7) == pytest.approx(2.0 * expected)
    assert caller(1.5, 3) == pytest.approx(2.0 * sum((1.5 + k) ** 2 for k in range(3)))  # after the block too


def test_without_object_code_for_every_library_gets_its_module_passes() -> None:
    before = machine_code.linked_only_count()
    with machine_code.machine_code_on_demand():
        @numba.njit(**NO_WRAPPERS)
        def inner_t4(x: float) -> float:
            return x * 3.0

        outer = numba.njit(_from_source("def outer_t4(x):\n    return inner_t4(x) - 1.0\n", "outer_t4",
                                        inner_t4=inner_t4))
        assert outer(2.0) == 5.0
    assert machine_code.linked_only_count() == before
    assert not getattr(_library(inner_t4), "_mediamix_unoptimized", False)
    assert getattr(_library(outer), "_mediamix_level", None) is None  # numba's own level
