"""Lazy placeholders (ArviZ's ``jax``) are hidden while matplotlib or SciPy look for JAX arrays, and stay usable."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from mediamix.lazy_modules import unloaded_lazy_modules_hidden


@pytest.fixture
def lazy_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """A module registered lazily, as ArviZ registers ``jax``: a placeholder that loads on first use."""
    name = "mediamix_lazy_probe"
    (tmp_path / f"{name}.py").write_text("VALUE = 42\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = importlib.util.find_spec(name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    monkeypatch.setitem(sys.modules, name, module)
    return name, module


def test_placeholders_are_hidden_in_the_block_and_back_after(lazy_module) -> None:  # type: ignore[no-untyped-def]
    name, placeholder = lazy_module
    with unloaded_lazy_modules_hidden():
        assert name not in sys.modules
    assert sys.modules[name] is placeholder
    with pytest.raises(RuntimeError), unloaded_lazy_modules_hidden():
        raise RuntimeError("put back after an error too")
    assert sys.modules[name] is placeholder
    assert placeholder.VALUE == 42  # and it still loads when used


def test_a_real_import_in_the_block_completes_the_placeholder(lazy_module) -> None:  # type: ignore[no-untyped-def]
    """Found in review: put back over the real module, the placeholder raised on every later use."""
    name, placeholder = lazy_module
    with unloaded_lazy_modules_hidden():
        real = importlib.import_module(name)
    assert sys.modules[name] is real
    assert placeholder.VALUE == 42 and type(placeholder).__name__ == "module"
