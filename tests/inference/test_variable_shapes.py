"""The shapes of a model's variables read off its dims are nutpie's own measure, or None."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pymc as pm
import pytensor
import pytest

from mediamix.inference.variable_shapes import shapes_from_dims

from test_op_signatures import _demo, _mixed  # same folder (pytest puts it on the path)

ncp = pytest.importorskip("nutpie.compile_pymc")


def _static() -> pm.Model:
    with pm.Model() as model:  # a vector, a matrix and a deterministic, shapes static
        a = pm.Normal("a", 0, 1, shape=3)
        b = pm.HalfNormal("b", 1, shape=(2, 3))
        pm.Deterministic("c", a * b)
        pm.Normal("y", (a * b).sum(), 1, observed=0.5)
    return model


def _with_dims() -> pm.Model:
    with pm.Model(coords={"channel": ["tv", "search"], "week": range(5)}) as model:
        alpha = pm.Beta("alpha", 2, 2, dims="channel")  # logodds
        lam = pm.Gamma("lam", 2, 2, dims="channel")  # log
        bound = pm.Uniform("bound", 0, 3, dims="channel")  # interval
        pm.Deterministic("both", alpha * lam + bound, dims="channel")
        pm.Deterministic("total", (alpha * lam).sum())
        pm.Potential("penalty", -lam.sum())
        pm.Normal("y", (alpha * lam).sum(), 1, observed=np.ones(5), dims="week")
    return model


@pytest.mark.parametrize("make", [
    _static,
    _with_dims,
    _demo,
    functools.partial(_demo, form="multiplicative", likelihood="student_t", saturation="hill",
                      events=[{"name": "black_friday", "dates": ["2019-11-29", "2020-11-27"], "window": [0, 1]}]),
    _mixed,
], ids=["static", "dims", "demo", "multiplicative-student_t-hill-events", "mixed-transforms"])
def test_the_shapes_read_off_the_dims_are_nutpies_measure(make: Any) -> None:
    model = make()
    read = shapes_from_dims(model)
    measured = ncp._compute_shapes(model)
    assert read is not None
    assert list(read) == list(measured)  # the same variables, in nutpie's order
    for name, shape in measured.items():
        assert read[name].dtype == shape.dtype
        np.testing.assert_array_equal(read[name], shape, err_msg=name)


def test_a_shape_the_dims_do_not_give_leaves_it_to_nutpie() -> None:
    n = pytensor.shared(np.int64(4), name="n")
    with pm.Model() as no_dims:  # a length that is only known by evaluating a graph
        pm.Normal("a", 0, 1, shape=(n,))
    with pm.Model(coords={"part": ["a", "b", "c"]}) as simplex:  # a transform that changes the shape
        pm.Dirichlet("w", np.ones(3), dims="part")
    with pm.Model(coords={"a": range(3), "b": range(4)}) as contradicting:  # static (None, 5), dims (3, 4)
        pm.MvNormal("m", mu=np.zeros(5), cov=np.eye(5), dims=("a", "b"))
    assert shapes_from_dims(no_dims) is None
    assert shapes_from_dims(simplex) is None
    assert shapes_from_dims(contradicting) is None
