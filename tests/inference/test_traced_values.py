"""The traced variables from unconstrained draws, all draws at once, are PyMC's own values."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pymc as pm
import pytest
import xarray as xr

from mediamix.inference.traced_values import TracedValues, traced_posterior


def _model() -> pm.Model:
    """Log, log-odds and no transform; vectors along a named dim, a matrix without one; Deterministics
    reading the free variables, data (``pm.Data``) and another Deterministic."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(20, 3))
    with pm.Model(coords={"channel": ["tv", "search", "social"]}) as model:
        data = pm.Data("spend", x)
        beta = pm.HalfNormal("beta", 1.0, dims="channel")
        share = pm.Beta("share", 2.0, 2.0)
        offset = pm.Normal("offset", 0.0, 1.0, shape=(2, 2))
        effect = pm.Deterministic("effect", data * beta * share)
        pm.Deterministic("total", effect.sum(axis=-1).mean() + offset.sum())
        pm.Normal("y", (data * beta).sum(axis=-1) + offset.sum(), 1.0, observed=rng.normal(size=20))
    return model


def _unconstrained(model: pm.Model, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    point = model.initial_point()
    return {v.name: point[v.name] + rng.normal(0.0, 0.7, (n, *np.shape(point[v.name]))) for v in model.value_vars}


def test_all_draws_at_once_give_what_pymc_gives_draw_by_draw() -> None:
    from pymc.util import get_default_varnames

    model = _model()
    traced = TracedValues(model)
    outputs = get_default_varnames(model.unobserved_value_vars, include_transformed=False)
    assert traced.names == [o.name for o in outputs]  # PyMC's order
    assert set(traced.names) == {"beta", "share", "offset", "effect", "total"}
    assert traced.inputs == ["beta_log__", "share_logodds__", "offset"]
    one_by_one = model.compile_fn(outputs, inputs=model.value_vars, on_unused_input="ignore")
    values = _unconstrained(model, 7, np.random.default_rng(0))
    got = traced(values)
    for i in range(7):
        expected = one_by_one({name: v[i] for name, v in values.items()})
        for name, value in zip(traced.names, expected, strict=True):
            assert got[name].shape == (7, *np.shape(value))
            np.testing.assert_allclose(got[name][i], value, rtol=1e-13, err_msg=name)
    assert np.all(got["beta"] > 0) and np.all((got["share"] > 0) & (got["share"] < 1))


def test_new_data_are_read_when_the_draws_are_mapped() -> None:
    model = _model()
    traced = TracedValues(model)
    values = _unconstrained(model, 3, np.random.default_rng(1))
    before = traced(values)["effect"]
    with model:
        pm.set_data({"spend": 2.0 * model["spend"].get_value()})
    np.testing.assert_allclose(traced(values)["effect"], 2.0 * before, rtol=1e-14)


def test_the_posterior_has_the_models_dims_and_keeps_the_other_groups() -> None:
    model = _model()
    rng = np.random.default_rng(3)
    values = {name: v.reshape(2, 5, *v.shape[1:]) for name, v in _unconstrained(model, 10, rng).items()}
    unconstrained = xr.Dataset({name: (("chain", "draw", *(f"{name}_dim_{i}" for i in range(v.ndim - 2))), v)
                                for name, v in values.items()},
                               coords={"chain": [0, 1], "draw": np.arange(100, 105)}, attrs={"sampler": "x"})
    stats = xr.Dataset({"diverging": (("chain", "draw"), np.zeros((2, 5), dtype=bool))})
    tree = xr.DataTree.from_dict({"posterior": unconstrained, "sample_stats": stats})
    out = traced_posterior(tree, model)
    posterior = out["posterior"].to_dataset()
    assert set(posterior.data_vars) == {"beta", "share", "offset", "effect", "total"}
    assert posterior["beta"].dims == ("chain", "draw", "channel")
    assert list(posterior["channel"].values) == ["tv", "search", "social"]
    assert posterior["offset"].dims == ("chain", "draw", "offset_dim_0", "offset_dim_1")  # ArviZ's names
    assert list(posterior["draw"].values) == list(range(100, 105))  # the sampler's draw labels
    assert posterior.attrs == {"sampler": "x"}
    xr.testing.assert_identical(out["sample_stats"].to_dataset(), stats)
    np.testing.assert_allclose(posterior["beta"].values, np.exp(values["beta_log__"]), rtol=1e-15)
    assert "beta_log__" in tree["posterior"]  # the input tree is left as it was


def test_a_deterministic_of_data_alone_is_traced_for_every_draw() -> None:
    """Found in review: an output that depends on no free variable came back without the draw axis."""
    with pm.Model() as model:
        data = pm.Data("spend", np.array([1.0, 2.0]))
        mu = pm.Normal("mu", 0.0, 1.0)
        pm.Deterministic("doubled", 2.0 * data)
        pm.Deterministic("one", pm.math.constant(1.0))
        pm.Normal("y", mu, 1.0, observed=np.zeros(3))
    traced = TracedValues(model)
    got = traced({"mu": np.arange(4.0)})
    assert got["doubled"].shape == (4, 2) and got["one"].shape == (4,)
    np.testing.assert_array_equal(got["doubled"], np.tile([2.0, 4.0], (4, 1)))
    posterior = traced.dataset({"mu": np.zeros((2, 3))})
    assert posterior["doubled"].shape == (2, 3, 2)


def test_a_model_without_free_variables_needs_the_number_of_draws() -> None:
    with pm.Model() as model:
        pm.Deterministic("c", pm.math.constant(3.0))
    traced = TracedValues(model)
    assert traced({}, draws=2)["c"].tolist() == [3.0, 3.0]
    with pytest.raises(ValueError, match="how many draws"):
        traced({})
    posterior = traced.dataset({}, coords={"chain": [0], "draw": [0, 1, 2]})
    assert posterior["c"].shape == (1, 3)


def test_deterministics_reading_deterministics_vectorize_without_a_python_loop() -> None:
    """A Deterministic inside another's graph is a ViewOp: as a Blockwise it would loop over the draws."""
    from pytensor.tensor.blockwise import Blockwise

    model = _model()  # "total" reads the Deterministic "effect"
    traced = TracedValues(model)
    nodes = traced._function.maker.fgraph.toposort()
    assert not [node for node in nodes if isinstance(node.op, Blockwise)]


def test_missing_unconstrained_draws_are_named() -> None:
    traced = TracedValues(_model())
    with pytest.raises(KeyError, match="share_logodds__"):
        traced({"beta_log__": np.zeros((1, 3)), "offset": np.zeros((1, 2, 2))})


_COMPILE_WITHOUT_C_VM = """
import sys
import numpy as np, pymc as pm, pytensor
from mediamix.inference.samplers import compile_nutpie
with pm.Model() as model:
    s = pm.HalfNormal("s", 1.0)
    pm.Normal("y", 0.0, s, observed=np.array([0.1, -0.3, 0.2]))
compile_nutpie(model, reuse=False)
assert "pytensor.link.c.cvm" not in sys.modules, "the compile imported PyTensor's C VM"
assert "pytensor.link.c.lazylinker_c" not in sys.modules
from pytensor.link.c.cvm import CVM  # later imports make it whole: the compiler is configured again
assert pytensor.config.cxx
print("ok")
"""


def test_the_compile_does_not_build_pytensors_c_vm_and_leaves_it_whole() -> None:
    """PyMC's initial point and nutpie's shapes run on PyTensor's Python VM: with a C compiler set,
    importing that VM's module would build (cold) and load the C VM, which they never use."""
    out = subprocess.run([sys.executable, "-c", _COMPILE_WITHOUT_C_VM], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().endswith("ok")
