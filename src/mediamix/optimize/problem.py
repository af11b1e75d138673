"""The budget problem: how much, over how long, within which bounds, judged how.

Bounds come from Python or a TOML file keyed by channel name::

    [tv]
    lower = 10000          # total over the horizon, in spend units
    upper = 50000
    [search]
    lower_relative = 0.8   # x the channel's historical spend over a horizon as long
    upper_relative = 1.5
    [social]
    fixed = 12000          # exactly this much

Every channel name is checked against the model's channels, and an infeasible
problem is refused before any solving, saying which bounds conflict.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mediamix.config.io import read_toml
from mediamix.config.schema import describe_validation_error
from mediamix.errors import ConfigError, did_you_mean

__all__ = ["ChannelBounds", "BudgetProblem", "Objective", "load_bounds", "resolve_bounds"]

Objective = Literal["mean", "mean-sd", "quantile", "cvar"]


class ChannelBounds(BaseModel):
    """Bounds of one channel's total spend over the horizon.

    Absolute values are in spend units; ``*_relative`` multiply the channel's
    historical spend over a period as long as the horizon. ``fixed`` pins it.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    lower: float | None = Field(None, ge=0)
    upper: float | None = Field(None, ge=0)
    lower_relative: float | None = Field(None, ge=0)
    upper_relative: float | None = Field(None, ge=0)
    fixed: float | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _one_of_each(self) -> ChannelBounds:
        if self.lower is not None and self.lower_relative is not None:
            raise ValueError("give lower or lower_relative, not both")
        if self.upper is not None and self.upper_relative is not None:
            raise ValueError("give upper or upper_relative, not both")
        if self.fixed is not None and any(
            v is not None for v in (self.lower, self.upper, self.lower_relative, self.upper_relative)
        ):
            raise ValueError("a fixed channel takes no other bounds")
        return self


@dataclass(frozen=True)
class BudgetProblem:
    """What to optimize.

    Parameters
    ----------
    budget : float
        Total spend over the horizon, all channels together.
    weeks : int
        Length of the horizon in periods (weeks for weekly data).
    bounds : mapping of str to (lower, upper), optional
        Resolved absolute bounds of each channel's total (see :func:`resolve_bounds`).
    allow_unspent : bool, default=False
        Let the optimizer spend less than ``budget`` when more does not pay.
    flighting : bool, default=False
        Optimize the spend of every week (when), not only each channel's total (where).
    discount_rate : float, default=0.0
        Yearly rate by which later returns count less.
    objective : {"mean", "mean-sd", "quantile", "cvar"}, default="mean"
        Posterior-mean KPI, mean minus ``risk`` standard deviations, the ``risk``
        quantile, or the mean of the worst ``risk`` fraction of draws (CVaR).
    risk : float, optional
        ``k`` for "mean-sd" (default 1), the tail probability for "quantile"/"cvar" (default 0.1).
    """

    budget: float
    weeks: int
    bounds: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    allow_unspent: bool = False
    flighting: bool = False
    discount_rate: float = 0.0
    objective: Objective = "mean"
    risk: float | None = None

    def __post_init__(self) -> None:
        if not (isinstance(self.budget, int | float) and math.isfinite(self.budget) and self.budget > 0):
            raise ConfigError(f"The budget must be a positive number. Got {self.budget!r}.")
        if isinstance(self.weeks, bool) or not isinstance(self.weeks, int) or self.weeks < 1:
            raise ConfigError(f"The horizon 'weeks' must be an int >= 1. Got {self.weeks!r}.")
        if self.objective not in ("mean", "mean-sd", "quantile", "cvar"):
            raise ConfigError(
                f"Unknown objective '{self.objective}'.{did_you_mean(self.objective, ['mean', 'mean-sd', 'quantile', 'cvar'])}"
                " Expected one of: mean, mean-sd, quantile, cvar."
            )
        if not 0 <= self.discount_rate < 1:
            raise ConfigError(f"The discount rate must be in [0, 1) per year. Got {self.discount_rate!r}.")
        if self.risk is not None:
            if self.objective == "mean-sd" and not self.risk >= 0:
                raise ConfigError(f"For objective 'mean-sd', risk (k) must be >= 0. Got {self.risk!r}.")
            if self.objective in ("quantile", "cvar") and not 0 < self.risk < 1:
                raise ConfigError(f"For objective '{self.objective}', risk must be in (0, 1). Got {self.risk!r}.")

    @property
    def risk_value(self) -> float:
        """``risk`` or its default for the objective."""
        if self.risk is not None:
            return float(self.risk)
        return 1.0 if self.objective == "mean-sd" else 0.1

    def check_feasible(self, channels: tuple[str, ...]) -> None:
        """Raise :class:`ConfigError` saying which bounds make the problem infeasible."""
        lows = {c: self.bounds.get(c, (0.0, math.inf))[0] for c in channels}
        highs = {c: self.bounds.get(c, (0.0, math.inf))[1] for c in channels}
        for c in channels:
            if lows[c] > highs[c] + 1e-9:
                raise ConfigError(
                    f"Infeasible bounds: channel '{c}' has lower {lows[c]:,.6g} > upper {highs[c]:,.6g}."
                )
        total_low = sum(lows.values())
        if total_low > self.budget * (1 + 1e-9):
            detail = ", ".join(f"{c}: {v:,.6g}" for c, v in lows.items() if v > 0)
            raise ConfigError(
                f"Infeasible bounds: the channels' lower bounds add up to {total_low:,.6g}, more than the "
                f"budget {self.budget:,.6g} ({detail}). Lower them or raise the budget."
            )
        total_high = sum(highs.values())
        if not self.allow_unspent and total_high < self.budget * (1 - 1e-9):
            detail = ", ".join(f"{c}: {v:,.6g}" for c, v in highs.items())
            raise ConfigError(
                f"Infeasible bounds: the channels' upper bounds add up to {total_high:,.6g}, less than the "
                f"budget {self.budget:,.6g} ({detail}). Raise them, lower the budget, or allow unspent budget."
            )


def load_bounds(path: str | os.PathLike[str]) -> dict[str, ChannelBounds]:
    """Read a bounds TOML file (tables keyed by channel name)."""
    p = Path(path)
    raw = read_toml(p, "Bounds file", "a TOML file with one table per channel")
    out = {}
    for name, table in raw.items():
        if not isinstance(table, dict):
            raise ConfigError(f"Bounds file '{p}': '{name}' must be a table like [{name}] with lower/upper/fixed.")
        try:
            out[name] = ChannelBounds.model_validate(table)
        except ValidationError as err:
            detail = describe_validation_error(err, model=ChannelBounds)
            raise ConfigError(f"Bounds file '{p}', channel '{name}': {detail}") from None
    return out


def resolve_bounds(
    bounds: Mapping[str, ChannelBounds | Mapping[str, float]],
    channels: tuple[str, ...],
    historical: Mapping[str, float],
) -> dict[str, tuple[float, float]]:
    """Absolute (lower, upper) totals per channel; channels without bounds get (0, inf).

    Parameters
    ----------
    bounds : mapping of channel name to ChannelBounds (or its dict form)
    channels : tuple of str
        The model's channels; any other name is an error listing them.
    historical : mapping of str to float
        Each channel's historical spend over a period as long as the horizon.
    """
    out: dict[str, tuple[float, float]] = {c: (0.0, math.inf) for c in channels}
    for name, spec in bounds.items():
        if name not in channels:
            raise ConfigError(
                f"Bounds name unknown channel '{name}'.{did_you_mean(name, channels)} Known channels: {', '.join(channels)}."
            )
        if not isinstance(spec, ChannelBounds):
            try:
                spec = ChannelBounds.model_validate(dict(spec))
            except ValidationError as err:
                detail = describe_validation_error(err, model=ChannelBounds)
                raise ConfigError(f"Bounds of channel '{name}': {detail}") from None
        if spec.fixed is not None:
            out[name] = (spec.fixed, spec.fixed)
            continue
        lower = spec.lower if spec.lower is not None else (
            spec.lower_relative * historical[name] if spec.lower_relative is not None else 0.0
        )
        upper = spec.upper if spec.upper is not None else (
            spec.upper_relative * historical[name] if spec.upper_relative is not None else math.inf
        )
        out[name] = (float(lower), float(upper))
    return out
