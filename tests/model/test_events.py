"""[[model.events]]: config, dummy controls in the design, results and recovery of an event effect."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pymc as pm
import pytest

import mediamix
from mediamix import MMM, simulate
from mediamix.config import dump_config, load_config, parse_config
from mediamix.errors import ConfigError, DataError
from mediamix.model.build import build_model
from mediamix.model.design import make_design
from mediamix.review import count_parameters
from mediamix.testing import PriorSampler

EVENTS_TOML = """\
[data]
date = "date_week"
target = "y"
channels = ["x1", "x2"]

[[model.events]]
name = "launch"
dates = ["2019-05-16"]

[[model.events]]
name = "promo"
dates = [2020-09-14, 2021-09-13]
window = [0, 1]
"""


def events_config(**model) -> dict:
    """The seed config with its two event columns replaced by events at the same weeks."""
    raw = simulate.seed_config()
    raw["data"]["controls"] = []
    raw["model"].update(events=[{"name": "launch", "dates": ["2019-05-16"]},  # Thursday of week 2019-05-13
                                {"name": "promo", "dates": ["2020-09-14"]}], **model)
    return raw


@pytest.fixture(scope="module")
def event_fit(demo, prior_fit_with):
    return prior_fit_with(demo.data.drop(columns=["event_1", "event_2"]), events_config())


def test_events_parse_from_toml_and_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "mmm.toml"
    path.write_text(EVENTS_TOML, encoding="utf-8")
    cfg = load_config(path)
    assert [e.name for e in cfg.model.events] == ["launch", "promo"]
    assert cfg.model.events[0].window == (0, 0)
    assert cfg.model.events[1].window == (0, 1)
    assert cfg.control_names == ("launch", "promo")
    assert "gamma_control" in cfg.priors
    again = tmp_path / "config.toml"
    again.write_text(dump_config(cfg), encoding="utf-8")
    assert load_config(again) == cfg


@pytest.mark.parametrize(
    ("name", "fragment"),
    [("x1", "event name 'x1' is already a channel"),
     ("event_1", "event name 'event_1' is already a control column"),
     ("y", "event name 'y' is already the target column"),
     ("trend", "event name 'trend' is reserved")],
)
def test_event_name_clash_is_a_clear_error(name: str, fragment: str) -> None:
    raw = simulate.seed_config()
    raw["model"]["events"] = [{"name": name, "dates": ["2020-01-01"]}]
    with pytest.raises(ConfigError, match=fragment):
        parse_config(raw)


def test_two_events_with_one_name() -> None:
    raw = events_config()
    raw["model"]["events"][1]["name"] = "launch"
    with pytest.raises(ConfigError, match="event name 'launch' is already another event"):
        parse_config(raw)


def test_misspelled_event_key_suggests_the_right_one() -> None:
    raw = events_config()
    raw["model"]["events"][0]["windows"] = [0, 1]
    with pytest.raises(ConfigError, match=r"unknown key 'model.events.0.windows'. Did you mean 'window'\?"):
        parse_config(raw)


def test_negative_window_is_rejected() -> None:
    raw = events_config()
    raw["model"]["events"][0]["window"] = [-1, 0]
    with pytest.raises(ConfigError, match=r"window must be \[before, after\] with both >= 0"):
        parse_config(raw)


def test_event_named_like_a_data_column_is_a_data_error(demo) -> None:
    raw = events_config()
    raw["model"]["events"][0]["name"] = "event_1"  # not a declared control, but a column of the table
    with pytest.raises(DataError, match="Column 'event_1' in the data has the name of event 'event_1'"):
        MMM.from_config(raw).fit(demo.data, sampler=PriorSampler(), chains=2, draws=5)


def test_event_dummies_equal_the_demo_event_columns(event_fit, demo) -> None:
    design = event_fit.design_
    assert design.control_names == ("launch", "promo")
    np.testing.assert_array_equal(design.controls, demo.data[["event_1", "event_2"]].to_numpy())


def test_events_are_controls_for_priors() -> None:
    raw = events_config()
    raw["priors"] = {"gamma_control": {"dist": "Normal", "mu": 0.0, "sigma": {"launch": 1.0, "promo": 3.0}}}
    cfg = parse_config(raw)
    assert cfg.priors["gamma_control"].resolve(cfg.prior_labels("gamma_control"))["sigma"].tolist() == [1.0, 3.0]
    raw["priors"]["gamma_control"]["sigma"] = {"launch": 1.0}
    with pytest.raises(ConfigError, match="has no value for 'promo'"):
        parse_config(raw)
    assert count_parameters(cfg)["controls"] == 2


def test_events_are_controls_in_results(event_fit) -> None:
    model = build_model(event_fit.config_, event_fit.design_)
    assert list(model.coords["control"]) == ["launch", "promo"]
    table = event_fit.contributions()
    assert {"launch", "promo"} <= set(table.columns)
    launch = table["launch"].to_numpy()
    assert np.count_nonzero(launch) == 1 and launch[58] != 0
    waterfall = event_fit.waterfall()
    assert waterfall.sel(component="promo")["kind"].item() == "control"


def test_graph_mean_equals_numpy_decomposition(event_fit, assert_graph_mean_equals_decomposition) -> None:
    assert_graph_mean_equals_decomposition(event_fit)


@pytest.mark.filterwarnings("ignore:`find_MAP` will return:FutureWarning")
def test_event_effect_is_recovered(event_fit, demo) -> None:
    # The demo's truth adds 1.5 in the launch week and 2.5 in the promo week (noise sd 0.25).
    model = build_model(event_fit.config_, event_fit.design_)
    with model:
        point = pm.find_MAP(progressbar=False, random_seed=1, jitter=False)
    effect = point["gamma_control"] * event_fit.scales_.target
    np.testing.assert_allclose(effect, [1.5, 2.5], atol=3 * 0.25)


def test_future_table_marks_event_weeks_after_the_data(event_fit, demo) -> None:
    future = demo.data.drop(columns=["event_1", "event_2", "y"]).iloc[-4:].copy()
    future["date_week"] = future["date_week"] + np.timedelta64(7 * 4, "D")
    promo = future["date_week"].iloc[2] + np.timedelta64(3, "D")  # mid-week, after the training data
    raw = events_config()
    raw["model"]["events"][1]["dates"] = ["2020-09-14", promo.strftime("%Y-%m-%d")]
    design = make_design(future, parse_config(raw), event_fit.scales_)
    assert design.controls[:, 1].tolist() == [0.0, 0.0, 1.0, 0.0]
    assert design.controls[:, 0].tolist() == [0.0] * 4


def test_event_fit_saves_and_loads(event_fit, tmp_path: Path) -> None:
    event_fit.save(tmp_path / "fit")
    loaded = mediamix.load(tmp_path / "fit")
    assert loaded.config_ == event_fit.config_
    np.testing.assert_array_equal(loaded.design_.controls, event_fit.design_.controls)
    np.testing.assert_allclose(loaded.contributions()["promo"], event_fit.contributions()["promo"])


@pytest.mark.filterwarnings("ignore::mediamix.errors.ConvergenceWarning")  # 5 prior draws, by design
@pytest.mark.parametrize("date_marks", ["end", "start"])
def test_week_ending_dates_place_events_in_the_week_that_contains_them(demo, date_marks: str) -> None:
    # The demo's weeks dated by their Sunday (the last day) instead of their Monday.
    data = demo.data.drop(columns=["event_1", "event_2"])
    data["date_week"] = data["date_week"] + pd.Timedelta(days=6)
    raw = events_config()
    raw["data"]["date_marks"] = date_marks
    fit = MMM.from_config(raw).fit(data, sampler=PriorSampler(), chains=1, draws=5)
    expected = demo.data[["event_1", "event_2"]].to_numpy()
    if date_marks == "end":  # the launch (a Thursday) and the promo (a Monday) fall in the same weeks as before
        np.testing.assert_array_equal(fit.design_.controls, expected)
    else:  # read as week starts, each Sunday's row covers the week after it: both land one row early
        np.testing.assert_array_equal(fit.design_.controls, np.roll(expected, -1, axis=0))


def test_date_marks_from_python_and_bad_value_is_a_config_error() -> None:
    assert MMM(channels=["x1"], date_marks="end").config.data.date_marks == "end"
    with pytest.raises(ConfigError, match="date_marks"):
        MMM(channels=["x1"], date_marks="middle")


def test_events_from_python() -> None:
    mmm = MMM(date="date_week", channels=["x1", "x2"], events=[{"name": "launch", "dates": ["2019-05-16"]}])
    assert mmm.config.control_names == ("launch",)


@pytest.mark.slow
def test_event_fit_recovers_a_known_effect(demo) -> None:
    from mediamix.analysis import hdi_summary
    from mediamix.transforms import event_dummy

    # Six promotions, each lifting its week and the next by 2.0, added to the demo's truth.
    promo = {"name": "promo", "dates": ["2018-09-12", "2019-02-20", "2019-08-07", "2020-01-15", "2020-06-24",
                                        "2021-03-03"], "window": [0, 1]}
    data = demo.data.copy()
    dummy = event_dummy(pd.DatetimeIndex(data["date_week"]), promo["dates"], (0, 1), 7)
    assert dummy.sum() == 12
    data["y"] = data["y"] + 2.0 * dummy
    raw = simulate.seed_config()
    raw["model"]["events"] = [promo]
    raw["fit"].update(draws=1000)
    fit = MMM.from_config(raw).fit(data)
    assert fit.diagnostics_.converged
    effect = hdi_summary(fit.posterior["gamma_control"].sel(control="promo") * fit.scales_.target)
    assert float(effect["hdi_low"]) <= 2.0 <= float(effect["hdi_high"]), effect
    assert abs(float(effect["mean"]) - 2.0) < 0.3, effect
    roas = hdi_summary(fit.roas())
    for channel in ("x1", "x2"):
        stats = roas.sel(channel=channel)
        truth = demo.truth["channels"][channel]["roas"]
        assert float(stats["hdi_low"]) <= truth <= float(stats["hdi_high"]), (channel, stats)
