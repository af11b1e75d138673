"""numba's per-step bookkeeping, left out while mediamix compiles a model.

Two things numba does at every small step of a compile, for nothing a compile here reads:

- **LLVM-lock events.** Every call into LLVM (llvmlite's ``ffi``; ~74,000 in a one-process cold
  compile of the demo) takes llvmlite's lock, and numba's lock callback broadcasts a start and an
  end event to every timer the compiles in progress have installed (each nested compile installs
  one, to report LLVM's time in its dispatcher's metadata): ~13 us a call with three timers
  listening, ~4 us without the callback (on the slower machine of 2026-11-30).
- **Context refreshes.** numba refreshes its typing and target contexts ~1,800 times (every
  compile, every cache lookup, every overload it instantiates) to pick up registrations made since
  the last refresh: ~40 import statements and a pass over every registry, ~0.16 ms each. In the
  middle of a compile there are almost never any.

Inside :func:`lean_compiles`, numba's callback is off llvmlite's lock (the dispatchers' metadata
then reports no LLVM-lock time; nothing in PyTensor, PyMC, nutpie or mediamix reads it), and a
context refreshes only when a module was imported or one of its registries grew since its last
refresh. A refresh then loads exactly what it would have loaded: numba's registry loaders stream
each registry's lists and take only the items past the last one they took, so a refresh with no
list grown and no module imported installs nothing. Measured on the demo (one-process cold library
compile, alternating pairs on a slow, noisy machine): 15.22 -> 13.95 s, median of 5 pairs, all 5
faster. Only numba versions whose internals were read for it are changed (:data:`CHECKED_NUMBA`);
with others the block changes nothing.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator
from typing import Any

__all__ = ["CHECKED_NUMBA", "lean_compiles"]

#: numba versions (major, minor) whose context refresh and LLVM-lock callback this module was
#: checked against.
CHECKED_NUMBA = ((0, 68),)

#: The lists of numba's typing (``functions``, ``attributes``, ``globals``) and lowering
#: (``functions``, ``getattrs``, ``setattrs``, ``casts``, ``constants``) registries.
_REGISTRY_LISTS = ("functions", "attributes", "globals", "getattrs", "setattrs", "casts", "constants")

_lock = threading.Lock()
_depth = 0  # blocks open, over all threads: the first one in changes numba, the last one out restores it
_restore: contextlib.ExitStack | None = None


@contextlib.contextmanager
def lean_compiles() -> Iterator[None]:
    """Inside, numba compiles without LLVM-lock events and refreshes a context only when something
    was registered or imported since its last refresh (see the module docstring)."""
    global _depth, _restore
    with _lock:
        if _depth == 0:
            _restore = _changed_numba()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _restore is not None:
                _restore.close()
                _restore = None


def _changed_numba() -> contextlib.ExitStack | None:
    import numba

    if tuple(int(part) for part in numba.__version__.split(".")[:2]) not in CHECKED_NUMBA:
        return None
    import numba.core.base  # registers numba's LLVM-lock callback
    from llvmlite.binding import ffi
    from numba.core.base import BaseContext as TargetContext
    from numba.core.typing.context import BaseContext as TypingContext

    stack = contextlib.ExitStack()
    # Under llvmlite's own lock: no other thread's LLVM call sees a start event without its end.
    llvm_lock = ffi.lib._lock._lock
    with llvm_lock:
        callbacks = _numba_lock_callbacks()
        for acquire, release in callbacks:
            ffi.unregister_lock_callback(acquire, release)

    def register_again() -> None:
        with llvm_lock:
            for acquire, release in callbacks:
                ffi.register_lock_callback(acquire, release)

    stack.callback(register_again)
    for context_class, fingerprint in ((TargetContext, _target_fingerprint), (TypingContext, _typing_fingerprint)):
        own = context_class.__dict__["refresh"]
        context_class.refresh = _refresh_when_changed(own, fingerprint)
        stack.callback(setattr, context_class, "refresh", own)
    return stack


def _numba_lock_callbacks() -> list[tuple[Any, Any]]:
    """The (acquire, release) pairs numba registered on llvmlite's lock to broadcast LLVM-lock events."""
    from llvmlite.binding import ffi

    return [(acquire, release) for acquire, release in list(ffi.lib._lock._cblist)
            if getattr(acquire, "__module__", None) == "numba.core.base"
            and "_initialize_llvm_lock_event" in getattr(acquire, "__qualname__", "")]


def _registry_sizes(context: Any) -> list[int]:
    sizes = [len(context._registries)]
    for registry in context._registries:
        for name in _REGISTRY_LISTS:
            items = getattr(registry, name, None)
            if items is not None:
                sizes.append(len(items))
    return sizes


def _typing_fingerprint(context: Any) -> tuple[int, ...]:
    return (len(sys.modules), *_registry_sizes(context))


def _target_fingerprint(context: Any) -> tuple[int, ...]:
    # A target context's refresh refreshes its typing context too.
    return (len(sys.modules), *_registry_sizes(context), -1, *_registry_sizes(context.typing_context))


def _refresh_when_changed(refresh: Any, fingerprint: Any) -> Any:
    def refresh_when_changed(self: Any) -> None:
        seen = self.__dict__.get("_mediamix_refreshed")
        if seen is not None and seen == fingerprint(self):
            return
        refresh(self)
        self._mediamix_refreshed = fingerprint(self)

    refresh_when_changed.__wrapped__ = refresh  # type: ignore[attr-defined]
    return refresh_when_changed
