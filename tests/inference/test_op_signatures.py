"""The ops' numba argument types read off the graph are those numba's own type inference finds."""

from __future__ import annotations

import functools
import pickle
import sys
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mediamix import MMM
from mediamix.inference import callbacks, samplers
from mediamix.inference.op_signatures import graph_calls
from mediamix.model.build import build_model
from mediamix.model.design import Scales, make_design
from mediamix.simulate import ChannelSpec, seed_example, simulate

pytensor = pytest.importorskip("pytensor")
pytest.importorskip("nutpie")
numba_types = pytest.importorskip("numba.core.types")

forking = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the typing probe forks on Linux only")


def _model(config: dict[str, Any], frame: pd.DataFrame) -> Any:
    """The PyMC model ``MMM.fit`` would sample."""
    mmm = MMM.from_config(config)
    frame = mmm._validate(frame, training=True, config=mmm.config)
    return build_model(mmm.config, make_design(frame, mmm.config, Scales.from_frame(frame, mmm.config)))


def _demo(**model: Any) -> Any:
    demo = seed_example()
    return _model({**demo.config, "model": {**demo.config.get("model", {}), **model}}, demo.data)


def _mixed() -> Any:
    """A transform of each kind (Weibull and delayed adstock, Hill and Michaelis-Menten), three windows."""
    specs = [
        ChannelSpec("tv", adstock="weibull_pdf", saturation="hill", l_max=10,
                    adstock_params={"weibull_shape": 2.0, "weibull_scale": 2.0},
                    saturation_params={"half_saturation": 0.5, "slope": 2.0}),
        ChannelSpec("search", adstock="geometric", saturation="logistic", l_max=4,
                    adstock_params={"alpha": 0.3}, saturation_params={"lam": 2.0}),
        ChannelSpec("social", adstock="delayed", saturation="michaelis_menten", l_max=6,
                    adstock_params={"alpha": 0.5, "theta": 1.0}, saturation_params={"mm_half": 0.6}),
    ]
    data = simulate(specs, n_weeks=104, seed=11)
    return _model(data.config, data.data)


def _logp_function(model: Any) -> tuple[Any, Any, dict[str, Any]]:
    """The logp function nutpie compiles (numba's part not compiled yet), its target and globals."""
    import nutpie.compile_pymc as ncp
    from pymc.initial_point import make_initial_point_fn

    functions = ncp._make_functions(model, mode="NUMBA", compute_grad=True, join_expanded=True, var_names=[],
                                    pymc_initial_point_fn=make_initial_point_fn(model=model, return_transformed=True))
    logp_pt = functions[2]
    shared = {f"s{i}": np.asarray(v.get_value()) for i, v in enumerate(logp_pt.get_shared())}
    target, globals_ = callbacks.describe_target(logp_pt.vm.jit_fn, callbacks.argument_types(shared, list(shared)))
    return logp_pt, target, globals_


def _probed(target: Any, globals_: dict[str, Any]) -> list[tuple[str, tuple[Any, ...]]]:
    """What numba's type inference finds, in a process of its own (the typing probe)."""
    prober = samplers.ForkedJob(functools.partial(samplers._find_ops, target, globals_))
    try:
        found = prober.wait(timeout=300)
    finally:
        prober.kill()
    assert found is not None
    return pickle.loads(found)


@forking
@pytest.mark.parametrize("make", [
    _demo,
    functools.partial(_demo, form="multiplicative", likelihood="student_t", saturation="hill",
                      events=[{"name": "black_friday", "dates": ["2019-11-29", "2020-11-27"], "window": [0, 1]}]),
    _mixed,
], ids=["demo", "multiplicative-student_t-hill-events", "mixed-transforms"])
def test_the_graphs_calls_are_numbas_own(make: Any) -> None:
    """Every op, every argument type (layouts of views, fused reductions, splits, read-only constants)
    and the order of the calls, as numba's type inference of the whole function finds them."""
    with pytensor.config.change_flags(numba__fastmath=False, traceback__limit=0):
        logp_pt, target, globals_ = _logp_function(make())
        read = samplers._graph_calls(logp_pt, target, globals_)
        probed = _probed(target, globals_)
    assert read is not None
    assert len(read) > 50
    assert read == probed
    layouts = {t.layout for _, args in read for t in args[0].types if hasattr(t, "layout")}
    assert {"C", "A"} <= layouts  # views that are not contiguous, among others


def _small_function(with_reshape: bool) -> tuple[Any, Any, dict[str, Any]]:
    import pytensor.tensor as pt

    x = pt.vector("x")
    y = pt.exp(x[1:]) * 2.0
    if with_reshape:  # an op without a rule here: a view whose layout is left unknown
        y = y.reshape((2, -1)).sum(axis=0) + 1.0
    function = pytensor.function([x], [y.sum(), pt.grad(y.sum(), x)], mode="NUMBA")
    target, globals_ = callbacks.describe_target(function.vm.jit_fn, callbacks.argument_types({}, []))
    return function, target, globals_


@forking
def test_calls_after_an_op_without_a_rule_are_left_out() -> None:
    """Only the calls whose argument types depend on an unknown output are missing; the rest are exact."""
    with pytensor.config.change_flags(numba__fastmath=False):
        function, target, globals_ = _small_function(with_reshape=True)
        read = samplers._graph_calls(function, target, globals_)
        probed = _probed(target, globals_)
    assert read is not None
    assert 0 < len(read) < len(probed)
    assert set(read) <= set(probed)


def test_another_functions_source_is_not_read() -> None:
    """The source must be the graph's function line for line (the node order PyTensor generated it from)."""
    function, target, globals_ = _small_function(with_reshape=False)
    fgraph = function.maker.fgraph
    order = function.maker.linker.schedule(fgraph)
    assert graph_calls(fgraph, order, target.src, globals_, target.argtypes)
    assert graph_calls(fgraph, order[::-1], target.src, globals_, target.argtypes) is None
    assert graph_calls(fgraph, order[:-1], target.src, globals_, target.argtypes) is None
    dropped = "\n".join(line for line in target.src.splitlines() if " = " not in line or "return" in line)
    assert graph_calls(fgraph, order, dropped, globals_, target.argtypes) is None
    assert graph_calls(fgraph, order, target.src, globals_, target.argtypes[:0]) is None


def _other_ops_function() -> tuple[Any, Any, dict[str, Any]]:
    """Sorts, cumulative sums, advanced indexing and linear algebra: ops whose numba code returns
    views or Fortran-ordered arrays (a first version read them as new C arrays: found in review)."""
    import pytensor.tensor as pt

    m, i = pt.matrix("m"), pt.lvector("i")
    outputs = [pt.sort(m[1:, i], axis=0) * 2, pt.cumsum(m, axis=0) * 3, pt.exp(pt.linalg.inv(m)).sum(),
               pt.sort(pt.cumsum(m, axis=0), axis=0) * 4, pt.sort(pt.cumsum(m[0], axis=0), axis=0) * 5]
    function = pytensor.function([m, i], outputs, mode="NUMBA")
    argtypes = (numba_types.Array(numba_types.float64, 2, "C"), numba_types.Array(numba_types.int64, 1, "C"))
    target, globals_ = callbacks.describe_target(function.vm.jit_fn, argtypes)
    return function, target, globals_


@forking
def test_no_call_is_read_with_a_type_numba_would_not_give() -> None:
    with pytensor.config.change_flags(numba__fastmath=False):
        function, target, globals_ = _other_ops_function()
        read = samplers._graph_calls(function, target, globals_)
        probed = _probed(target, globals_)
    assert read is not None
    assert set(read) <= set(probed)
    assert len(read) < len(probed)


def test_nodes_that_print_alike_are_told_apart_by_their_inputs_names() -> None:
    """Two sorts of cumulative sums print the same; swapped in the order, they are not the source's."""
    function, target, globals_ = _other_ops_function()
    fgraph = function.maker.fgraph
    order = function.maker.linker.schedule(fgraph)
    alike = [k for k, node in enumerate(order) if str(node) == "SortOp{kind='quicksort', axis=0}(Cumsum{axis=0}.0)"]
    assert len(alike) == 2
    swapped = list(order)
    swapped[alike[0]], swapped[alike[1]] = swapped[alike[1]], swapped[alike[0]]
    assert graph_calls(fgraph, order, target.src, globals_, target.argtypes) is not None
    assert graph_calls(fgraph, swapped, target.src, globals_, target.argtypes) is None
