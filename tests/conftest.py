"""Shared, session-scoped fixtures: the demo data and fitted models (fit once per run)."""

from __future__ import annotations

import warnings

import pytest

from mediamix import MMM, simulate
from mediamix.errors import ConvergenceWarning
from mediamix.testing import PriorSampler


@pytest.fixture(scope="session")
def demo() -> simulate.SimulatedDataset:
    """The built-in demo data set and its truth."""
    return simulate.seed_example()


@pytest.fixture(scope="session")
def prior_fit(demo: simulate.SimulatedDataset) -> MMM:
    """A model 'fitted' by the fake prior sampler: right shapes, no MCMC, for plumbing tests."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return MMM.from_config(demo.config).fit(demo.data, sampler=PriorSampler(), chains=2, draws=100, seed=3)


@pytest.fixture(scope="session")
def demo_fit(demo: simulate.SimulatedDataset) -> MMM:
    """The demo model fitted with the default sampler and settings (what `make demo` runs)."""
    return MMM.from_config(demo.config).fit(demo.data)
