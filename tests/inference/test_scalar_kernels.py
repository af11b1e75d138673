"""Elemwise scalar kernels compiled as one numba function (mediamix.inference.scalar_kernels): the
same bits as PyTensor's own lowering, on edge values and on the demo model's logp and gradient."""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.scalar as ps
import pytensor.scalar.math as ps_math
import pytensor.tensor as pt
import pytest
from pytensor.scalar.basic import Composite

from mediamix import MMM
from mediamix.inference import scalar_kernels
from mediamix.inference.scalar_kernels import kernel_source, kernels_inline
from mediamix.model.build import build_model

pytestmark = pytest.mark.skipif(
    tuple(int(p) for p in pytensor.__version__.split(".")[:2]) not in scalar_kernels.CHECKED_PYTENSOR,
    reason="PyTensor version not checked by scalar_kernels")

EDGES = np.array([-np.inf, -1e308, -3.5, -1.0, -0.0, 0.0, 1e-310, 0.5, 1.0, 2.0, 700.0, 1e308, np.inf, np.nan])


def _inputs(count: int, dtype: str = "float64") -> list[np.ndarray]:
    """Every combination of edge values over ``count`` inputs (one array per input)."""
    grids = np.meshgrid(*[EDGES] * count, indexing="ij")
    return [g.ravel().astype(dtype) for g in grids]


def _graphs() -> dict[str, tuple[list[pt.TensorVariable], list[pt.TensorVariable]]]:
    x, y, z = pt.dvectors("x", "y", "z")
    x32 = pt.fvector("x32")
    i8 = pt.bvector("i8")
    shared = pt.exp(x) * y
    return {
        # switch, log of negatives, division by zero, a constant
        "switch": ([x, y], [pt.switch(x > 0, pt.log(x) * y + 1.5, pt.exp(y) / x)]),
        "n-ary": ([x, y, z], [x + y + z - x * y * z]),
        "power": ([x, y], [(x - y) ** y + pt.sqr(x) - pt.sqrt(pt.abs(y))]),
        # a float32 branch in a float64 switch; int8 with float64
        "mixed types": ([x, x32, i8], [pt.switch(x > x32, x * 2.0, x32) + i8 * x]),
        # operations with code of their own stay calls: sigmoid, softplus, gammaln
        "called": ([x, y], [pt.sigmoid(x) * pt.softplus(y) + pt.gammaln(pt.abs(x) + 1.0) - y]),
        # float32 results: PyTensor casts them (its cast wrapper), the kernel's inner float32 steps are calls
        "float32": ([x32], [pt.exp(x32) * x32 + np.float32(3.0)]),
        "two outputs": ([x, y], [shared + 1.0, shared * pt.log1p(y)]),
        "comparisons": ([x, y], [pt.and_(x >= y, pt.neq(x, 0.0)) * pt.maximum(x, y) - pt.minimum(x, 1.0)]),
    }


def _compile(inputs: list[pt.TensorVariable], outputs: list[pt.TensorVariable]) -> pytensor.compile.Function:
    with pytensor.config.change_flags(numba__fastmath=False):
        return pytensor.function(inputs, outputs, mode="NUMBA")


@pytest.mark.parametrize("name", list(_graphs()))
def test_a_kernel_computes_the_same_bits_as_pytensors_own(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    inputs, outputs = _graphs()[name]
    made = []
    own_inline = scalar_kernels._inline_kernel
    monkeypatch.setattr(scalar_kernels, "_inline_kernel", lambda op, **kw: made.append(op) or own_inline(op, **kw))
    with np.errstate(all="ignore"):  # edge values: overflow, NaN and division by zero are the point
        values = [v.astype(var.type.dtype) for v, var in zip(_inputs(len(inputs)), inputs, strict=True)]
        expected = _compile(inputs, outputs)(*values)
        assert made == [], "outside the block PyTensor lowers its kernels itself"
        with kernels_inline():
            function = _compile(inputs, outputs)
        assert made and all(isinstance(op, Composite) for op in made), "the graph has a kernel made here"
        got = function(*values)
    for want, have in zip(expected, got, strict=True):
        assert have.dtype == want.dtype
        assert have.tobytes() == want.tobytes()  # bit for bit: NaNs, signed zeros and infinities too


def test_the_source_writes_one_line_operations_inline_and_calls_the_others() -> None:
    x, y = ps.float64("x"), ps.float64("y")
    op = Composite([x, y], [ps_math.sigmoid(x * y + 2.0) - ps.log(x)])
    calls = []
    made = kernel_source(op, lambda scalar_op, node: (calls.append(type(scalar_op).__name__), (object(), "key"))[1])
    assert made is not None
    source, env, key = made
    assert calls == ["Sigmoid"]  # the one operation with code of its own
    assert "(i0 * i1)" in source and "np.log(i0)" in source and "+ c" in source
    assert any(isinstance(value, np.floating) and value == 2.0 for value in env.values())  # the constant
    assert key[0] == scalar_kernels.VERSION and key[-1] == source


def test_an_operation_without_a_cache_key_leaves_the_kernel_to_pytensor() -> None:
    x = ps.float64("x")
    op = Composite([x], [ps_math.sigmoid(x) + 1.0])
    assert kernel_source(op, lambda scalar_op, node: (object(), None)) is None


def test_other_pytensor_versions_are_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    made = []
    monkeypatch.setattr(scalar_kernels, "CHECKED_PYTENSOR", ())
    monkeypatch.setattr(scalar_kernels, "_inline_kernel", lambda op, **kw: made.append(op))
    x, y = pt.dvectors("x", "y")
    with kernels_inline(), np.errstate(all="ignore"):
        function = _compile([x, y], [pt.exp(x) * y + 1.0])
    assert function(np.array([0.0]), np.array([2.0]))[0].tolist() == [3.0]
    assert made == []


@pytest.mark.slow
def test_the_demo_models_logp_and_gradient_are_the_same_bits(prior_fit: MMM, monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole logp/gradient graph of the demo model, at points around its initial point."""
    model = build_model(prior_fit.config_, prior_fit.design_)
    made = []
    own_inline = scalar_kernels._inline_kernel
    monkeypatch.setattr(scalar_kernels, "_inline_kernel", lambda op, **kw: made.append(op) or own_inline(op, **kw))

    def compiled() -> object:
        with pytensor.config.change_flags(numba__fastmath=False):
            return model.logp_dlogp_function(ravel_inputs=True, mode="NUMBA")

    own = compiled()
    with kernels_inline():
        inline = compiled()
    assert len(made) > 10  # measured: 19 kernels
    initial = model.initial_point()
    start = np.concatenate([np.ravel(initial[var.name]) for var in own._grad_vars])
    rng = np.random.default_rng(5)
    for point in [start, *(start + rng.normal(0.0, 0.5, start.shape) for _ in range(5))]:
        (logp_a, grad_a), (logp_b, grad_b) = own(point), inline(point)
        assert np.asarray(logp_a).tobytes() == np.asarray(logp_b).tobytes()
        assert np.asarray(grad_a).tobytes() == np.asarray(grad_b).tobytes()
