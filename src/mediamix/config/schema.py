"""The configuration schema: what a ``mmm.toml`` may say, checked by pydantic.

Unknown keys are errors that name the key and suggest the closest valid one;
options are ``Literal`` values, never free strings. :class:`MMMConfig` is frozen
and fully resolved: every prior the model will use is in it, so writing it back
out (``config.toml`` in an output folder) records exactly what was fitted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from collections.abc import Mapping
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator

from mediamix.errors import ConfigError, did_you_mean
from mediamix.priors import DEFAULT_PRIORS, PRIOR_DIMS, Prior
from mediamix.transforms import ADSTOCKS, SATURATIONS

__all__ = [
    "describe_validation_error",
    "DataConfig", "EventConfig", "ModelConfig", "FitConfig", "MMMConfig", "RESERVED_NAMES", "SamplerName", "FitMethod",
    "MassMatrix", "ReviewConfig", "DEFAULT_ROAS_RANGE", "ChannelModelConfig", "TransformGroup"]

#: Names that label baseline components in results; a channel or control may not use them.
RESERVED_NAMES = frozenset({"intercept", "trend", "seasonality", "date", "mu", "media", "baseline"})

SamplerName = Literal["nutpie", "pymc", "numpyro"]
#: ``[fit] method``: NUTS, or an approximation (see :mod:`mediamix.inference.approximate`).
FitMethod = Literal["nuts", "advi", "map", "pathfinder"]
#: ``[fit] mass_matrix``: how nutpie's NUTS adapts its mass matrix while tuning.
MassMatrix = Literal["diagonal", "low_rank"]


def _not_text_or_flag(value: Any) -> Any:
    """A whole-number setting takes a number: TOML's ``true`` or ``"4"`` is a mistake, not 1 or 4."""
    if isinstance(value, bool | str):
        raise ValueError("expected a whole number (not true/false or text)")
    return value


def _flag(value: Any) -> Any:
    """A yes/no setting takes ``true`` or ``false``: ``"no"`` or ``0`` is a mistake, not False."""
    if not isinstance(value, bool | np.bool_):
        raise ValueError("expected true or false")
    return value


#: An ``int`` setting that refuses booleans and strings (pydantic's lax mode would turn ``true`` into 1).
WholeNumber = Annotated[int, BeforeValidator(_not_text_or_flag)]
#: A ``bool`` setting that refuses anything but ``true``/``false``.
Flag = Annotated[bool, BeforeValidator(_flag)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataConfig(_Section):
    """``[data]``: which columns mean what."""

    date: str = Field("date", min_length=1, description="The date column.")
    target: str = Field("y", min_length=1, description="The KPI column.")
    channels: tuple[str, ...] = Field(..., min_length=1, description="Media spend columns.")
    controls: tuple[str, ...] = Field((), description="Control (non-media) columns.")
    date_marks: Literal["start", "end"] = Field(
        "start",
        description="Whether each row's date is the first ('start') or the last ('end', e.g. week-ending) day of "
                    "its period; events are placed in the period that contains them.",
    )

    @model_validator(mode="after")
    def _names_unique(self) -> DataConfig:
        seen: dict[str, str] = {self.date: "date", self.target: "target"}
        if self.target == self.date:
            raise ValueError(f"target and date are the same column '{self.date}'")
        for role, names in (("channels", self.channels), ("controls", self.controls)):
            for name in names:
                if not name:
                    raise ValueError(f"{role} has an empty column name")
                if name in seen:
                    raise ValueError(f"column '{name}' is listed in {role} and already used as {seen[name]}")
                if name in RESERVED_NAMES:
                    raise ValueError(
                        f"{role} column '{name}' uses a reserved name; rename it "
                        f"(reserved: {', '.join(sorted(RESERVED_NAMES))})"
                    )
                seen[name] = role
        return self


class EventConfig(_Section):
    """``[[model.events]]``: a holiday or event that becomes a 0/1 control named ``name``.

    Each date marks the period that contains it (a row's date starts its period),
    plus ``window = [before, after]`` periods around it.
    """

    name: str = Field(..., min_length=1, description="The control's name in priors and results.")
    dates: tuple[dt.date, ...] = Field(..., min_length=1, description="Dates of the event, also outside the data.")
    window: tuple[int, int] = Field((0, 0), description="Periods [before, after] each date that count too.")

    @field_validator("window")
    @classmethod
    def _non_negative(cls, value: tuple[int, int]) -> tuple[int, int]:
        if min(value) < 0:
            raise ValueError(f"window must be [before, after] with both >= 0, got {list(value)}")
        return value


class ChannelModelConfig(_Section):
    """``[model.channels.NAME]``: one channel's own transforms; what it leaves out follows ``[model]``."""

    adstock: str | None = Field(None, description="This channel's carryover (a name from ADSTOCKS).")
    saturation: str | None = Field(None, description="This channel's diminishing returns (a name from SATURATIONS).")
    l_max: WholeNumber | None = Field(None, ge=1, le=104, description="This channel's adstock window in periods.")

    @field_validator("adstock")
    @classmethod
    def _known_adstock(cls, value: str | None) -> str | None:
        return None if value is None else _registered(value, ADSTOCKS, "adstock")

    @field_validator("saturation")
    @classmethod
    def _known_saturation(cls, value: str | None) -> str | None:
        return None if value is None else _registered(value, SATURATIONS, "saturation")


@dataclass(frozen=True)
class TransformGroup:
    """Channels that share one adstock (and window) and one saturation.

    The model applies each group's transforms to its columns at once; with no
    per-channel overrides there is a single group holding every channel.
    """

    adstock: str
    l_max: int
    saturation: str
    channels: tuple[str, ...]

    def transforms(self, normalize: bool) -> tuple[Any, Any]:
        """The group's adstock and saturation objects."""
        return ADSTOCKS[self.adstock](l_max=self.l_max, normalize=normalize), SATURATIONS[self.saturation]()

    @property
    def parameters(self) -> tuple[str, ...]:
        """Names of the group's transform parameters, adstock's first."""
        return (*ADSTOCKS[self.adstock].default_priors, *SATURATIONS[self.saturation].default_priors)


class ModelConfig(_Section):
    """``[model]``: the model's structure."""

    adstock: str = Field("geometric", description="Carryover: a name from mediamix.transforms.ADSTOCKS.")
    l_max: WholeNumber = Field(8, ge=1, le=104, description="Adstock window in periods, lag 0 included.")
    normalize_adstock: Flag = True
    saturation: str = Field("logistic", description="Diminishing returns: a name from mediamix.transforms.SATURATIONS.")
    saturation_first: Flag = Field(False, description="Saturate each period's spend before the carryover.")
    yearly_seasonality: WholeNumber = Field(2, ge=0, le=20, description="Fourier order; 0 turns it off.")
    weekly_seasonality: WholeNumber = Field(
        0, ge=0, le=3, description="Fourier order of the 7-day cycle (daily data only)."
    )
    monthly_seasonality: WholeNumber = Field(0, ge=0, le=10, description="Fourier order of the ~30.4-day cycle.")
    trend: Literal["none", "linear", "piecewise"] = "linear"
    n_changepoints: WholeNumber = Field(
        10, ge=1, le=100, description="Piecewise trend: slope changes evenly spaced over the training span."
    )
    form: Literal["additive", "multiplicative"] = Field(
        "additive",
        description="multiplicative: log(target) is the sum of the parts, so media and controls scale the baseline"
        " (the target must be > 0).",
    )
    likelihood: Literal["normal", "student_t"] = Field(
        "normal", description="Noise distribution; student_t adds degrees of freedom 'nu' for outlier-robust fits."
    )
    events: tuple[EventConfig, ...] = Field((), description="Holidays/events, each a 0/1 control.")
    channels: dict[str, ChannelModelConfig] = Field(
        default_factory=dict, description="Per-channel transforms: [model.channels.NAME] adstock/saturation/l_max."
    )

    @field_validator("adstock")
    @classmethod
    def _known_adstock(cls, value: str) -> str:
        return _registered(value, ADSTOCKS, "adstock")

    @field_validator("saturation")
    @classmethod
    def _known_saturation(cls, value: str) -> str:
        return _registered(value, SATURATIONS, "saturation")


def _registered(value: str, registry: Mapping[str, Any], kind: str) -> str:
    """``value`` if it names a registered transform; else an error listing them all."""
    if value not in registry:
        raise ValueError(
            f"unknown {kind} '{value}'.{did_you_mean(value, registry)} Expected one of: {', '.join(registry)}"
        )
    return value


class FitConfig(_Section):
    """``[fit]``: how to sample.

    ``method`` is ``"nuts"`` (MCMC with ``sampler``) or a fast approximation for iterating on a
    model: ``"map"`` (Laplace at the mode), ``"pathfinder"`` (multi-path Pathfinder) or ``"advi"``
    (mean-field ADVI). An approximation draws
    ``draws`` draws in one chain and ignores ``chains``, ``tune``, ``sampler`` and ``target_accept``;
    its results are labelled approximate, and convergence is not checked.

    ``mass_matrix`` is how nutpie adapts its mass matrix while tuning: ``"diagonal"`` (its
    standard, from the draws' and gradients' variances) or ``"low_rank"`` (a diagonal one corrected
    along the posterior's strongest correlations; nutpie calls it experimental). ``"low_rank"`` pays
    where parameters trade off against each other: on the demo it took NUTS from 13 to 7 steps per
    draw and raised the minimum bulk ESS (30 seeds: 1168-1782 against 1068-1330 in 10), sampling in
    0.87x the time; on simulated 5- and 10-channel models it took as many steps, each costlier
    (sampling 1.1-1.4x), and on the demo with Hill saturation it left 2 divergences of 4000 where
    the diagonal one left none. PyMC's and NumPyro's NUTS adapt a diagonal one only: ``"low_rank"``
    with them is an error (an approximation, ``method`` other than ``"nuts"``, ignores it like the
    other NUTS settings).
    """

    method: FitMethod = "nuts"
    sampler: SamplerName = "nutpie"
    chains: WholeNumber = Field(4, ge=1, le=64)
    draws: WholeNumber = Field(1000, ge=1)
    # 750, not 500: on the demo over 30 seeds, 500 left the minimum bulk ESS of 4000 draws below
    # 1000 for 2 (901, 911), 750 for none (1109-1470, median 1229), for 0.09 s more sampling.
    tune: WholeNumber = Field(750, ge=0)
    seed: WholeNumber | None = Field(42, ge=0)
    target_accept: float = Field(0.9, gt=0.5, lt=1.0)
    mass_matrix: MassMatrix = "diagonal"

    @model_validator(mode="after")
    def _mass_matrix_of_the_sampler(self) -> FitConfig:
        if self.method == "nuts" and self.mass_matrix == "low_rank" and self.sampler != "nutpie":
            raise ValueError(f'mass_matrix = "low_rank" is nutpie\'s; the {self.sampler} sampler adapts a diagonal '
                             'mass matrix only. Set [fit] mass_matrix = "diagonal" or sampler = "nutpie"')
        return self


#: Plausible ROAS (target units per unit of spend) when the KPI is revenue in the spend's
#: currency: paid media rarely return more than 10–20 (Meridian's default ROAS prior,
#: LogNormal(0.2, 0.9), puts 99% below 10), so 50 flags only fits that credit a channel
#: with implausibly much, often a unit mismatch. Set ``[review] roas_range`` for other KPIs.
DEFAULT_ROAS_RANGE = (0.0, 50.0)


class ReviewConfig(_Section):
    """``[review]``: what the model review treats as plausible."""

    roas_range: tuple[float, float] = Field(
        DEFAULT_ROAS_RANGE, description="Plausible posterior-mean ROAS [low, high], target units per unit of spend."
    )

    @field_validator("roas_range")
    @classmethod
    def _ordered(cls, value: tuple[float, float]) -> tuple[float, float]:
        if not value[0] < value[1]:
            raise ValueError(f"roas_range must be [low, high] with low < high, got {list(value)}")
        return value


class MMMConfig(_Section):
    """A whole, resolved mediamix configuration.

    ``priors`` maps parameter names (``intercept``, ``beta``, ``alpha``, ``lam``,
    ``sigma``, ``gamma_control``, ``gamma_fourier``, ``trend_slope``, and where the
    model has them ``trend_delta``, ``gamma_fourier_weekly``, ``gamma_fourier_monthly``, ``nu``) to
    :class:`~mediamix.priors.Prior`. Given priors override the defaults; after
    validation every parameter of the chosen model has one.
    """

    data: DataConfig
    model: ModelConfig = ModelConfig()
    fit: FitConfig = FitConfig()
    priors: dict[str, Prior] = Field(default_factory=dict)
    review: ReviewConfig = ReviewConfig()

    @property
    def control_names(self) -> tuple[str, ...]:
        """Every control of the model: the data's control columns, then the events."""
        return (*self.data.controls, *(event.name for event in self.model.events))

    @model_validator(mode="after")
    def _event_names_free(self) -> MMMConfig:
        d = self.data
        taken = {d.date: "the date column", d.target: "the target column",
                 **{c: "a channel" for c in d.channels}, **{c: "a control column" for c in d.controls}}
        for event in self.model.events:
            if event.name in RESERVED_NAMES:
                raise ConfigError(
                    f"model.events: event name '{event.name}' is reserved; rename it "
                    f"(reserved: {', '.join(sorted(RESERVED_NAMES))})."
                )
            if event.name in taken:
                raise ConfigError(
                    f"model.events: event name '{event.name}' is already {taken[event.name]}; "
                    "give the event another name (it becomes a control of that name)."
                )
            taken[event.name] = "another event"
        return self

    @model_validator(mode="after")
    def _channel_overrides_known(self) -> MMMConfig:
        channels = self.data.channels
        for name in self.model.channels:
            if name not in channels:
                raise ConfigError(
                    f"model.channels.{name}: '{name}' is not a channel.{did_you_mean(name, channels)}"
                    f" Channels (data.channels): {', '.join(channels)}."
                )
        return self

    def transform_groups(self) -> tuple[TransformGroup, ...]:
        """Channels grouped by their (adstock, l_max, saturation), in order of first channel."""
        m = self.model
        members: dict[tuple[str, int, str], list[str]] = {}
        for channel in self.data.channels:
            own = m.channels.get(channel, ChannelModelConfig())
            key = (own.adstock or m.adstock, own.l_max or m.l_max, own.saturation or m.saturation)
            members.setdefault(key, []).append(channel)
        return tuple(TransformGroup(a, lag, sat, tuple(chs)) for (a, lag, sat), chs in members.items())

    @property
    def max_l_max(self) -> int:
        """The longest adstock window of any channel (how much history carries over)."""
        return max(group.l_max for group in self.transform_groups())

    def parameter_channels(self, name: str) -> tuple[str, ...]:
        """The channels whose transforms have parameter ``name`` (empty for other names)."""
        return tuple(c for g in self.transform_groups() if name in g.parameters for c in g.channels)

    def prior_dim(self, name: str) -> str | None:
        """The dimension of parameter ``name`` in the model and the posterior.

        Baseline parameters follow :data:`~mediamix.priors.PRIOR_DIMS`. A transform
        parameter lives on ``channel`` when every channel has it, and on
        ``<name>_channel`` (the channels that have it) when per-channel transforms
        give it to only some.
        """
        if name in PRIOR_DIMS:
            return PRIOR_DIMS[name]
        users = self.parameter_channels(name)
        return "channel" if not users or users == self.data.channels else f"{name}_channel"

    @field_validator("priors", mode="before")
    @classmethod
    def _parse_priors(cls, value: Any) -> dict[str, Prior]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ValueError("priors must be a table of parameter name -> prior")
        return {name: Prior.from_mapping(table, where=f"priors.{name}") for name, table in value.items()}

    @model_validator(mode="after")
    def _resolve_priors(self) -> MMMConfig:
        known = self.prior_defaults()
        for name, prior in self.priors.items():
            if name not in known:
                raise ConfigError(
                    f"Unknown prior 'priors.{name}'.{did_you_mean(name, known)}"
                    f" Parameters of this model: {', '.join(known)}."
                )
            labels = self.prior_labels(name)
            if prior.labels():
                # Fails with a message listing the known names if one is unknown or missing.
                try:
                    prior.resolve(labels)
                except ConfigError as err:
                    raise ConfigError(f"priors.{name}: {err}") from None
        object.__setattr__(self, "priors", {**known, **self.priors})
        return self

    def prior_defaults(self) -> dict[str, Prior]:
        """The default prior of every parameter this model has."""
        out = dict(DEFAULT_PRIORS)
        for group in self.transform_groups():
            out.update(ADSTOCKS[group.adstock].default_priors)
            out.update(SATURATIONS[group.saturation].default_priors)
        if not self.control_names:
            out.pop("gamma_control")
        if self.model.yearly_seasonality == 0:
            out.pop("gamma_fourier")
        if self.model.trend == "none":
            out.pop("trend_slope")
        if self.model.trend != "piecewise":
            out.pop("trend_delta")
        if self.model.weekly_seasonality == 0:
            out.pop("gamma_fourier_weekly")
        if self.model.monthly_seasonality == 0:
            out.pop("gamma_fourier_monthly")
        if self.model.likelihood != "student_t":
            out.pop("nu")
        return out

    def prior_labels(self, name: str) -> list[str] | None:
        """The names along parameter ``name``'s dimension (channels, controls), if any."""
        dim = self.prior_dim(name)
        if dim == "channel":
            return list(self.data.channels)
        if dim is not None and dim.endswith("_channel"):
            return list(self.parameter_channels(name))
        if dim == "control":
            return list(self.control_names)
        return None

    def with_fit(self, **overrides: Any) -> MMMConfig:
        """A copy whose ``[fit]`` values are replaced by the non-``None`` ``overrides``."""
        given = {k: v for k, v in overrides.items() if v is not None}
        if not given:
            return self
        raw = {"data": self.data, "model": self.model, "fit": {**self.fit.model_dump(), **given},
               "priors": self.priors, "review": self.review}
        try:
            return MMMConfig.model_validate(raw)
        except ValidationError as err:
            raise ConfigError(describe_validation_error(err)) from None


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The valid keys of the section that ``loc`` points into."""
    current: Any = model
    keyed = False  # the previous part was a table of named tables (model.channels.NAME)
    for part in loc[:-1]:
        if isinstance(part, int) or keyed:  # an item of an array of tables, or a table's name
            keyed = False
            continue
        fields = getattr(current, "model_fields", None)
        if not fields or part not in fields:
            return []
        current = fields[part].annotation
        keyed = getattr(current, "__origin__", None) is dict
        # tuple[EventConfig, ...] or dict[str, ChannelModelConfig]: the item type's keys
        current = next((a for a in getattr(current, "__args__", ()) if hasattr(a, "model_fields")), current)
    return list(getattr(current, "model_fields", {}))


def describe_validation_error(err: ValidationError, source: str = "", model: type[BaseModel] | None = None) -> str:
    """One message for all of a pydantic error's problems, naming each key.

    ``model`` is the pydantic model that was validated (default :class:`MMMConfig`);
    unknown keys are matched against its fields.
    """
    lines = []
    for e in err.errors():
        loc = tuple(e["loc"])
        key = ".".join(str(p) for p in loc) or "(top level)"
        if e["type"] == "extra_forbidden":
            known = _fields_at(model or MMMConfig, loc)
            lines.append(
                f"unknown key '{key}'.{did_you_mean(str(loc[-1]), known)}"
                + (f" Valid keys here: {', '.join(known)}." if known else "")
            )
        elif e["type"] == "missing":
            lines.append(f"missing required key '{key}'.")
        else:
            msg = e["msg"].removeprefix("Value error, ").rstrip(".")
            got = e.get("input")
            got_txt = "" if isinstance(got, Mapping) or got is None else f" Got {got!r}."
            if not loc or msg.startswith(f"{key}."):  # the message already says where
                lines.append(f"{msg}.")
            else:
                lines.append(f"'{key}': {msg}.{got_txt}")
    head = f"Invalid config {source}: " if source else "Invalid config: "
    return head + (lines[0] if len(lines) == 1 else "\n  - " + "\n  - ".join(lines))
