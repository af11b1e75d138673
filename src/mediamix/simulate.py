"""Simulated data sets with known truth, for the demo, tests and benchmarks.

:func:`seed_example` is the use case of the talk mediamix grew from (the same
process as pymc-marketing's example): two channels with geometric adstock and
logistic saturation over a baseline of intercept, trend, yearly seasonality and
two one-off events.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mediamix.data.cadence import Cadence
from mediamix.errors import ConfigError, DataError, did_you_mean
from mediamix.transforms import ADSTOCKS, SATURATIONS, YEAR_DAYS, max_fourier_order
from mediamix.transforms.adstock import GeometricAdstock
from mediamix.transforms.multiplicative import log_shares
from mediamix.transforms.saturation import LogisticSaturation

__all__ = ["ChannelSpec", "SimulatedDataset", "seed_example", "seed_config", "simulate", "simulate_from_spec"]


@dataclass(frozen=True)
class SimulatedDataset:
    """A simulated table and the truth that generated it.

    Attributes
    ----------
    data : DataFrame
        One row per date: the date column, target, channel spend and controls.
    truth : dict
        Per channel (keyed by name): ``alpha``, ``lam``, ``beta``, ``spend``,
        ``contribution`` (total over all dates, target units) and ``roas``.
    contributions : DataFrame
        The true weekly contribution of each channel, indexed by date.
    config : dict
        A mediamix config (as a TOML-like dict) that fits this data set.
    """

    data: pd.DataFrame
    truth: dict[str, Any]
    contributions: pd.DataFrame
    config: dict[str, Any] = field(default_factory=dict)


def seed_config() -> dict[str, Any]:
    """The config that matches :func:`seed_example`'s columns (the README's example)."""
    return {
        "data": {
            "date": "date_week",
            "target": "y",
            "channels": ["x1", "x2"],
            "controls": ["event_1", "event_2"],
        },
        "model": {
            "adstock": "geometric",
            "l_max": 8,
            "saturation": "logistic",
            "yearly_seasonality": 2,
            "trend": "linear",
        },
        "fit": {"chains": 4, "draws": 1000, "tune": 750, "seed": 42},
    }


def seed_example(seed: int = 1, n_weeks: int = 179, noise_sd: float = 0.25) -> SimulatedDataset:
    """The talk's simulated use case: 179 weeks, two channels, known ROAS.

    Parameters
    ----------
    seed : int, default=1
        Seed of the NumPy generator; the same seed gives the same data.
    n_weeks : int, default=179
        Number of weekly dates, starting Monday 2018-04-02.
    noise_sd : float, default=0.25
        Standard deviation of the Gaussian noise on the target.

    Returns
    -------
    SimulatedDataset
    """
    _check_settings(n_weeks, seed, noise_sd)
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2018-04-02", periods=n_weeks, freq="W-MON")

    u1 = rng.uniform(size=n_weeks)
    x1 = np.where(u1 > 0.9, u1, u1 / 2)
    u2 = rng.uniform(size=n_weeks)
    x2 = np.where(u2 > 0.8, u2, 0.0)
    spend = np.column_stack([x1, x2])

    channels = ["x1", "x2"]
    alpha = np.array([0.4, 0.2])
    lam = np.array([4.0, 3.0])
    beta = np.array([3.0, 2.0])
    adstocked = GeometricAdstock(l_max=8, normalize=True).apply_np(spend, alpha=alpha)
    contributions = beta * LogisticSaturation().apply_np(adstocked, lam=lam)

    intercept = 2.0
    trend = (np.linspace(0, 50, n_weeks) + 10) ** (1 / 4) - 1
    doy = dates.day_of_year.to_numpy()
    seasonality = 0.5 * (-np.sin(2 * 2 * np.pi * doy / 365.5) + np.cos(2 * np.pi * doy / 365.5))
    event_1 = (dates == "2019-05-13").astype(float)
    event_2 = (dates == "2020-09-14").astype(float)
    noise = rng.normal(0.0, noise_sd, size=n_weeks)

    y = intercept + trend + seasonality + 1.5 * event_1 + 2.5 * event_2 + contributions.sum(axis=1) + noise

    data = pd.DataFrame(
        {"date_week": dates, "y": y, "x1": x1, "x2": x2, "event_1": event_1, "event_2": event_2}
    )
    truth: dict[str, Any] = {"channels": {}, "intercept": intercept, "sigma": noise_sd,
                             "events": {"event_1": 1.5, "event_2": 2.5}}
    for i, name in enumerate(channels):
        total = float(contributions[:, i].sum())
        total_spend = float(spend[:, i].sum())
        truth["channels"][name] = {
            "alpha": float(alpha[i]),
            "lam": float(lam[i]),
            "beta": float(beta[i]),
            "spend": total_spend,
            "contribution": total,
            "roas": total / total_spend,
        }
    contrib = pd.DataFrame(contributions, index=pd.Index(dates, name="date_week"), columns=channels)
    return SimulatedDataset(data=data, truth=truth, contributions=contrib, config=seed_config())


@dataclass(frozen=True)
class ChannelSpec:
    """How one simulated channel spends and works.

    Transform parameters act on spend divided by its largest value (the scale
    the model samples on), so they read like the model's posterior.

    Parameters
    ----------
    name : str
    adstock, saturation : str
        Registry names (see ``mediamix.transforms.ADSTOCKS`` / ``SATURATIONS``).
    adstock_params, saturation_params : dict, optional
        Parameter values by name; missing ones take the median of the transform's default prior.
    beta : float, default=1.0
        Contribution at full saturation, in target units.
    spend_scale : float, default=1000.0
        Typical weekly spend, in currency units.
    off_share : float, default=0.2
        Share of weeks without spend.
    l_max : int, optional
        This channel's adstock window; default: the data set's ``l_max``.
    """

    name: str
    adstock: str = "geometric"
    saturation: str = "logistic"
    adstock_params: dict[str, float] = field(default_factory=dict)
    saturation_params: dict[str, float] = field(default_factory=dict)
    beta: float = 1.0
    spend_scale: float = 1000.0
    off_share: float = 0.2
    l_max: int | None = None


def _transform_params(cls: Any, given: dict[str, float], kind: str, channel: str) -> dict[str, np.ndarray]:
    known = list(cls.default_priors)
    unknown = [k for k in given if k not in known]
    if unknown:
        raise ConfigError(
            f"Channel '{channel}': {kind} '{cls.name}' has no parameter '{unknown[0]}'."
            f"{did_you_mean(unknown[0], known)} Its parameters: {', '.join(known)}."
        )
    return {
        k: np.array([given[k] if k in given else float(prior.to_scipy().median())])
        for k, prior in cls.default_priors.items()
    }


def _registered(registry: dict[str, Any], name: str, kind: str) -> Any:
    if name not in registry:
        raise ConfigError(f"Unknown {kind} '{name}'.{did_you_mean(name, registry)} Expected one of: {', '.join(registry)}.")
    return registry[name]


def _require(name: str, value: Any, ok: bool, expected: str) -> None:
    if not ok:
        raise ConfigError(f"Simulation setting '{name}' must be {expected}. Got {value!r}.")


def _cadence(start: str, periods: int, freq: Any) -> Cadence:
    """The cadence of ``freq``'s dates: a ConfigError unless they are whole days, evenly spaced or
    calendar months apart (what :func:`mediamix.data.validate_data` accepts)."""
    expected = "a pandas frequency of evenly spaced dates such as \"7D\", \"D\", \"MS\" or \"ME\""
    try:
        dates = pd.date_range(start, periods=max(periods, 3), freq=freq)
        cadence = Cadence.of(dates)
    except (TypeError, ValueError, DataError):
        _require("freq", freq, False, expected)
    _require("freq", freq, list(cadence.range(dates[0], len(dates))) == list(dates), expected)
    return cadence


def _is_int(value: Any, low: int) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool) and value >= low


def _is_number(value: Any, low: float = -math.inf, *, strict: bool = False) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float | np.number) or not math.isfinite(value):
        return False
    return value > low if strict else value >= low


def _check_settings(n_weeks: Any, seed: Any, noise_sd: Any) -> None:
    """The settings every simulation shares: a clear ConfigError instead of NumPy's or pandas' traceback."""
    _require("n_weeks", n_weeks, _is_int(n_weeks, 2), "an integer >= 2")
    _require("seed", seed, _is_int(seed, 0), "an integer >= 0")
    _require("noise_sd", noise_sd, _is_number(noise_sd, 0.0), "a number >= 0")


def simulate(
    channels: list[ChannelSpec],
    *,
    n_weeks: int = 104,
    start: str = "2022-01-03",
    freq: str = "7D",
    l_max: int = 8,
    normalize: bool = True,
    saturation_first: bool = False,
    intercept: float = 2.0,
    trend: float = 0.5,
    seasonality: float = 0.5,
    noise_sd: float = 0.25,
    kpi_scale: float = 1000.0,
    seed: int = 0,
    form: str = "additive",
) -> SimulatedDataset:
    """A data set (weekly unless ``freq`` says otherwise) from known channels, for parameter-recovery checks.

    ``y = intercept + trend·t + seasonality·sin(2π·t_year) + Σ β·saturation(adstock(x / max x)) + noise``
    with ``t`` running from 0 to 1 over the data; with ``form = "multiplicative"``
    the same sum is ``log(y / kpi_scale)``, and the true contributions split the media's
    lift of the baseline by :func:`~mediamix.transforms.multiplicative.log_shares`,
    as the model's decomposition does.

    Parameters
    ----------
    channels : list of ChannelSpec
    n_weeks : int, default=104
        Number of rows (periods of ``freq``).
    start : str, default="2022-01-03"
        First date (the first date of ``freq`` on or after it).
    freq : str, default="7D"
        Spacing of the dates as a pandas frequency: ``"7D"`` weekly, ``"D"`` daily, ``"MS"``
        monthly on the 1st, ``"ME"`` on month ends.
    l_max : int, default=8
    normalize : bool, default=True
    saturation_first : bool, default=False
    intercept, trend, seasonality : float
        Baseline: level, total linear rise, and amplitude of a yearly sine.
    noise_sd : float, default=0.25
    kpi_scale : float, default=1000.0
        Multiplies the whole target (baseline, contributions, noise, ``beta``): the KPI's unit.
    seed : int, default=0
    form : {"additive", "multiplicative"}, default="additive"
        Multiplicative: ``beta``, ``intercept``, ``trend``, ``seasonality`` and
        ``noise_sd`` are on the log scale (``beta = 0.2`` lifts the KPI by up to ~22 %).

    Returns
    -------
    SimulatedDataset
        ``data`` (``date``, ``y``, one column per channel), ``truth`` (per channel:
        transform names and parameters, beta, spend, contribution, roas),
        ``contributions`` and a matching ``config`` (the first channel's
        transforms model-wide, ``[model.channels.NAME]`` for channels that differ).
    """
    if not channels:
        raise ConfigError("Give at least one channel to simulate.")
    _check_settings(n_weeks, seed, noise_sd)
    _require("l_max", l_max, _is_int(l_max, 1), "an integer >= 1")
    _require("kpi_scale", kpi_scale, _is_number(kpi_scale, 0.0, strict=True), "a number > 0")
    for name, value in (("intercept", intercept), ("trend", trend), ("seasonality", seasonality)):
        _require(name, value, _is_number(value), "a finite number")
    for name, value in (("normalize", normalize), ("saturation_first", saturation_first)):
        _require(name, value, isinstance(value, bool), "true or false")
    try:
        pd.Timestamp(start)
    except (TypeError, ValueError):
        _require("start", start, False, "a date such as \"2022-01-03\"")
    for spec in channels:
        where = f"channels.{spec.name}"
        _require(f"{where}.beta", spec.beta, _is_number(spec.beta), "a finite number")
        _require(f"{where}.spend_scale", spec.spend_scale, _is_number(spec.spend_scale, 0.0, strict=True),
                 "a number > 0")
        _require(f"{where}.off_share", spec.off_share, _is_number(spec.off_share) and 0 <= spec.off_share < 1,
                 "a share in [0, 1)")
        _require(f"{where}.l_max", spec.l_max, spec.l_max is None or _is_int(spec.l_max, 1), "an integer >= 1")
    names = [c.name for c in channels]
    if len(set(names)) != len(names):
        raise ConfigError(f"Channel names must be unique. Got {names}.")
    cadence = _cadence(start, n_weeks, freq)
    dates = cadence.range(pd.date_range(start, periods=1, freq=freq)[0], n_weeks)
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 1.0, n_weeks)
    year = ((dates - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=365.25)).to_numpy(dtype=float)
    if form not in ("additive", "multiplicative"):
        raise ConfigError(f"form must be 'additive' or 'multiplicative'. Got {form!r}.")
    multiplicative = form == "multiplicative"
    base = intercept + trend * t + seasonality * np.sin(2 * np.pi * year)
    baseline = kpi_scale * (np.exp(base) if multiplicative else base)
    lifts = {}  # channel -> β·effect per week (log-scale lift when multiplicative)

    data = {"date": dates}
    contributions = {}
    truth: dict[str, Any] = {"channels": {}, "intercept": kpi_scale * intercept, "sigma": kpi_scale * noise_sd}
    for spec in channels:
        raw = rng.gamma(2.0, 0.5, size=n_weeks) * (rng.uniform(size=n_weeks) >= spec.off_share)
        if not raw.any():
            raw[0] = 1.0
        x = (raw / raw.max())[:, None]
        adstock = _registered(ADSTOCKS, spec.adstock, "adstock")(l_max=spec.l_max or l_max, normalize=normalize)
        saturation = _registered(SATURATIONS, spec.saturation, "saturation")()
        a_params = _transform_params(type(adstock), spec.adstock_params, "adstock", spec.name)
        s_params = _transform_params(type(saturation), spec.saturation_params, "saturation", spec.name)
        if saturation_first:
            effect = adstock.apply_np(saturation.apply_np(x, **s_params), **a_params)
        else:
            effect = saturation.apply_np(adstock.apply_np(x, **a_params), **s_params)
        lifts[spec.name] = spec.beta * np.asarray(effect).reshape(n_weeks)
        spend = raw / raw.mean() * spec.spend_scale
        data[spec.name] = spend
        truth["channels"][spec.name] = {
            "adstock": spec.adstock,
            "saturation": spec.saturation,
            "l_max": spec.l_max or l_max,
            **{k: float(v[0]) for k, v in {**a_params, **s_params}.items()},
            "beta": spec.beta if multiplicative else kpi_scale * spec.beta,
            "spend": float(spend.sum()),
            "spend_series": spend,
        }
    lift = np.stack(list(lifts.values()), axis=-1)  # (week, channel)
    if multiplicative:  # channels share the lift of the baseline by their log-scale parts
        shares = log_shares(baseline, lift)
        y = baseline * np.exp(lift.sum(axis=-1) + rng.normal(0.0, noise_sd, size=n_weeks))
    else:
        shares = kpi_scale * lift
        y = baseline + shares.sum(axis=-1) + kpi_scale * rng.normal(0.0, noise_sd, size=n_weeks)
    for i, name in enumerate(lifts):
        contribution = shares[:, i]
        contributions[name] = contribution
        channel_truth = truth["channels"][name]
        spend = channel_truth.pop("spend_series")
        channel_truth.update(contribution=float(contribution.sum()), roas=float(contribution.sum() / spend.sum()))
    frame = pd.DataFrame({"date": dates, "y": y, **{k: v for k, v in data.items() if k != "date"}})
    config = {
        # Month ends mark the month that ends there (events are placed by it).
        "data": {"date": "date", "target": "y", "channels": names, "controls": [],
                 **({"date_marks": "end"} if cadence.month_end else {})},
        "model": {
            "adstock": channels[0].adstock,
            "saturation": channels[0].saturation,
            "saturation_first": saturation_first,
            "l_max": channels[0].l_max or l_max,
            "normalize_adstock": normalize,
            "yearly_seasonality": 1 if seasonality and max_fourier_order(YEAR_DAYS, cadence.mean_days) >= 1 else 0,
            "trend": "linear" if trend else "none",
            "form": form,
            **_channel_overrides(channels, l_max),
        },
        "fit": {"chains": 4, "draws": 1000, "tune": 750, "seed": 42},
    }
    return SimulatedDataset(
        data=frame,
        truth=truth,
        contributions=pd.DataFrame(contributions, index=pd.Index(dates, name="date")),
        config=config,
    )


def _channel_overrides(channels: list[ChannelSpec], l_max: int) -> dict[str, Any]:
    """``{"channels": {name: {...}}}`` for the channels whose transforms differ from the first's."""
    first = channels[0]
    overrides = {}
    for spec in channels[1:]:
        own = {k: v for k, v, default in (("adstock", spec.adstock, first.adstock),
                                           ("saturation", spec.saturation, first.saturation),
                                           ("l_max", spec.l_max or l_max, first.l_max or l_max)) if v != default}
        if own:
            overrides[spec.name] = own
    return {"channels": overrides} if overrides else {}


_SIMULATE_KEYS = ("n_weeks", "start", "freq", "l_max", "normalize", "saturation_first", "intercept", "trend",
                  "seasonality", "noise_sd", "kpi_scale", "seed", "form")
_CHANNEL_KEYS = ("adstock", "saturation", "adstock_params", "saturation_params", "beta", "spend_scale", "off_share",
                 "l_max")


def simulate_from_spec(spec: dict[str, Any], seed: int | None = None) -> SimulatedDataset:
    """:func:`simulate` from a TOML-shaped spec: top-level options and ``[channels.NAME]`` tables.

    Example spec::

        n_weeks = 104
        noise_sd = 0.2
        [channels.tv]
        adstock = "delayed"
        adstock_params = { alpha = 0.6, theta = 2.0 }
        saturation = "hill"
        beta = 2.0
        [channels.search]
        beta = 1.0
    """
    for key in spec:
        if key != "channels" and key not in _SIMULATE_KEYS:
            raise ConfigError(
                f"Unknown simulation key '{key}'.{did_you_mean(key, [*_SIMULATE_KEYS, 'channels'])}"
                f" Valid keys: channels, {', '.join(_SIMULATE_KEYS)}."
            )
    tables = spec.get("channels")
    if not isinstance(tables, dict) or not tables:
        raise ConfigError("The simulation spec needs [channels.NAME] tables, one per channel.")
    channels = []
    for name, table in tables.items():
        if not isinstance(table, dict):
            raise ConfigError(f"channels.{name} must be a table.")
        for key in table:
            if key not in _CHANNEL_KEYS:
                raise ConfigError(
                    f"Unknown key 'channels.{name}.{key}'.{did_you_mean(key, _CHANNEL_KEYS)}"
                    f" Valid keys: {', '.join(_CHANNEL_KEYS)}."
                )
        channels.append(ChannelSpec(name=name, **table))
    options = {k: v for k, v in spec.items() if k != "channels"}
    if seed is not None:
        options["seed"] = seed
    return simulate(channels, **options)
