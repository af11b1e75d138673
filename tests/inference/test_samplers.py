"""Every selectable sampler fits the demo model and agrees with the truth."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import warnings

import pytest

from mediamix import MMM, SamplingError, simulate
from mediamix.config import parse_config
from mediamix.errors import ConvergenceWarning
from mediamix.inference import get_sampler
from mediamix.inference.samplers import NutpieSampler


def recovers_roas(sampler: str, demo: simulate.SimulatedDataset | None = None, mass_matrix: str | None = None) -> MMM:
    """Fit the demo with ``sampler`` (short chains) and check the ROAS against the truth."""
    demo = demo or simulate.seed_example()
    config = parse_config(demo.config).with_fit(mass_matrix=mass_matrix)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # short chains, by design
        mmm = MMM.from_config(config).fit(demo.data, sampler=sampler, chains=2, draws=300, tune=300, seed=3)
    assert mmm.config_.fit.sampler == sampler
    assert mmm.diagnostics_.divergences == 0
    for channel, truth in demo.truth["channels"].items():
        roas = mmm.channel_summary()[channel]["roas"]
        assert roas["hdi_low"] <= truth["roas"] <= roas["hdi_high"], (sampler, channel, roas)
        assert abs(roas["mean"] - truth["roas"]) / truth["roas"] < 0.15, (sampler, channel, roas)  # as NUTS's
    return mmm


def test_nutpies_low_rank_mass_matrix_follows_the_demos_correlations(demo: simulate.SimulatedDataset) -> None:
    """Both mass matrices recover the truth; the low-rank one takes fewer steps per draw on the demo."""
    steps = {}
    for mass_matrix in ("diagonal", "low_rank"):
        mmm = recovers_roas("nutpie", demo, mass_matrix)
        assert mmm.config_.fit.mass_matrix == mass_matrix
        stats = mmm.idata_["sample_stats"]
        # nutpie's low-rank adaptation records how many eigenvalues it used (at its updates, while tuning)
        assert ("num_eigenvalues" in stats) == (mass_matrix == "low_rank")
        steps[mass_matrix] = float(stats["n_steps"].mean())
    assert steps["low_rank"] < 0.8 * steps["diagonal"], steps  # measured: 7 against 13 (4 x 1000 draws)


def test_the_mass_matrix_is_nutpies_to_adapt() -> None:
    assert get_sampler("nutpie", mass_matrix="low_rank") == NutpieSampler(mass_matrix="low_rank")
    with pytest.raises(SamplingError, match="Unknown mass_matrix 'dense'. Expected one of: diagonal, low_rank"):
        NutpieSampler(mass_matrix="dense")  # type: ignore[arg-type]


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
