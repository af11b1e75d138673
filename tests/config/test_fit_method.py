"""``[fit] method``: NUTS by default, an approximation on request, anything else a clear error."""

from __future__ import annotations

import tomllib

import pytest

from mediamix import MMM
from mediamix.config import dump_config, parse_config
from mediamix.errors import ConfigError
from mediamix.simulate import seed_config


def with_method(method: object) -> dict:
    raw = seed_config()
    raw["fit"]["method"] = method
    return raw


def test_default_is_nuts_and_an_approximation_is_recorded() -> None:
    assert parse_config(seed_config()).fit.method == "nuts"
    cfg = parse_config(with_method("advi"))
    assert cfg.fit.method == "advi"
    assert tomllib.loads(dump_config(cfg))["fit"]["method"] == "advi"  # config.toml says how it was fitted
    assert cfg.with_fit(method="map").fit.method == "map"


@pytest.mark.parametrize("bad", ["laplace", "NUTS", "vi", 1])
def test_unknown_method_names_the_key_and_the_choices(bad: object) -> None:
    with pytest.raises(ConfigError, match=r"'fit\.method': Input should be 'nuts', 'advi', 'map' or 'pathfinder'\. Got "):
        parse_config(with_method(bad))


def test_misspelled_method_key_suggests_method() -> None:
    raw = seed_config()
    raw["fit"]["methd"] = "advi"
    with pytest.raises(ConfigError, match=r"unknown key 'fit\.methd'\. Did you mean 'method'\?"):
        parse_config(raw)


def test_mmm_takes_the_method_and_checks_it() -> None:
    assert MMM(channels=["x1"], method="map").config.fit.method == "map"
    with pytest.raises(ConfigError, match=r"'fit\.method'.*Got 'laplace'"):
        MMM(channels=["x1"], method="laplace")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"'fit\.method'"):
        MMM(channels=["x1"]).config.with_fit(method="bogus")
