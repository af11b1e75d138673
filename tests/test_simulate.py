"""The general simulator: known truth, reproducible, and a spec format with clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from mediamix import ConfigError
from mediamix.cli.app import app
from mediamix.config import parse_config
from mediamix.simulate import ChannelSpec, simulate, simulate_from_spec
from mediamix.transforms import GeometricAdstock, LogisticSaturation


def test_truth_is_what_generated_the_data() -> None:
    ds = simulate([ChannelSpec("tv", beta=2.0, adstock_params={"alpha": 0.6}, saturation_params={"lam": 3.0})],
                  n_weeks=60, noise_sd=0.0, trend=0.0, seasonality=0.0, intercept=1.0, kpi_scale=10.0, seed=4)
    spend = ds.data[["tv"]].to_numpy()
    x = spend / spend.max()
    expected = 10.0 * 2.0 * LogisticSaturation().apply_np(
        GeometricAdstock(l_max=8).apply_np(x, alpha=np.array([0.6])), lam=np.array([3.0])
    )[:, 0]
    np.testing.assert_allclose(ds.contributions["tv"], expected)
    np.testing.assert_allclose(ds.data["y"], 10.0 + expected)  # no noise, flat baseline
    truth = ds.truth["channels"]["tv"]
    assert truth["contribution"] == pytest.approx(expected.sum())
    assert truth["roas"] == pytest.approx(expected.sum() / spend.sum())
    assert truth["alpha"] == 0.6 and truth["lam"] == 3.0 and truth["beta"] == 20.0


def test_missing_parameters_take_the_prior_median_and_the_config_fits_the_data() -> None:
    ds = simulate([ChannelSpec("a"), ChannelSpec("b", off_share=0.5)], seed=1)
    assert ds.truth["channels"]["a"]["alpha"] == pytest.approx(1 - 0.5 ** (1 / 3))  # Beta(1, 3) median
    config = parse_config(ds.config)
    assert config.data.channels == ("a", "b") and config.model.adstock == "geometric"
    assert (ds.data["b"] == 0).mean() > 0.3


def test_same_seed_same_data() -> None:
    a = simulate([ChannelSpec("tv")], seed=7).data
    b = simulate([ChannelSpec("tv")], seed=7).data
    c = simulate([ChannelSpec("tv")], seed=8).data
    assert a.equals(b) and not a.equals(c)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"n_weks": 10, "channels": {"tv": {}}}, "Unknown simulation key 'n_weks'. Did you mean 'n_weeks'?"),
        ({"channels": {}}, r"needs \[channels.NAME\] tables"),
        ({"channels": {"tv": {"bta": 1.0}}}, "Unknown key 'channels.tv.bta'. Did you mean 'beta'?"),
        ({"channels": {"tv": {"adstock": "geometrik"}}}, "Unknown adstock 'geometrik'. Did you mean 'geometric'?"),
        ({"channels": {"tv": {"adstock_params": {"alpah": 0.5}}}},
         "Channel 'tv': adstock 'geometric' has no parameter 'alpah'. Did you mean 'alpha'?"),
        ({"n_weeks": 0, "channels": {"tv": {}}}, "'n_weeks' must be an integer >= 2. Got 0."),
        ({"n_weeks": "x", "channels": {"tv": {}}}, "'n_weeks' must be an integer >= 2. Got 'x'."),
        ({"noise_sd": -1.0, "channels": {"tv": {}}}, "'noise_sd' must be a number >= 0. Got -1.0."),
        ({"seed": -3, "channels": {"tv": {}}}, "'seed' must be an integer >= 0. Got -3."),
        ({"start": "someday", "channels": {"tv": {}}}, "'start' must be a date"),
        ({"channels": {"tv": {"off_share": 1.0}}}, r"'channels.tv.off_share' must be a share in \[0, 1\)"),
        ({"channels": {"tv": {"spend_scale": 0}}}, "'channels.tv.spend_scale' must be a number > 0"),
    ],
)
def test_bad_specs_say_what_is_wrong(spec: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        simulate_from_spec(spec)


def test_cli_writes_a_dataset_that_mediamix_can_fit(tmp_path: Path) -> None:
    spec = tmp_path / "spec.toml"
    spec.write_text("n_weeks = 52\n[channels.tv]\nbeta = 2.0\n[channels.search]\nbeta = 1.0\n")
    out = tmp_path / "sim"
    result = CliRunner().invoke(app, ["simulate", "dataset", "--spec", str(spec), "--out", str(out), "--seed", "3"])
    assert result.exit_code == 0, result.output
    truth = json.loads((out / "truth.json").read_text())
    assert set(truth["channels"]) == {"tv", "search"}
    from mediamix import MMM

    frame = MMM.from_config(out / "mmm.toml")._validate(out / "data.csv", training=True)
    assert len(frame) == 52
    bad = CliRunner().invoke(app, ["simulate", "dataset", "--spec", str(tmp_path / "nope.toml"), "--out", str(out)])
    assert bad.exit_code == 2 and "does not exist" in bad.output


def test_cli_spec_with_per_channel_transforms_writes_a_matching_config(tmp_path: Path) -> None:
    spec = tmp_path / "spec.toml"
    spec.write_text(
        "n_weeks = 60\n"
        "[channels.tv]\nadstock = \"weibull_pdf\"\nsaturation = \"hill\"\nl_max = 12\nbeta = 2.0\n"
        "[channels.search]\nadstock = \"geometric\"\nl_max = 3\nbeta = 1.0\n"
    )
    out = tmp_path / "sim"
    result = CliRunner().invoke(app, ["simulate", "dataset", "--spec", str(spec), "--out", str(out)])
    assert result.exit_code == 0, result.output
    from mediamix.config import load_config

    config = load_config(out / "mmm.toml")
    assert [(g.adstock, g.saturation, g.l_max, g.channels) for g in config.transform_groups()] == [
        ("weibull_pdf", "hill", 12, ("tv",)),
        ("geometric", "logistic", 3, ("search",)),
    ]
    truth = json.loads((out / "truth.json").read_text())
    assert truth["channels"]["tv"]["l_max"] == 12 and "half_saturation" in truth["channels"]["tv"]
    fit = CliRunner().invoke(app, ["fit", str(out / "data.csv"), "--config", str(out / "mmm.toml"), "--out",
                                   str(tmp_path / "fit"), "--chains", "2", "--draws", "100", "--tune", "100"])
    assert fit.exit_code == 0, fit.output
    summary = json.loads((tmp_path / "fit" / "summary.json").read_text())
    assert set(summary["channels"]) == {"tv", "search"}
    assert summary["model"]["transforms"] == {"tv": {"adstock": "weibull_pdf", "l_max": 12, "saturation": "hill"},
                                              "search": {"adstock": "geometric", "l_max": 3, "saturation": "logistic"}}
    assert load_config(tmp_path / "fit" / "config.toml").transform_groups() == config.transform_groups()


@pytest.mark.parametrize("args", [["simulate", "seed", "--seed", "-1"], ["demo", "--data-seed", "-1"]])
def test_cli_negative_seeds_are_usage_errors(tmp_path: Path, args: list[str]) -> None:
    from typer.testing import CliRunner

    from mediamix.cli.app import app

    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "greater than or equal to 0" in result.output
    assert not (tmp_path / "out").exists()
