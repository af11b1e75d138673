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


_NUTPIE_WITHOUT_ARVIZ_PLOTS = """
import sys
from mediamix.lazy_modules import import_nutpie
nutpie = import_nutpie()
import arviz_base
converters = sys.modules["nutpie.sample"].arviz  # what nutpie's module calls arviz
loaded = [name for name in ("arviz", "arviz_plots", "arviz_stats", "matplotlib.pyplot") if name in sys.modules]
assert loaded == [], loaded
assert converters.from_dict is arviz_base.from_dict  # all nutpie converts with
assert converters.dict_to_dataset is arviz_base.dict_to_dataset
rhat = converters.rhat  # a name arviz_base lacks: from the real ArviZ, imported now
import arviz
assert arviz is sys.modules["arviz"] and arviz is not converters and rhat is arviz.rhat
assert hasattr(arviz, "plot_dist")  # everyone else's import arviz is the real, whole package
print("ok")
"""


def test_nutpie_is_imported_without_arvizs_plotting_and_arviz_stays_whole() -> None:
    import subprocess

    out = subprocess.run([sys.executable, "-c", _NUTPIE_WITHOUT_ARVIZ_PLOTS], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"

