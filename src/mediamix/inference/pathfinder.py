"""Pathfinder (Zhang, Carpenter, Gelman and Vehtari 2022): Gaussian approximations along an L-BFGS path.

One path runs L-BFGS uphill on a log density from a starting point. At every iterate the last
few steps and gradient changes give an L-BFGS estimate of the inverse Hessian: a diagonal plus
a low-rank part. Each such estimate, centred one Newton step ahead, is a Gaussian approximation
of the target; the path keeps the one with the highest evidence lower bound (ELBO), estimated
from a few draws of each (the same draws for every iterate; the chosen one's ELBO is estimated
again on more draws, as the largest of many noisy estimates is biased upward). Unlike a Laplace
approximation it needs no Hessian, and it can stop short of the mode, where a skewed or
funnel-shaped posterior holds most of its mass.

Choosing among the iterates on the 5-draw estimates, as the paper does, is noisy: on correlated
4-d Gaussians the chosen Gaussian was within KL 0.1 of the target in 82% of 60 cases (median KL
0.025). Choosing among the best 3 again on 50 draws made that 95% (median 0.003), but on the demo
model it chose narrower Gaussians: Pareto k median 0.68 instead of 0.62 (8 seeds), 3 fits of 8
importance-resampled instead of 6, and x1's ROAS interval at 69% of NUTS's width instead of 86%.
For a proposal that importance sampling corrects, too narrow is the worse error, so the choice
stays the paper's.

This module is NumPy and SciPy only: it takes the log density as a function ``x -> (logp,
gradient)`` on an unconstrained vector. :class:`mediamix.inference.approximate.PathfinderApproximation`
runs several paths on a model's compiled log density and pools their draws.

The inverse Hessian is the compact form of the BFGS update (Byrd, Nocedal and Schnabel 1994,
Theorem 2.2) from a diagonal start, and the diagonal follows each accepted step by the diagonal
of the BFGS update of a diagonal Hessian, scaled first (Gilbert and Lemaréchal 1989), as the
paper does. Steps whose curvature ``sᵀz`` is not positive are skipped, so every estimate is
positive definite.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["LowRankGaussian", "Path", "bfgs_inverse_hessian", "pathfinder_path", "update_diagonal"]

#: ``x -> (log density, gradient)``; ``-inf`` where the density is not finite.
LogpGrad = Callable[[np.ndarray], tuple[float, np.ndarray]]
#: ``xs (draw, dim) -> log density (draw,)``.
LogpMany = Callable[[np.ndarray], np.ndarray]

#: Steps kept for the inverse Hessian estimate (the paper's J).
HISTORY = 6
#: Draws per iterate for its ELBO estimate (the paper's K).
ELBO_DRAWS = 5
#: Draws for the chosen Gaussian's ELBO, estimated again: the path's weight among the paths.
RESCORE_DRAWS = 50
#: A step is kept only where its curvature ``sᵀz`` exceeds this times ``zᵀz`` (as the paper: machine
#: epsilon; ``sᵀz / zᵀz`` is about the variance along ``z``, so a larger number would reject every
#: step of a posterior narrower than its square root; found in review at 1e-12 and sd 1e-6).
CURVATURE_TOLERANCE = float(np.finfo(float).eps)
_LOG_2PI = float(np.log(2 * np.pi))


@dataclass(frozen=True)
class LowRankGaussian:
    """A Gaussian N(mean, Σ) whose covariance is a diagonal plus a low-rank part.

    ``Σ = D^½ F Fᵀ D^½`` with ``D = diag(scale²)`` and ``F = I - Q Qᵀ + Q L Qᵀ``: ``Q`` has
    orthonormal columns and ``L`` is lower triangular, so ``F Fᵀ = I + Q (L Lᵀ - I) Qᵀ``.
    Drawing and the log density cost O(dim · rank) per draw.

    Attributes
    ----------
    mean, scale : ndarray, dims (dim,)
    basis : ndarray, dims (dim, rank)
        ``Q``.
    factor : ndarray, dims (rank, rank)
        ``L``.
    """

    mean: np.ndarray
    scale: np.ndarray
    basis: np.ndarray
    factor: np.ndarray

    @property
    def dim(self) -> int:
        """Length of the vector."""
        return int(self.mean.size)

    def _normalizer(self) -> float:
        """``log √det(2π Σ)``."""
        log_det_half = np.sum(np.log(self.scale)) + np.sum(np.log(np.abs(np.diag(self.factor))))
        return float(log_det_half + 0.5 * self.dim * _LOG_2PI)

    def covariance(self) -> np.ndarray:
        """Σ as a dense (dim, dim) matrix (for tests and small problems)."""
        q, l_ = self.basis, self.factor
        inner = np.eye(self.dim) + q @ (l_ @ l_.T - np.eye(l_.shape[0])) @ q.T
        return self.scale[:, None] * inner * self.scale[None, :]

    def draw(self, count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``count`` draws (count, dim) and their log density (count,)."""
        return self.from_standard(rng.standard_normal((count, self.dim)))

    def from_standard(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The draws (draw, dim) made of standard normal draws ``u`` (draw, dim), and their log density."""
        v = u @ self.basis
        xs = self.mean + self.scale * (u + (v @ self.factor.T - v) @ self.basis.T)
        return xs, -0.5 * np.sum(u**2, axis=1) - self._normalizer()

    def log_density(self, xs: np.ndarray) -> np.ndarray:
        """Log density of each row of ``xs`` (draw, dim)."""
        from scipy.linalg import solve_triangular

        w = (np.atleast_2d(xs) - self.mean) / self.scale
        v = w @ self.basis
        u = w - v @ self.basis.T + solve_triangular(self.factor, v.T, lower=True).T @ self.basis.T
        return -0.5 * np.sum(u**2, axis=1) - self._normalizer()


def update_diagonal(diagonal: np.ndarray, step: np.ndarray, change: np.ndarray) -> np.ndarray:
    """The diagonal inverse Hessian after one accepted step (Gilbert and Lemaréchal 1989).

    The diagonal Hessian ``B = diag(1/diagonal)`` is first scaled so that ``zᵀ B⁻¹ z`` matches
    ``zᵀ s``, then given the diagonal of its BFGS update ``B - B s sᵀ B / sᵀBs + z zᵀ / zᵀs``.

    Parameters
    ----------
    diagonal : ndarray, dims (dim,)
        The current diagonal of the inverse Hessian (positive).
    step, change : ndarray, dims (dim,)
        ``s = x₊ - x`` and ``z = ∇f(x₊) - ∇f(x)`` for the minimized ``f`` (minus the log density),
        with ``sᵀz > 0``.

    Returns
    -------
    ndarray, dims (dim,)
        The new diagonal; the old one where the update would not be positive and finite.
    """
    curvature = float(step @ change)
    scaling = float(change @ (diagonal * change)) / curvature
    hessian = scaling / diagonal
    hessian = hessian - scaling * (step / diagonal) ** 2 / float(step @ (step / diagonal)) + change**2 / curvature
    with np.errstate(divide="ignore"):
        new = 1.0 / hessian
    return new if np.all(np.isfinite(new)) and np.all(new > 0) else diagonal


def bfgs_inverse_hessian(diagonal: np.ndarray, steps: np.ndarray, changes: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray]:
    """The BFGS inverse Hessian from ``diag(diagonal)`` after ``steps``, as ``diag(diagonal) + β γ βᵀ``.

    The compact representation of Byrd, Nocedal and Schnabel (1994, Theorem 2.2):
    ``β = [S, D Z]`` and ``γ = [[R⁻ᵀ (E + Zᵀ D Z) R⁻¹, -R⁻ᵀ], [-R⁻¹, 0]]``, where ``R`` is the
    upper triangle of ``Sᵀ Z`` and ``E`` its diagonal.

    Parameters
    ----------
    diagonal : ndarray, dims (dim,)
    steps, changes : ndarray, dims (dim, pairs)
        The steps ``s`` and gradient changes ``z`` (of the minimized function), oldest first.

    Returns
    -------
    beta : ndarray, dims (dim, 2 · pairs)
    gamma : ndarray, dims (2 · pairs, 2 · pairs)
    """
    from scipy.linalg import solve_triangular

    pairs = steps.shape[1]
    products = steps.T @ changes
    r_inv = solve_triangular(np.triu(products), np.eye(pairs), lower=False)
    scaled_changes = diagonal[:, None] * changes
    gamma = np.zeros((2 * pairs, 2 * pairs))
    gamma[:pairs, :pairs] = r_inv.T @ (np.diag(np.diag(products)) + changes.T @ scaled_changes) @ r_inv
    gamma[:pairs, pairs:] = -r_inv.T
    gamma[pairs:, :pairs] = -r_inv
    return np.hstack([steps, scaled_changes]), gamma


def _approximation(x: np.ndarray, grad: np.ndarray, diagonal: np.ndarray, steps: np.ndarray,
                   changes: np.ndarray) -> LowRankGaussian | None:
    """The Gaussian at iterate ``x``: covariance the inverse Hessian estimate Σ, mean ``x + Σ ∇log p``."""
    beta, gamma = bfgs_inverse_hessian(diagonal, steps, changes)
    mean = x + diagonal * grad + beta @ (gamma @ (beta.T @ grad))
    scale = np.sqrt(diagonal)
    basis, triangle = np.linalg.qr(beta / scale[:, None])
    inner = np.eye(basis.shape[1]) + triangle @ gamma @ triangle.T
    try:
        factor = np.linalg.cholesky(0.5 * (inner + inner.T))
    except np.linalg.LinAlgError:  # rounding on a nearly singular estimate
        return None
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(factor))):
        return None
    return LowRankGaussian(mean, scale, basis, factor)


def _lbfgs_path(logp_grad: LogpGrad, start: np.ndarray, max_iterations: int
                ) -> tuple[np.ndarray, np.ndarray]:
    """The iterates of L-BFGS maximizing the log density from ``start`` and the gradients there, (iterate, dim) each."""
    from scipy.optimize import minimize

    last: dict[str, np.ndarray] = {}

    def objective(x: np.ndarray) -> tuple[float, np.ndarray]:
        logp, grad = logp_grad(x)
        last["x"], last["grad"] = x.copy(), grad
        return (-logp, -grad) if np.isfinite(logp) else (np.inf, np.zeros_like(grad))

    logp0, grad0 = logp_grad(start)
    if not np.isfinite(logp0):
        return start[None], np.full((1, start.size), np.nan)
    points, grads = [start.copy()], [grad0]

    def record(intermediate_result: object) -> None:
        x = np.asarray(intermediate_result.x, dtype=float)  # type: ignore[attr-defined]
        grad = last["grad"] if np.array_equal(x, last.get("x")) else logp_grad(x)[1]
        points.append(x.copy())
        grads.append(grad)

    minimize(objective, start, jac=True, method="L-BFGS-B", callback=record,
             options={"maxiter": max_iterations, "ftol": 1e-12, "gtol": 1e-8})
    return np.array(points), np.array(grads)


@dataclass(frozen=True)
class Path:
    """One Pathfinder path's result.

    Attributes
    ----------
    approximation : LowRankGaussian
        The Gaussian with the highest ELBO along the path.
    elbo : float
        Its ELBO estimate (on :data:`RESCORE_DRAWS` draws).
    iteration : int
        The L-BFGS iterate it belongs to (0 is the start).
    iterations : int
        How many L-BFGS iterations the path took.
    """

    approximation: LowRankGaussian
    elbo: float
    iteration: int
    iterations: int


def pathfinder_path(logp_grad: LogpGrad, logp: LogpMany, start: np.ndarray, rng: np.random.Generator, *,
                    history: int = HISTORY, elbo_draws: int = ELBO_DRAWS, max_iterations: int = 1000
                    ) -> Path | None:
    """Single-path Pathfinder from ``start``: the best Gaussian approximation along the L-BFGS path.

    Parameters
    ----------
    logp_grad : callable
        ``x -> (log density, gradient)``, ``-inf`` where the density is not finite.
    logp : callable
        ``xs (draw, dim) -> log density (draw,)``, for the ELBO estimates.
    start : ndarray, dims (dim,)
    rng : numpy.random.Generator
        For the ELBO estimates' draws.
    history : int, default=HISTORY
        Steps kept for each inverse Hessian estimate.
    elbo_draws : int, default=ELBO_DRAWS
        Draws per ELBO estimate.
    max_iterations : int, default=1000
        L-BFGS iterations at most.

    Returns
    -------
    Path or None
        None when no iterate gave an approximation with a finite ELBO: the density is not finite
        at ``start``, L-BFGS could not take a step (e.g. ``start`` is a stationary point), no
        step had positive curvature, or every approximation put draws where the density is not finite.
    """
    points, grads = _lbfgs_path(logp_grad, np.asarray(start, dtype=float), max_iterations)
    diagonal = np.ones(points.shape[1])
    steps: list[np.ndarray] = []
    changes: list[np.ndarray] = []
    best: tuple[float, int, LowRankGaussian] | None = None  # (ELBO, iterate, Gaussian)
    # One set of standard normals for every iterate's ELBO: the iterates are compared on the same
    # draws, so the choice follows the approximations more than the Monte Carlo noise.
    base = rng.standard_normal((elbo_draws, points.shape[1]))
    for i in range(1, len(points)):
        step, change = points[i] - points[i - 1], grads[i - 1] - grads[i]  # z: the change of -∇log p
        with np.errstate(over="ignore", invalid="ignore"):  # a step off to infinity: not finite, not kept
            curved = step @ change > CURVATURE_TOLERANCE * (change @ change)
        if curved:
            diagonal = update_diagonal(diagonal, step, change)
            steps, changes = [*steps, step][-history:], [*changes, change][-history:]
        if not steps:
            continue
        gaussian = _approximation(points[i], grads[i], diagonal, np.array(steps).T, np.array(changes).T)
        if gaussian is None:
            continue
        elbo = _elbo(gaussian, logp, base)
        if np.isfinite(elbo) and (best is None or elbo > best[0]):
            best = (elbo, i, gaussian)
    if best is None:
        return None
    # The largest of hundreds of 5-draw estimates is biased upward: the chosen Gaussian's ELBO, which
    # weighs the paths against each other, is estimated again on more draws.
    elbo, i, gaussian = best
    rescored = _elbo(gaussian, logp, rng.standard_normal((RESCORE_DRAWS, points.shape[1])))
    return Path(gaussian, rescored if np.isfinite(rescored) else elbo, i, len(points) - 1)


def _elbo(gaussian: LowRankGaussian, logp: LogpMany, base: np.ndarray) -> float:
    """``mean(log p - log q)`` over the draws of ``gaussian`` made of the standard normals ``base``."""
    xs, log_q = gaussian.from_standard(base)
    with np.errstate(invalid="ignore"):  # -inf - (-inf) where both are far out
        return float(np.mean(logp(xs) - log_q))
