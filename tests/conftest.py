"""Shared, session-scoped fixtures: the demo data and fitted models (fit once per run)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mediamix import MMM, simulate
from mediamix.errors import ConvergenceWarning
from mediamix.lazy_modules import unloaded_lazy_modules_hidden
from mediamix.testing import PriorSampler


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """Report a failure without loading lazy placeholders (ArviZ registers JAX as one): pytest reads
    every module's file to show a traceback's source, and a JAX loaded for real in this process
    stops every later test that forks a helper (``helper_processes.may_fork``), one failure
    turning into many."""
    with unloaded_lazy_modules_hidden():
        yield


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


@pytest.fixture(scope="session")
def seed_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``mediamix simulate seed --out DIR``: the demo's data.csv, truth.json and mmm.toml, written once.

    CLI tests write their outputs beside it (``seed_dir.parent / NAME``), each under its own name.
    """
    from mediamix.cli.app import app

    out = tmp_path_factory.mktemp("cli") / "seed"
    result = CliRunner().invoke(app, ["simulate", "seed", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out
