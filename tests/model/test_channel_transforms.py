"""Per-channel transforms (``[model.channels.NAME]``): config, PyMC graph, NumPy twin, curves, optimizer."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from mediamix import MMM
from mediamix.analysis.media import MediaResponse
from mediamix.config import dump_config, load_config, parse_config
from mediamix.errors import ConfigError
from mediamix.review.data_checks import count_parameters
from mediamix.simulate import ChannelSpec, simulate
from mediamix.transforms import ADSTOCKS, SATURATIONS

# tv: Robyn-style Weibull PDF with Hill, a long window; search: geometric + logistic, short window;
# social: delayed + logistic (shares 'alpha' with search, not with tv).
SPECS = [
    ChannelSpec("tv", adstock="weibull_pdf", saturation="hill", beta=1.5, off_share=0.3, l_max=10,
                adstock_params={"weibull_shape": 2.0, "weibull_scale": 2.0},
                saturation_params={"half_saturation": 0.5, "slope": 2.0}),
    ChannelSpec("search", adstock="geometric", saturation="logistic", beta=1.0, off_share=0.3, l_max=4,
                adstock_params={"alpha": 0.3}, saturation_params={"lam": 2.0}),
    ChannelSpec("social", adstock="delayed", saturation="logistic", beta=0.8, off_share=0.3, l_max=4,
                adstock_params={"alpha": 0.5, "theta": 1.0}, saturation_params={"lam": 3.0}),
]


@pytest.fixture(scope="module")
def mixed():
    return simulate(SPECS, n_weeks=80, noise_sd=0.1, seed=4)


@pytest.fixture(scope="module", params=[False, True], ids=["adstock_first", "saturation_first"])
def mixed_fit(request, mixed, prior_fit_with) -> MMM:
    return prior_fit_with(mixed.data, config=dict(mixed.config), saturation_first=request.param)


# ----------------------------------------------------------------- config


def test_simulated_config_names_each_channels_own_transforms(mixed) -> None:
    model = mixed.config["model"]
    assert (model["adstock"], model["saturation"], model["l_max"]) == ("weibull_pdf", "hill", 10)
    assert model["channels"] == {
        "search": {"adstock": "geometric", "saturation": "logistic", "l_max": 4},
        "social": {"adstock": "delayed", "saturation": "logistic", "l_max": 4},
    }


def test_groups_parameters_and_dims(mixed) -> None:
    config = parse_config(mixed.config)
    groups = config.transform_groups()
    assert [(g.adstock, g.l_max, g.saturation, g.channels) for g in groups] == [
        ("weibull_pdf", 10, "hill", ("tv",)),
        ("geometric", 4, "logistic", ("search",)),
        ("delayed", 4, "logistic", ("social",)),
    ]
    assert config.max_l_max == 10
    assert config.parameter_channels("alpha") == ("search", "social")
    assert config.parameter_channels("slope") == ("tv",)
    assert config.prior_dim("alpha") == "alpha_channel"
    assert config.prior_dim("beta") == "channel"
    assert config.prior_dim("intercept") is None
    # Every transform's parameters get their default prior, and nothing else does.
    expected = {*ADSTOCKS["weibull_pdf"].default_priors, *SATURATIONS["hill"].default_priors,
                *ADSTOCKS["delayed"].default_priors, *SATURATIONS["logistic"].default_priors}
    assert expected <= set(config.priors)
    assert not {"binomial_alpha", "mm_half", "tanh_scale", "power_exponent"} & set(config.priors)
    # β plus each channel's own transform parameters: tv 1+4, search 1+2, social 1+3.
    assert count_parameters(config)["channels"] == 5 + 3 + 4


def test_every_channel_overridden_alike_is_one_group_on_channel(mixed) -> None:
    raw = dict(mixed.config)
    raw["model"] = {**raw["model"], "channels": {c: {"adstock": "geometric", "saturation": "tanh", "l_max": 6}
                                                 for c in ("tv", "search", "social")}}
    config = parse_config(raw)
    (group,) = config.transform_groups()
    assert (group.adstock, group.saturation, group.l_max) == ("geometric", "tanh", 6)
    assert config.prior_dim("alpha") == config.prior_dim("tanh_scale") == "channel"
    assert "weibull_shape" not in config.priors  # the model-wide adstock is used by no channel


def test_round_trip_through_toml(tmp_path: Path, mixed) -> None:
    config = parse_config(mixed.config)
    path = tmp_path / "mmm.toml"
    path.write_text(dump_config(config), encoding="utf-8")
    assert load_config(path) == config


@pytest.mark.parametrize(
    ("channels", "fragments"),
    [
        ({"radio": {"adstock": "delayed"}}, ("model.channels.radio", "'radio' is not a channel", "tv, search, social")),
        ({"serch": {"adstock": "delayed"}}, ("'serch' is not a channel", "Did you mean 'search'?")),
        ({"tv": {"adstock": "weibul_pdf"}}, ("'model.channels.tv.adstock'", "Did you mean 'weibull_pdf'?")),
        ({"tv": {"saturation": "hil"}}, ("'model.channels.tv.saturation'", "Did you mean 'hill'?")),
        ({"tv": {"adstok": "delayed"}}, ("unknown key 'model.channels.tv.adstok'", "Did you mean 'adstock'?",
                                         "Valid keys here: adstock, saturation, l_max")),
        ({"tv": {"l_max": 0}}, ("'model.channels.tv.l_max'", "greater than or equal to 1")),
    ],
    ids=["unknown channel", "misspelled channel", "adstock", "saturation", "key", "l_max"],
)
def test_bad_channel_table_names_the_key(mixed, channels: dict, fragments: tuple[str, ...]) -> None:
    raw = dict(mixed.config)
    raw["model"] = {**raw["model"], "channels": channels}
    with pytest.raises(ConfigError) as info:
        parse_config(raw)
    for fragment in fragments:
        assert fragment in str(info.value)


def test_a_per_channel_prior_lists_only_the_channels_that_have_the_parameter(mixed) -> None:
    raw = {**mixed.config, "priors": {"alpha": {"dist": "Beta", "alpha": 1.0, "beta": {"tv": 3.0, "search": 3.0}}}}
    with pytest.raises(ConfigError, match=r"priors\.alpha.*'tv'.*Known names: search, social"):
        parse_config(raw)
    raw["priors"]["alpha"]["beta"] = {"search": 3.0, "social": 1.0}
    assert parse_config(raw).priors["alpha"].resolve(["search", "social"])["beta"].tolist() == [3.0, 1.0]


def test_python_api_takes_channel_transforms() -> None:
    mmm = MMM(channels=["tv", "search"], channel_transforms={"tv": {"adstock": "weibull_cdf", "l_max": 12}})
    assert mmm.config.model.channels["tv"].adstock == "weibull_cdf"
    assert [g.channels for g in mmm.config.transform_groups()] == [("tv",), ("search",)]
    with pytest.raises(ConfigError, match="'radio' is not a channel"):
        MMM(channels=["tv"], channel_transforms={"radio": {"adstock": "delayed"}})


# ----------------------------------------------------------------- the model and its NumPy twin


def test_posterior_dims_hold_only_the_channels_that_have_each_parameter(mixed_fit: MMM) -> None:
    post = mixed_fit.posterior
    assert post["beta"].dims[-1] == "channel"
    assert list(post["alpha"]["alpha_channel"].values) == ["search", "social"]
    assert list(post["theta"]["theta_channel"].values) == ["social"]
    assert list(post["slope"]["slope_channel"].values) == ["tv"]
    assert list(post["lam"]["lam_channel"].values) == ["search", "social"]


def test_graph_mean_equals_the_numpy_decomposition(mixed_fit: MMM, assert_graph_mean_equals_decomposition) -> None:
    assert_graph_mean_equals_decomposition(mixed_fit)


def test_each_channel_maps_spend_with_its_own_transforms(mixed_fit: MMM) -> None:
    media = mixed_fit.media_response()
    spend = mixed_fit.data_[["tv", "search", "social"]].to_numpy()
    mixed_contribution = media.contribution(spend)
    post = mixed_fit.posterior
    for i, spec in enumerate(SPECS):
        adstock = ADSTOCKS[spec.adstock](l_max=spec.l_max, normalize=True)
        saturation = SATURATIONS[spec.saturation]()

        def values(name: str, channel: str = spec.name):
            da = post[name]
            dim = next(d for d in da.dims if d not in ("chain", "draw"))
            return da.sel({dim: [channel]}).stack(sample=("chain", "draw")).transpose("sample", dim).to_numpy()

        alone = MediaResponse.from_arrays(
            adstock, saturation, beta=values("beta"),
            adstock_params={k: values(k) for k in adstock.default_priors},
            saturation_params={k: values(k) for k in saturation.default_priors},
            channel_scales=media.channel_scales[[i]], target_scale=media.target_scale, channels=(spec.name,),
            saturation_first=media.saturation_first,
        )
        np.testing.assert_allclose(mixed_contribution[:, :, i], alone.contribution(spend[:, [i]])[:, :, 0], rtol=1e-12)


def test_gradient_matches_central_differences(mixed_fit: MMM, assert_gradient_matches_central_differences) -> None:
    media = mixed_fit.media_response(max_draws=20)
    spend = np.random.default_rng(0).uniform(0.0, 2.0, size=(14, 3)) * media.channel_scales
    assert_gradient_matches_central_differences(media, spend, np.linspace(1.0, 0.5, 14),
                                                [(0, 0), (3, 1), (9, 2), (13, 0)], atol=1e-7)


def test_lag_weights_follow_each_channels_window(mixed_fit: MMM) -> None:
    curves = mixed_fit.adstock_curves()
    assert curves.sizes["lag"] == 10
    assert float(abs(curves.sel(channel=["search", "social"]).isel(lag=slice(4, None))).max()) == 0.0
    np.testing.assert_allclose(curves.sum("lag"), 1.0, rtol=1e-12)  # normalized: mass preserved


def test_marginal_roas_read_off_the_decomposition_is_the_one_computed_anew(mixed_fit: MMM) -> None:
    # The model's marginal ROAS takes the historical level from the decomposition (one pass less):
    # with transform groups the channels must line up, and the numbers be the same to the bit.
    from mediamix.analysis import response

    anew = response.marginal_roas(mixed_fit.media_response(), mixed_fit.design_, mixed_fit.posterior)
    np.testing.assert_array_equal(mixed_fit.marginal_roas().to_numpy(), anew.to_numpy())


def test_steady_state_is_a_long_constant_spends_last_week(mixed_fit: MMM) -> None:
    media = mixed_fit.media_response(max_draws=10)
    weekly = np.array([[0.5], [1.0], [0.2]]) * media.channel_scales[:, None]  # (channel, point)
    long_run = np.tile(weekly[:, 0], (15, 1))
    np.testing.assert_allclose(media.steady_state(weekly)[:, :, 0], media.effect(long_run)[:, -1, :], rtol=1e-12)


def test_optimizer_and_history_use_the_longest_window(mixed_fit: MMM) -> None:
    result = mixed_fit.optimize_budget(budget=float(mixed_fit.historical_weekly_spend().sum() * 6), weeks=6,
                                       max_draws=100)
    assert result.success
    assert sum(result.allocation.values()) == pytest.approx(result.problem.budget)
    media = dataclasses.replace(mixed_fit.media_response())
    assert media.l_max == 10
