"""Tests for mediamix.config: parsing, defaults, TOML round trips and every error message."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

from mediamix.config import FitConfig, MMMConfig, ModelConfig, config_to_dict, dump_config, load_config, parse_config
from mediamix.errors import ConfigError
from mediamix.priors import DEFAULT_PRIORS, Prior
from mediamix.simulate import seed_config

README_TOML = """\
[data]
date = "date_week"
target = "y"
channels = ["x1", "x2"]
controls = ["event_1", "event_2"]

[model]
adstock = "geometric"
l_max = 8
saturation = "logistic"
yearly_seasonality = 2
trend = "linear"

[fit]
chains = 4
draws = 1000
tune = 750
seed = 42
"""


def config_error(*fragments: str) -> AbstractContextManager[pytest.ExceptionInfo[ConfigError]]:
    """Expect a ConfigError whose message contains every fragment, literally."""
    pattern = "".join(f"(?=[\\s\\S]*{re.escape(f)})" for f in fragments)
    return pytest.raises(ConfigError, match=pattern)


def seed_with(change: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    """The README config with one change applied."""
    raw = seed_config()
    change(raw)
    return raw


@pytest.fixture
def config() -> MMMConfig:
    return parse_config(seed_config())


# --- parsing and defaults ----------------------------------------------------------------


def test_readme_toml_parses(tmp_path: Path) -> None:
    assert tomllib.loads(README_TOML) == seed_config()  # the README example is seed_config()
    path = tmp_path / "mmm.toml"
    path.write_text(README_TOML, encoding="utf-8")
    cfg = load_config(path)
    assert cfg.data.date == "date_week"
    assert cfg.data.channels == ("x1", "x2")
    assert cfg.data.controls == ("event_1", "event_2")
    assert cfg.model.l_max == 8 and cfg.model.yearly_seasonality == 2 and cfg.model.trend == "linear"
    assert (cfg.fit.chains, cfg.fit.draws, cfg.fit.tune, cfg.fit.seed) == (4, 1000, 750, 42)
    assert cfg == parse_config(seed_config())


def test_defaults_fill_in(config: MMMConfig) -> None:
    assert config.fit.sampler == "nutpie"
    assert config.fit.target_accept == 0.9
    assert config.model.normalize_adstock is True
    assert set(config.priors) == {
        "intercept", "beta", "sigma", "gamma_control", "gamma_fourier", "trend_slope", "alpha", "lam"
    }
    for name, prior in DEFAULT_PRIORS.items():
        if name in config.priors:  # the rest belong to options this config leaves off
            assert config.priors[name] == prior
    assert config.priors["alpha"] == Prior("Beta", {"alpha": 1.0, "beta": 3.0})
    assert config.priors["lam"] == Prior("Gamma", {"alpha": 3.0, "beta": 1.0})


def test_minimal_config_gets_every_default() -> None:
    cfg = parse_config({"data": {"channels": ["tv"]}})
    assert (cfg.data.date, cfg.data.target, cfg.data.controls) == ("date", "y", ())
    assert cfg.model == ModelConfig()
    assert cfg.fit == FitConfig()
    assert cfg.fit.sampler == "nutpie"
    # No controls: no gamma_control prior; transform priors are always there.
    assert "gamma_control" not in cfg.priors
    assert {"alpha", "lam", "beta", "intercept", "sigma"} <= set(cfg.priors)


def test_switched_off_components_drop_their_priors() -> None:
    cfg = parse_config(seed_with(lambda c: c["model"].update(yearly_seasonality=0, trend="none")))
    assert "gamma_fourier" not in cfg.priors
    assert "trend_slope" not in cfg.priors


def test_given_prior_overrides_default_and_keeps_the_rest() -> None:
    raw = seed_with(lambda c: c.update(priors={"beta": {"dist": "HalfNormal", "sigma": {"x2": 1.0, "x1": 0.5}},
                                               "alpha": {"dist": "Beta", "alpha": 2, "beta": 2}}))
    cfg = parse_config(raw)
    assert cfg.priors["beta"] == Prior("HalfNormal", {"sigma": {"x1": 0.5, "x2": 1.0}})
    assert cfg.priors["alpha"].params == {"alpha": 2.0, "beta": 2.0}
    assert cfg.priors["sigma"] == DEFAULT_PRIORS["sigma"]


def test_config_is_frozen(config: MMMConfig) -> None:
    with pytest.raises(ValueError, match="frozen"):
        config.fit.chains = 1  # type: ignore[misc]


# --- round trip -------------------------------------------------------------------------


def test_dump_then_load_is_equal(tmp_path: Path, config: MMMConfig) -> None:
    path = tmp_path / "config.toml"
    path.write_text(dump_config(config), encoding="utf-8")
    assert load_config(path) == config


def test_round_trip_of_a_non_default_config(tmp_path: Path) -> None:
    raw = {
        "data": {"date": "week", "target": "sales", "channels": ["tv", "search", "radio"]},
        "model": {"l_max": 3, "normalize_adstock": False, "yearly_seasonality": 0, "trend": "none"},
        "fit": {"sampler": "numpyro", "chains": 2, "draws": 300, "tune": 0, "seed": 7, "target_accept": 0.95},
        "priors": {
            "beta": {"dist": "HalfNormal", "sigma": {"radio": 0.5, "tv": 1.0, "search": 2}},
            "lam": {"dist": "Gamma", "alpha": {"tv": 2.0, "search": 3.0, "radio": 4.0}, "beta": 1.0},
        },
    }
    cfg = parse_config(raw)
    text = dump_config(cfg)
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    back = load_config(path)
    assert back == cfg
    assert back.priors["beta"].resolve(["tv", "search", "radio"])["sigma"].tolist() == [1.0, 2.0, 0.5]
    assert tomllib.loads(text) == config_to_dict(cfg)


def test_seed_none_is_left_out_of_the_toml(tmp_path: Path) -> None:
    # TOML has no null; a fitted model records the seed it drew instead (see test_mmm).
    cfg = parse_config(seed_with(lambda c: c["fit"].update(seed=None)))
    assert cfg.fit.seed is None
    assert "seed" not in tomllib.loads(dump_config(cfg))["fit"]


# --- misspelled keys --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "fragments"),
    [
        (lambda c: c["data"].update(chanels=c["data"].pop("channels")),
         ("unknown key 'data.chanels'.", "Did you mean 'channels'?", "Valid keys here: date, target, channels")),
        (lambda c: c.update(modle=c.pop("model")),
         ("unknown key 'modle'.", "Did you mean 'model'?", "Valid keys here: data, model, fit, priors, review.")),
        (lambda c: c["fit"].update(drawz=100),
         ("unknown key 'fit.drawz'.", "Did you mean 'draws'?")),
        (lambda c: c["model"].update(l_maxx=4),
         ("unknown key 'model.l_maxx'.", "Did you mean 'l_max'?")),
    ],
    ids=["data.chanels", "modle", "fit.drawz", "model.l_maxx"],
)
def test_misspelled_key_suggests_the_right_one(change: Callable[[dict[str, Any]], object],
                                               fragments: tuple[str, ...]) -> None:
    with config_error("Invalid config", *fragments):
        parse_config(seed_with(change))


def test_misspelled_key_in_a_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "mmm.toml"
    path.write_text(README_TOML.replace("draws =", "drawz ="), encoding="utf-8")
    with config_error(f"Invalid config '{path}'", "unknown key 'fit.drawz'.", "Did you mean 'draws'?"):
        load_config(path)


def test_missing_data_section() -> None:
    with config_error("missing required key 'data'."):
        parse_config({"model": {"l_max": 4}})


# --- wrong types and values ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "fragments"),
    [
        (lambda c: c["model"].update(l_max=0), ("'model.l_max'", "greater than or equal to 1", "Got 0.")),
        (lambda c: c["model"].update(l_max=200), ("'model.l_max'", "less than or equal to 104", "Got 200.")),
        (lambda c: c["fit"].update(chains=0), ("'fit.chains'", "greater than or equal to 1", "Got 0.")),
        (lambda c: c["fit"].update(chains="four"), ("'fit.chains'", "expected a whole number", "Got 'four'.")),
        (lambda c: c["model"].update(adstock="geometrik"),
         ("'model.adstock'", "Did you mean 'geometric'?", "Expected one of: geometric", "Got 'geometrik'.")),
        (lambda c: c["model"].update(trend="cubic"), ("'model.trend'", "'none', 'linear' or 'piecewise'", "Got 'cubic'.")),
        (lambda c: c["model"].update(saturation="logistik"),
         ("'model.saturation'", "Did you mean 'logistic'?", "Expected one of: logistic", "Got 'logistik'.")),
        (lambda c: c["fit"].update(target_accept=1.0), ("'fit.target_accept'", "less than 1", "Got 1.0.")),
        (lambda c: c["model"].update(yearly_seasonality=-1), ("'model.yearly_seasonality'", "Got -1.")),
    ],
    ids=["l_max=0", "l_max=200", "chains=0", "chains=four", "adstock", "trend", "saturation",
         "target_accept", "yearly_seasonality"],
)
def test_bad_value_names_the_key(change: Callable[[dict[str, Any]], object], fragments: tuple[str, ...]) -> None:
    with config_error("Invalid config", *fragments):
        parse_config(seed_with(change))


def test_several_problems_are_all_listed() -> None:
    raw = seed_with(lambda c: (c["model"].update(l_max=0), c["fit"].update(chains=0)))
    with config_error("'model.l_max'", "'fit.chains'"):
        parse_config(raw)


# --- priors --------------------------------------------------------------------------------


def test_unknown_prior_name_suggests_closest() -> None:
    raw = seed_with(lambda c: c.update(priors={"betta": {"dist": "HalfNormal", "sigma": 1.0}}))
    with config_error("Unknown prior 'priors.betta'.", "Did you mean 'beta'?",
                      "Parameters of this model: intercept, beta, sigma"):
        parse_config(raw)


def test_prior_for_a_switched_off_component_is_unknown() -> None:
    raw = seed_with(lambda c: (c["model"].update(yearly_seasonality=0),
                               c.update(priors={"gamma_fourier": {"dist": "Normal", "mu": 0, "sigma": 1}})))
    with config_error("Unknown prior 'priors.gamma_fourier'."):
        parse_config(raw)


def test_unknown_prior_distribution_in_config() -> None:
    raw = seed_with(lambda c: c.update(priors={"beta": {"dist": "HalfNormla", "sigma": 1.0}}))
    with config_error("priors.beta", "Unknown prior distribution 'HalfNormla'.", "Did you mean 'HalfNormal'?"):
        parse_config(raw)


def test_per_channel_prior_naming_unknown_channel_lists_channels() -> None:
    raw = seed_with(lambda c: c.update(priors={"beta": {"dist": "HalfNormal", "sigma": {"x1": 1.0, "x3": 2.0}}}))
    with config_error("priors.beta:", "names unknown 'x3'.", "Known names: x1, x2."):
        parse_config(raw)


def test_per_channel_prior_missing_a_channel() -> None:
    raw = seed_with(lambda c: c.update(priors={"alpha": {"dist": "Beta", "alpha": {"x1": 1.0}, "beta": 3.0}}))
    with config_error("priors.alpha:", "has no value for 'x2'.", "Give every one of: x1, x2."):
        parse_config(raw)


def test_per_control_prior_is_checked_against_controls() -> None:
    table = {"dist": "Normal", "mu": 0.0, "sigma": {"event_1": 1.0, "x1": 2.0}}
    raw = seed_with(lambda c: c.update(priors={"gamma_control": table}))
    with config_error("priors.gamma_control:", "names unknown 'x1'.", "Known names: event_1, event_2."):
        parse_config(raw)


def test_per_name_table_on_a_scalar_prior() -> None:
    raw = seed_with(lambda c: c.update(priors={"intercept": {"dist": "Normal", "mu": {"x1": 0.0}, "sigma": 1.0}}))
    with config_error("priors.intercept:", "no named dimension"):
        parse_config(raw)


# --- column names --------------------------------------------------------------------------


def test_channel_also_a_control() -> None:
    raw = seed_with(lambda c: c["data"].update(controls=["event_1", "x2"]))
    with config_error("'data'", "column 'x2' is listed in controls and already used as channels"):
        parse_config(raw)


@pytest.mark.parametrize(("role", "name"), [("channels", "trend"), ("channels", "intercept"),
                                            ("controls", "intercept"), ("controls", "seasonality")])
def test_reserved_name(role: str, name: str) -> None:
    raw = seed_with(lambda c: c["data"][role].append(name))
    with config_error(f"{role} column '{name}' uses a reserved name", "reserved: baseline, date, intercept"):
        parse_config(raw)


def test_channel_named_like_the_target() -> None:
    raw = seed_with(lambda c: c["data"].update(channels=["x1", "y"]))
    with config_error("column 'y' is listed in channels and already used as target"):
        parse_config(raw)


def test_empty_channel_list() -> None:
    with config_error("'data.channels'", "at least 1 item"):
        parse_config(seed_with(lambda c: c["data"].update(channels=[])))


# --- files ------------------------------------------------------------------------------


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with config_error(f"Config file '{path}' does not exist"):
        load_config(path)


def test_directory_is_not_a_config_file(tmp_path: Path) -> None:
    with config_error(f"Config file '{tmp_path}' does not exist"):
        load_config(tmp_path)


def test_invalid_toml_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "mmm.toml"
    path.write_text('[data]\nchannels = ["x1", "x2"\n', encoding="utf-8")
    with config_error(f"Config file '{path}' is not valid TOML"):
        load_config(str(path))


# --- with_fit ---------------------------------------------------------------------------


def test_with_fit_overrides_only_given_values(config: MMMConfig) -> None:
    new = config.with_fit(chains=2, draws=None, sampler="pymc", seed=None)
    assert new.fit == FitConfig(sampler="pymc", chains=2, draws=1000, tune=750, seed=42, target_accept=0.9)
    assert (new.data, new.model, new.priors) == (config.data, config.model, config.priors)
    assert config.fit.chains == 4 and config.fit.sampler == "nutpie"  # the original is untouched


def test_mass_matrix_is_diagonal_unless_asked_and_checked(config: MMMConfig) -> None:
    assert FitConfig().mass_matrix == config.fit.mass_matrix == "diagonal"
    assert config.with_fit(mass_matrix="low_rank").fit.mass_matrix == "low_rank"
    with config_error("'fit.mass_matrix'", "'diagonal' or 'low_rank'", "Got 'dense'."):
        config.with_fit(mass_matrix="dense")
    for sampler in ("pymc", "numpyro"):  # no low-rank mass matrix there: said, not recorded and ignored
        with config_error("'fit'", 'mass_matrix = "low_rank" is nutpie\'s', f"the {sampler} sampler",
                          'mass_matrix = "diagonal"'):
            config.with_fit(sampler=sampler, mass_matrix="low_rank")
    assert config.with_fit(method="map", mass_matrix="low_rank").fit.method == "map"  # approximations ignore it


def test_with_fit_without_overrides_is_unchanged(config: MMMConfig) -> None:
    assert config.with_fit() == config
    assert config.with_fit(chains=None, draws=None) == config


def test_with_fit_validates_sampler(config: MMMConfig) -> None:
    with config_error("'fit.sampler'", "'nutpie', 'pymc' or 'numpyro'", "Got 'stan'."):
        config.with_fit(sampler="stan")


def test_with_fit_validates_numbers(config: MMMConfig) -> None:
    with config_error("'fit.chains'", "greater than or equal to 1", "Got 0."):
        config.with_fit(chains=0)


def test_with_fit_names_every_bad_key_with_its_section(config: MMMConfig) -> None:
    with config_error("'fit.chains'", "'fit.draws'"):
        config.with_fit(chains=0, draws=0)


def test_with_fit_unknown_key_suggests_a_fit_key(config: MMMConfig) -> None:
    with config_error("unknown key 'fit.drawz'.", "Did you mean 'draws'?"):
        config.with_fit(drawz=10)


def test_a_config_saved_in_another_encoding_is_a_config_error_and_a_bom_is_fine(tmp_path: Path) -> None:
    text = '[data]\ntarget = "café"\nchannels = ["x1"]\n'
    path = tmp_path / "mmm.toml"
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(ConfigError, match=r"Config file '.*mmm.toml' is not UTF-8 text .* save it as UTF-8"):
        load_config(path)
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))  # what Windows Notepad writes
    assert load_config(path).data.target == "café"


def test_bounds_file_in_another_encoding_is_a_config_error(tmp_path: Path) -> None:
    from mediamix.optimize.problem import load_bounds

    path = tmp_path / "bounds.toml"
    path.write_bytes('[tv]\nupper = 5.0 # max ±\n'.encode("latin-1"))
    with pytest.raises(ConfigError, match=r"Bounds file '.*bounds.toml' is not UTF-8 text"):
        load_bounds(path)


@pytest.mark.parametrize(("section", "key", "value", "fragment"), [
    ("fit", "draws", True, r"expected a whole number \(not true/false or text\). Got True."),
    ("fit", "chains", "4", "expected a whole number .*Got '4'."),
    ("model", "l_max", False, "expected a whole number .*Got False."),
    ("model", "normalize_adstock", "no", "expected true or false. Got 'no'."),
    ("model", "saturation_first", 0, "expected true or false. Got 0."),
])
def test_toml_types_are_not_coerced(section: str, key: str, value: object, fragment: str) -> None:
    raw = {"data": {"channels": ["x1"]}, section: {key: value}}
    with pytest.raises(ConfigError, match=fr"{section}.{key}.*{fragment}"):
        parse_config(raw)


def test_numpy_numbers_from_python_are_still_numbers() -> None:
    import numpy as np

    from mediamix import MMM

    mmm = MMM(channels=["x1"], draws=np.int64(300), l_max=np.int32(4), normalize_adstock=np.bool_(False))
    assert (mmm.config.fit.draws, mmm.config.model.l_max, mmm.config.model.normalize_adstock) == (300, 4, False)
