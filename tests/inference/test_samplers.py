"""Every selectable sampler fits the demo model and agrees with the truth."""

from __future__ import annotations

import pytest

from mediamix import MMM, SamplingError
from mediamix.inference import get_sampler


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::mediamix.errors.ConvergenceWarning")  # short chains, by design
@pytest.mark.parametrize("sampler", ["pymc", "numpyro"])
def test_alternative_samplers_recover_roas(demo, sampler: str) -> None:
    pytest.importorskip("numpyro") if sampler == "numpyro" else None
    mmm = MMM.from_config(demo.config).fit(demo.data, sampler=sampler, chains=2, draws=300, tune=300, seed=3)
    assert mmm.config_.fit.sampler == sampler
    assert mmm.diagnostics_.divergences == 0
    for channel, truth in demo.truth["channels"].items():
        roas = mmm.channel_summary()[channel]["roas"]
        assert roas["hdi_low"] <= truth["roas"] <= roas["hdi_high"], (sampler, channel, roas)
        assert abs(roas["mean"] - truth["roas"]) / truth["roas"] < 0.15, (sampler, channel, roas)  # as NUTS's


def test_unknown_sampler_is_an_error() -> None:
    with pytest.raises(SamplingError, match="Unknown sampler 'stan'. Expected one of: nutpie, pymc, numpyro"):
        get_sampler("stan")
