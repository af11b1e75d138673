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
