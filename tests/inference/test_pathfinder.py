"""Pathfinder's pieces against references: the BFGS inverse Hessian against its recursive update, the
low-rank Gaussian against SciPy's, and single paths against Gaussian targets whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from mediamix.inference.pathfinder import LowRankGaussian, bfgs_inverse_hessian, pathfinder_path, update_diagonal


def recursive_bfgs(diagonal: np.ndarray, steps: np.ndarray, changes: np.ndarray) -> np.ndarray:
    """The textbook BFGS update of the inverse Hessian, one pair at a time (Nocedal and Wright, eq. 6.17)."""
    h = np.diag(diagonal)
    eye = np.eye(len(diagonal))
    for s, z in zip(steps.T, changes.T, strict=True):
        rho = 1.0 / (s @ z)
        h = (eye - rho * np.outer(s, z)) @ h @ (eye - rho * np.outer(z, s)) + rho * np.outer(s, s)
    return h


def spd(n: int, rng: np.random.Generator) -> np.ndarray:
    a = rng.standard_normal((n, n))
    return a @ a.T + n * np.eye(n)


@pytest.mark.parametrize(("dim", "pairs"), [(7, 1), (7, 4), (3, 5)])
def test_compact_inverse_hessian_is_the_recursive_bfgs_update(dim: int, pairs: int) -> None:
    rng = np.random.default_rng(dim + pairs)
    steps = rng.standard_normal((dim, pairs))
    changes = spd(dim, rng) @ steps  # a quadratic's gradient changes: every curvature sᵀz is positive
    diagonal = rng.uniform(0.5, 2.0, dim)
    beta, gamma = bfgs_inverse_hessian(diagonal, steps, changes)
    np.testing.assert_allclose(np.diag(diagonal) + beta @ gamma @ beta.T,
                               recursive_bfgs(diagonal, steps, changes), rtol=1e-10, atol=1e-12)


def test_diagonal_update_is_the_diagonal_of_the_scaled_bfgs_hessian_update() -> None:
    rng = np.random.default_rng(0)
    diagonal, s = rng.uniform(0.5, 2.0, 6), rng.standard_normal(6)
    z = spd(6, rng) @ s
    b = (z @ (diagonal * z)) / (s @ z) * np.diag(1.0 / diagonal)  # scaled so that zᵀ B⁻¹ z = zᵀ s
    expected = b - np.outer(b @ s, b @ s) / (s @ b @ s) + np.outer(z, z) / (s @ z)
    np.testing.assert_allclose(update_diagonal(diagonal, s, z), 1.0 / np.diag(expected), rtol=1e-12)
    # a step along one axis with no change there would zero a diagonal entry: the old diagonal stays
    s1, z1 = np.eye(6)[0], np.r_[0.0, np.ones(5)]
    assert update_diagonal(diagonal, s1, z1 + np.eye(6)[0] * 1e-300) is diagonal


def low_rank(dim: int, rank: int, rng: np.random.Generator) -> LowRankGaussian:
    basis, _ = np.linalg.qr(rng.standard_normal((dim, rank)))
    factor = np.tril(rng.standard_normal((rank, rank)) * 0.5) + np.diag(rng.uniform(0.5, 2.0, rank))
    return LowRankGaussian(rng.standard_normal(dim), rng.uniform(0.3, 3.0, dim), basis, factor)


def test_low_rank_gaussian_draws_and_densities_are_scipys() -> None:
    rng = np.random.default_rng(1)
    q = low_rank(8, 3, rng)
    reference = stats.multivariate_normal(q.mean, q.covariance())
    xs, log_q = q.draw(50_000, rng)
    np.testing.assert_allclose(log_q, reference.logpdf(xs), rtol=1e-10)
    np.testing.assert_allclose(q.log_density(xs[:100]), log_q[:100], rtol=1e-10)
    np.testing.assert_allclose(xs.mean(axis=0), q.mean, atol=4 * np.sqrt(np.diag(q.covariance()) / 50_000).max())
    np.testing.assert_allclose(np.cov(xs.T), q.covariance(), atol=0.05 * np.abs(q.covariance()).max())


def gaussian_target(mean: np.ndarray, cov: np.ndarray):  # noqa: ANN201 - returns the two callables
    precision = np.linalg.inv(cov)
    dist = stats.multivariate_normal(mean, cov)

    def logp_grad(x: np.ndarray) -> tuple[float, np.ndarray]:
        return float(dist.logpdf(x)), -precision @ (x - mean)

    return logp_grad, lambda xs: np.atleast_1d(dist.logpdf(xs))


def kl_to_target(q: LowRankGaussian, mean: np.ndarray, cov: np.ndarray) -> float:
    """KL(q ‖ N(mean, cov)), in closed form."""
    s, precision, d = q.covariance(), np.linalg.inv(cov), q.mean - mean
    return 0.5 * float(np.trace(precision @ s) + d @ precision @ d - len(mean)
                       + np.linalg.slogdet(cov)[1] - np.linalg.slogdet(s)[1])


@pytest.mark.parametrize("seed", range(5))
def test_a_path_on_a_correlated_gaussian_finds_it(seed: int) -> None:
    """On a quadratic log density the secant pairs carry the exact curvature: the best Gaussian along
    the path is close to the target (measured KL 0.0003-0.06 nats over these seeds; a Gaussian with
    every sd 10% off would be at ~0.02 per dimension)."""
    rng = np.random.default_rng(seed)
    cov = np.linalg.inv(spd(4, rng))
    mean = rng.standard_normal(4)
    logp_grad, logp = gaussian_target(mean, cov)
    path = pathfinder_path(logp_grad, logp, mean + 3.0, np.random.default_rng(0))
    assert path is not None and 1 <= path.iteration <= path.iterations
    assert kl_to_target(path.approximation, mean, cov) < 0.1  # mean and covariance together, on these seeds
    assert abs(path.elbo) < 0.2  # log p - log q with both normalized: ELBO = -KL(q ‖ p) up to noise


def test_a_path_in_more_dimensions_than_its_history_keeps_the_variances_near() -> None:
    """20 independent scales from 0.1 to 10: 6 pairs cannot hold them all, the diagonal carries the rest."""
    sds = np.geomspace(0.1, 10.0, 20)
    logp_grad, logp = gaussian_target(np.zeros(20), np.diag(sds**2))
    path = pathfinder_path(logp_grad, logp, np.ones(20), np.random.default_rng(0))
    assert path is not None
    ratio = np.sqrt(np.diag(path.approximation.covariance())) / sds
    assert np.all((ratio > 0.5) & (ratio < 2.0)), ratio
    assert kl_to_target(path.approximation, np.zeros(20), np.diag(sds**2)) < 0.5  # measured 0.13
    assert np.abs(path.approximation.mean / sds).max() < 0.1


def test_a_very_narrow_posterior_is_found_not_rejected_for_its_small_curvature_ratio() -> None:
    """sᵀz / zᵀz is about the variance along z: a fixed tolerance of 1e-12 rejected every step at sd 1e-6."""
    sds = np.array([1e-7, 3e-7])
    logp_grad, logp = gaussian_target(np.array([1.0, -1.0]), np.diag(sds**2))
    path = pathfinder_path(logp_grad, logp, np.array([1.0 + 5e-7, -1.0 - 5e-7]), np.random.default_rng(0))
    assert path is not None
    np.testing.assert_allclose(np.sqrt(np.diag(path.approximation.covariance())), sds, rtol=0.05)


def test_over_many_targets_the_chosen_gaussian_is_close_and_its_elbo_honest() -> None:
    """60 correlated 4-d Gaussians: the chosen Gaussian is mostly close to the target (measured: 49
    of 60 within KL 0.1, median 0.025, at most 0.37; see the module docstring for why the choice is
    the paper's noisy one) and its ELBO, estimated again on 50 draws, is -KL up to Monte Carlo error
    (measured within 0.11; before, the 5-draw maximum was kept: biased upward)."""
    kls, elbos = [], []
    for seed in range(60):
        rng = np.random.default_rng(seed)
        cov, mean = np.linalg.inv(spd(4, rng)), rng.standard_normal(4)
        logp_grad, logp = gaussian_target(mean, cov)
        path = pathfinder_path(logp_grad, logp, mean + 3.0, np.random.default_rng(seed))
        assert path is not None
        kls.append(kl_to_target(path.approximation, mean, cov))
        elbos.append(path.elbo)
    kls_, elbos_ = np.array(kls), np.array(elbos)
    assert np.median(kls_) < 0.05 and (kls_ < 0.1).mean() >= 0.75 and kls_.max() < 0.6
    assert np.abs(elbos_ + kls_).max() < 0.2  # both densities normalized: ELBO = -KL(q ‖ p)


def test_a_path_that_cannot_start_gives_none() -> None:
    def nowhere(x: np.ndarray) -> tuple[float, np.ndarray]:
        return -np.inf, np.zeros_like(x)

    assert pathfinder_path(nowhere, lambda xs: np.full(len(xs), -np.inf), np.zeros(3),
                           np.random.default_rng(0)) is None


def test_a_path_is_reproducible_by_its_generator() -> None:
    logp_grad, logp = gaussian_target(np.zeros(3), np.diag([1.0, 4.0, 0.25]))
    a = pathfinder_path(logp_grad, logp, np.ones(3), np.random.default_rng(5))
    b = pathfinder_path(logp_grad, logp, np.ones(3), np.random.default_rng(5))
    assert a is not None and b is not None
    assert a.elbo == b.elbo and a.iteration == b.iteration
    np.testing.assert_array_equal(a.approximation.mean, b.approximation.mean)
