"""The design: a validated table turned into the scaled arrays the model reads.

Sampling works on max-abs scaled data (target and each channel/control divided
by its largest absolute training value) so one set of default priors fits any
currency or KPI. :class:`Scales` are learned from the training table once and
reused for new data, so results convert back to the user's units exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mediamix.config.schema import MMMConfig
from mediamix.data.cadence import Cadence
from mediamix.errors import ConfigError, DataError
from mediamix.transforms import (
    SEASONAL_PERIODS,
    YEAR_DAYS,
    changepoint_basis,
    changepoint_locations,
    event_dummy,
    fourier_features,
    fourier_labels,
    linear_trend,
    max_fourier_order,
)

__all__ = ["Scales", "Design", "make_design", "model_coords"]


@dataclass(frozen=True)
class Scales:
    """Max-abs scales and the time origin learned from the training table.

    Attributes
    ----------
    target : float
        Largest absolute target value.
    channels : ndarray, dims (channel,)
    controls : ndarray, dims (control,)
        Of the data's control columns only (event dummies are 0/1 already);
        1.0 for a control that is zero throughout.
    start : Timestamp
        First training date (trend origin).
    span_days : float
        Days from the first to the last training date (trend is 1 there).
    cadence : Cadence
        The spacing of consecutive dates (7 days for weekly data, calendar months for monthly).
    """

    target: float
    channels: np.ndarray
    controls: np.ndarray
    start: pd.Timestamp
    span_days: float
    cadence: Cadence

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, config: MMMConfig) -> Scales:
        """Learn scales from a validated training table."""
        d = config.data
        target = float(np.abs(frame[d.target].to_numpy()).max())
        if target == 0.0:
            raise DataError(f"Column '{d.target}' (the target) is zero in every row; there is nothing to explain.")
        channels = np.abs(frame[list(d.channels)].to_numpy(dtype=float)).max(axis=0)
        controls = np.abs(frame[list(d.controls)].to_numpy(dtype=float)).max(axis=0) if d.controls else np.ones(0)
        controls = np.where(controls > 0, controls, 1.0)
        dates = pd.DatetimeIndex(frame[d.date])
        span = (dates[-1] - dates[0]) / pd.Timedelta(days=1)
        return cls(
            target=target,
            channels=channels,
            controls=controls,
            start=dates[0],
            span_days=float(span),
            cadence=Cadence.of(dates),
        )


@dataclass(frozen=True)
class Design:
    """Model-ready arrays for a span of dates.

    The first ``n_history`` rows are earlier (training) weeks prepended only so
    that their spend carries over into this span; results drop them.

    Attributes
    ----------
    dates : DatetimeIndex, dims (date,)
    channels : ndarray, dims (date, channel)
        Scaled spend.
    spend : ndarray, dims (date, channel)
        Spend in the user's units.
    controls : ndarray, dims (date, control)
        Scaled control columns, then one 0/1 column per ``[[model.events]]`` entry.
    fourier : ndarray, dims (date, fourier_mode)
    trend : ndarray or None, dims (date,)
    target : ndarray or None, dims (date,)
        Scaled target (its logarithm for ``form = "multiplicative"``), ``None``
        when the table has none (prediction).
    channel_names, control_names, fourier_names : tuple of str
    scales : Scales
    n_history : int
    changepoints : ndarray or None, dims (date, changepoint)
        Hinge columns ``(t − s_j)₊`` of the piecewise trend (``trend = "piecewise"``).
    changepoint_names : tuple of str
        Each changepoint's date (``YYYY-MM-DD``), the ``changepoint`` coordinate.
    seasonal : dict of str to ndarray, dims (date, fourier_mode_<period>)
        Fourier blocks of the extra cycles (``"weekly"``, ``"monthly"``) whose order is > 0;
        columns ordered as :func:`~mediamix.transforms.fourier_labels`.
    """

    dates: pd.DatetimeIndex
    channels: np.ndarray
    spend: np.ndarray
    controls: np.ndarray
    fourier: np.ndarray
    trend: np.ndarray | None
    target: np.ndarray | None
    channel_names: tuple[str, ...]
    control_names: tuple[str, ...]
    fourier_names: tuple[str, ...]
    scales: Scales
    n_history: int = 0
    changepoints: np.ndarray | None = None
    changepoint_names: tuple[str, ...] = ()
    seasonal: dict[str, np.ndarray] = field(default_factory=dict)


def make_design(
    frame: pd.DataFrame,
    config: MMMConfig,
    scales: Scales,
    history: pd.DataFrame | None = None,
) -> Design:
    """Build the design for a validated table.

    Parameters
    ----------
    frame : DataFrame
        Output of :func:`mediamix.data.validate_data` for ``config``.
    config : MMMConfig
    scales : Scales
        Training scales (:meth:`Scales.from_frame` on the training table).
    history : DataFrame, optional
        Earlier weeks whose spend carries over into ``frame`` (the last
        ``l_max - 1`` rows of the longest window are used). Only channel columns are read.
    """
    d, m = config.data, config.model
    n_history = 0
    channel_frame = frame[list(d.channels)]
    l_max = config.max_l_max
    if history is not None and l_max > 1 and len(history):
        tail = history[list(d.channels)].iloc[-(l_max - 1):]
        n_history = len(tail)
        channel_frame = pd.concat([tail, channel_frame], ignore_index=True)
        dates = pd.DatetimeIndex(history[d.date].iloc[-n_history:]).append(pd.DatetimeIndex(frame[d.date]))
    else:
        dates = pd.DatetimeIndex(frame[d.date])
    spend = channel_frame.to_numpy(dtype=float)
    controls = frame[list(d.controls)].to_numpy(dtype=float) / scales.controls if d.controls else np.zeros((len(frame), 0))
    controls = np.hstack([controls, _event_columns(frame, config, scales)])
    if n_history:
        controls = np.vstack([np.zeros((n_history, controls.shape[1])), controls])
    target = None
    if d.target in frame.columns:
        target = frame[d.target].to_numpy(dtype=float) / scales.target
        if m.form == "multiplicative":  # the model is additive on the log scale; y > 0 was validated
            target = np.log(target)
        if n_history:
            target = np.concatenate([np.full(n_history, np.nan), target])
    trend = linear_trend(dates, scales.start, scales.span_days) if m.trend != "none" else None
    changepoints, changepoint_names = None, ()
    if m.trend == "piecewise":
        changepoints, changepoint_names = _changepoints(trend, m.n_changepoints, scales)
    return Design(
        dates=pd.DatetimeIndex(dates, name="date"),
        channels=spend / scales.channels,
        spend=spend,
        controls=controls,
        fourier=fourier_features(dates, m.yearly_seasonality),
        trend=trend,
        target=target,
        channel_names=tuple(d.channels),
        control_names=config.control_names,
        fourier_names=tuple(fourier_labels(m.yearly_seasonality)),
        scales=scales,
        n_history=n_history,
        changepoints=changepoints,
        changepoint_names=changepoint_names,
        seasonal=_seasonal_blocks(dates, config, scales),
    )


def _event_columns(frame: pd.DataFrame, config: MMMConfig, scales: Scales) -> np.ndarray:
    """One 0/1 column per ``[[model.events]]`` entry, dims (date, event), for ``frame``'s dates."""
    events = config.model.events
    marks = config.data.date_marks
    dates = scales.cadence.period_starts(pd.DatetimeIndex(frame[config.data.date]), marks)
    columns = [event_dummy(dates, event.dates, event.window, scales.cadence.of_period_starts(marks)) for event in events]
    return np.column_stack(columns) if columns else np.zeros((len(frame), 0))


def _changepoints(t: np.ndarray, n_changepoints: int, scales: Scales) -> tuple[np.ndarray, tuple[str, ...]]:
    """The piecewise trend's hinge basis (date, changepoint) and each changepoint's date label.

    Changepoints are fixed by the *training* span (``scales``), so new dates after
    it keep the last slope.
    """
    locations = changepoint_locations(n_changepoints)
    at = scales.start + pd.to_timedelta(locations * scales.span_days, unit="D")
    names = tuple(at.strftime("%Y-%m-%d"))
    if len(set(names)) < len(names):  # more changepoints than days: label to the minute
        names = tuple(at.strftime("%Y-%m-%d %H:%M"))
    return changepoint_basis(t, locations), names


def _check_fourier_order(setting: str, order: int, period_days: float, cadence: Cadence) -> None:
    """ConfigError if ``[model] setting = order`` has harmonics faster than the data can show."""
    limit = max_fourier_order(period_days, cadence.mean_days)
    if order <= limit:
        return
    fix = f"Use at most {limit}" if limit else "Set it to 0"
    two_rows = 2 * cadence.mean_days
    raise ConfigError(
        f"[model] {setting} = {order} is too fine for data {cadence.spacing}: harmonic {order} of the "
        f"{period_days:g}-day cycle repeats every {period_days / order:.1f} days, and a cycle no longer than "
        f"two rows ({two_rows:.{0 if two_rows == round(two_rows) else 1}f} days) cannot be told apart from a "
        f"slower, spurious cycle (aliasing). {fix}."
    )


def _seasonal_blocks(dates: pd.DatetimeIndex, config: MMMConfig, scales: Scales) -> dict[str, np.ndarray]:
    """Fourier blocks (date, fourier_mode_<period>) of the weekly and monthly cycles switched on.

    Raises
    ------
    ConfigError
        If weekly seasonality is asked of data a week or more apart: every date
        then sits at the same phase of the week and the cycle cannot be seen.
    """
    m = config.model
    orders = {"weekly": m.weekly_seasonality, "monthly": m.monthly_seasonality}
    cadence = scales.cadence
    if orders["weekly"] and cadence.mean_days >= 7:
        raise ConfigError(
            f"[model] weekly_seasonality = {orders['weekly']} needs data less than 7 days apart; these dates are "
            f"{cadence.spacing}, so a weekly cycle cannot be estimated (weekly data put every row on the same "
            "day of the week). Set weekly_seasonality = 0."
        )
    _check_fourier_order("yearly_seasonality", m.yearly_seasonality, YEAR_DAYS, cadence)
    for period, order in orders.items():
        _check_fourier_order(f"{period}_seasonality", order, SEASONAL_PERIODS[period], cadence)
    return {
        period: fourier_features(dates, order, SEASONAL_PERIODS[period])
        for period, order in orders.items() if order
    }


def model_coords(config: MMMConfig, design: Design) -> dict[str, Any]:
    """The model's coordinates, by dim: the labels its parameters and the posterior are indexed by.

    ``date`` and ``channel`` always; ``control``, ``fourier_mode``, ``fourier_mode_<period>`` and
    ``changepoint`` where the design has them; and, with per-channel transforms, ``<param>_channel``
    for a transform parameter that only some channels have.
    """
    coords: dict[str, Any] = {"date": design.dates, "channel": list(design.channel_names)}
    if design.control_names:
        coords["control"] = list(design.control_names)
    if design.fourier_names:
        coords["fourier_mode"] = list(design.fourier_names)
    for period, block in design.seasonal.items():
        coords[f"fourier_mode_{period}"] = fourier_labels(block.shape[1] // 2)
    if design.changepoint_names:
        coords["changepoint"] = list(design.changepoint_names)
    for group in config.transform_groups():  # per-channel transforms: each parameter on the channels that have it
        for name in group.parameters:
            dim = config.prior_dim(name)
            if dim not in coords:
                coords[dim] = list(config.parameter_channels(name))
    return coords

