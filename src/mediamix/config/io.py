"""Read and write ``mmm.toml`` files, turning pydantic's errors into one clear message."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import ValidationError

from mediamix.config.schema import MMMConfig, describe_validation_error
from mediamix.errors import ConfigError

__all__ = ["load_config", "parse_config", "config_to_dict", "dump_config", "read_toml"]


def parse_config(raw: Mapping[str, Any], source: str = "") -> MMMConfig:
    """Validate a config given as nested dicts (the TOML structure).

    Parameters
    ----------
    raw : mapping
        ``{"data": {...}, "model": {...}, "fit": {...}, "priors": {...}}``.
    source : str, default=""
        Where it came from, for messages (a file path).

    Raises
    ------
    ConfigError
        Naming the offending key and what was expected.
    """
    try:
        return MMMConfig.model_validate(dict(raw))
    except ValidationError as err:
        raise ConfigError(describe_validation_error(err, source)) from None
    except ConfigError as err:
        prefix = f"Invalid config {source}: " if source else "Invalid config: "
        raise ConfigError(prefix + str(err)) from None


def read_toml(path: str | os.PathLike[str], what: str = "Config file",
              expected: str = "a TOML file such as mmm.toml") -> dict[str, Any]:
    """Read a TOML file, with a :class:`ConfigError` that names it if it is missing, not UTF-8 or not TOML.

    A UTF-8 byte-order mark (Windows Notepad writes one) is accepted.

    Parameters
    ----------
    path : path
    what : str, default="Config file"
        What the file is, to start the error message ("Bounds file", ...).
    expected : str
        What was expected, for the message when the file does not exist.
    """
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{what} '{p}' does not exist (expected {expected}).")
    try:
        return tomllib.loads(p.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError as err:
        raise ConfigError(
            f"{what} '{p}' is not UTF-8 text ({err.reason} at byte {err.start}); save it as UTF-8."
        ) from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{what} '{p}' is not valid TOML: {err}.") from None


def load_config(path: str | os.PathLike[str]) -> MMMConfig:
    """Read and validate a TOML config file."""
    return parse_config(read_toml(path), source=f"'{Path(path)}'")


def config_to_dict(config: MMMConfig) -> dict[str, Any]:
    """The resolved config as plain nested dicts, TOML-ready.

    TOML has no null: a ``None`` fit value (``seed``) or per-channel override is left out. A fitted
    model's ``config_`` always holds the seed it actually used.
    """
    out: dict[str, Any] = {
        "data": config.data.model_dump(),
        "model": config.model.model_dump(),
        "fit": {k: v for k, v in config.fit.model_dump().items() if v is not None},
        "priors": {name: prior.to_mapping() for name, prior in config.priors.items()},
        "review": {"roas_range": list(config.review.roas_range)},
    }
    for key in ("channels", "controls"):
        out["data"][key] = list(out["data"][key])
    overrides = {name: {k: v for k, v in table.items() if v is not None}
                 for name, table in out["model"].pop("channels").items()}
    if overrides:  # [model.channels.NAME]
        out["model"]["channels"] = overrides
    events = out["model"].pop("events")
    if events:  # an array of tables: [[model.events]]
        out["model"]["events"] = [{**e, "dates": list(e["dates"]), "window": list(e["window"])} for e in events]
    return out


def dump_config(config: MMMConfig) -> str:
    """The resolved config as TOML text; :func:`load_config` reads it back to an equal config."""
    return tomli_w.dumps(config_to_dict(config))
