"""``rewrites_cached``: a stored rewritten graph is reused only for the same graph, and gives the same function."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pymc as pm
import pytest

from mediamix.helper_processes import ForkedJob
from mediamix.inference import rewrite_cache, samplers
from mediamix.inference.samplers import compile_nutpie
from mediamix.inference.traced_values import traced_posterior

pytensor = pytest.importorskip("pytensor")
pt = pytest.importorskip("pytensor.tensor")
nutpie = pytest.importorskip("nutpie")


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "rewrites"
    monkeypatch.setattr(rewrite_cache, "cache_directory", lambda: folder)
    monkeypatch.setattr(rewrite_cache, "stats", {"hits": 0, "misses": 0, "stores": 0, "shared": 0})
    return folder


def _graph(scale: float = 3.0):  # type: ignore[no-untyped-def]
    """A fresh graph each call (as in a new process): log-sum-exp, a constant vector, a dot product."""
    x = pt.dvector("x")
    y = pt.log(pt.sum(pt.exp(x * scale))) + pt.dot(x, pt.constant(np.linspace(0.5, 1.5, 4)))
    return [x], [y, pt.grad(y, x)]


def _function(scale: float = 3.0):  # type: ignore[no-untyped-def]
    with rewrite_cache.rewrites_cached():
        return pytensor.function(*_graph(scale), mode="NUMBA")


def _ops(fn) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(node.op) for node in fn.maker.fgraph.toposort()]


def test_the_same_graph_loads_the_stored_rewriting_and_computes_the_same(cache: Path) -> None:
    x = np.array([0.1, -0.4, 2.0, 0.3])
    with pytensor.config.change_flags(numba__cache=True):
        first = _function()
        assert rewrite_cache.stats == {"hits": 0, "misses": 1, "stores": 1, "shared": 0}
        assert len(list(cache.glob("*.pkl"))) == 1
        second = _function()
        assert rewrite_cache.stats["hits"] == 1
    plain = pytensor.function(*_graph(), mode="NUMBA")
    assert _ops(first) == _ops(second)  # the stored graph is the rewritten one, node for node
    for a, b, c in zip(first(x), second(x), plain(x), strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)


def test_a_different_constant_is_a_different_graph(cache: Path) -> None:
    x = np.array([0.1, -0.4, 2.0, 0.3])
    with pytensor.config.change_flags(numba__cache=True):
        three = _function(3.0)
        two = _function(2.0)  # same structure, another constant: must not take the stored graph
    assert rewrite_cache.stats == {"hits": 0, "misses": 2, "stores": 2, "shared": 0}
    assert not np.allclose(three(x)[0], two(x)[0])
    np.testing.assert_allclose(two(x)[0], np.log(np.exp(2.0 * x).sum()) + x @ np.linspace(0.5, 1.5, 4))


def test_updates_and_inplace_rewrites_survive_the_cache(cache: Path) -> None:
    """A shared variable updated by the function: the inplace bookkeeping is rebuilt on a hit."""
    def counter():  # type: ignore[no-untyped-def]
        state = pytensor.shared(np.zeros(3), name="state")
        step = pt.dvector("step")
        with rewrite_cache.rewrites_cached():
            return state, pytensor.function([step], (state + step).sum(), updates={state: state + step},
                                            mode="NUMBA")

    with pytensor.config.change_flags(numba__cache=True):
        (s1, f1), (s2, f2) = counter(), counter()
    assert rewrite_cache.stats["hits"] == 1
    for f, s in ((f1, s1), (f2, s2)):
        assert f(np.ones(3)) == 3.0
        assert f(np.ones(3)) == 6.0
        np.testing.assert_array_equal(s.get_value(), [2.0, 2.0, 2.0])


def test_a_damaged_file_is_rewritten(cache: Path) -> None:
    with pytensor.config.change_flags(numba__cache=True):
        _function()
        (file,) = cache.glob("*.pkl")
        file.write_bytes(b"not a pickle")
        again = _function()
    assert rewrite_cache.stats == {"hits": 0, "misses": 2, "stores": 2, "shared": 0}
    np.testing.assert_allclose(again(np.zeros(4))[0], np.log(4.0))
    assert file.read_bytes() != b"not a pickle"


def test_nothing_is_cached_when_pytensors_numba_cache_is_off(cache: Path) -> None:
    with pytensor.config.change_flags(numba__cache=False):
        _function()
    assert not cache.exists()
    assert rewrite_cache.stats == {"hits": 0, "misses": 0, "stores": 0, "shared": 0}


def test_only_the_most_recently_used_graphs_are_kept(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rewrite_cache, "MAX_ENTRIES", 2)
    with pytensor.config.change_flags(numba__cache=True):
        for scale in (1.0, 2.0, 3.0, 4.0):
            _function(scale)
    assert len(list(cache.glob("*.pkl"))) == 2


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forks on Linux only")
def test_a_large_graph_rewritten_by_another_process_is_taken_from_it(cache: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The other process rewrites the same graph and stores it; this process installs it: the same function."""
    monkeypatch.setattr(rewrite_cache, "SHARED_NODES", 1)
    asked: list[Path] = []

    def rewritten_elsewhere(file: Path) -> bool:
        asked.append(file)
        other = ForkedJob(lambda report: _function())  # a fresh graph, rewritten and stored there
        assert other.wait(timeout=120) == b""
        other.kill()
        return file.exists()

    with pytensor.config.change_flags(numba__cache=True), rewrite_cache.rewrites_shared(rewritten_elsewhere):
        shared = _function()
    assert rewrite_cache.stats == {"hits": 1, "misses": 0, "stores": 0, "shared": 1}
    assert asked == list(cache.glob("*.pkl"))
    plain = pytensor.function(*_graph(), mode="NUMBA")
    assert _ops(shared) == _ops(plain)
    x = np.array([0.1, -0.4, 2.0, 0.3])
    for a, b in zip(shared(x), plain(x), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_graph_not_rewritten_elsewhere_is_rewritten_here(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[Path] = []
    with pytensor.config.change_flags(numba__cache=True), rewrite_cache.rewrites_shared(asked.append):
        _function()  # smaller than SHARED_NODES: not asked about
        assert asked == []
        monkeypatch.setattr(rewrite_cache, "SHARED_NODES", 1)
        function = _function(2.0)  # asked about, and None (False): rewritten here
        with rewrite_cache.rewrites_shared(None):
            _function(1.0)  # nothing shared in this block
    assert len(asked) == 1 and asked[0].exists()
    assert rewrite_cache.stats == {"hits": 0, "misses": 3, "stores": 3, "shared": 0}
    x = np.zeros(4)
    np.testing.assert_allclose(function(x)[0], np.log(4.0))


def test_a_graph_that_does_not_pickle_leaves_an_empty_entry(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """So that a process sharing its rewriting stops waiting for it; the entry is a miss."""
    write = rewrite_cache.write_entry
    monkeypatch.setattr(rewrite_cache, "write_entry", lambda file, value: value is None and write(file, value))
    with pytensor.config.change_flags(numba__cache=True):
        _function()
        (file,) = cache.glob("*.pkl")
        assert rewrite_cache.read_entry(file) is None
        _function()
    assert rewrite_cache.stats == {"hits": 0, "misses": 2, "stores": 0, "shared": 0}


def test_pytensor_is_left_as_it_was() -> None:
    from pytensor.compile.maker import FunctionMaker

    before = FunctionMaker.__dict__["prepare_fgraph"]
    with rewrite_cache.rewrites_cached(), rewrite_cache.rewrites_cached():  # nested
        pass
    assert FunctionMaker.__dict__["prepare_fgraph"] is before


def _model() -> pm.Model:
    rng = np.random.default_rng(0)
    x = rng.normal(size=50)
    y = 1.0 + 2.0 * x + rng.normal(scale=0.5, size=50)
    with pm.Model() as model:
        a = pm.Normal("a", 0, 2)
        b = pm.Normal("b", 0, 2)
        s = pm.HalfNormal("s", 1)
        pm.Deterministic("b2", 2 * b)
        pm.Normal("y", a + b * x, s, observed=y)
    return model


def test_a_model_compiled_from_the_stored_rewrites_gives_the_same_draws(cache: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(samplers.COMPILE_PROCESS_VARIABLE, "0")  # every rewrite in this process (no helper)
    models = _model(), _model()
    with pytensor.config.change_flags(numba__cache=True):
        fresh = compile_nutpie(models[0], reuse=False)
        misses = rewrite_cache.stats["misses"]
        assert misses >= 2 and rewrite_cache.stats["stores"] == misses  # logp+gradient, expand, ...
        stored = compile_nutpie(models[1], reuse=False)  # through the rewrites, not the compiled-model record
        assert rewrite_cache.stats["hits"] == misses and rewrite_cache.stats["misses"] == misses
    draws = [traced_posterior(nutpie.sample(c, draws=100, tune=100, chains=2, cores=1, seed=3, progress_bar=False),
                              model)["posterior"] for c, model in zip((fresh, stored), models, strict=True)]
    for name in ("a", "b", "s", "b2"):
        np.testing.assert_array_equal(draws[0][name].values, draws[1][name].values, err_msg=name)
