"""Keep libraries from importing what mediamix does not use: JAX behind our back, ArviZ's plotting with nutpie.

ArviZ registers ``jax`` in ``sys.modules`` as a lazy placeholder (:class:`importlib.util._LazyModule`)
that imports the real package on first attribute access. Libraries that recognise JAX arrays
without importing JAX, by looking at ``sys.modules["jax"].Array`` (matplotlib for every array it
plots; SciPy's array-API dispatch in ``logsumexp``, which ArviZ's PSIS calls), touch that
attribute and so import all of JAX: 0.4 s in the report's charts, 0.45 s in the first importance
resampling of an approximate fit (measured on the demo). mediamix never hands them JAX arrays, so
the placeholders are set aside while they run.

nutpie's first import (:func:`import_nutpie`) brings all of ArviZ (``import arviz``: its statistics,
SciPy's and its plotting, matplotlib's pyplot; 0.62 s of nutpie's 0.75 s), of which nutpie uses
only the converters of ``arviz_base`` (``from_dict``, ``dict_to_dataset``). It is imported with a
stand-in for ``arviz`` that gives those, and loads the rest of ArviZ only if asked for more.
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
import threading
import types
from collections.abc import Iterator

__all__ = ["import_nutpie", "unloaded_lazy_modules_hidden"]

_LOCK = threading.RLock()  # sys.modules is the whole process's: one thread at a time hides and restores


@contextlib.contextmanager
def unloaded_lazy_modules_hidden() -> Iterator[None]:
    """Remove not-yet-loaded lazy modules from ``sys.modules`` for the block, and put them back after.

    If the block (or another thread) imports one of them for real meanwhile, the placeholder is
    completed with the real module's namespace instead of put back, as its own first attribute
    access would have done (found in review: put back over the real module, the placeholder raised
    "module object substituted in sys.modules" on every later use).
    """
    with _LOCK:
        hidden = {name: module for name, module in sys.modules.items()
                  if isinstance(module, importlib.util._LazyModule)}  # noqa: SLF001 - the stdlib's own marker type
        for name in hidden:
            del sys.modules[name]
        try:
            yield
        finally:
            for name, placeholder in hidden.items():
                real = sys.modules.setdefault(name, placeholder)
                if real is not placeholder:
                    _complete(placeholder, real)


def _complete(placeholder: types.ModuleType, real: types.ModuleType) -> None:
    """Turn a lazy placeholder into a plain module holding ``real``'s namespace (without loading it again)."""
    namespace = object.__getattribute__(placeholder, "__dict__")
    namespace.update(real.__dict__)
    object.__setattr__(placeholder, "__class__", types.ModuleType)


def import_nutpie() -> types.ModuleType:
    """``import nutpie``, without the parts of ArviZ it does not use (see the module docstring).

    When ``arviz`` is not imported yet, nutpie's module-level ``import arviz`` gets a stand-in: a
    module that hands out ``arviz_base``'s names and imports the real ArviZ for any other. The
    stand-in is removed from ``sys.modules`` afterwards, so everyone else's ``import arviz`` gets
    the real package.
    """
    if "nutpie" in sys.modules or "arviz" in sys.modules or not _arviz_is_arviz_base_and_more():
        import nutpie

        return nutpie
    stand_in = _ArvizStandIn("arviz")
    with _LOCK:
        sys.modules["arviz"] = stand_in
        try:
            import nutpie
        finally:
            if sys.modules.get("arviz") is stand_in:
                del sys.modules["arviz"]
    return nutpie


def _arviz_is_arviz_base_and_more() -> bool:
    """Whether the installed ArviZ is 1.x or later, whose converters are ``arviz_base``'s (0.x had its own)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return int(version("arviz").split(".")[0]) >= 1 and importlib.util.find_spec("arviz_base") is not None
    except (PackageNotFoundError, ValueError):
        return False


class _ArvizStandIn(types.ModuleType):
    """``arviz`` as far as ``arviz_base`` goes; any other name comes from the real package, imported then."""

    def __getattr__(self, name: str) -> object:
        if name.startswith("__"):
            raise AttributeError(name)
        import arviz_base

        if hasattr(arviz_base, name):
            return getattr(arviz_base, name)
        with _LOCK:
            if sys.modules.get("arviz") is self:  # asked while nutpie is still importing: make way for the real one
                del sys.modules["arviz"]
            real = importlib.import_module("arviz")
        return getattr(real, name)
