"""Parameter recovery beyond the seed model (issue 3): Hill + delayed adstock, Weibull PDF adstock,
and a mix of transforms and windows chosen per channel.

Three channels over two years of weekly data from the general simulator; the
fitted model uses the same transforms and must put every channel's true ROAS
inside its 94% HDI.
"""

from __future__ import annotations

import pytest

from mediamix import MMM
from mediamix.simulate import ChannelSpec, simulate

pytestmark = [
    pytest.mark.slow,
    # 104 weeks for ~20 parameters is below the review's 10 rows per parameter, by design of the issue.
    pytest.mark.filterwarnings("ignore::mediamix.errors.DataWarning"),
]

CASES = {
    "hill+delayed": dict(
        adstock="delayed",
        saturation="hill",
        channels=[
            ({"alpha": 0.5, "theta": 1.0}, {"half_saturation": 0.4, "slope": 2.0}, 1.5),
            ({"alpha": 0.3, "theta": 0.0}, {"half_saturation": 0.6, "slope": 1.5}, 1.0),
            ({"alpha": 0.6, "theta": 2.0}, {"half_saturation": 0.5, "slope": 2.5}, 0.8),
        ],
    ),
    "weibull_pdf": dict(
        adstock="weibull_pdf",
        saturation="logistic",
        channels=[
            ({"weibull_shape": 2.0, "weibull_scale": 2.0}, {"lam": 3.0}, 1.5),
            ({"weibull_shape": 1.0, "weibull_scale": 1.0}, {"lam": 2.0}, 1.0),
            ({"weibull_shape": 1.5, "weibull_scale": 3.0}, {"lam": 4.0}, 0.8),
        ],
    ),
}

#: Per-channel transforms ([model.channels.NAME]): each channel its own adstock, saturation and window.
MIXED = [
    ChannelSpec("tv", adstock="weibull_pdf", saturation="hill", l_max=10, beta=1.5, off_share=0.3,
                adstock_params={"weibull_shape": 2.0, "weibull_scale": 2.0},
                saturation_params={"half_saturation": 0.5, "slope": 2.0}),
    ChannelSpec("search", adstock="geometric", saturation="logistic", l_max=4, beta=1.0, off_share=0.3,
                adstock_params={"alpha": 0.3}, saturation_params={"lam": 2.0}),
    ChannelSpec("social", adstock="delayed", saturation="michaelis_menten", l_max=6, beta=0.8, off_share=0.3,
                adstock_params={"alpha": 0.5, "theta": 1.0}, saturation_params={"mm_half": 0.6}),
]


def _specs(name: str) -> list[ChannelSpec]:
    if name == "mixed":
        return MIXED
    case = CASES[name]
    return [
        ChannelSpec(f"ch{i}", adstock=case["adstock"], saturation=case["saturation"], adstock_params=a,
                    saturation_params=s, beta=b, off_share=0.3)
        for i, (a, s, b) in enumerate(case["channels"])
    ]


@pytest.fixture(scope="module", params=[*CASES, "mixed"])
def recovered(request: pytest.FixtureRequest) -> tuple[MMM, dict]:
    specs = _specs(request.param)
    data = simulate(specs, n_weeks=104, noise_sd=0.1, seed=11)
    config = data.config
    if request.param == "hill+delayed":
        # Delayed adstock's corner (alpha -> 0, where theta stops mattering) gives 1-6 divergences
        # in 4000 draws at target_accept 0.9, 0-1 at 0.95 and 0 at 0.97 (4 seeds): what the review advises.
        config = {**config, "fit": {**config["fit"], "target_accept": 0.97}}
    mmm = MMM.from_config(config).fit(data.data)
    return mmm, data.truth


def test_every_channel_roas_inside_the_hdi(recovered: tuple[MMM, dict]) -> None:
    mmm, truth = recovered
    summary = mmm.channel_summary()
    for channel, t in truth["channels"].items():
        roas = summary[channel]["roas"]
        assert roas["hdi_low"] <= t["roas"] <= roas["hdi_high"], (channel, t["roas"], roas)


def test_every_channel_roas_is_estimated_closely(recovered: tuple[MMM, dict]) -> None:
    """Inside the HDI is not enough (test audit): a model that learns little has a wide HDI too.

    104 weeks of three channels with these transforms pin the small channels down loosely: measured,
    the worst mean is 46% off (hill+delayed ch2: 0.155 for a true 0.106) and the widest 94% HDI is
    1.3x the true ROAS; under the default priors alone (no data) they are 11-40x the true ROAS.
    """
    mmm, truth = recovered
    summary = mmm.channel_summary()
    for channel, t in truth["channels"].items():
        roas = summary[channel]["roas"]
        assert abs(roas["mean"] - t["roas"]) / t["roas"] < 0.5, (channel, t["roas"], roas)
        assert (roas["hdi_high"] - roas["hdi_low"]) / t["roas"] < 1.5, (channel, t["roas"], roas)


def test_the_fit_converged(recovered: tuple[MMM, dict]) -> None:
    mmm, _ = recovered
    assert mmm.diagnostics_.divergences == 0
    assert mmm.diagnostics_.r_hat_max <= 1.01
