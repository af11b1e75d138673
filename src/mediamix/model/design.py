"""The design: a validated table turned into the scaled arrays the model reads.

Sampling works on max-abs scaled data (target and each channel/control divided
by its largest absolute training value) so one set of default priors fits any
currency or KPI. :class:`Scales` are learned from the training table once and
reused for new data, so results convert back to the user's units exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mediamix.config.schema import MMMConfig
from mediamix.data.validate import infer_step_days
from mediamix.errors import DataError
from mediamix.transforms import fourier_features, fourier_labels, linear_trend

__all__ = ["Scales", "Design", "make_design"]


@dataclass(frozen=True)
class Scales:
    """Max-abs scales and the time origin learned from the training table.

    Attributes
    ----------
    target : float
        Largest absolute target value.
    channels : ndarray, dims (channel,)
    controls : ndarray, dims (control,)
        1.0 for a control that is zero throughout.
    start : Timestamp
        First training date (trend origin).
    span_days : float
        Days from the first to the last training date (trend is 1 there).
    step_days : int
        Days between consecutive dates (7 for weekly data).
    """

    target: float
    channels: np.ndarray
    controls: np.ndarray
    start: pd.Timestamp
    span_days: float
    step_days: int

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
            step_days=infer_step_days(dates),
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
    fourier : ndarray, dims (date, fourier_mode)
    trend : ndarray or None, dims (date,)
    target : ndarray or None, dims (date,)
        Scaled target, ``None`` when the table has none (prediction).
    channel_names, control_names, fourier_names : tuple of str
    scales : Scales
    n_history : int
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
        ``l_max - 1`` rows are used). Only channel columns are read.
    """
    d, m = config.data, config.model
    n_history = 0
    channel_frame = frame[list(d.channels)]
    if history is not None and m.l_max > 1 and len(history):
        tail = history[list(d.channels)].iloc[-(m.l_max - 1):]
        n_history = len(tail)
        channel_frame = pd.concat([tail, channel_frame], ignore_index=True)
        dates = pd.DatetimeIndex(history[d.date].iloc[-n_history:]).append(pd.DatetimeIndex(frame[d.date]))
    else:
        dates = pd.DatetimeIndex(frame[d.date])
    spend = channel_frame.to_numpy(dtype=float)
    controls = frame[list(d.controls)].to_numpy(dtype=float) / scales.controls if d.controls else np.zeros((len(frame), 0))
    if n_history:
        controls = np.vstack([np.zeros((n_history, controls.shape[1])), controls])
    target = None
    if d.target in frame.columns:
        target = frame[d.target].to_numpy(dtype=float) / scales.target
        if n_history:
            target = np.concatenate([np.full(n_history, np.nan), target])
    return Design(
        dates=pd.DatetimeIndex(dates, name="date"),
        channels=spend / scales.channels,
        spend=spend,
        controls=controls,
        fourier=fourier_features(dates, m.yearly_seasonality),
        trend=linear_trend(dates, scales.start, scales.span_days) if m.trend == "linear" else None,
        target=target,
        channel_names=tuple(d.channels),
        control_names=tuple(d.controls),
        fourier_names=tuple(fourier_labels(m.yearly_seasonality)),
        scales=scales,
        n_history=n_history,
    )
