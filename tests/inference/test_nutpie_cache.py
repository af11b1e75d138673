"""``compile_nutpie``: nutpie's C callbacks from the compile cache give nutpie's own draws."""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytest

from mediamix.inference.samplers import compile_nutpie

nutpie = pytest.importorskip("nutpie")
pytensor = pytest.importorskip("pytensor")


def _regression(with_data: bool) -> pm.Model:
    rng = np.random.default_rng(0)
    x = rng.normal(size=40)
    y = 1.0 + 2.0 * x + rng.normal(scale=0.5, size=40)
    with pm.Model() as model:
        xs = pm.Data("x", x) if with_data else x
        a = pm.Normal("a", 0, 2)
        b = pm.Normal("b", 0, 2)
        s = pm.HalfNormal("s", 1)
        pm.Normal("y", a + b * xs, s, observed=y)
    return model


def _draws(compiled) -> dict[str, np.ndarray]:
    idata = nutpie.sample(compiled, draws=100, tune=100, chains=2, cores=1, seed=5, progress_bar=False)
    post = idata["posterior"].to_dataset()
    return {name: post[name].values for name in post.data_vars}


def test_cached_callbacks_give_nutpies_own_draws() -> None:
    model = _regression(with_data=False)
    ours = compile_nutpie(model)
    assert ours.compiled_logp_func.__name__ == "nutpie_logp"  # the cached path was taken
    with pytensor.config.change_flags(numba__fastmath=False):  # as compile_nutpie compiles
        theirs = nutpie.compile_pymc_model(model)
    a, b = _draws(ours), _draws(theirs)
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_models_with_data_containers_take_nutpies_own_path() -> None:
    compiled = compile_nutpie(_regression(with_data=True))
    assert compiled.compiled_logp_func.__name__ != "nutpie_logp"
    post = _draws(compiled)
    assert abs(post["b"].mean() - 2.0) < 0.5
