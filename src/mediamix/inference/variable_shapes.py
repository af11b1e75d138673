"""The shapes of a PyMC model's variables, read off its dims instead of computed at a point.

nutpie measures the shape of every value variable, free variable and Deterministic by evaluating
them at the model's initial point (``nutpie.compile_pymc._compute_shapes``), so the initial-point
function must exist before anything else of the compile. In a model built by mediamix every
variable with a dimension names its dims, and the dims' lengths are known numbers: the shapes are
read off them here, and the initial-point function can be made later, while a compile helper
works (:mod:`mediamix.inference.samplers`). A variable whose shape the dims do not give (no dims
and a shape not static, a length not a number, dims that contradict the static part of the
shape, or a transform that changes the shape) makes :func:`shapes_from_dims` return None: nutpie's
own measure then applies. Dims whose length contradicts a shape only known by evaluating a graph
(``shape=x.shape`` with ``dims`` of another length) are not caught: such a model fails in nutpie's
own compile too, when it samples.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["shapes_from_dims"]


def shapes_from_dims(model: Any) -> dict[str, np.ndarray] | None:
    """What ``nutpie.compile_pymc._compute_shapes(model)`` returns, read off ``model``'s dims: each
    value variable's, free variable's and Deterministic's shape (observed variables and Potentials
    left out), by name, as int64 arrays like nutpie's shape function returns; None if the dims do
    not give one of them."""
    from pymc.logprob.transforms import IntervalTransform, LogOddsTransform, LogTransform
    from pymc.distributions.transforms import LogExpM1

    elementwise = (LogTransform, LogOddsTransform, IntervalTransform, LogExpM1)  # keep a variable's shape
    lengths = _dim_lengths(model)
    if lengths is None:
        return None
    left_out = [*model.observed_RVs, *model.potentials]

    def shape(variable: Any, dims_of: str) -> tuple[int, ...] | None:
        static = variable.type.shape
        if all(isinstance(n, int) for n in static):
            return tuple(static)
        dims = model.named_vars_to_dims.get(dims_of)
        if dims is None or len(dims) != variable.ndim or any(d is None or d not in lengths for d in dims):
            return None
        found = tuple(lengths[d] for d in dims)
        if any(n is not None and n != length for n, length in zip(static, found, strict=True)):
            return None  # dims that contradict the static part of the shape: nutpie measures it
        return found

    values_to_rvs = {value: rv for rv, value in model.rvs_to_values.items()}
    shapes: dict[str, np.ndarray] = {}
    for variable in [*model.value_vars, *model.free_RVs, *model.deterministics]:
        if variable in left_out:
            continue
        rv = values_to_rvs.get(variable)
        if rv is not None:  # a value variable: its free variable's shape, if the transform keeps it
            transform = model.rvs_to_transforms.get(rv)
            if transform is not None and not isinstance(transform, elementwise):
                return None
            found = shape(variable, rv.name)
        else:
            found = shape(variable, variable.name)
        if found is None:
            return None
        shapes[variable.name] = np.array(found, dtype="int64")
    return shapes


def _dim_lengths(model: Any) -> dict[str, int] | None:
    """Each dim's length as a number (shared or constant lengths), or None if one is neither."""
    from pytensor.compile.sharedvalue import SharedVariable
    from pytensor.graph.basic import Constant

    lengths: dict[str, int] = {}
    for name, length in model.dim_lengths.items():
        if isinstance(length, SharedVariable):
            value = length.get_value(borrow=True)
        elif isinstance(length, Constant):
            value = length.data
        else:
            return None
        lengths[name] = int(value)
    return lengths
