"""The media part of the model as NumPy arrays over posterior draws.

:class:`MediaResponse` holds, for every draw, each channel's coefficient and
transform parameters, and maps spend to contribution (``β · saturation(adstock(x))``)
for the whole posterior at once. Decomposition, response curves, marginal ROAS
and the budget optimizer all go through it, so the media math lives in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from mediamix.config.schema import MMMConfig
from mediamix.transforms.multiplicative import log_shares

__all__ = ["MediaGroup", "MediaResponse", "sample_major", "thin_draws"]


def sample_major(params: xr.Dataset, name: str, *core: str) -> np.ndarray:
    """``params[name]`` as an array (sample, *core), samples ordered chain-major."""
    da = params[name].transpose("chain", "draw", *core)
    return da.to_numpy().reshape(-1, *da.shape[2:])


@dataclass(frozen=True)
class MediaGroup:
    """Channels that share one adstock and one saturation, with their parameters per draw.

    Attributes
    ----------
    adstock, saturation : transform objects
    index : ndarray of int, dims (group_channel,)
        Positions of the group's channels among all channels.
    adstock_params, saturation_params : dict of str to ndarray (sample, group_channel)
    """

    adstock: Any
    saturation: Any
    index: np.ndarray
    adstock_params: dict[str, np.ndarray]
    saturation_params: dict[str, np.ndarray]

    def adstocked(self, x: np.ndarray) -> np.ndarray:
        """Adstock of scaled spend ``x`` (..., date, group_channel)."""
        return self.adstock.apply_np(x, **self.adstock_params)

    def saturated(self, x: np.ndarray) -> np.ndarray:
        """Saturation of ``x`` (..., date, group_channel)."""
        return self.saturation.apply_np(x, **self.saturation_params)

    def effect(self, x: np.ndarray, saturation_first: bool) -> np.ndarray:
        """``saturation(adstock(x))`` or ``adstock(saturation(x))``, dims (sample, date, group_channel)."""
        return self.adstocked(self.saturated(x)) if saturation_first else self.saturated(self.adstocked(x))

    def effect_and_gradient(
        self, x: np.ndarray, upstream: np.ndarray, saturation_first: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        """The effect and ``Σ upstream · d effect / d x``, both dims (sample, date, group_channel).

        Adstock is linear, so its transpose is the same adstock run backwards in time.
        """
        def transpose(values: np.ndarray) -> np.ndarray:
            return self.adstocked(values[:, ::-1, :])[:, ::-1, :]

        if saturation_first:
            effect = self.adstocked(self.saturated(x))
            slope = self.saturation.derivative_np(x, **self.saturation_params)
            return effect, transpose(np.broadcast_to(upstream, effect.shape)) * slope
        adstocked = self.adstocked(x)
        effect = self.saturated(adstocked)
        return effect, transpose(self.saturation.derivative_np(adstocked, **self.saturation_params) * upstream)

    def steady_state_gain(self) -> np.ndarray:
        """Adstocked level of one unit held every period, dims (sample, group_channel)."""
        return self.adstocked(np.ones((self.adstock.l_max, len(self.index))))[:, -1, :]

    def lag_weights(self) -> np.ndarray:
        """Weight of a one-period pulse at each lag, dims (sample, lag, group_channel); sums to 1 when normalized."""
        pulse = np.zeros((self.adstock.l_max, len(self.index)))
        pulse[0] = 1.0
        return self.adstocked(pulse)


@dataclass(frozen=True)
class MediaResponse:
    """Spend -> contribution for every draw, in the user's units.

    Channels may use different transforms (``[model.channels.NAME]``): each
    :class:`MediaGroup` maps its own columns, and the results are put back in
    channel order.

    Attributes
    ----------
    groups : tuple of MediaGroup
        Together they cover every channel once.
    beta : ndarray, dims (sample, channel)
        On the scaled target.
    channel_scales : ndarray, dims (channel,)
        Max-abs scale of each channel's spend.
    target_scale : float
    channels : tuple of str
    saturation_first : bool
    multiplicative : bool
        ``form = "multiplicative"``: ``β·effect`` is a log-scale lift of the baseline,
        ``baseline · (exp(Σ_c β_c·effect_c) − 1)`` in all, split among channels by
        :func:`~mediamix.transforms.multiplicative.log_shares`.
    baseline : ndarray or None, dims (sample,)
        Multiplicative only: the baseline KPI per period that plans (curves, the
        optimizer) lift, in target units.
    """

    groups: tuple[MediaGroup, ...]
    beta: np.ndarray
    channel_scales: np.ndarray
    target_scale: float
    channels: tuple[str, ...]
    saturation_first: bool = False
    multiplicative: bool = False
    baseline: np.ndarray | None = None

    @classmethod
    def from_arrays(
        cls,
        adstock: Any,
        saturation: Any,
        beta: np.ndarray,
        adstock_params: dict[str, np.ndarray],
        saturation_params: dict[str, np.ndarray],
        channel_scales: np.ndarray,
        target_scale: float,
        channels: tuple[str, ...],
        saturation_first: bool = False,
    ) -> MediaResponse:
        """One adstock and one saturation for every channel, parameters dims (sample, channel)."""
        group = MediaGroup(adstock, saturation, np.arange(len(channels)), adstock_params, saturation_params)
        return cls((group,), beta, np.asarray(channel_scales, dtype=float), float(target_scale), tuple(channels),
                   saturation_first)

    @classmethod
    def from_posterior(
        cls, params: xr.Dataset, config: MMMConfig, channel_scales: np.ndarray, target_scale: float,
        baseline: np.ndarray | None = None,
    ) -> MediaResponse:
        """Collect the media parameters of a ``posterior`` (or ``prior``) group.

        ``baseline`` (sample,) is the level a multiplicative model's plans lift.
        """
        channels = list(config.data.channels)
        groups = []
        for spec in config.transform_groups():
            adstock, saturation = spec.transforms(config.model.normalize_adstock)

            def values(name: str, members: tuple[str, ...] = spec.channels) -> np.ndarray:
                dim = config.prior_dim(name) or "channel"
                return sample_major(params.sel({dim: list(members)}), name, dim)

            groups.append(MediaGroup(
                adstock=adstock,
                saturation=saturation,
                index=np.array([channels.index(c) for c in spec.channels]),
                adstock_params={k: values(k) for k in adstock.default_priors},
                saturation_params={k: values(k) for k in saturation.default_priors},
            ))
        return cls(
            groups=tuple(groups),
            beta=sample_major(params, "beta", "channel"),
            channel_scales=np.asarray(channel_scales, dtype=float),
            target_scale=float(target_scale),
            channels=tuple(channels),
            saturation_first=config.model.saturation_first,
            multiplicative=config.model.form == "multiplicative",
            baseline=baseline,
        )

    @property
    def n_samples(self) -> int:
        """Number of posterior draws (chains × draws)."""
        return self.beta.shape[0]

    @property
    def l_max(self) -> int:
        """The longest adstock window of any channel."""
        return max(g.adstock.l_max for g in self.groups)

    def _scaled(self, spend: np.ndarray) -> np.ndarray:
        return np.asarray(spend, dtype=float) / self.channel_scales

    def _by_group(self, shape: tuple[int, ...], part: Any) -> np.ndarray:
        """Run ``part(group)`` -> (..., group_channel) for every group into one (..., channel) array."""
        out = np.empty((*shape, len(self.channels)))
        for group in self.groups:
            out[..., group.index] = part(group)
        return out

    def adstocked(self, spend: np.ndarray) -> np.ndarray:
        """Adstock of scaled spend, dims (sample, date, channel); ``spend`` is (date, channel) in user units."""
        x = self._scaled(spend)
        return self._by_group((self.n_samples, x.shape[-2]), lambda g: g.adstocked(x[..., g.index]))

    def effect(self, spend: np.ndarray) -> np.ndarray:
        """``saturation(adstock(x))`` (or ``adstock(saturation(x))``) of scaled spend, dims (sample, date, channel)."""
        x = self._scaled(spend)
        return self._by_group((self.n_samples, x.shape[-2]),
                              lambda g: g.effect(x[..., g.index], self.saturation_first))

    def contribution(self, spend: np.ndarray, baseline: np.ndarray | None = None) -> np.ndarray:
        """Contribution of each channel per date and draw, in target units.

        Parameters
        ----------
        spend : ndarray, dims (date, channel)
            Spend in the user's units.
        baseline : ndarray, dims (sample, date), optional
            Multiplicative only: the baseline each date's media lift (default
            :attr:`baseline` on every date).

        Returns
        -------
        ndarray, dims (sample, date, channel)
        """
        if not self.multiplicative:
            return self.effect(spend) * self.beta[:, None, :] * self.target_scale
        lift = self.effect(spend) * self.beta[:, None, :]
        return log_shares(self._level(baseline, lift.shape[1]), lift)

    def _level(self, baseline: np.ndarray | None, n_dates: int) -> np.ndarray:
        """The baseline per (sample, date) that a multiplicative model's media lift."""
        if baseline is None:
            if self.baseline is None:
                raise ValueError("A multiplicative MediaResponse needs a baseline (per draw, or per draw and date).")
            baseline = self.baseline[:, None]
        return np.broadcast_to(np.asarray(baseline, dtype=float), (self.n_samples, n_dates))

    def contribution_gradient(self, spend: np.ndarray, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Total (optionally date-weighted) contribution per draw and its gradient w.r.t. spend.

        ``total_s = Σ_t Σ_c weights_t · contribution_s[t, c]`` (for a multiplicative
        model ``Σ_t weights_t · B_s · (exp(Σ_c β_c·effect_c,t) − 1)``, the same sum,
        with ``B`` = :attr:`baseline`). Adstock is linear,
        so the chain rule's transpose of it is the same adstock run backwards in
        time; no automatic differentiation is needed.

        Parameters
        ----------
        spend : ndarray, dims (date, channel), user units
        weights : ndarray, dims (date,), optional
            Per-date weights (e.g. discounting, or 0 for dates outside the window).

        Returns
        -------
        total : ndarray, dims (sample,)
        gradient : ndarray, dims (sample, date, channel)
            d total / d spend[date, channel].
        """
        x = self._scaled(spend)
        w = np.ones(x.shape[0]) if weights is None else np.asarray(weights, dtype=float)
        gradient = np.empty((self.n_samples, *x.shape))
        if self.multiplicative:  # total = Σ_t w_t·B·(exp(E_t) − 1), E_t = Σ_c β_c·effect_c,t
            lift = self.effect(spend) * self.beta[:, None, :]
            level = self._level(None, x.shape[0]) * w[None, :]
            growth = np.exp(lift.sum(axis=-1))
            upstream = (level * growth)[:, :, None] * self.beta[:, None, :]  # d total / d effect
            for g in self.groups:
                gradient[..., g.index] = g.effect_and_gradient(x[:, g.index], upstream[..., g.index],
                                                               self.saturation_first)[1]
            return (level * (growth - 1.0)).sum(axis=1), gradient / self.channel_scales
        scale = self.beta[:, None, :] * self.target_scale * w[None, :, None]
        total = np.zeros(self.n_samples)
        for g in self.groups:
            upstream = scale[..., g.index]
            effect, gradient[..., g.index] = g.effect_and_gradient(x[:, g.index], upstream, self.saturation_first)
            total += (effect * upstream).sum(axis=(1, 2))
        return total, gradient / self.channel_scales

    def steady_state(self, weekly: np.ndarray) -> np.ndarray:
        """Effect per period when the same scaled spend is held every period, dims (sample, channel, point).

        Parameters
        ----------
        weekly : ndarray, dims (channel, point)
            Spend per period in user units.
        """
        level = weekly / self.channel_scales[:, None]  # (channel, point)
        out = np.empty((self.n_samples, *level.shape))
        for g in self.groups:
            gain = g.steady_state_gain()[:, :, None]  # (sample, group_channel, 1)

            def saturate(x: np.ndarray, g: MediaGroup = g) -> np.ndarray:  # (..., channel, point): points act as dates
                return np.swapaxes(g.saturated(np.swapaxes(x, -1, -2)), -1, -2)

            lv = level[g.index]
            if self.saturation_first:
                out[:, g.index] = saturate(np.broadcast_to(lv, (self.n_samples, *lv.shape))) * gain
            else:
                out[:, g.index] = saturate(lv[None, :, :] * gain)
        return out

    def steady_state_contribution(self, weekly: np.ndarray) -> np.ndarray:
        """Contribution per period of each channel alone, its spend held every period, dims (sample, channel, point).

        Additive: ``β · steady_state · target_scale``; multiplicative: the lift of
        :attr:`baseline` by that channel alone, ``B · (exp(β · steady_state) − 1)``.

        Parameters
        ----------
        weekly : ndarray, dims (channel, point)
            Spend per period in user units.
        """
        effect = self.steady_state(weekly) * self.beta[:, :, None]
        if not self.multiplicative:
            return effect * self.target_scale
        return self._level(None, 1)[:, :, None] * np.expm1(effect)

    def steady_state_gain(self) -> np.ndarray:
        """Adstocked level of one unit of scaled spend held every period, dims (sample, channel)."""
        return self._by_group((self.n_samples,), lambda g: g.steady_state_gain())

    def lag_weights(self) -> np.ndarray:
        """Weight of a one-period pulse at each lag, dims (sample, lag, channel), lag < :attr:`l_max`
        (sums to 1 over the lags when the adstock is normalized).

        Lags beyond a channel's own window are zero.
        """
        out = np.zeros((self.n_samples, self.l_max, len(self.channels)))
        for g in self.groups:
            out[:, : g.adstock.l_max, g.index] = g.lag_weights()
        return out


def thin_draws(params: xr.Dataset, max_draws: int | None) -> xr.Dataset:
    """At most ``max_draws`` evenly spaced draws, as one chain (for fast optimization)."""
    stacked = params.stack(sample=("chain", "draw"))
    n = stacked.sizes["sample"]
    if max_draws is None or n <= max_draws:
        return params
    keep = np.linspace(0, n - 1, max_draws).round().astype(int)
    picked = stacked.isel(sample=keep).drop_vars(["sample", "chain", "draw"])
    picked = picked.rename({"sample": "draw"}).assign_coords(draw=np.arange(max_draws)).expand_dims(chain=[0])
    return picked.transpose("chain", "draw", ...)
