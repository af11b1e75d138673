"""``compile_nutpie``: nutpie's C callbacks from the compile cache give nutpie's own draws."""

from __future__ import annotations

import uuid

import numpy as np
import pymc as pm
import pytest

from mediamix.inference.samplers import compile_nutpie
from mediamix.inference.traced_values import traced_posterior

nutpie = pytest.importorskip("nutpie")
pytensor = pytest.importorskip("pytensor")


def _regression(with_data: bool, slope: float = 2.0) -> pm.Model:
    rng = np.random.default_rng(0)
    x = rng.normal(size=40)
    y = 1.0 + slope * x + rng.normal(scale=0.5, size=40)
    with pm.Model() as model:
        xs = pm.Data("x", x) if with_data else x
        ys = pytensor.shared(y, name="y_data", shape=y.shape) if with_data else y
        a = pm.Normal("a", 0, 2)
        b = pm.Normal("b", 0, 2)
        s = pm.HalfNormal("s", 1)
        pm.Normal("y", a + b * xs, s, observed=ys)
    return model


def _sample(compiled):
    return nutpie.sample(compiled, draws=100, tune=100, chains=2, cores=1, seed=5, progress_bar=False,
                         store_unconstrained=True)


def _draws(compiled) -> dict[str, np.ndarray]:
    """The unconstrained draws and what the compiled model traces (from compile_nutpie: the value variables)."""
    idata = _sample(compiled)
    post = idata["posterior"].to_dataset()
    return {"unconstrained": idata["sample_stats"]["unconstrained_draw"].values,
            **{name: post[name].values for name in post.data_vars}}


@pytest.mark.parametrize("with_data", [False, True])
def test_cached_callbacks_give_nutpies_own_draws(with_data: bool) -> None:
    model = _regression(with_data)
    ours = compile_nutpie(model)
    assert ours.compiled_logp_func.__name__ == "nutpie_logp"  # the cached path was taken
    with pytensor.config.change_flags(numba__fastmath=False):  # as compile_nutpie compiles
        theirs = nutpie.compile_pymc_model(model)
    a, b = _sample(ours), _sample(theirs)
    np.testing.assert_array_equal(a["sample_stats"]["unconstrained_draw"].values,
                                  b["sample_stats"]["unconstrained_draw"].values)
    assert set(a["posterior"].data_vars) == {"a", "b", "s_log__"}  # the value variables
    traced, expected = traced_posterior(a, model)["posterior"].to_dataset(), b["posterior"].to_dataset()
    assert set(traced.data_vars) == set(expected.data_vars) == {"a", "b", "s"}
    for name in traced.data_vars:
        np.testing.assert_allclose(traced[name].values, expected[name].values, rtol=1e-14, err_msg=name)
        assert traced[name].dims == expected[name].dims


def test_new_shared_values_reuse_the_cached_callbacks_and_are_read_at_runtime(monkeypatch) -> None:
    import pytensor.link.numba.cache as cache

    keys: list[str] = []
    register = cache.compile_numba_function_src

    def spy(src, name, env, **kwargs):  # type: ignore[no-untyped-def]
        if name.startswith("nutpie_"):
            keys.append(kwargs["cache_key"])
        return register(src, name, env, **kwargs)

    monkeypatch.setattr(cache, "compile_numba_function_src", spy)
    up, down = compile_nutpie(_regression(True, slope=2.0)), compile_nutpie(_regression(True, slope=-3.0))
    assert len(keys) == 4 and keys[:2] == keys[2:]  # logp and expand callbacks: same code for new data
    assert abs(_draws(up)["b"].mean() - 2.0) < 0.5
    assert abs(_draws(down)["b"].mean() + 3.0) < 0.5  # the cached code reads the new data


def _fields(compiled) -> dict:
    """What a compiled model holds besides code and functions: sizes, names, shapes, dims, coords."""
    names, slices, shapes = compiled.shape_info
    return {
        "n_dim": compiled.n_dim, "n_expanded": compiled.n_expanded, "names": list(names),
        "slices": [(s.start, s.stop) for s in slices], "shapes": [tuple(int(n) for n in s) for s in shapes],
        "dims": compiled.dims, "coords": {k: list(v) for k, v in compiled.coords.items()},
        "reparameterized": compiled.reparameterized_names, "shared": sorted(compiled.shared_data),
        "user_data": str(compiled.user_data.dtype),
    }


@pytest.mark.parametrize("with_data", [False, True])
def test_a_model_compiled_before_is_rebuilt_from_its_record_with_the_same_draws(with_data: bool) -> None:
    from mediamix.inference import compiled_models

    model = _regression(with_data)
    full = compile_nutpie(model, reuse=False)
    assert full.logp_func is not None and full.expand_func is not None
    compile_nutpie(model)  # records it, unless an earlier run already did
    hits = compiled_models.stats["hits"]
    rebuilt = compile_nutpie(model)
    assert compiled_models.stats["hits"] == hits + 1
    assert rebuilt.logp_func is None  # the graph work was skipped
    assert _fields(rebuilt) == _fields(full)
    a, b = _draws(rebuilt), _draws(full)
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_the_record_is_keyed_by_the_models_structure_and_constants() -> None:
    from mediamix.inference.compiled_models import model_key

    assert model_key(_regression(False)) == model_key(_regression(False))
    assert model_key(_regression(False, slope=2.0)) != model_key(_regression(False, slope=-3.0))  # data are constants
    assert model_key(_regression(True, slope=2.0)) == model_key(_regression(True, slope=-3.0))  # data are inputs
    with pm.Model() as other:  # another prior family for s
        a, b, s = pm.Normal("a", 0, 2), pm.Normal("b", 0, 2), pm.Exponential("s", 1)
        x = np.random.default_rng(0).normal(size=40)
        pm.Normal("y", a + b * x, s, observed=1.0 + 2.0 * x + np.random.default_rng(0).normal(scale=0.5, size=40))
    assert model_key(other) not in {model_key(_regression(False)), None}


def _functions_gone(record: dict) -> dict:
    """The record pointing at compiled functions numba's cache does not hold."""
    import dataclasses

    return {**record, "callbacks": {name: (key, c_sig, sizes, dataclasses.replace(target, key="0" * 64), *rest)
                                    for name, (key, c_sig, sizes, target, *rest) in record["callbacks"].items()}}


def _other_shapes(record: dict) -> dict:
    """The record of a model whose variables have other shapes."""
    names, bounds, shapes = record["shape_info"]
    return {**record, "shape_info": (names, bounds, [(2,) + tuple(s) for s in shapes])}


@pytest.mark.parametrize("tamper", [_functions_gone, _other_shapes])
def test_a_record_that_does_not_fit_is_not_used(tamper, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from mediamix.inference import compiled_models

    model = _regression(False)
    compile_nutpie(model)  # make sure there is a record
    read = compiled_models.read_entry
    monkeypatch.setattr(compiled_models, "read_entry", lambda file: tamper(read(file)))
    misses = compiled_models.stats["misses"]
    compiled = compile_nutpie(model)
    assert compiled_models.stats["misses"] == misses + 1
    assert compiled.logp_func is not None and compiled.n_dim == 3  # compiled as usual, shapes from the model
    assert abs(_draws(compiled)["b"].mean() - 2.0) < 0.5


def _custom_logp_square(value, mu):  # type: ignore[no-untyped-def]
    return -0.5 * (value - mu) ** 2


def _custom_logp_abs(value, mu):  # type: ignore[no-untyped-def]
    return -pytensor.tensor.abs(value - mu)


def _interval(low: float, high: float) -> pm.Model:
    with pm.Model() as model:
        x = pm.Normal("x", 0, 3, transform=pm.distributions.transforms.Interval(low, high))
        pm.Normal("y", x, 1, observed=np.array([0.3, 0.1]))
    return model


def _custom(logp) -> pm.Model:  # type: ignore[no-untyped-def]
    with pm.Model() as model:
        mu = pm.Normal("mu", 0, 1)
        pm.CustomDist("y", mu, logp=logp, observed=np.array([0.3, -1.2, 2.0]))
    return model


def _op_from_graph(factor: float) -> pm.Model:
    from pytensor.compile.builders import OpFromGraph

    a = pytensor.tensor.dvector("a")
    scale = OpFromGraph([a], [a * factor])
    with pm.Model() as model:
        x = pm.Normal("x", 0, 1, shape=2)
        pm.Normal("y", scale(x), 1, observed=np.array([0.3, -0.4]))
    return model


def _sparse(factor: float) -> pm.Model:
    import pytensor.sparse as ps
    import scipy.sparse as sp

    matrix = sp.csr_matrix(np.array([[1.0, 0.0, 2.0], [0.0, 3.0, 0.0]]) * factor)
    with pm.Model() as model:
        x = pm.Normal("x", 0, 1, shape=3)
        pm.Normal("y", ps.structured_dot(ps.as_sparse_variable(matrix), x[:, None])[:, 0], 1,
                  observed=np.array([0.5, -0.4]))
    return model


def _masked(mask: str) -> pm.Model:
    with pm.Model() as model:
        keep = pm.Data("keep", np.array([c == "1" for c in mask]))
        x = pm.Normal("x", 0, 1, shape=4)
        pm.Deterministic("kept", x[keep])  # its length depends on the data
        pm.Normal("y", x, 1, observed=np.array([0.3, -0.2, 0.5, 1.0]))
    return model


@pytest.mark.parametrize(("first", "second"), [
    (lambda: _interval(-1, 1), lambda: _interval(-2, 2)),  # the transform's bounds live in a closure
    (lambda: _masked("1011"), lambda: _masked("1000")),  # integer/boolean data can decide shapes
], ids=["interval-bounds", "data-decided-shape"])
def test_models_that_differ_in_what_the_graph_text_hides_get_different_keys(first, second) -> None:
    """Found in review: these pairs shared a key, so the second model sampled the first's posterior."""
    from mediamix.inference.compiled_models import model_key

    assert None not in (model_key(first()), model_key(second()))
    assert model_key(first()) == model_key(first())
    assert model_key(first()) != model_key(second())


@pytest.mark.parametrize(("model", "graph_keyable"), [
    # its logp is not among the op's parameters; the logp graph itself is plain PyTensor
    (lambda: _custom(_custom_logp_square), True),
    (lambda: _op_from_graph(2.0), False),  # an inner graph as an op parameter
    (lambda: _sparse(1.0), False),  # a constant whose printed form leaves its values out
], ids=["custom-dist", "op-from-graph", "sparse-constant"])
def test_what_cannot_be_keyed_is_never_reused(model, graph_keyable: bool) -> None:
    from pytensor.graph.basic import Constant
    from pytensor.graph.traversal import graph_inputs, io_toposort

    from mediamix.inference.compiled_models import model_key
    from mediamix.inference.rewrite_cache import Unkeyable, graph_text

    m = model()
    assert model_key(m) is None
    outputs = [m.logp()]  # the rewrite cache keys the graphs PyTensor compiles: inputs are not constants
    inputs = [v for v in graph_inputs(outputs) if not isinstance(v, Constant)]
    if graph_keyable:
        graph_text(inputs, io_toposort(inputs, outputs), outputs)
    else:
        with pytest.raises(Unkeyable):
            graph_text(inputs, io_toposort(inputs, outputs), outputs)


def test_two_custom_logps_give_their_own_log_densities() -> None:
    """End to end: the second CustomDist is compiled, not found under the first one's key."""
    from mediamix.inference.approximate import _Unconstrained

    for logp in (_custom_logp_square, _custom_logp_abs):
        model = _custom(logp)
        space = _Unconstrained(model)
        assert space.logp_grad(space.start)[0] == pytest.approx(float(model.compile_logp()(model.initial_point())))


@pytest.mark.parametrize("with_data", [False, True])
def test_a_callback_missing_from_numbas_cache_is_compiled_again_from_the_record(with_data: bool, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The record holds each callback's whole source: losing the callback costs its compile, not the model's."""
    from mediamix.inference import compiled_models

    model = _regression(with_data)
    full = compile_nutpie(model, reuse=False)
    compile_nutpie(model)  # make sure there is a record
    read = compiled_models.read_entry
    unseen = uuid.uuid4().hex  # a key numba never saw (each callback's code must have its own key)
    monkeypatch.setattr(compiled_models, "read_entry", lambda file: {**read(file), "callbacks": {
        name: (f"{unseen}-{name}", *rest) for name, (_, *rest) in read(file)["callbacks"].items()}})
    hits = compiled_models.stats["hits"]
    rebuilt = compile_nutpie(model)
    assert compiled_models.stats["hits"] == hits + 1 and rebuilt.logp_func is None
    a, b = _draws(rebuilt), _draws(full)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
