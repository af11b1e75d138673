"""``compile_nutpie``: nutpie's C callbacks from the compile cache give nutpie's own draws."""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytest

from mediamix.inference.samplers import compile_nutpie

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


def _draws(compiled) -> dict[str, np.ndarray]:
    idata = nutpie.sample(compiled, draws=100, tune=100, chains=2, cores=1, seed=5, progress_bar=False)
    post = idata["posterior"].to_dataset()
    return {name: post[name].values for name in post.data_vars}


@pytest.mark.parametrize("with_data", [False, True])
def test_cached_callbacks_give_nutpies_own_draws(with_data: bool) -> None:
    model = _regression(with_data)
    ours = compile_nutpie(model)
    assert ours.compiled_logp_func.__name__ == "nutpie_logp"  # the cached path was taken
    with pytensor.config.change_flags(numba__fastmath=False):  # as compile_nutpie compiles
        theirs = nutpie.compile_pymc_model(model)
    a, b = _draws(ours), _draws(theirs)
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


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


def _callbacks_gone(record: dict) -> dict:
    """The record pointing at callbacks numba's cache does not hold."""
    return {**record, "callbacks": {name: ("0" * 64, *rest) for name, (_, *rest) in record["callbacks"].items()}}


def _other_shapes(record: dict) -> dict:
    """The record of a model whose variables have other shapes."""
    names, bounds, shapes = record["shape_info"]
    return {**record, "shape_info": (names, bounds, [(2,) + tuple(s) for s in shapes])}


@pytest.mark.parametrize("tamper", [_callbacks_gone, _other_shapes])
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
