"""numba's LLVM-lock events and idle context refreshes left out while compiling
(mediamix.inference.compiler_bookkeeping): gone inside the block, back after it, and nothing a
compile needs is missed."""

from __future__ import annotations

import itertools

import numba
import numpy as np
import pytest
from numba.core import event
from numba.core.cpu import CPUContext
from numba.core.typing.context import Context as TypingContext

from mediamix.inference import compiler_bookkeeping
from mediamix.inference.compiler_bookkeeping import lean_compiles

pytestmark = pytest.mark.skipif(
    tuple(int(p) for p in numba.__version__.split(".")[:2]) not in compiler_bookkeeping.CHECKED_NUMBA,
    reason="numba version not checked by compiler_bookkeeping")

_names = itertools.count()


def _llvm_lock_events(compile_something: object) -> int:
    """How many LLVM-lock events numba broadcast while ``compile_something()`` ran."""
    with event.install_recorder("numba:llvm_lock") as recorder:
        compile_something()  # type: ignore[operator]
    return len(recorder.buffer)


def _fresh_function() -> object:
    """A function numba has not compiled yet (a new name each time, so nothing is cached in memory)."""
    namespace: dict[str, object] = {}
    exec(f"def f_{next(_names)}(x):\n    return x * 2.0 + 1.0", namespace)  # noqa: S102 - a literal
    (function,) = (v for k, v in namespace.items() if k.startswith("f_"))
    return numba.njit(function)


def test_no_llvm_lock_events_inside_the_block_and_numba_s_callback_back_after_it() -> None:
    before = compiler_bookkeeping._numba_lock_callbacks()
    assert before, "numba registers its LLVM-lock callback when imported"
    assert _llvm_lock_events(lambda: _fresh_function()(1.0)) > 0  # numba reports LLVM's time
    with lean_compiles():
        assert compiler_bookkeeping._numba_lock_callbacks() == []
        compiled = _fresh_function()
        assert _llvm_lock_events(lambda: compiled(1.0)) == 0
        assert compiled(3.0) == 7.0
    assert compiler_bookkeeping._numba_lock_callbacks() == before
    assert _llvm_lock_events(lambda: _fresh_function()(1.0)) > 0


def test_a_context_refreshes_only_when_something_was_registered_or_imported(
        monkeypatch: pytest.MonkeyPatch) -> None:
    loads: list[str] = []
    for cls, name in ((CPUContext, "target"), (TypingContext, "typing")):
        own = cls.load_additional_registries
        monkeypatch.setattr(cls, "load_additional_registries",
                            lambda self, own=own, name=name: (loads.append(name), own(self))[1])
    with lean_compiles():
        _fresh_function()(1.0)
        target = numba.core.registry.cpu_target.target_context
        target.refresh()  # may run: the compile may have registered or imported something since
        target.typing_context.refresh()
        loads.clear()
        target.refresh()
        target.typing_context.refresh()
        assert loads == []  # nothing new since: both refreshes left out

        # A registration made inside the block: the next refresh runs and the compile finds it.
        def tripled(x: float) -> float:
            raise NotImplementedError

        @numba.extending.overload(tripled)
        def _tripled(x):  # type: ignore[no-untyped-def]  # numba matches the implementation's signature
            return lambda x: 3.0 * x

        @numba.njit
        def uses_it(x: np.ndarray) -> float:
            return tripled(x[0]) + 1.0

        assert uses_it(np.array([2.0])) == 7.0
        assert "typing" in loads and "target" in loads
    assert "refresh_when_changed" not in CPUContext.refresh.__qualname__
    assert "refresh_when_changed" not in TypingContext.refresh.__qualname__


def test_nested_blocks_restore_numba_once_the_outermost_ends() -> None:
    with lean_compiles():
        with lean_compiles():
            assert compiler_bookkeeping._numba_lock_callbacks() == []
        assert compiler_bookkeeping._numba_lock_callbacks() == []  # the outer block is still open
        assert "refresh_when_changed" in CPUContext.refresh.__qualname__
    assert compiler_bookkeeping._numba_lock_callbacks()
    assert "refresh_when_changed" not in CPUContext.refresh.__qualname__


def test_an_unchecked_numba_version_is_left_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compiler_bookkeeping, "CHECKED_NUMBA", ((0, 1),))
    own = CPUContext.refresh
    with lean_compiles():
        assert compiler_bookkeeping._numba_lock_callbacks()
        assert CPUContext.refresh is own
        assert _fresh_function()(2.0) == 5.0
