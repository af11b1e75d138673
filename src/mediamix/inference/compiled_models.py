"""nutpie's compiled model, found again by the PyMC model it was compiled from.

A warm ``compile_nutpie`` (every compiled function already in PyTensor's numba cache, every
rewrite in :mod:`~mediamix.inference.rewrite_cache`) still rebuilt everything around the machine
code in every process: PyMC derives the logp graph and its gradient, PyTensor links the two
functions and turns each node into numba source, nutpie measures the variables' shapes. That was
0.5-0.6 s of the demo's 0.65-0.9 s warm compile (2-CPU machine), for a result that depends only on
the model's structure.

After a full compile, :func:`store` records what nutpie's ``CompiledPyMCModel`` holds besides the
machine code: the sizes, the variables' names, slices and shapes, which shared variables the two C
callbacks read (by name), the callbacks' numba cache keys and the functions they call
(:class:`~mediamix.inference.callbacks.Target`). :func:`load` rebuilds the compiled model from that
record, the model's current shared values (prior numbers, data) and the two callbacks and their
functions loaded from numba's cache, skipping the graph work. The record is stored under
:func:`model_key`, which holds the model's whole graph as text (:func:`~mediamix.inference.rewrite_cache.graph_text`:
every random variable, observed value, deterministic and potential, with constants by a hash of
their bytes), each free variable's transform, the shared variables' names and shapes, the
``check_bounds`` switch, PyTensor's relevant flags and the PyMC, PyTensor, nutpie and numba versions.
The logp and its gradient are functions of exactly these. A hit also checks the free variables'
shapes at PyMC's initial point (which nutpie needs anyway) against the record's before it is used.

The record lives beside the rewritten graphs (``<compiledir>/mediamix-rewrites``, same flag, same
trust: pickles this package writes). Not restored: the compiled model's PyTensor functions
(``logp_func``, ``expand_func``), which only ``CompiledPyMCModel.with_data`` reads; code that needs
them compiles with ``reuse=False``.
"""

from __future__ import annotations

import hashlib
import warnings
from typing import Any

from mediamix.inference import callbacks
from mediamix.inference.python_vm import without_c_vm_when_called
from mediamix.inference.rewrite_cache import Unkeyable, cache_directory, graph_text, read_entry, value_text, write_entry

__all__ = ["model_key", "load", "store", "stats"]

_FORMAT = 5  # bump when what is stored changes (4: each callback's own source; 5: expand traces the unconstrained values)

#: Hits, misses and stores since the process started (read by the tests).
stats = {"hits": 0, "misses": 0, "stores": 0}

#: The two C callbacks, by the function name they are compiled under.
CALLBACKS = ("nutpie_logp", "nutpie_expand")


def model_key(model: Any, compiler: str = "") -> str | None:
    """The key of ``model``'s compiled form (see the module docstring), or None when it cannot be keyed.

    ``compiler``: text that changes whenever the caller compiles differently (e.g. the source of the
    C callbacks), so that a record never outlives the code it was made with.
    """
    import numba
    import numpy as np
    import nutpie
    import pymc
    import pytensor
    from pytensor.compile.sharedvalue import SharedVariable
    from pytensor.configdefaults import config
    from pytensor.graph.basic import Constant
    from pytensor.graph.traversal import graph_inputs, io_toposort

    outputs = _model_outputs(model)
    inputs = [v for v in graph_inputs(outputs) if not isinstance(v, Constant)]

    def label(var: Any) -> str:  # shared variables are found again by name; their shape fixes the model's
        if isinstance(var, SharedVariable):
            value = var.get_value(borrow=True)
            text = f":shared:{var.name}:{getattr(value, 'shape', None)}"
            # Integer and boolean data can decide shapes (a mask, a length), and the record holds the
            # traced variables' shapes: their values belong to the key. Float data (and the prior
            # numbers) are read at runtime and stay out of it.
            if np.asarray(value).dtype.kind in "biu":
                text += f":{value_text(np.asarray(value))}"
            return text
        return f":{var.name}"

    try:
        graph = graph_text(inputs, io_toposort(inputs, outputs), outputs, label)
        transforms = [(rv.name, model.rvs_to_values[rv].name, _transform_text(model.rvs_to_transforms.get(rv)))
                      for rv in model.free_RVs]
        dims = [(name, value_text(_dim_length(length))) for name, length in sorted(model.dim_lengths.items())]
    except Unkeyable:
        return None
    names = [v.name for v in inputs if isinstance(v, SharedVariable) and v.name is not None]
    if len(set(names)) != len(names):  # found again by name: names must say which is which
        return None
    parts = [
        f"format={_FORMAT}", f"pymc={pymc.__version__}", f"pytensor={pytensor.__version__}",
        f"nutpie={nutpie.__version__}", f"numba={numba.__version__}",
        f"flags={config.floatX},{config.optimizer_excluding},{config.optimizer_including},"
        f"{config.optimizer_requiring},{config.cast_policy},{config.numba__fastmath}",
        f"check_bounds={model.check_bounds}",
        f"free={[(rv.name, model.rvs_to_values[rv].name) for rv in model.free_RVs]}",
        f"observed={[rv.name for rv in model.observed_RVs]}",
        f"deterministics={[v.name for v in model.deterministics]}",
        f"transforms={transforms}", f"dims={dims}", f"compiler={compiler}",
    ]
    return hashlib.sha256("|".join([*parts, graph]).encode()).hexdigest()


def _transform_text(transform: Any) -> str:
    """A value variable's transform as text: its class and its state (none for log, log-odds, ...)."""
    if transform is None:
        return "None"
    state = ", ".join(f"{k}={value_text(v)}" for k, v in sorted(getattr(transform, "__dict__", {}).items()))
    return f"{type(transform).__module__}.{type(transform).__qualname__}({state})"


def _model_outputs(model: Any) -> list[Any]:
    """Every variable of ``model`` its logp and the trace are made from (the observed values included)."""
    observed_values = [model.rvs_to_values[rv] for rv in model.observed_RVs]
    return [*model.free_RVs, *model.observed_RVs, *observed_values, *model.deterministics, *model.potentials]


def _dim_length(length: Any) -> Any:
    if hasattr(length, "data"):
        return length.data
    if hasattr(length, "get_value"):
        return length.get_value()
    raise Unkeyable(f"dim length {length}")


def store(key: str, compiled: Any, recorded: dict[str, tuple[Any, ...]]) -> None:
    """Record ``compiled`` (a ``CompiledPyMCModel``) under ``key``.

    ``recorded``: for each name in :data:`CALLBACKS`, its numba cache key, C signature, the sizes
    compiled into it, its :class:`~mediamix.inference.callbacks.Target`, its source and the shared
    slots it reads.
    """
    keys = compiled.shared_var_keys  # shared variable -> its slot name in user_data
    if set(recorded) != set(CALLBACKS) or any(var.name is None for var in keys):  # found again by name
        return
    names, slices, shapes = compiled.shape_info
    record = {
        "format": _FORMAT,
        "n_dim": compiled.n_dim,
        "n_expanded": compiled.n_expanded,
        "shape_info": (list(names), [(s.start, s.stop) for s in slices], [tuple(int(n) for n in s) for s in shapes]),
        "shared": [(var.name, slot) for var, slot in keys.items()],  # in user_data's order
        "user_data_dtype": str(compiled.user_data.dtype),
        "callbacks": recorded,
    }
    if write_entry(cache_directory() / f"model-{key}.pkl", record):
        stats["stores"] += 1


def load(model: Any, key: str) -> Any | None:
    """The compiled model recorded under ``key``, rebuilt for ``model``; None when there is none or it does not fit.

    The two C callbacks and the functions they call come from numba's cache
    (:func:`~mediamix.inference.callbacks.load_callback`): a function missing there is a miss too; a
    missing callback is compiled again from its recorded source (0.2-0.6 s).
    """
    import numpy as np
    import nutpie.compile_pymc as ncp
    from pymc.initial_point import make_initial_point_fn
    from pytensor.compile.sharedvalue import SharedVariable
    from pytensor.graph.traversal import graph_inputs

    record = read_entry(cache_directory() / f"model-{key}.pkl")
    if not isinstance(record, dict) or record.get("format") != _FORMAT:
        stats["misses"] += 1
        return None
    n_free = len(model.free_RVs)
    try:
        names, bounds, shapes = record["shape_info"]
        joined_names, joined_shapes = [model.rvs_to_values[rv].name for rv in model.free_RVs], shapes[:n_free]
        # nutpie's initial points, as its compile makes them: PyMC's support points, jittered per seed.
        pymc_initial = without_c_vm_when_called(make_initial_point_fn)(
            model=model, overrides=None, default_strategy="support_point", jitter_rvs=set(model.free_RVs),
            return_transformed=True)
        point = pymc_initial(0)  # the free variables' shapes, checked against the record's
        if names[:n_free] != joined_names or any(
                tuple(np.shape(point[name])) != tuple(shape) for name, shape in zip(joined_names, joined_shapes,
                                                                                    strict=True)):
            raise LookupError("shapes differ")
        by_name = {v.name: v for v in graph_inputs(_model_outputs(model)) if isinstance(v, SharedVariable)}
        keys = {by_name[name]: slot for name, slot in record["shared"]}
        shared_data = {}
        for var, slot in keys.items():
            value = np.array(var.get_value(), order="C", copy=True)
            value.flags.writeable = False
            shared_data[slot] = value
        user_data = callbacks.with_target_slots(ncp.make_user_data(keys, shared_data))
        if str(user_data.dtype) != record["user_data_dtype"]:
            raise LookupError("user data layout differs")
        loaded = {}
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Cannot cache compiled function", category=Warning)
            for name in CALLBACKS:
                callback_key, c_sig, sizes, target, src, slots = record["callbacks"][name]
                loaded[name], dispatcher = callbacks.load_callback(name, callback_key, c_sig, target, src, sizes,
                                                                   shared_data, slots)
                user_data[callbacks.TARGET_SLOTS[name]] = callbacks.address(dispatcher, target.argtypes)
        logp, expand = (loaded[name] for name in CALLBACKS)
    except Exception:  # anything missing or different: compile as usual (and record again)
        stats["misses"] += 1
        return None
    initial_point = ncp._rv_dict_to_flat_array_wrapper(  # noqa: SLF001
        ncp._wrap_with_lock(pymc_initial), names=joined_names, shapes=joined_shapes)  # noqa: SLF001
    shape_info = (list(names), [slice(a, b) for a, b in bounds], [tuple(s) for s in shapes])
    transformed = [model.rvs_to_values[rv].name for rv in model.free_RVs if model.rvs_to_transforms.get(rv) is not None]
    dims, coords = ncp._prepare_dims_and_coords(model, shape_info, transformed)  # noqa: SLF001
    stats["hits"] += 1
    return ncp.CompiledPyMCModel(
        _n_dim=record["n_dim"], dims=dims, _coords=coords, _shapes=dict(zip(names, map(tuple, shapes), strict=True)),
        compiled_logp_func=logp, compiled_expand_func=expand, initial_point_func=initial_point,
        shared_data=shared_data, shared_var_keys=keys, user_data=user_data, n_expanded=record["n_expanded"],
        shape_info=shape_info, logp_func=None, expand_func=None, reparameterized_names=transformed,
    )
