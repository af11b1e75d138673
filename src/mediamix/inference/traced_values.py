"""The traced variables of a posterior, computed from its unconstrained draws all at once.

NUTS samples a model's *unconstrained* values (PyMC's value variables: ``sigma_log__``,
``alpha_logodds__``, ...). What a posterior holds are the *traced* variables: every free variable on
its own scale (``sigma``, ``alpha``) and every ``Deterministic`` (``beta``, ``intercept``).

nutpie maps each draw to the traced variables with a second compiled function ("expand"), called
once per draw. Compiling that function was ~1.3 CPU-seconds of the demo's cold compile (of ~10
after the compile helper starts, see :mod:`mediamix.inference.samplers`), for a map that is a
handful of elementwise operations. :func:`~mediamix.inference.samplers.compile_nutpie` therefore
has nutpie trace the unconstrained values only, and :class:`TracedValues` maps all draws at once
afterwards: PyMC's graph of the traced variables, vectorized over a leading draw axis
(``vectorize_graph``) and evaluated by PyTensor's Python linker, i.e. NumPy on whole arrays, with
nothing to compile (5 ms to build and a few ms to evaluate 4000 demo draws). The approximations
(:mod:`mediamix.inference.approximate`) map their draws the same way.

The values equal the compiled expand function's to rounding (NumPy's and numba's ``exp`` may
differ in the last bit), and are the same whether compile caches are cold or warm.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

__all__ = ["TracedValues", "traced_posterior"]

#: The two sample dimensions of a posterior.
SAMPLE_DIMS = ("chain", "draw")


class TracedValues:
    """A model's traced variables as a function of its unconstrained values, vectorized over draws.

    Parameters
    ----------
    model : pymc.Model

    Attributes
    ----------
    inputs : list of str
        The unconstrained (value) variables' names, in ``model.value_vars`` order.
    names : list of str
        The traced variables, as ``pm.sample`` traces them: each free variable on its own scale,
        then each ``Deterministic``.
    dims : dict of str to tuple of str
        Each traced variable's dimensions (besides the draws'), from the model.
    """

    def __init__(self, model: Any) -> None:
        import pytensor
        import pytensor.tensor as pt
        from pymc.util import get_default_varnames
        from pytensor.compile.mode import Mode
        from pytensor.compile.ops import ViewOp
        from pytensor.graph.replace import graph_replace, vectorize_graph
        from pytensor.graph.traversal import ancestors

        traced = get_default_varnames(model.unobserved_value_vars, include_transformed=False)
        self.names = [v.name for v in traced]
        # A Deterministic is its expression behind a ViewOp; vectorized, that would be a Blockwise
        # looping over the draws in Python (also where one Deterministic reads another). The
        # expressions themselves vectorize whole.
        for _ in range(100):  # a ViewOp of a ViewOp needs a second pass; never more than a few
            views = {v: v.owner.inputs[0] for v in ancestors(traced)
                     if v.owner is not None and isinstance(v.owner.op, ViewOp)}
            if not views:
                break
            traced = list(graph_replace(traced, views, strict=False))
        values = list(model.value_vars)
        batched = [pt.tensor(name=v.name, dtype=v.dtype, shape=(None, *v.type.shape)) for v in values]
        outputs = vectorize_graph(traced, replace=dict(zip(values, batched, strict=True)))
        #: Outputs that depend on no free variable (a Deterministic of data alone) get no draw axis.
        self._unbatched = [out.type.ndim == var.type.ndim for out, var in zip(outputs, traced, strict=True)]
        # The Python linker without rewrites: each node's NumPy implementation on arrays of all draws.
        self._function = pytensor.function(batched, outputs, mode=Mode(linker="py", optimizer=None),
                                           on_unused_input="ignore")
        self.inputs = [v.name for v in values]
        self.dims = {name: tuple(model.named_vars_to_dims.get(name) or ()) for name in self.names}
        self._coords = {dim: np.asarray(labels) for dim, labels in model.coords.items() if labels is not None}

    def __call__(self, unconstrained: Mapping[str, np.ndarray], draws: int | None = None) -> dict[str, np.ndarray]:
        """The traced variables at a batch of unconstrained points.

        Parameters
        ----------
        unconstrained : mapping of str to ndarray
            Each value variable's draws, dims (draw, \\*its shape).
        draws : int, optional
            The number of draws; needed only for a model without free variables.

        Returns
        -------
        dict of str to ndarray
            Each traced variable's values, dims (draw, \\*its shape).
        """
        missing = [name for name in self.inputs if name not in unconstrained]
        if missing:
            raise KeyError(f"No draws of the unconstrained variables {missing}.")
        arrays = [np.asarray(unconstrained[name], dtype="float64") for name in self.inputs]
        if draws is None:
            if not arrays:
                raise ValueError("A model without free variables: say how many draws to trace.")
            draws = len(arrays[0])
        # A stray draw of an approximation can overflow exp(): inf, as the compiled expand gave, quietly.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            values = self._function(*arrays)
        return {name: np.broadcast_to(value, (draws, *np.shape(value))).copy() if unbatched else value
                for name, value, unbatched in zip(self.names, values, self._unbatched, strict=True)}

    def dataset(self, unconstrained: Mapping[str, np.ndarray], coords: Mapping[str, Any] | None = None,
                attrs: Mapping[str, Any] | None = None) -> xr.Dataset:
        """The traced variables of draws shaped (chain, draw, ...), as a posterior ``Dataset``.

        ``coords`` gives the ``chain`` and ``draw`` labels (0, 1, ... where absent). A dimension the
        model does not name is called ``<variable>_dim_<i>``, as ArviZ calls it.
        """
        coords = coords or {}
        if self.inputs:
            n_chain, n_draw = np.shape(unconstrained[self.inputs[0]])[:2]
        elif all(dim in coords for dim in SAMPLE_DIMS):
            n_chain, n_draw = (len(coords[dim]) for dim in SAMPLE_DIMS)
        else:
            raise ValueError("A model without free variables: give the chain and draw coordinates.")
        flat = {name: np.asarray(unconstrained[name]).reshape(n_chain * n_draw, *np.shape(unconstrained[name])[2:])
                for name in self.inputs}
        out_coords: dict[str, Any] = {"chain": np.arange(n_chain), "draw": np.arange(n_draw)}
        out_coords.update({dim: coords[dim] for dim in SAMPLE_DIMS if dim in coords})
        data = {}
        for name, values in self(flat, draws=n_chain * n_draw).items():
            values = values.reshape(n_chain, n_draw, *values.shape[1:])
            dims = self.dims[name] or tuple(f"{name}_dim_{i}" for i in range(values.ndim - 2))
            for dim, size in zip(dims, values.shape[2:], strict=True):
                if dim not in out_coords:
                    out_coords[dim] = self._coords.get(dim, np.arange(size))
            data[name] = ((*SAMPLE_DIMS, *dims), values)
        return xr.Dataset(data, coords=out_coords, attrs=dict(attrs or {}))


def traced_posterior(tree: xr.DataTree, model: Any) -> xr.DataTree:
    """``tree`` with its posterior of unconstrained values replaced by the model's traced variables.

    Parameters
    ----------
    tree : xarray.DataTree
        Its ``posterior`` holds each value variable (``sigma_log__``, ...), dims (chain, draw, ...);
        as nutpie returns it for a model from :func:`~mediamix.inference.samplers.compile_nutpie`.
    model : pymc.Model

    Returns
    -------
    xarray.DataTree
        A new tree: the same groups, the ``posterior`` holding the traced variables (with the
        model's dims and coordinates) and the old posterior's attributes.
    """
    posterior = tree["posterior"].to_dataset()
    traced = TracedValues(model)
    values = {name: posterior[name].to_numpy() for name in traced.inputs}
    coords = {dim: posterior[dim].to_numpy() for dim in SAMPLE_DIMS}
    out = tree.copy()
    out["posterior"] = xr.DataTree(traced.dataset(values, coords, posterior.attrs))
    return out
