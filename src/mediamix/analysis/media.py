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
from mediamix.transforms import ADSTOCKS, SATURATIONS

__all__ = ["MediaResponse", "sample_major", "thin_draws"]


def sample_major(params: xr.Dataset, name: str, *core: str) -> np.ndarray:
    """``params[name]`` as an array (sample, *core), samples ordered chain-major."""
    da = params[name].transpose("chain", "draw", *core)
    return da.to_numpy().reshape(-1, *da.shape[2:])


@dataclass(frozen=True)
class MediaResponse:
    """Spend -> contribution for every draw, in the user's units.

    Attributes
    ----------
    adstock, saturation : transform objects
    beta : ndarray, dims (sample, channel)
        On the scaled target.
    adstock_params, saturation_params : dict of str to ndarray (sample, channel)
    channel_scales : ndarray, dims (channel,)
        Max-abs scale of each channel's spend.
    target_scale : float
    channels : tuple of str
    """

    adstock: Any
    saturation: Any
    beta: np.ndarray
    adstock_params: dict[str, np.ndarray]
    saturation_params: dict[str, np.ndarray]
    channel_scales: np.ndarray
    target_scale: float
    channels: tuple[str, ...]
    saturation_first: bool = False

    @classmethod
    def from_posterior(
        cls, params: xr.Dataset, config: MMMConfig, channel_scales: np.ndarray, target_scale: float
    ) -> MediaResponse:
        """Collect the media parameters of a ``posterior`` (or ``prior``) group."""
        m = config.model
        adstock = ADSTOCKS[m.adstock](l_max=m.l_max, normalize=m.normalize_adstock)
        saturation = SATURATIONS[m.saturation]()
        return cls(
            adstock=adstock,
            saturation=saturation,
            beta=sample_major(params, "beta", "channel"),
            adstock_params={k: sample_major(params, k, "channel") for k in adstock.default_priors},
            saturation_params={k: sample_major(params, k, "channel") for k in saturation.default_priors},
            channel_scales=np.asarray(channel_scales, dtype=float),
            target_scale=float(target_scale),
            channels=tuple(config.data.channels),
            saturation_first=m.saturation_first,
        )

    @property
    def n_samples(self) -> int:
        """Number of posterior draws (chains × draws)."""
        return self.beta.shape[0]

    def adstocked(self, spend: np.ndarray) -> np.ndarray:
        """Adstock of scaled spend, dims (sample, date, channel); ``spend`` is (date, channel) in user units."""
        return self.adstock.apply_np(np.asarray(spend, dtype=float) / self.channel_scales, **self.adstock_params)

    def effect(self, spend: np.ndarray) -> np.ndarray:
        """``saturation(adstock(x))`` (or ``adstock(saturation(x))``) of scaled spend, dims (sample, date, channel)."""
        if self.saturation_first:
            x = np.asarray(spend, dtype=float) / self.channel_scales
            return self.adstock.apply_np(self.saturation.apply_np(x, **self.saturation_params), **self.adstock_params)
        return self.saturation.apply_np(self.adstocked(spend), **self.saturation_params)

    def contribution(self, spend: np.ndarray) -> np.ndarray:
        """Contribution of each channel per date and draw, in target units.

        Parameters
        ----------
        spend : ndarray, dims (date, channel)
            Spend in the user's units.

        Returns
        -------
        ndarray, dims (sample, date, channel)
        """
        return self.effect(spend) * self.beta[:, None, :] * self.target_scale

    def contribution_gradient(self, spend: np.ndarray, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Total (optionally date-weighted) contribution per draw and its gradient w.r.t. spend.

        ``total_s = Σ_t Σ_c weights_t · contribution_s[t, c]``. Adstock is linear,
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
        w = np.ones(spend.shape[0]) if weights is None else np.asarray(weights, dtype=float)
        scale = self.beta[:, None, :] * self.target_scale * w[None, :, None]

        def adstock_transpose(upstream: np.ndarray) -> np.ndarray:
            return self.adstock.apply_np(upstream[:, ::-1, :], **self.adstock_params)[:, ::-1, :]

        if self.saturation_first:
            x = np.asarray(spend, dtype=float) / self.channel_scales
            saturated = self.saturation.apply_np(x, **self.saturation_params)
            effect = self.adstock.apply_np(saturated, **self.adstock_params)
            slope = self.saturation.derivative_np(x, **self.saturation_params)
            gradient = adstock_transpose(np.broadcast_to(scale, effect.shape)) * slope
        else:
            adstocked = self.adstocked(spend)
            effect = self.saturation.apply_np(adstocked, **self.saturation_params)
            gradient = adstock_transpose(self.saturation.derivative_np(adstocked, **self.saturation_params) * scale)
        total = (effect * scale).sum(axis=(1, 2))
        return total, gradient / self.channel_scales

    def steady_state(self, weekly: np.ndarray) -> np.ndarray:
        """Effect per period when the same scaled spend is held every period, dims (sample, channel, point).

        Parameters
        ----------
        weekly : ndarray, dims (channel, point)
            Spend per period in user units.
        """
        level = weekly / self.channel_scales[:, None]  # (channel, point)
        gain = self.steady_state_gain()[:, :, None]  # (sample, channel, 1)

        def saturate(x: np.ndarray) -> np.ndarray:  # x (..., channel, point): points act as dates
            return np.swapaxes(self.saturation.apply_np(np.swapaxes(x, -1, -2), **self.saturation_params), -1, -2)

        if self.saturation_first:
            return saturate(np.broadcast_to(level, (self.n_samples, *level.shape))) * gain
        return saturate(level[None, :, :] * gain)

    def steady_state_gain(self) -> np.ndarray:
        """Adstocked level of one unit of scaled spend held every period, dims (sample, channel)."""
        ones = np.ones((self.adstock.l_max, len(self.channels)))
        return self.adstock.apply_np(ones, **self.adstock_params)[:, -1, :]


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
