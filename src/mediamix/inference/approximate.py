"""Approximate posteriors for fast iteration: Laplace at the mode, Pathfinder, and mean-field ADVI.

Each method has the :class:`~mediamix.inference.samplers.Sampler` protocol's ``sample`` and
returns draws shaped like a NUTS posterior (``chain`` of length 1 × ``draws``), so everything
downstream (decomposition, ROAS, optimizer, report, save/load) works unchanged. None of them is
MCMC: r-hat, ESS and divergences do not apply, and nothing here shows that the draws follow the
posterior. What each one does, all in the model's unconstrained space (PyMC's value variables,
log density with the Jacobian of the transforms):

- ``map``: the mode by L-BFGS, then a Gaussian with the inverse of the negative Hessian there
  (finite differences of the exact gradient), sampled: a Laplace approximation, as Stan's
  ``laplace`` method does it on the unconstrained scale (``jacobian=true``).
- ``pathfinder``: multi-path Pathfinder (Zhang et al. 2022; :mod:`mediamix.inference.pathfinder`):
  along each of 4 L-BFGS paths, the Gaussian with the highest ELBO among those the L-BFGS inverse
  Hessian gives at each iterate; the paths' draws pooled. It runs on the same compiled log density
  as NUTS, so it compiles nothing new (BlackJAX's, on the model's JAX log density, JIT-compiled
  for 11.8 s on the demo; see the CHANGELOG).
- ``advi``: PyMC's mean-field ADVI (``pm.fit(method="advi")``, Adam), then draws from the
  fitted independent Gaussians. Mean-field ignores correlations between parameters.

Each posterior's ``attrs`` record ``method`` and ``pareto_k``: the Pareto k of the importance
ratios ``p/q`` of the draws (Yao et al. 2018, "Yes, but did it work?"). At 0.7 or below the
approximation is close enough to the posterior for importance sampling to correct it, and the
draws are resampled by their Pareto-smoothed weights (:func:`importance_resample`; ``attrs``
``resampled`` and ``importance_ess``); above, it differs in ways that cannot be corrected, its
draws are kept as they are, and its means may be far off too. Measured against
NUTS (``benchmarks/approximate.py``): on the demo data all three came within 2% on ROAS (map
k 0.52-0.77, pathfinder 0.61-0.70, advi 0.6-1.1, its intervals too narrow); on simulated data of
208 weeks × 10 channels, where the data pin each channel down less, map's ROAS means were
12-106% too high, pathfinder's 12-69% and advi's 1-27% too low, all with k 1.0-1.4.
``sample_stats`` holds ``lp``, the model's log density of each draw.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import xarray as xr

from mediamix.errors import SamplingError
from mediamix.inference.diagnostics import pareto_k_limit
from mediamix.inference.samplers import SampleResult
from mediamix.inference.traced_values import TracedValues
from mediamix.lazy_modules import import_nutpie, unloaded_lazy_modules_hidden

__all__ = [
    "APPROXIMATIONS",
    "AdviApproximation",
    "LaplaceApproximation",
    "PathfinderApproximation",
    "get_approximation",
    "importance_resample",
    "pareto_k",
    "ADVI_MAX_STEPS",
    "ADVI_LEARNING_RATE",
]

#: ADVI's steps and Adam step size. Measured on the demo model: PyMC's default (adagrad, 0.001)
#: was still far from the optimum after 30,000 steps; Adam at 0.01 levels off after about 5,000,
#: and with 10,000 its ROAS means were within 1% of NUTS's for two seeds (0.02 or 0.03 with fewer
#: steps: within 2.6% and 4%). A step costs ~0.1 ms; PyMC's compile of the step function ~1.5 s.
ADVI_MAX_STEPS = 10_000
ADVI_LEARNING_RATE = 0.01


def pareto_k(lp: np.ndarray, log_q: np.ndarray) -> float:
    """Pareto k of the importance ratios ``exp(lp - log_q)`` of draws from ``q`` (PSIS, Vehtari et al. 2024).

    A generalized Pareto distribution is fitted to the largest ratios (the ``3·√n`` largest,
    or ``n/5`` for ``n ≤ 225``) by Zhang and Stephens' (2009) empirical Bayes estimate with
    a weak prior on k at 0.5, as ArviZ does; written out here because importing ArviZ's
    takes ~1 s, longer than the whole Laplace fit of the demo model.

    Parameters
    ----------
    lp, log_q : ndarray, dims (draw,)
        Log density of each draw under the target and under the approximation
        (either up to a constant).

    Returns
    -------
    float
        ``nan`` when it cannot be estimated (e.g. all ratios equal: ``q`` is ``p``).
    """
    ratios = np.asarray(lp, dtype=float) - np.asarray(log_q, dtype=float)
    ratios = np.sort(ratios[np.isfinite(ratios)])  # -inf: a draw where p has no mass has weight 0
    n = ratios.size
    tail = int(np.floor(3 * np.sqrt(n))) if n > 225 else n // 5
    if tail < 5 or ratios[-1] - ratios[-tail] < np.finfo(float).tiny:
        return float("nan")
    ratios = ratios - ratios[-1]
    exceedances = np.exp(ratios[-tail:]) - np.exp(ratios[-tail - 1])
    return _gpd_shape(exceedances)


def _gpd_shape(x: np.ndarray) -> float:
    """Shape k of a generalized Pareto distribution fitted to sorted exceedances ``x > 0`` (Zhang & Stephens 2009)."""
    n = x.size
    quartile = x[int(n / 4 + 0.5) - 1]
    if quartile <= x[0]:
        return float("nan")
    m = 30 + int(np.sqrt(n))
    b = 1 - np.sqrt(m / (np.arange(1, m + 1) - 0.5))
    b = b / (3 * quartile) + 1 / x[-1]
    k = np.log1p(-b[:, None] * x).mean(axis=1)
    log_lik = n * (np.log(-b / k) - k - 1)
    weights = np.exp(log_lik - log_lik.max())
    weights /= weights.sum()
    keep = weights >= 10 * np.finfo(float).eps
    b_post = np.sum(b[keep] * weights[keep]) / weights[keep].sum()
    k_post = float(np.mean(np.log1p(-b_post * x)))
    if not np.isfinite(k_post):
        return float("inf")
    return (n * k_post + 10 * 0.5) / (n + 10)  # the weak prior: 10 pseudo-observations at k = 0.5


class _Unconstrained:
    """The model's free variables as one unconstrained vector: log density, gradient, and the way back.

    The vector is PyMC's value variables (``beta_log__``, ``alpha_logodds__``, ...) raveled in
    ``model.value_vars`` order; the log density includes the transforms' Jacobian. It is evaluated
    by the C callback NUTS samples with (:func:`~mediamix.inference.samplers.compile_nutpie`), so
    an approximate fit compiles nothing that NUTS has compiled before, and leaves its compiled model
    for the NUTS fit that follows. Measured on the demo, warm caches: 0.2 s instead of 2.2 s with
    PyMC's own functions (``benchmarks/approximate.py``). Draws are mapped back to the traced
    variables all at once (:class:`~mediamix.inference.traced_values.TracedValues`).
    """

    def __init__(self, model: Any) -> None:
        import ctypes

        from mediamix.inference.samplers import compile_nutpie

        self.model = model
        point = model.initial_point()
        self.names = [v.name for v in model.value_vars]
        self.shapes = [np.shape(point[name]) for name in self.names]
        self.sizes = [int(np.prod(s)) for s in self.shapes]
        self.start = np.concatenate([np.ravel(point[name]) for name in self.names]).astype(float)
        self._compiled = compiled = compile_nutpie(model)
        if compiled.n_dim != self.start.size:  # pragma: no cover - both follow model.value_vars
            raise SamplingError(f"nutpie's model has {compiled.n_dim} unconstrained values, PyMC's {self.start.size}.")
        pointer = ctypes.c_void_p
        self._logp_c = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_uint64, pointer, pointer, pointer, pointer)(
            compiled.compiled_logp_func.address)
        self._traced = TracedValues(model)
        #: The traced variables, as pm.sample and nutpie give them: every free variable on its own
        #: scale, and every Deterministic.
        self.outputs = self._traced.names

    def _call_logp(self, x: np.ndarray, grad: np.ndarray, logp: np.ndarray) -> int:
        return int(self._logp_c(x.size, x.ctypes.data, grad.ctypes.data, logp.ctypes.data,
                                self._compiled.user_data.ctypes.data))

    @property
    def dim(self) -> int:
        """Length of the unconstrained vector."""
        return int(self.start.size)

    def logp_grad(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        """Log density (Jacobian included) and its gradient at ``x``; ``-inf`` where either is not finite."""
        x = np.ascontiguousarray(x, dtype=float)
        grad, logp = np.empty_like(x), np.empty(())
        if self._call_logp(x, grad, logp) != 0:  # nutpie's codes: 3 gradient, 4 logp not finite, 1 error
            return -np.inf, np.zeros_like(x)
        return float(logp), grad

    def logp(self, xs: np.ndarray) -> np.ndarray:
        """Log density of each row of ``xs`` (draw, dim); ``-inf`` where it is not finite."""
        return np.array([self.logp_grad(x)[0] for x in np.asarray(xs, dtype=float)], dtype=float)

    def split(self, xs: np.ndarray) -> dict[str, np.ndarray]:
        """Rows of the unconstrained vector ``xs`` (draw, dim) as each value variable's draws (draw, ...)."""
        xs = np.asarray(xs, dtype=float).reshape(-1, self.dim)
        bounds = np.cumsum([0, *self.sizes])
        return {name: xs[:, bounds[i]:bounds[i + 1]].reshape(len(xs), *shape)
                for i, (name, shape) in enumerate(zip(self.names, self.shapes, strict=True))}

    def constrain(self, xs: np.ndarray) -> dict[str, np.ndarray]:
        """The traced variables (:attr:`outputs`, on their own scales) at each row of ``xs`` (draw, dim)."""
        return self._traced(self.split(xs))

    def posterior(self, xs: np.ndarray, lp: np.ndarray, attrs: dict[str, Any]) -> xr.DataTree:
        """Draws ``xs`` (draw, dim) as an InferenceData tree: ``posterior`` (chain=1, draw, ...), ``sample_stats``."""
        draws = len(xs)
        unconstrained = {name: values[None] for name, values in self.split(xs).items()}
        posterior = self._traced.dataset(unconstrained, attrs=attrs)
        stats = xr.Dataset({"lp": (("chain", "draw"), np.asarray(lp, dtype=float)[None])},
                           coords={"chain": [0], "draw": np.arange(draws)})
        return xr.DataTree.from_dict({"posterior": posterior, "sample_stats": stats})


def _gaussian_draws(mean: np.ndarray, cov_factor: np.ndarray, draws: int, rng: np.random.Generator
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Draws of N(mean, L Lᵀ) for a lower-triangular (or diagonal, 1-d) ``cov_factor`` L, and their log density."""
    z = rng.standard_normal((draws, mean.size))
    if cov_factor.ndim == 1:
        xs = mean + z * cov_factor
        log_det = np.sum(np.log(cov_factor))
    else:
        xs = mean + z @ cov_factor.T
        log_det = np.sum(np.log(np.diag(cov_factor)))
    log_q = -0.5 * np.sum(z**2, axis=1) - log_det - 0.5 * mean.size * np.log(2 * np.pi)
    return xs, log_q


def importance_resample(lp: np.ndarray, log_q: np.ndarray, rng: np.random.Generator, size: int | None = None
                        ) -> tuple[np.ndarray, float]:
    """Which draws of ``q`` to keep, by Pareto-smoothed importance resampling towards ``p``.

    Each draw gets the weight ``p/q`` with the largest weights smoothed by the fitted generalized
    Pareto tail (PSIS, Vehtari et al. 2024; ArviZ's ``psislw``); then as many draws as there were
    (or ``size``) are drawn from them with replacement, in proportion to those weights. A draw where ``p`` has
    no mass (log density ``-inf``, or far out in ``q``'s tail: a stray) gets (almost) no weight
    and drops out. Use it only when the Pareto k is at most
    :func:`~mediamix.inference.diagnostics.pareto_k_limit` of the number of draws: above, the weights
    are too noisy to correct anything.

    Parameters
    ----------
    lp, log_q : ndarray, dims (draw,)
        Log density of each draw under the target and under the approximation (each up to a constant).
    rng : numpy.random.Generator
    size : int, optional
        How many draws to keep; as many as there are by default.

    Returns
    -------
    index : ndarray of int, dims (size,)
        The kept draws (with repeats), sorted.
    ess : float
        The weights' effective sample size, ``1 / Σ w²``, in draws.
    """
    from arviz_stats.base import array_stats

    ratios = np.asarray(lp, dtype=float) - np.asarray(log_q, dtype=float)
    finite = np.flatnonzero(np.isfinite(ratios))
    weights = np.zeros(ratios.size)
    if finite.size >= 5 and np.ptp(ratios[finite]) > 0:  # PSIS needs a tail to fit
        with unloaded_lazy_modules_hidden():  # SciPy's logsumexp would import JAX (0.45 s)
            log_w, _ = array_stats.psislw(-ratios[finite], r_eff=1.0)  # ArviZ takes minus the log ratios
        weights[finite] = np.exp(log_w - log_w.max())
        weights /= weights.sum()
    elif finite.size:  # too few, or all equal: plain weights
        weights[finite] = np.exp(ratios[finite] - ratios[finite].max())
        weights /= weights.sum()
    else:
        weights[:] = 1.0 / ratios.size
    index = np.sort(rng.choice(ratios.size, size=ratios.size if size is None else size, replace=True, p=weights))
    return index, float(1.0 / np.sum(weights**2))


def _finish(space: _Unconstrained, method: str, xs: np.ndarray, log_q: np.ndarray,
            rng: np.random.Generator, *, size: int | None = None) -> xr.DataTree:
    """The draws ``xs`` of ``q`` as a posterior tree, with their Pareto k in its attrs; importance-resampled
    (:func:`importance_resample`) when k is at most :func:`~mediamix.inference.diagnostics.pareto_k_limit`
    of the number of draws kept (0.67 for 1000 draws; a review found 200 draws resampled at k 0.67 kept
    only 92 distinct ones).

    ``size`` draws are kept (all by default): resampled, or else a random subset without repeats.
    """
    lp = space.logp(xs)
    size = len(xs) if size is None else size
    k = pareto_k(lp, log_q)
    attrs: dict[str, Any] = {"method": method, "approximate": 1, "pareto_k": k, "resampled": 0,
                             "candidates": len(xs)}
    if np.isfinite(k) and k <= pareto_k_limit(size):
        index, ess = importance_resample(lp, log_q, rng, size=size)
        attrs.update(resampled=1, importance_ess=ess)
    elif size < len(xs):
        index = np.sort(rng.choice(len(xs), size=size, replace=False))
    else:
        index = np.arange(len(xs))
    return space.posterior(xs[index], lp[index], attrs)


class _Approximation:
    """The :class:`~mediamix.inference.samplers.Sampler` protocol for an approximation: ``draws`` draws, one chain."""

    name: str

    def sample(self, model: Any, *, chains: int, draws: int, tune: int, seed: int | None,
               target_accept: float, progressbar: bool) -> SampleResult:
        """Approximate the posterior of ``model`` (a ``pymc.Model``) and draw ``draws`` draws from it.

        ``chains``, ``tune`` and ``target_accept`` are NUTS settings, ignored here.
        """
        import_nutpie()  # imported before the clock starts, as for NUTS (ArviZ's converters load on first use)
        import pytensor
        from threadpoolctl import threadpool_limits

        # Small dense algebra: BLAS threads only add contention. Measured on the busy 2-core machine:
        # L-BFGS-B on a 15-parameter quadratic took 44-150 ms with 2 OpenBLAS threads, 0.6 ms with 1.
        # Without fastmath, as for nutpie (see compile_nutpie): the same seed gives the same draws
        # whether the compiled functions come fresh or from the cache.
        with threadpool_limits(limits=1, user_api="blas"), pytensor.config.change_flags(numba__fastmath=False):
            return self._sample(model, draws, seed, progressbar)

    def _sample(self, model: Any, draws: int, seed: int | None, progressbar: bool) -> SampleResult:
        raise NotImplementedError


class LaplaceApproximation(_Approximation):
    """MAP plus a Gaussian (Laplace) approximation at the mode, in the unconstrained space.

    The mode is found by L-BFGS from the model's initial point; the Hessian there by central
    differences of the exact gradient (as Stan does), symmetrized. ``chains``, ``tune`` and
    ``target_accept`` are ignored; the posterior has one chain of ``draws`` draws.
    """

    name = "map"
    #: Step of the finite differences, relative to max(1, |x|).
    hessian_step = 1e-5

    def _sample(self, model: Any, draws: int, seed: int | None, progressbar: bool) -> SampleResult:
        from scipy.optimize import minimize

        t0 = time.perf_counter()
        space = _Unconstrained(model)
        t1 = time.perf_counter()

        def objective(x: np.ndarray) -> tuple[float, np.ndarray]:
            logp, grad = space.logp_grad(x)
            return (-logp, -grad) if np.isfinite(logp) else (np.inf, np.zeros_like(grad))

        result = minimize(objective, space.start, jac=True, method="L-BFGS-B", options={"maxiter": 5000})
        mode = result.x
        if not np.isfinite(result.fun):
            raise SamplingError("The MAP optimization found no point with a finite log density; try --method nuts.")
        precision = -self._hessian(space, mode)
        cov_factor = _laplace_factor(precision, space, mode)
        rng = np.random.default_rng(seed)
        xs, log_q = _gaussian_draws(mode, cov_factor, draws, rng)
        tree = _finish(space, self.name, xs, log_q, rng)
        return SampleResult(idata=tree, compile_s=t1 - t0, sampling_s=time.perf_counter() - t1)

    def _hessian(self, space: _Unconstrained, x: np.ndarray) -> np.ndarray:
        n = x.size
        hess = np.empty((n, n))
        for i in range(n):
            h = self.hessian_step * max(1.0, abs(x[i]))
            step = np.zeros(n)
            step[i] = h
            hess[:, i] = (space.logp_grad(x + step)[1] - space.logp_grad(x - step)[1]) / (2 * h)
        return 0.5 * (hess + hess.T)


def _laplace_factor(precision: np.ndarray, space: _Unconstrained, mode: np.ndarray) -> np.ndarray:
    """Cholesky factor of the covariance ``precision⁻¹``; a SamplingError naming a flat direction."""
    eigenvalues, vectors = np.linalg.eigh(precision)
    # A condition number past 1e10 is a flat direction up to the finite differences' error.
    if not np.all(np.isfinite(eigenvalues)) or eigenvalues.min() <= 1e-10 * np.abs(eigenvalues).max():
        worst = int(np.argmax(np.abs(vectors[:, int(np.argmin(eigenvalues))])))
        raise SamplingError(
            "The MAP's Laplace approximation failed: the log density is not curved downward at the mode along "
            f"'{_label(space, worst)}' (no Gaussian fits there). Try --method advi or nuts, or a more "
            "informative prior for that parameter."
        )
    cov = (vectors / eigenvalues) @ vectors.T
    return np.linalg.cholesky(0.5 * (cov + cov.T))


def _label(space: _Unconstrained, index: int) -> str:
    """The parameter at ``index`` of the unconstrained vector, e.g. ``beta_effect_ref[x2]`` (by coordinate)."""
    model = space.model
    offset = 0
    for value_var, size in zip(model.value_vars, space.sizes, strict=True):
        if index < offset + size:
            name = model.values_to_rvs[value_var].name
            dims = model.named_vars_to_dims.get(name) or ()
            position = index - offset
            if len(dims) == 1 and model.coords.get(dims[0]) is not None:
                return f"{name}[{model.coords[dims[0]][position]}]"
            return name if size == 1 else f"{name}[{position}]"
        offset += size
    return str(index)  # pragma: no cover - index is always inside the vector


class _IterateAverage:
    """A ``pm.fit`` callback: the mean of the mean-field parameters over the steps from ``start`` on.

    Adam with a constant step size leaves the last iterate jittering around the optimum; the
    average of the iterates does not (Polyak and Juditsky 1992). Measured on a one-parameter
    Gaussian posterior (five seeds): the last iterate's mean was off by up to 0.23 posterior sd,
    the average of the second half's by at most 0.013.
    """

    def __init__(self, start: int) -> None:
        self.start = start
        self.sums: dict[str, np.ndarray] = {}
        self.count = 0

    def __call__(self, approx: Any, losses: Any, step: int) -> None:
        if step < self.start:
            return
        for name, shared in approx.groups[0].params_dict.items():
            value = shared.get_value()
            self.sums[name] = self.sums[name] + value if name in self.sums else value.copy()
        self.count += 1

    def apply(self, group: Any) -> None:
        """Set the group's parameters to their averages."""
        for name, total in self.sums.items():
            group.params_dict[name].set_value(total / self.count)


class AdviApproximation(_Approximation):
    """PyMC's mean-field ADVI (``pm.fit(method="advi")`` with Adam), then draws from the fitted Gaussians.

    Runs :data:`ADVI_MAX_STEPS` steps and uses the average of the second half's iterates. PyMC
    compiles its step function inside the fit, so that time counts as fitting, not compiling.
    ``chains``, ``tune`` and ``target_accept`` are ignored; the posterior has one chain of
    ``draws`` draws.
    """

    name = "advi"

    def _sample(self, model: Any, draws: int, seed: int | None, progressbar: bool) -> SampleResult:
        import pymc as pm

        t0 = time.perf_counter()
        space = _Unconstrained(model)
        t1 = time.perf_counter()
        average = _IterateAverage(start=ADVI_MAX_STEPS // 2)
        approx = pm.fit(
            n=ADVI_MAX_STEPS,
            method="advi",
            model=model,
            random_seed=seed,
            progressbar=progressbar,
            obj_optimizer=pm.adam(learning_rate=ADVI_LEARNING_RATE),
            callbacks=[average],
        )
        group = approx.groups[0]
        order = [name for name, *_ in group.ordering.values()]
        if order != space.names:  # both follow model.value_vars; a PyMC change would break that silently
            raise SamplingError(f"ADVI's parameter order {order} differs from the model's {space.names}.")
        average.apply(group)
        mean = np.asarray(approx.mean.eval(), dtype=float)
        std = np.asarray(approx.std.eval(), dtype=float)
        rng = np.random.default_rng(seed)
        xs, log_q = _gaussian_draws(mean, std, draws, rng)
        tree = _finish(space, self.name, xs, log_q, rng)
        tree["posterior"].attrs["steps"] = len(approx.hist)
        return SampleResult(idata=tree, compile_s=t1 - t0, sampling_s=time.perf_counter() - t1)


class PathfinderApproximation(_Approximation):
    """Multi-path Pathfinder (Zhang et al. 2022) on the model's compiled log density.

    Runs :attr:`paths` single paths (:func:`~mediamix.inference.pathfinder.pathfinder_path`), each
    from the model's initial point jittered by U(-1, 1) in the unconstrained space (as PyMC's
    ``jitter+adapt_diag`` start). Each path keeps the Gaussian with the highest ELBO along its
    L-BFGS iterates. ``paths × draws`` candidates are drawn from the mixture of the paths'
    Gaussians, each weighted by ``exp(ELBO)`` (the mass of the posterior it covers, as far as the
    ELBO estimates it), and weighed against that mixture's density (not only their own path's: the
    weights stay right where paths overlap). When the Pareto k allows, ``draws`` of them are
    importance-resampled (PSIS), which also gives each mode its share of the mass; otherwise
    ``draws`` of them are kept at random, and a mode that several paths found is over-represented
    (one more way in which such a fit is off, as its k says). The draws are in random order, not
    grouped by path. The posterior's ``attrs`` record ``paths`` (those that found an
    approximation), ``candidates`` and ``iterations`` (L-BFGS iterations of those paths).
    ``chains``, ``tune`` and ``target_accept`` are ignored; the posterior has one chain of
    ``draws`` draws.
    """

    name = "pathfinder"
    #: Independent paths.
    paths = 4
    #: Half-width of the uniform jitter of each path's start, in the unconstrained space.
    jitter = 1.0

    def _sample(self, model: Any, draws: int, seed: int | None, progressbar: bool) -> SampleResult:
        from mediamix.inference.pathfinder import pathfinder_path

        t0 = time.perf_counter()
        space = _Unconstrained(model)
        t1 = time.perf_counter()
        rng = np.random.default_rng(seed)

        def one_path(path_rng: np.random.Generator) -> Any:
            start = space.start + path_rng.uniform(-self.jitter, self.jitter, space.dim)
            return pathfinder_path(space.logp_grad, space.logp, start, path_rng)

        # Paths one after another: in two threads (the C log density releases the GIL) they took as
        # long (208 weeks x 10 channels, 3 pairs), the NumPy algebra between the calls holding the GIL.
        found = [path for path in map(one_path, rng.spawn(self.paths)) if path is not None]
        if not found:
            raise SamplingError(
                f"Pathfinder found no approximation with a finite ELBO along any of its {self.paths} L-BFGS paths: "
                "the log density is not finite where they start, or no step had positive curvature, or every "
                "approximation put draws where the log density is not finite. Try --method map or nuts."
            )
        # Each path's ELBO estimates the log of the posterior mass its Gaussian covers, so the paths
        # are mixed in proportion to exp(ELBO): a path stuck far from the posterior's mass (measured on
        # simulated 208 weeks x 10 channels: ELBO -482 against 225) gets no draws. Paths on one mode
        # each count its whole mass; the importance weights correct that (found in review).
        elbos = np.array([path.elbo for path in found])
        # NumPy's logaddexp, not SciPy's logsumexp: its array-API dispatch imports JAX through ArviZ's
        # lazy placeholder (0.45 s, and no chart helper after it; found by the chart-helper tests).
        log_weights = elbos - np.logaddexp.reduce(elbos)
        counts = rng.multinomial(len(found) * draws, np.exp(log_weights))
        xs = np.vstack([path.approximation.draw(int(n), rng)[0] for path, n in zip(found, counts, strict=True)])
        xs = xs[rng.permutation(len(xs))]  # not grouped by path (the kept draws keep this order)
        log_q = np.logaddexp.reduce([w + path.approximation.log_density(xs)
                                     for w, path in zip(log_weights, found, strict=True)], axis=0)
        tree = _finish(space, self.name, xs, log_q, rng, size=draws)
        tree["posterior"].attrs.update(paths=len(found), iterations=sum(path.iterations for path in found))
        return SampleResult(idata=tree, compile_s=t1 - t0, sampling_s=time.perf_counter() - t1)


#: Approximation registry: ``[fit] method`` name -> class.
APPROXIMATIONS: dict[str, type] = {a.name: a for a in (LaplaceApproximation, AdviApproximation,
                                                        PathfinderApproximation)}


def get_approximation(name: str) -> Any:
    """The approximation registered as ``name`` (``"map"``, ``"advi"`` or ``"pathfinder"``)."""
    try:
        return APPROXIMATIONS[name]()
    except KeyError:
        raise SamplingError(
            f"Unknown approximate method '{name}'. Expected one of: {', '.join(APPROXIMATIONS)}."
        ) from None
