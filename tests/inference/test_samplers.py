"""Every selectable sampler fits the demo model and agrees with the truth."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import warnings

import pytest

from mediamix import MMM, SamplingError, simulate
from mediamix.errors import ConvergenceWarning
from mediamix.inference import get_sampler


def recovers_roas(sampler: str, demo: simulate.SimulatedDataset | None = None) -> None:
    """Fit the demo with ``sampler`` (short chains) and check the ROAS against the truth."""
    demo = demo or simulate.seed_example()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # short chains, by design
        mmm = MMM.from_config(demo.config).fit(demo.data, sampler=sampler, chains=2, draws=300, tune=300, seed=3)
    assert mmm.config_.fit.sampler == sampler
    assert mmm.diagnostics_.divergences == 0
    for channel, truth in demo.truth["channels"].items():
        roas = mmm.channel_summary()[channel]["roas"]
        assert roas["hdi_low"] <= truth["roas"] <= roas["hdi_high"], (sampler, channel, roas)
        assert abs(roas["mean"] - truth["roas"]) / truth["roas"] < 0.15, (sampler, channel, roas)  # as NUTS's


@pytest.mark.slow
def test_pymc_nuts_recovers_roas(demo: simulate.SimulatedDataset) -> None:
    recovers_roas("pymc", demo)


@pytest.mark.slow
def test_numpyro_recovers_roas() -> None:
    """In a process of its own: JAX starts threads and hooks ``os.fork`` (warning of deadlocks) for
    the rest of the process that imports it, and the chart helper's tests need a process like the
    CLI's, which forks before any sampler is imported."""
    try:  # not find_spec: ArviZ registers numpyro as a lazy module, which find_spec would import
        importlib.metadata.version("numpyro")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("numpyro is not installed")
    code = f"import runpy; runpy.run_path({__file__!r})['recovers_roas']('numpyro')"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]


def test_unknown_sampler_is_an_error() -> None:
    with pytest.raises(SamplingError, match="Unknown sampler 'stan'. Expected one of: nutpie, pymc, numpyro"):
        get_sampler("stan")
