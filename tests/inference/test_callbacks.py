"""nutpie's C callbacks calling the model's functions through an address, and the helper that
compiles part of them in a second process."""

from __future__ import annotations

import ctypes
import os
import sys

import numpy as np
import pymc as pm
import pytest

from mediamix.helper_processes import HelperSide, fork_here, groundwork, lay_groundwork
from mediamix.inference import cache_saves, callbacks, rewrite_cache, samplers
from mediamix.inference.samplers import compile_nutpie
from mediamix.inference.traced_values import traced_posterior

nutpie = pytest.importorskip("nutpie")
pytensor = pytest.importorskip("pytensor")

_LOGP = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_uint64, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                         ctypes.c_void_p)


def _call_logp(compiled, x: np.ndarray, user_data: np.ndarray | None = None) -> tuple[int, float, np.ndarray]:
    """Call the logp callback as nutpie does: return code, log density, gradient."""
    user_data = compiled.user_data if user_data is None else user_data
    x = np.ascontiguousarray(x, dtype=float)
    grad, logp = np.zeros(x.size), np.zeros(())
    code = _LOGP(compiled.compiled_logp_func.address)(x.size, x.ctypes.data, grad.ctypes.data, logp.ctypes.data,
                                                      user_data.ctypes.data)
    return code, float(logp), grad


def _regression(slope: float, size: int = 30) -> pm.Model:
    rng = np.random.default_rng(1)
    x = rng.normal(size=size)
    with pm.Model() as model:
        a, b, s = pm.Normal("a", 0, 2), pm.Normal("b", 0, 2), pm.HalfNormal("s", 1)
        pm.Normal("y", a + b * x, s, observed=1.0 + slope * x + rng.normal(scale=0.5, size=size))
    return model


def _sample(compiled):
    return nutpie.sample(compiled, draws=100, tune=100, chains=2, cores=1, seed=3, progress_bar=False,
                         store_unconstrained=True)


def _draws(compiled) -> dict[str, np.ndarray]:
    post = _sample(compiled)["posterior"].to_dataset()
    return {name: post[name].values for name in post.data_vars}


def _assert_same_draws(ours, theirs, model: pm.Model) -> None:
    """The same unconstrained draws, bit for bit; traced from them, nutpie's own traced values."""
    a, b = _sample(ours), _sample(theirs)
    np.testing.assert_array_equal(a["sample_stats"]["unconstrained_draw"].values,
                                  b["sample_stats"]["unconstrained_draw"].values)
    traced, expected = traced_posterior(a, model)["posterior"].to_dataset(), b["posterior"].to_dataset()
    assert set(traced.data_vars) == set(expected.data_vars)
    for name in traced.data_vars:
        np.testing.assert_allclose(traced[name].values, expected[name].values, rtol=1e-14, err_msg=name)


def _nutpies_own(model: pm.Model):
    with pytensor.config.change_flags(numba__fastmath=False):  # as compile_nutpie compiles
        return nutpie.compile_pymc_model(model)


def test_the_callback_gives_the_pytensor_functions_values() -> None:
    compiled = compile_nutpie(_regression(1.5), reuse=False)
    x = np.array([0.3, -0.7, 0.2])
    code, logp, grad = _call_logp(compiled, x)
    expected_logp, expected_grad = compiled.logp_func(x)
    assert code == 0
    assert logp == float(expected_logp)
    np.testing.assert_array_equal(grad, expected_grad)


def test_the_shapes_are_measured_at_the_samplers_initial_point(monkeypatch: pytest.MonkeyPatch) -> None:
    """nutpie makes a second initial-point function only for a point to measure shapes at; the
    sampler's own, made first, gives one: one such function per compile, the same shapes as nutpie's."""
    import pymc.initial_point

    made = []
    make = pymc.initial_point.make_initial_point_fn

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        made.append(kwargs)
        return make(*args, **kwargs)

    with pm.Model() as model:  # a vector, a matrix and a deterministic: shapes that matter
        a = pm.Normal("a", 0, 1, shape=3)
        b = pm.HalfNormal("b", 1, shape=(2, 3))
        pm.Deterministic("c", a * b)
        pm.Normal("y", (a * b).sum(), 1, observed=0.5)
    monkeypatch.setattr(pymc.initial_point, "make_initial_point_fn", counting)
    ours = compile_nutpie(model, reuse=False)
    assert len(made) == 1
    monkeypatch.setattr(pymc.initial_point, "make_initial_point_fn", make)
    theirs = _nutpies_own(model)
    assert ours._n_dim == theirs._n_dim == 9
    assert [tuple(s) for s in ours._shapes.values()] == [tuple(theirs._shapes[n]) for n in ours._shapes]


def test_an_initial_point_function_that_fails_is_raised_and_leaves_nothing_replaced() -> None:
    """Made when the compile ends (no helper here), its error comes out of the compile; nutpie's
    steps, PyMC's maker and numba's refresh are their own again (found in review)."""
    import nutpie.compile_pymc as ncp
    import pymc.initial_point
    from numba.core.base import BaseContext

    steps = {name: getattr(ncp, name) for name in samplers._STEPS}
    make, refresh = pymc.initial_point.make_initial_point_fn, BaseContext.refresh
    with pm.Model(coords={"a": range(3)}) as model:
        pm.Normal("x", dims="a", initval="bogus")  # PyMC takes it, its initial-point function does not
    with pytest.raises(ValueError, match="bogus"):
        compile_nutpie(model, reuse=False)
    assert {name: getattr(ncp, name) for name in samplers._STEPS} == steps
    assert pymc.initial_point.make_initial_point_fn is make
    assert BaseContext.refresh is refresh


def test_the_initial_point_function_is_made_in_the_model_contexts_it_was_asked_for_in() -> None:
    """Made as groundwork inside nutpie's ``with model:``, it still compiles as asked (PyMC reads the
    context's ``check_bounds``)."""
    from pymc.model.core import MODEL_MANAGER

    made_in: list[list[object]] = []
    later = samplers._InitialPointLater(lambda: made_in.append(list(MODEL_MANAGER.active_contexts)) or (lambda: 1))
    with _regression(1.0) as model:
        assert later() == 1
        assert MODEL_MANAGER.active_contexts == [model]
    assert made_in == [[]]


def test_a_callback_is_shared_by_models_with_the_same_types() -> None:
    """The data are constants of the models' functions, not of the callbacks calling them."""
    steps = []
    enter = samplers._NutpieCompile.__enter__

    def spy(self):  # type: ignore[no-untyped-def]
        steps.append(self)
        return enter(self)

    with pytest.MonkeyPatch.context() as m:
        m.setattr(samplers._NutpieCompile, "__enter__", spy)
        first, second = compile_nutpie(_regression(2.5), reuse=False), compile_nutpie(_regression(-0.5), reuse=False)
    one, two = (step.recorded for step in steps)
    for name in callbacks.SOURCES:
        assert one[name][0] == two[name][0]  # the callback's key
    assert one["nutpie_logp"][3].key != two["nutpie_logp"][3].key  # its function's: another graph
    assert abs(_draws(first)["b"].mean() - 2.5) < 0.5
    assert abs(_draws(second)["b"].mean() + 0.5) < 0.5


def test_a_function_that_raises_makes_the_callback_return_an_error_code() -> None:
    from pytensor.raise_op import Assert

    with pm.Model() as model:
        mu = pm.Normal("mu", 0, 1)
        pm.Potential("positive", Assert("mu must be positive")(mu, pytensor.tensor.gt(mu, 0)))
    compiled = compile_nutpie(model, reuse=False)
    assert _call_logp(compiled, np.array([0.5]))[0] == 0
    assert _call_logp(compiled, np.array([-0.5]))[0] == 1  # as nutpie's own callbacks: an error, not a crash
    assert _call_logp(compiled, np.array([0.5]))[0] == 0


def test_a_callback_without_its_functions_address_returns_an_error_code() -> None:
    compiled = compile_nutpie(_regression(0.5), reuse=False)
    user_data = compiled.user_data.copy()
    user_data[callbacks.TARGET_SLOTS["nutpie_logp"]] = 0
    assert _call_logp(compiled, np.zeros(3), user_data)[0] == 2


def test_user_data_keeps_nutpies_fields_and_gains_the_two_addresses() -> None:
    record = np.zeros((), dtype=[("shared", [("data", [("a", np.uintp)])])])
    record["shared"]["data"]["a"] = 7
    extended = callbacks.with_target_slots(record)
    assert extended.dtype.names == ("shared", *callbacks.TARGET_SLOTS.values())
    assert int(extended["shared"]["data"]["a"]) == 7
    assert callbacks.with_target_slots(extended) is extended


# ------------------------------------------------------------------ the helper process

forking = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the helper forks on Linux only")


@pytest.fixture
def empty_numba_cache(tmp_path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """numba's cache for functions PyTensor (and mediamix) make, and the rewritten graphs, empty: a cold compile."""
    import pytensor.link.numba.cache as cache

    monkeypatch.setattr(cache, "NUMBA_CACHE_PATH", tmp_path)
    monkeypatch.setattr(callbacks, "_TARGETS", {})
    monkeypatch.setattr(rewrite_cache, "cache_directory", lambda: tmp_path / "rewrites")
    return tmp_path


@pytest.fixture
def helpers(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Compile helpers forked (as this process sees them), whatever the machine's load (what these
    tests check is not the load)."""
    started: list[object] = []

    def fork():  # type: ignore[no-untyped-def]
        forked = fork_here()
        started.append(forked)
        return forked

    monkeypatch.setattr(samplers, "may_fork", lambda: True)
    monkeypatch.setattr(samplers, "fork_here", fork)
    return started


def _cache_hits(target_key: str) -> int:
    return sum(callbacks._TARGETS[target_key].stats.cache_hits.values())


@forking
def test_a_helper_compiles_the_expand_function_and_both_callbacks(empty_numba_cache, helpers) -> None:  # type: ignore[no-untyped-def]
    steps = []
    enter = samplers._NutpieCompile.__enter__
    with pytest.MonkeyPatch.context() as m:
        m.setattr(samplers._NutpieCompile, "__enter__", lambda self: steps.append(self) or enter(self))
        model = _regression(3.25)
        shared = rewrite_cache.stats["shared"]
        compiled = compile_nutpie(model, reuse=False)
    assert len(helpers) == 1
    assert rewrite_cache.stats["shared"] == shared + 1  # the logp graph: rewritten there, installed here
    recorded = steps[0].recorded
    assert _cache_hits(recorded["nutpie_expand"][3].key) == 1  # compiled there, loaded here
    assert _cache_hits(recorded["nutpie_logp"][3].key) == 0  # compiled here meanwhile
    saved = os.listdir(empty_numba_cache)
    for name in callbacks.SOURCES:  # both callbacks are in the cache (saved by the helper, or by both)
        assert any(recorded[name][0] in file and file.endswith(".nbi") for file in saved), name
    _assert_same_draws(compiled, _nutpies_own(model), model)


@forking
def test_the_helper_reads_the_ops_types_off_the_graph_without_the_probe(empty_numba_cache, helpers, tmp_path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """The helper (a fork: the patches below are its own too) hands the ops read off the graph to
    its compile from the end at once; the typing probe is never started."""
    probe_marker, calls_file = tmp_path / "probed", tmp_path / "calls"
    compile_from_end = samplers._compile_ops_from_the_end

    def probe(*args, **kwargs):  # type: ignore[no-untyped-def]
        probe_marker.touch()
        raise AssertionError("the probe ran")

    def from_the_end(calls, globals_, saving):  # type: ignore[no-untyped-def]
        calls_file.write_text(str(len(calls)))
        return compile_from_end(calls, globals_, saving)

    monkeypatch.setattr(samplers, "_find_ops", probe)
    monkeypatch.setattr(samplers, "_compile_ops_from_the_end", from_the_end)
    # This process lays the groundwork it was given while the helper compiles, once it runs, and once;
    # the sampler's initial-point function is made there too (the shapes came from the dims).
    import pymc.initial_point

    laid: list[int] = []
    make = pymc.initial_point.make_initial_point_fn
    monkeypatch.setattr(pymc.initial_point, "make_initial_point_fn",
                        lambda *a, **k: (laid.append(-len(helpers)), make(*a, **k))[1])
    model = _regression(1.25)
    with groundwork(lambda: laid.append(len(helpers))):
        compiled = compile_nutpie(model, reuse=False)
        lay_groundwork()  # laid already
    assert len(helpers) == 1
    assert laid == [1, -1]  # the fit's groundwork, then the initial-point function: both after the fork
    assert not probe_marker.exists()
    assert int(calls_file.read_text()) >= 5
    _assert_same_draws(compiled, _nutpies_own(model), model)


@forking
def test_a_helper_not_forked_at_the_rewrite_is_forked_for_the_ops(empty_numba_cache, helpers,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """No CPU to spare when the logp graph is rewritten (here), one later: the helper compiles ahead."""
    asked: list[int] = []
    monkeypatch.setattr(samplers, "may_fork", lambda: asked.append(1) or len(asked) > 1)
    steps = []
    enter = samplers._NutpieCompile.__enter__
    monkeypatch.setattr(samplers._NutpieCompile, "__enter__", lambda self: steps.append(self) or enter(self))
    model = _regression(-0.625)
    shared = rewrite_cache.stats["shared"]
    compiled = compile_nutpie(model, reuse=False)
    assert len(asked) == 2 and len(helpers) == 1  # refused at the rewrite, forked once the graphs were made
    assert rewrite_cache.stats["shared"] == shared  # rewritten here
    assert _cache_hits(steps[0].recorded["nutpie_expand"][3].key) == 1  # compiled there, loaded here
    _assert_same_draws(compiled, _nutpies_own(model), model)


def _share_rewrite_seen(monkeypatch: pytest.MonkeyPatch) -> list[tuple[bool, bool]]:
    """What each shared rewrite answered, and whether the helper was given up then (it had ended:
    nothing else ends a wait in these tests)."""
    seen: list[tuple[bool, bool]] = []
    share = samplers._NutpieCompile.share_rewrite

    def recorded(self, file):  # type: ignore[no-untyped-def]
        answer = share(self, file)
        seen.append((answer, self.helper is None))
        return answer

    monkeypatch.setattr(samplers._NutpieCompile, "share_rewrite", recorded)
    monkeypatch.setattr(samplers, "_SHARED_REWRITE_WAIT", 3600.0)  # only the helper's end or file stops a wait
    return seen


@forking
def test_a_failed_helper_costs_only_time(empty_numba_cache, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    started = []

    def fork_and_fail():  # type: ignore[no-untyped-def]
        forked = fork_here()
        if isinstance(forked, HelperSide):
            os._exit(3)
        started.append(forked)
        return forked

    monkeypatch.setattr(samplers, "may_fork", lambda: True)
    monkeypatch.setattr(samplers, "fork_here", fork_and_fail)
    seen = _share_rewrite_seen(monkeypatch)
    model = _regression(-2.75)
    compiled = compile_nutpie(model, reuse=False)  # everything rewritten and compiled here
    assert len(started) == 1
    assert seen[0] == (False, True)  # stopped waiting once the helper had ended, and gave it up
    _assert_same_draws(compiled, _nutpies_own(model), model)


@forking
def test_a_graph_the_helper_cannot_store_is_rewritten_here(empty_numba_cache, helpers,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """The helper's empty entry (its graph did not pickle) ends the wait while the helper goes on."""
    write = rewrite_cache.write_entry
    monkeypatch.setattr(rewrite_cache, "write_entry", lambda file, value: value is None and write(file, value))
    seen = _share_rewrite_seen(monkeypatch)
    model = _regression(0.375)
    shared, misses = rewrite_cache.stats["shared"], rewrite_cache.stats["misses"]
    compiled = compile_nutpie(model, reuse=False)
    assert len(helpers) == 1
    assert seen[0] == (True, False)  # the entry was there, the helper kept (it compiles ahead)
    assert rewrite_cache.stats["shared"] == shared and rewrite_cache.stats["misses"] > misses
    _assert_same_draws(compiled, _nutpies_own(model), model)


@forking
def test_the_helper_saves_only_its_own_functions_to_numbas_cache(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Two processes saving entries of one function at once could mix up numba's index."""
    import numba
    from pytensor.link.numba.cache import compile_numba_function_src

    from mediamix.helper_processes import ForkedJob

    def compile_two(report) -> None:  # type: ignore[no-untyped-def]
        import pytensor.link.numba.cache as cache

        cache.NUMBA_CACHE_PATH = tmp_path
        keys = cache_saves.save_only()
        keys.add("ours")
        for key in ("ours", "theirs"):
            fn = compile_numba_function_src("def f(x):\n    return x + 1\n", "f", {}, cache_key=key)
            assert numba.njit(cache=True)(fn)(1) == 2

    job = ForkedJob(compile_two)
    assert job.wait(timeout=120) is not None
    job.kill()
    saved = os.listdir(tmp_path)
    assert any("ours" in file for file in saved)
    assert not any("theirs" in file for file in saved)


def _uncompiled_logp_target(model: pm.Model):  # type: ignore[no-untyped-def]
    """The logp function's target and its globals, numba's part not compiled yet."""
    import nutpie.compile_pymc as ncp
    from pymc.initial_point import make_initial_point_fn

    functions = ncp._make_functions(model, mode="NUMBA", compute_grad=True, join_expanded=True, var_names=None,
                                    pymc_initial_point_fn=make_initial_point_fn(model=model, return_transformed=True))
    logp_pt = functions[2]
    shared = {f"s{i}": np.asarray(v.get_value()) for i, v in enumerate(logp_pt.get_shared())}
    return callbacks.describe_target(logp_pt.vm.jit_fn, callbacks.argument_types(shared, list(shared)))


@forking
def test_the_ops_compiled_from_the_end_elsewhere_are_loaded_here(empty_numba_cache) -> None:  # type: ignore[no-untyped-def]
    """The typing probe finds each op's exact argument types: what the helper compiles is what the
    compile here then loads instead of compiling."""
    import pickle

    from mediamix.helper_processes import ForkedJob

    with pytensor.config.change_flags(numba__fastmath=False):
        target, globals_ = _uncompiled_logp_target(_regression(1.75, size=25))
        prober = ForkedJob(lambda report: samplers._find_ops(target, globals_, report))
        found = prober.wait(timeout=120)
        prober.kill()
        assert found is not None
        calls = pickle.loads(found)
        assert len(calls) >= 5 and all(name in globals_ for name, _ in calls)
        helper = ForkedJob(lambda report: samplers._compile_ops_from_the_end(calls, globals_, cache_saves.save_only()))
        assert helper.wait(timeout=300) is not None
        helper.kill()
        compiled, _ = callbacks.compile_target(target, globals_)
    assert compiled.restype is not None
    loaded = 0
    for name, args in calls:
        op = globals_[name]
        assert args in op.overloads  # the probe's argument types are the compile's
        loaded += sum(op.stats.cache_hits.values())
    assert loaded >= len({name for name, _ in calls}) - 2  # all but ops called twice or not cached


def test_no_helper_when_the_user_says_so(empty_numba_cache, helpers, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv(samplers.COMPILE_PROCESS_VARIABLE, "0")
    model = _regression(0.125)
    compiled = compile_nutpie(model, reuse=False)
    assert helpers == []
    _assert_same_draws(compiled, _nutpies_own(model), model)


_EXPAND = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_uint64, ctypes.c_uint64, ctypes.c_void_p, ctypes.c_void_p,
                           ctypes.c_void_p)


def _reads(which: str) -> pm.Model:
    """Two shared values of one type; the deterministic ``d`` reads one of them."""
    with pm.Model() as model:
        u = pm.Data("u", np.array([1.0, 2.0, 3.0]))
        v = pm.Data("v", np.array([100.0, 200.0, 300.0]))
        a = pm.Normal("a", 0, 1)
        pm.Normal("y1", a * u, 1, observed=np.zeros(3))
        pm.Normal("y2", a * v, 1, observed=np.zeros(3))
        pm.Deterministic("d", a * (u if which == "u" else v))
    return model


def test_callbacks_reading_other_shared_values_are_not_shared() -> None:
    """Found in review: the expand callback was keyed by types alone, so a model whose ``d`` reads
    ``v`` got the cached callback of one that reads ``u`` (same types), and traced ``a * u``. The
    expand function now reads no shared value, but a callback's key still covers which ones it reads."""
    import nutpie.compile_pymc as ncp

    u, v = pytensor.shared(np.array([1.0, 2.0, 3.0])), pytensor.shared(np.array([100.0, 200.0, 300.0]))
    keys = {u: "shared_0", v: "shared_1"}
    shared_data = {key: var.get_value() for var, key in keys.items()}
    dtype = callbacks.with_target_slots(ncp.make_user_data(keys, shared_data)).dtype  # both in user_data
    model = _regression(1.0)
    compiled = compile_nutpie(model, reuse=False)
    target, _ = callbacks.describe_target(compiled.logp_func.vm.jit_fn, callbacks.argument_types({}, []))
    sources = [callbacks.callback_source("nutpie_logp", dtype, [(slot, 1)]) for slot in shared_data]
    assert sources[0] != sources[1]
    keys = {callbacks.callback_key(src, target, {"n_dim": 3}) for src in sources}
    assert len(keys) == 2


def test_the_traced_deterministic_reads_its_own_models_data() -> None:
    """End to end (sampled, then traced): each model's ``d`` is ``a`` times the data it reads."""
    for which, data in (("u", [1.0, 2.0, 3.0]), ("v", [100.0, 200.0, 300.0])):
        model = _reads(which)
        result = samplers.NutpieSampler().sample(model, chains=1, draws=20, tune=20, seed=1, target_accept=0.8,
                                                 progressbar=False)
        post = result.idata["posterior"]
        np.testing.assert_allclose(post["d"].values, post["a"].values[..., None] * np.array(data), rtol=1e-15,
                                   err_msg=which)


@forking
def test_saves_wait_for_the_cache_folders_lock(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """numba's saves are not safe from two processes at once: inside saves_locked each holds the lock."""
    import fcntl
    import time

    import numba
    from pytensor.link.numba.cache import compile_numba_function_src

    from mediamix.helper_processes import ForkedJob

    saved = tmp_path / "saved"

    def compile_one(report) -> None:  # type: ignore[no-untyped-def]
        import pytensor.link.numba.cache as cache

        cache.NUMBA_CACHE_PATH = tmp_path
        fn = compile_numba_function_src("def g(x):\n    return x * 2\n", "g", {}, cache_key="locked-save")
        assert numba.njit(cache=True)(fn)(2) == 4
        saved.write_text("yes")

    with open(tmp_path / cache_saves.LOCK_FILE, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with cache_saves.saves_locked():
            job = ForkedJob(compile_one)
        try:
            time.sleep(1.0)
            assert not saved.exists()  # its save waits for the lock this test holds
            assert not any(name.endswith(".nbi") for name in os.listdir(tmp_path))
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    assert job.wait(timeout=120) is not None
    job.kill()
    assert saved.read_text() == "yes"
    assert any("locked-save" in name and name.endswith(".nbi") for name in os.listdir(tmp_path))


def test_the_functions_warm_runs_call_keep_object_code_in_numbas_cache() -> None:
    """The graph's function and the callbacks are cached as object code (a warm run loads and calls
    them); the ops as bitcode (machine_code): the graph's function is found by its name."""
    with pytensor.config.change_flags(numba__fastmath=False):
        target, _ = _uncompiled_logp_target(_regression(0.5))
    assert target.name in samplers._OBJECT_CODE
    assert set(callbacks.SOURCES) <= samplers._OBJECT_CODE
