"""The multiplicative model (``form = "multiplicative"``): log-scale fit, decomposition in KPI units, plans."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from mediamix import MMM
from mediamix.cli.app import app
from mediamix.errors import DataError
from mediamix.simulate import ChannelSpec, simulate
from mediamix.transforms.multiplicative import log_shares

SPECS = [
    ChannelSpec("tv", beta=0.25, adstock_params={"alpha": 0.5}, saturation_params={"lam": 2.0}, off_share=0.3),
    ChannelSpec("search", beta=0.15, adstock_params={"alpha": 0.2}, saturation_params={"lam": 3.0}, off_share=0.3),
    ChannelSpec("social", beta=0.10, adstock_params={"alpha": 0.4}, saturation_params={"lam": 1.5}, off_share=0.3),
]
SAMPLE = ("chain", "draw")


def simulated(n_weeks: int = 156, seed: int = 3):
    return simulate(SPECS, n_weeks=n_weeks, noise_sd=0.05, seed=seed, form="multiplicative",
                    intercept=1.0, trend=0.3, seasonality=0.2)


@pytest.fixture(scope="module")
def data():
    return simulated()


@pytest.fixture(scope="module")
def prior_mult(data, prior_fit_with) -> MMM:
    config = {**data.config, "data": {**data.config["data"]}}
    return prior_fit_with(data.data, config=config)


# ----------------------------------------------------------------- log shares


def test_log_shares_add_up_and_a_lone_part_gets_its_counterfactual() -> None:
    rng = np.random.default_rng(0)
    level = rng.uniform(50, 150, size=(4, 6))
    parts = rng.normal(0.0, 0.3, size=(4, 6, 3))
    shares = log_shares(level, parts)
    np.testing.assert_allclose(shares.sum(axis=-1), level * np.expm1(parts.sum(axis=-1)), rtol=1e-12)
    alone = parts.copy()
    alone[..., 1:] = 0.0
    np.testing.assert_allclose(log_shares(level, alone)[..., 0], level * np.expm1(parts[..., 0]), rtol=1e-12)
    # Parts that cancel: the lift is 0 but each share stays level·part (the limit of expm1(x)/x at 0).
    cancel = np.array([0.2, -0.2])
    np.testing.assert_allclose(log_shares(np.array(10.0), cancel), [2.0, -2.0], rtol=1e-12)


# ----------------------------------------------------------------- model and decomposition


def test_config_and_simulator_agree(data) -> None:
    assert data.config["model"]["form"] == "multiplicative"
    assert MMM.from_config(data.config).config.model.form == "multiplicative"
    assert MMM(channels=["tv"], form="multiplicative").config.model.form == "multiplicative"


def test_graph_mean_is_the_log_of_the_decompositions_mean(prior_mult: MMM, assert_graph_mean_equals_decomposition):
    assert_graph_mean_equals_decomposition(prior_mult)


def test_parts_add_up_to_the_fitted_kpi(prior_mult: MMM) -> None:
    parts = prior_mult.decomposition()
    total = (parts["intercept"] + parts["trend"] + parts["seasonality"]
             + parts["control_contribution"].sum("control") + parts["channel_contribution"].sum("channel"))
    np.testing.assert_allclose(total, parts["mu"], rtol=1e-10)
    assert float(parts["mu"].min()) > 0.0
    intercept = np.exp(prior_mult.posterior["intercept"]) * prior_mult.scales_.target
    np.testing.assert_allclose(parts["intercept"].isel(date=0), intercept, rtol=1e-12)


def test_media_lift_the_baseline_multiplicatively(prior_mult: MMM) -> None:
    """Removing all media divides the fitted KPI by exp(Σ β·effect): the media's total is that lift."""
    parts = prior_mult.decomposition()
    media = prior_mult.media_response()
    lift = media.effect(prior_mult.design_.spend) * media.beta[:, None, :]  # (sample, date, channel)
    baseline = parts["mu"] - parts["channel_contribution"].sum("channel")
    mu = parts["mu"].transpose(*SAMPLE, "date").to_numpy().reshape(lift.shape[:2])
    base = baseline.transpose(*SAMPLE, "date").to_numpy().reshape(lift.shape[:2])
    np.testing.assert_allclose(mu, base * np.exp(lift.sum(axis=-1)), rtol=1e-10)


def test_predictive_draws_are_positive_and_centred_on_the_mean_in_logs(prior_mult: MMM) -> None:
    draws = prior_mult.sample_posterior_predictive(seed=1)
    assert float(draws.min()) > 0.0
    log_noise = np.log(draws / prior_mult.decomposition()["mu"])
    sigma = prior_mult.posterior["sigma"]
    np.testing.assert_allclose(float((log_noise / sigma).std()), 1.0, atol=0.05)


# ----------------------------------------------------------------- plans: gradient, curves, mROAS


def test_gradient_of_the_lift_matches_central_differences(prior_mult: MMM,
                                                          assert_gradient_matches_central_differences) -> None:
    media = prior_mult.media_response(max_draws=20)
    assert media.multiplicative and media.baseline.shape == (20,)
    spend = np.random.default_rng(2).uniform(0.0, 1.5, size=(12, 3)) * media.channel_scales
    assert_gradient_matches_central_differences(media, spend, np.linspace(1.0, 0.7, 12),
                                                [(0, 0), (4, 1), (11, 2)], atol=1e-9)


def test_response_curve_is_one_channel_lifting_the_baseline_level(prior_mult: MMM) -> None:
    media = prior_mult.media_response()
    curves = prior_mult.response_curves(points=5)
    weekly = curves["spend"].to_numpy()  # (channel, point)
    lift = media.steady_state(weekly) * media.beta[:, :, None]
    expected = media.baseline[:, None, None] * np.expm1(lift)
    np.testing.assert_allclose(curves.transpose(*SAMPLE, "channel", "point").to_numpy().reshape(expected.shape),
                               expected, rtol=1e-12)
    # The level is the mean baseline of the last year of training data.
    parts = prior_mult.decomposition().isel(date=slice(-52, None))
    baseline = parts["mu"] - parts["channel_contribution"].sum("channel")
    np.testing.assert_allclose(media.baseline, baseline.mean("date").transpose(*SAMPLE).to_numpy().ravel(), rtol=1e-10)


def test_marginal_roas_is_the_total_kpi_change_per_extra_unit(prior_mult: MMM) -> None:
    mroas = prior_mult.marginal_roas(step=0.01)
    media = prior_mult.media_response()
    parts = prior_mult.decomposition()
    baseline = (parts["mu"] - parts["channel_contribution"].sum("channel")).transpose(*SAMPLE, "date")
    baseline = baseline.to_numpy().reshape(media.n_samples, -1)
    spend = prior_mult.design_.spend
    bumped = spend.copy()
    bumped[:, 1] *= 1.01
    change = media.contribution(bumped, baseline).sum(axis=(1, 2)) - media.contribution(spend, baseline).sum(axis=(1, 2))
    np.testing.assert_allclose(mroas.sel(channel="search").to_numpy().ravel(), change / (0.01 * spend[:, 1].sum()),
                               rtol=1e-10)


# ----------------------------------------------------------------- bad input


def test_a_target_that_is_not_positive_is_refused_naming_the_rows(data, tmp_path: Path) -> None:
    frame = data.data.copy()
    frame.loc[[5, 9], "y"] = [0.0, -3.0]
    with pytest.raises(DataError, match=r"Column 'y' \(the target\) must be > 0 .* multiplicative.*row 6"):
        MMM.from_config(data.config).fit(frame)
    csv = tmp_path / "data.csv"
    frame.to_csv(csv, index=False)
    (tmp_path / "mmm.toml").write_text(
        "[data]\ndate = \"date\"\ntarget = \"y\"\nchannels = [\"tv\", \"search\", \"social\"]\n"
        "[model]\nform = \"multiplicative\"\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["fit", str(csv), "--config", str(tmp_path / "mmm.toml"), "--out",
                                      str(tmp_path / "out")])
    assert result.exit_code == 2 and "must be > 0" in result.output
    assert not (tmp_path / "out").exists()


def test_simulator_rejects_an_unknown_form() -> None:
    with pytest.raises(Exception, match="form must be 'additive' or 'multiplicative'"):
        simulate(SPECS, form="log")


# ----------------------------------------------------------------- recovery


@pytest.mark.slow
def test_multiplicative_fit_recovers_every_channels_roas(data, tmp_path: Path) -> None:
    """Through the CLI: simulate with a spec, fit, and find each true ROAS in its 94% HDI."""
    spec = tmp_path / "spec.toml"
    spec.write_text(
        "n_weeks = 156\nnoise_sd = 0.05\nform = \"multiplicative\"\nintercept = 1.0\ntrend = 0.3\n"
        "seasonality = 0.2\nseed = 3\n"
        + "".join(f"[channels.{s.name}]\nbeta = {s.beta}\nadstock_params = {{ alpha = {s.adstock_params['alpha']} }}\n"
                  f"saturation_params = {{ lam = {s.saturation_params['lam']} }}\noff_share = 0.3\n" for s in SPECS),
        encoding="utf-8",
    )
    runner = CliRunner()
    sim = runner.invoke(app, ["simulate", "dataset", "--spec", str(spec), "--out", str(tmp_path / "sim")])
    assert sim.exit_code == 0, sim.output
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "sim" / "data.csv", parse_dates=["date"]), data.data,
                                  check_dtype=False)
    fit = runner.invoke(app, ["fit", str(tmp_path / "sim" / "data.csv"), "--config", str(tmp_path / "sim" / "mmm.toml"),
                              "--out", str(tmp_path / "fit")])
    assert fit.exit_code == 0, fit.output
    summary = json.loads((tmp_path / "fit" / "summary.json").read_text())
    truth = json.loads((tmp_path / "sim" / "truth.json").read_text())
    for channel, t in truth["channels"].items():
        roas = summary["channels"][channel]["roas"]
        assert roas["hdi_low"] <= t["roas"] <= roas["hdi_high"], (channel, t["roas"], roas)
    assert summary["diagnostics"]["divergences"] == 0
    assert summary["model"]["form"] == "multiplicative"


@pytest.mark.slow
def test_log_log_model_recovers_roas() -> None:
    """form = multiplicative with saturation = log: KPI ∝ (1 + x/κ)^β, β the elasticity (the log-log MMM)."""
    specs = [
        ChannelSpec("tv", saturation="log", beta=0.10, adstock_params={"alpha": 0.5},
                    saturation_params={"log_offset": 0.1}, off_share=0.3),
        ChannelSpec("search", saturation="log", beta=0.06, adstock_params={"alpha": 0.2},
                    saturation_params={"log_offset": 0.2}, off_share=0.3),
    ]
    data = simulate(specs, n_weeks=156, noise_sd=0.05, seed=5, form="multiplicative", intercept=1.0, trend=0.3,
                    seasonality=0.2)
    assert data.config["model"]["saturation"] == "log"
    mmm = MMM.from_config(data.config).fit(data.data)
    assert mmm.diagnostics_.divergences == 0 and mmm.diagnostics_.r_hat_max <= 1.01
    summary = mmm.channel_summary()
    for channel, truth in data.truth["channels"].items():
        roas = summary[channel]["roas"]
        assert roas["hdi_low"] <= truth["roas"] <= roas["hdi_high"], (channel, truth["roas"], roas)
