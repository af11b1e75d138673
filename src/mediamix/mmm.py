"""The :class:`MMM` facade: configure, fit, attribute, predict, save.

``MMM`` holds state and delegates: validation to :mod:`mediamix.data`, the model
to :mod:`mediamix.model`, sampling to :mod:`mediamix.inference`, every number
it reports to the pure functions of :mod:`mediamix.analysis`, and files to
:mod:`mediamix.output`.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import os
import time
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from mediamix import analysis, output
from mediamix._version import __version__
from mediamix.config import MMMConfig, dump_config, load_config, parse_config
from mediamix.config.schema import FitMethod, MassMatrix, SamplerName
from mediamix.data import read_table, validate_data
from mediamix.data.cadence import Cadence
from mediamix.errors import (
    ConfigError,
    ConvergenceWarning,
    DataError,
    DataWarning,
    MediamixError,
    NotFittedError,
    SamplingError,
)
from mediamix.inference import (
    Sampler,
    approximate_note,
    diagnose,
    get_approximation,
    get_sampler,
    parameter_diagnostics,
)
from mediamix.inference.diagnostics import import_statistics, pareto_k_limit
from mediamix.analysis import response
from mediamix.helper_processes import groundwork
from mediamix.analysis.media import MediaResponse, thin_draws
from mediamix.model.design import Design, Scales, make_design, model_coords
from mediamix.optimize import (
    BudgetProblem,
    BudgetResult,
    PlanEvaluator,
    budget_for_marginal_roas,
    load_bounds,
    minimum_budget_for_kpi,
    resolve_bounds,
    solve,
)
from mediamix.optimize.problem import Objective
from mediamix.priors import Prior
from mediamix.report import (
    REPORT_FILE,
    PendingCharts,
    ReportData,
    fit_table,
    parameter_draws,
    start_charts,
    write_report,
)
from mediamix.review import Review, check_data, review_fit

__all__ = ["MMM", "load"]


class MMM:
    """A Bayesian media mix model.

    ``y_t = intercept + Σ_m β_m·saturation(adstock(x_m))_t + Σ_c γ_c·z_{c,t} + trend_t + seasonality_t + ε_t``

    Parameters
    ----------
    channels : sequence of str
        Media spend columns. Results are keyed by these names.
    date : str, default="date"
        The date column (evenly spaced, e.g. weekly).
    target : str, default="y"
        The KPI column.
    controls : sequence of str, default=()
        Non-media columns (events, price, ...).
    date_marks : {"start", "end"}, default="start"
        Whether each date is the first or the last day of its period (``"end"`` for
        week-ending dates); ``events`` are placed in the period that contains them.
    adstock : str, default="geometric"
        Carryover of every channel: ``"geometric"``, ``"delayed"``, ``"weibull_cdf"``,
        ``"weibull_pdf"`` or ``"binomial"`` (see ``mediamix.transforms.ADSTOCKS``).
    l_max : int, default=8
        Adstock window in periods, lag 0 included.
    normalize_adstock : bool, default=True
    saturation : str, default="logistic"
        Diminishing returns of every channel: ``"logistic"``, ``"hill"``,
        ``"michaelis_menten"``, ``"tanh"`` or ``"power"``.
    saturation_first : bool, default=False
        Saturate each period's spend before the carryover.
    channel_transforms : mapping of str to mapping, optional
        Per-channel overrides of ``adstock``, ``saturation`` and ``l_max``, e.g.
        ``{"tv": {"adstock": "weibull_pdf", "l_max": 12}}`` (``[model.channels.tv]``).
    yearly_seasonality : int, default=2
        Fourier order of the yearly cycle; 0 turns it off.
    weekly_seasonality, monthly_seasonality : int, default=0
        Fourier orders of the 7-day (daily data only) and ~30.4-day cycles.
    trend : {"linear", "piecewise", "none"}, default="linear"
        ``"piecewise"``: a continuous trend whose slope may change at
        ``n_changepoints`` dates evenly spaced over the training span (Prophet-style).
    n_changepoints : int, default=10
    likelihood : {"normal", "student_t"}, default="normal"
        ``"student_t"`` makes the fit robust to outlying periods.
    form : {"additive", "multiplicative"}, default="additive"
        ``"multiplicative"`` fits ``log(target)`` as the sum of the parts, so media
        and controls scale the baseline (for KPIs that grow with it; target > 0).
    events : sequence of mapping, default=()
        Holidays/events, each ``{"name": ..., "dates": [...], "window": [before, after]}``;
        each becomes a 0/1 control named ``name`` (see ``[[model.events]]``).
    priors : mapping of str to Prior or dict, optional
        Overrides of the default priors by parameter name (``intercept``,
        ``beta``, ``alpha``, ``lam``, ``sigma``, ``gamma_control``,
        ``gamma_fourier``, ``trend_slope``, ``trend_delta``, ``nu``...), e.g.
        ``{"beta": Prior("HalfNormal", {"sigma": {"tv": 1.0, "search": 0.5}})}``.
    sampler : {"nutpie", "pymc", "numpyro"}, default="nutpie"
    method : {"nuts", "advi", "map", "pathfinder"}, default="nuts"
        ``"map"`` (Laplace at the mode), ``"pathfinder"`` (multi-path Pathfinder) and
        ``"advi"`` (mean-field ADVI) are fast
        approximations for iterating on a model: one chain of ``draws`` draws,
        labelled approximate, convergence not checked. Refit with NUTS before acting.
    chains, draws, tune : int, default=4, 1000, 750
    seed : int or None, default=42
        ``None`` draws a fresh seed at fit time and records it in ``config_``.
    target_accept : float, default=0.9
    mass_matrix : {"diagonal", "low_rank"}, default="diagonal"
        How nutpie adapts its mass matrix while tuning (see :class:`~mediamix.config.FitConfig`);
        PyMC's and NumPyro's NUTS adapt a diagonal one only.

    Raises
    ------
    ConfigError
        If any argument is invalid, naming it.

    Examples
    --------
    >>> from mediamix import MMM, simulate
    >>> demo = simulate.seed_example()
    >>> mmm = MMM(date="date_week", target="y", channels=["x1", "x2"],
    ...           controls=["event_1", "event_2"])
    >>> mmm.fit(demo.data)  # doctest: +SKIP
    >>> mmm.roas().mean(("chain", "draw"))  # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        channels: Sequence[str],
        date: str = "date",
        target: str = "y",
        controls: Sequence[str] = (),
        date_marks: str = "start",
        adstock: str = "geometric",
        l_max: int = 8,
        normalize_adstock: bool = True,
        saturation: str = "logistic",
        saturation_first: bool = False,
        channel_transforms: Mapping[str, Mapping[str, Any]] | None = None,
        yearly_seasonality: int = 2,
        weekly_seasonality: int = 0,
        monthly_seasonality: int = 0,
        trend: str = "linear",
        n_changepoints: int = 10,
        likelihood: str = "normal",
        form: str = "additive",
        events: Sequence[Mapping[str, Any]] = (),
        priors: Mapping[str, Prior | Mapping[str, Any]] | None = None,
        sampler: SamplerName = "nutpie",
        method: FitMethod = "nuts",
        chains: int = 4,
        draws: int = 1000,
        tune: int = 750,
        seed: int | None = 42,
        target_accept: float = 0.9,
        mass_matrix: MassMatrix = "diagonal",
    ) -> None:
        if isinstance(channels, str):
            channels = [channels]
        self.config = parse_config(
            {
                "data": {"date": date, "target": target, "channels": list(channels), "controls": list(controls),
                         "date_marks": date_marks},
                "model": {
                    "adstock": adstock,
                    "l_max": l_max,
                    "normalize_adstock": normalize_adstock,
                    "saturation": saturation,
                    "saturation_first": saturation_first,
                    "channels": {name: dict(table) for name, table in (channel_transforms or {}).items()},
                    "yearly_seasonality": yearly_seasonality,
                    "weekly_seasonality": weekly_seasonality,
                    "monthly_seasonality": monthly_seasonality,
                    "trend": trend,
                    "n_changepoints": n_changepoints,
                    "likelihood": likelihood,
                    "form": form,
                    "events": [dict(event) for event in events],
                },
                "fit": {
                    "sampler": sampler,
                    "method": method,
                    "chains": chains,
                    "draws": draws,
                    "tune": tune,
                    "seed": seed,
                    "target_accept": target_accept,
                    "mass_matrix": mass_matrix,
                },
                "priors": dict(priors or {}),
            }
        )

    @classmethod
    def from_config(cls, config: MMMConfig | Mapping[str, Any] | str | os.PathLike[str]) -> MMM:
        """An unfitted model from a resolved config, a TOML-shaped dict, or a TOML file path."""
        if isinstance(config, str | os.PathLike):
            config = load_config(config)
        elif not isinstance(config, MMMConfig):
            config = parse_config(config)
        self = cls.__new__(cls)
        self.config = config
        return self

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        data: pd.DataFrame | str | os.PathLike[str],
        *,
        sampler: SamplerName | Sampler | None = None,
        method: FitMethod | None = None,
        chains: int | None = None,
        draws: int | None = None,
        tune: int | None = None,
        seed: int | None = None,
        mass_matrix: MassMatrix | None = None,
        progressbar: bool = False,
    ) -> MMM:
        """Validate ``data``, build the model and sample its posterior with NUTS (or approximate it).

        Parameters
        ----------
        data : DataFrame or path
            One row per date with the configured columns; a path is read as CSV or Parquet.
        sampler : {"nutpie", "pymc", "numpyro"} or Sampler, optional
            Override the config's sampler; an object with the
            :class:`~mediamix.inference.Sampler` protocol is used as is (e.g.
            :class:`mediamix.testing.PriorSampler` in tests).
        method : {"nuts", "advi", "map", "pathfinder"}, optional
            Override the config's method: ``"map"``, ``"pathfinder"`` or ``"advi"`` fit a fast approximation
            (see :mod:`mediamix.inference.approximate`) whose results are labelled approximate.
        chains, draws, tune, seed : int, optional
            Override the config's ``[fit]`` values for this fit.
        mass_matrix : {"diagonal", "low_rank"}, optional
            Override the config's ``[fit] mass_matrix`` (nutpie's; see :class:`~mediamix.config.FitConfig`).
        progressbar : bool, default=False
            Show the sampler's progress bar.

        Returns
        -------
        MMM
            ``self``, with ``data_``, ``scales_``, ``design_``, ``idata_``,
            ``diagnostics_`` and ``timing_`` set.

        Warns
        -----
        DataWarning
            Before sampling, for each data check (:meth:`check_data`) that is not a pass.
        ConvergenceWarning
            When r-hat > 1.01, ESS < 400 or there are divergences, saying what to try.
        """
        with output.collector_paused():  # PyTensor's compile makes heaps of objects: 1.8 -> 1.15 s on the demo
            from mediamix.model.build import build_model  # PyMC is imported only when fitting

            start = time.perf_counter()
            backend = None if sampler is None or isinstance(sampler, str) else sampler
            config = self.config.with_fit(
                sampler=None if backend else sampler, method=method, chains=chains, draws=draws, tune=tune, seed=seed,
                mass_matrix=mass_matrix,
            )
            if config.fit.seed is None:  # draw one, and record it so the fit can be reproduced
                config = config.with_fit(seed=int(np.random.SeedSequence().generate_state(1)[0]))
            frame = self._validate(data, training=True, config=config)
            for finding in check_data(frame, config).problems():
                warnings.warn(f"{finding.message} {finding.next_step}", DataWarning, stacklevel=2)
            scales = Scales.from_frame(frame, config)
            design = make_design(frame, config, scales)
            model = build_model(config, design)
            fit = config.fit
            runner = backend or (get_sampler(fit.sampler, mass_matrix=fit.mass_matrix) if fit.method == "nuts"
                                 else get_approximation(fit.method))
            try:
                # The diagnostics' imports, early where a compile helper lets them (helper_processes).
                with groundwork(import_statistics):
                    result = runner.sample(
                        model,
                        chains=fit.chains,
                        draws=fit.draws,
                        tune=fit.tune,
                        seed=fit.seed,
                        target_accept=fit.target_accept,
                        progressbar=progressbar,
                    )
            except MediamixError:
                raise
            except Exception as err:  # a backend's own error: say which backend, keep the cause chained
                nuts = fit.method == "nuts"
                kind, other = ("sampler", "--sampler pymc") if nuts else ("approximation", "--method nuts")
                raise SamplingError(
                    f"The {runner.name} {kind} failed: {type(err).__name__}: {err}. "
                    f"Check the priors (e.g. a prior that puts no mass where the data are), or try {other}."
                ) from err
            self.config_ = config
            self.data_ = frame
            self.scales_ = scales
            self.design_ = design
            self.idata_ = result.idata
            stats = parameter_diagnostics(result.idata)
            self._parameter_diagnostics = (result.idata, stats)  # for the review of this posterior
            self.diagnostics_ = diagnose(result.idata, stats)
            self.timing_ = {
                "compile_s": result.compile_s,
                "sampling_s": result.sampling_s,
                "total_s": time.perf_counter() - start,
            }
            self._reset_computed()
            for problem in self.diagnostics_.problems():
                warnings.warn(problem, ConvergenceWarning, stacklevel=2)
            return self

    def _validate(self, data: Any, *, training: bool, config: MMMConfig | None = None) -> pd.DataFrame:
        config = config or self.config
        frame = read_table(data) if isinstance(data, str | os.PathLike) else data
        if not isinstance(frame, pd.DataFrame):
            raise DataError(
                f"Expected the data as a pandas DataFrame or a path to a CSV/Parquet file. Got {type(data).__name__}."
            )
        d = config.data
        _check_event_names(frame, config)
        has_target = training or d.target in frame.columns
        return validate_data(
            frame,
            date=d.date,
            target=d.target if has_target else None,
            channels=d.channels,
            controls=d.controls,
            l_max=config.max_l_max if training else 0,
            require_spend=training,
            positive_target=config.model.form == "multiplicative",
        )

    def _check_fitted(self) -> None:
        if not hasattr(self, "idata_"):
            raise NotFittedError("This MMM is not fitted yet. Call fit(data) first, or mediamix.load(folder).")

    @property
    def is_fitted(self) -> bool:
        """Whether a posterior is available."""
        return hasattr(self, "idata_")

    # -------------------------------------------------------- attribution
    @property
    def posterior(self) -> xr.Dataset:
        """The posterior draws of every parameter, on the scaled data (dims chain, draw, ...)."""
        self._check_fitted()
        return self.idata_["posterior"].to_dataset()

    def decomposition(self) -> xr.Dataset:
        """Every component of the fitted mean per draw and date, in target units.

        Returns
        -------
        xarray.Dataset
            ``channel_contribution`` (chain, draw, date, channel),
            ``control_contribution`` (chain, draw, date, control), ``intercept``,
            ``trend``, ``seasonality`` and ``mu`` (chain, draw, date). Read-only: the
            model keeps it for its summaries and tables; ``.copy()`` it to edit.
        """
        self._check_fitted()
        if getattr(self, "_decomposition", None) is None:
            self._decomposition = _read_only(analysis.decompose(self.posterior, self.design_, self.config_))
        return self._decomposition

    def channel_contributions(self) -> xr.DataArray:
        """Contribution of each channel per date, dims (chain, draw, date, channel), target units."""
        return self.decomposition()["channel_contribution"]

    def contributions(self) -> pd.DataFrame:
        """Posterior-mean contribution per date of each channel and baseline component."""
        return analysis.contributions_table(self.decomposition(), date_column=self.config_.data.date)

    def roas(self) -> xr.DataArray:
        """Return on ad spend per channel (total contribution / total spend), dims (chain, draw, channel)."""
        return analysis.channel_roas(self.decomposition(), self.design_)

    def channel_summary(self, prob: float = analysis.HDI_PROB) -> dict[str, dict[str, Any]]:
        """Per channel: spend and its share; contribution, share of effect, ROAS and marginal ROAS with HDI."""
        self._check_fitted()
        if prob not in self._channel_summaries:  # per fit, like marginal_roas: summary.json and channels.csv share it
            self._channel_summaries[prob] = analysis.channel_summary(self.decomposition(), self.design_, prob,
                                                                     self.marginal_roas())
        return copy.deepcopy(self._channel_summaries[prob])

    def summary(self, prob: float = analysis.HDI_PROB) -> pd.DataFrame:
        """Per channel: spend, contribution, share and ROAS with HDI, as a table indexed by channel."""
        rows = {}
        for name, entry in self.channel_summary(prob).items():
            row: dict[str, float] = {"spend": entry["spend"], "share_of_spend": entry["share_of_spend"]}
            for key in ("contribution", "share", "roas", "marginal_roas"):
                for stat, value in entry[key].items():
                    row[f"{key}_{stat}"] = value
            rows[name] = row
        return pd.DataFrame.from_dict(rows, orient="index").rename_axis("channel")

    def summary_dict(self, prob: float = analysis.HDI_PROB) -> dict[str, Any]:
        """The content of ``summary.json``."""
        self._check_fitted()
        d = self.diagnostics_
        return {
            "mediamix_version": __version__,
            "hdi_prob": prob,
            "target": self.config_.data.target,
            "model": self._model_label(),
            "dates": {
                "first": str(self.design_.dates[0].date()),
                "last": str(self.design_.dates[-1].date()),
                "count": len(self.design_.dates),
            },
            "channels": self.channel_summary(prob),
            "fit": self._fit_label(),
            "diagnostics": {  # MCMC diagnostics: null for an approximation (not computed, not checked)
                "r_hat_max": d.r_hat_max,
                "ess_bulk_min": d.ess_bulk_min,
                "ess_tail_min": d.ess_tail_min,
                "divergences": None if d.approximate else d.divergences,
                "converged": None if d.approximate else d.converged,
                "chains": d.chains,
                "draws": d.draws,
                "sampler": d.method if d.approximate else self.config_.fit.sampler,
            },
            "timing": dict(self.timing_),
            "review": self.review().to_dict(),
        }

    def _model_label(self) -> dict[str, Any]:
        """``summary.json``'s ``model``: the form, the likelihood and each channel's transforms."""
        m = self.config_.model
        return {
            "form": m.form,
            "likelihood": m.likelihood,
            "saturation_first": m.saturation_first,
            "transforms": {channel: {"adstock": g.adstock, "l_max": g.l_max, "saturation": g.saturation}
                           for g in self.config_.transform_groups() for channel in g.channels},
        }

    def _fit_label(self) -> dict[str, Any]:
        """``summary.json``'s ``fit``: how the posterior was made, and whether it is only an approximation."""
        d = self.diagnostics_
        if not d.approximate:
            return {"method": "nuts", "approximate": False, "sampler": self.config_.fit.sampler}
        attrs = self.idata_["posterior"].attrs
        ess = float(attrs.get("importance_ess", np.nan))
        label = {"method": d.method, "approximate": True, "pareto_k": d.pareto_k,
                 "pareto_k_limit": pareto_k_limit(d.chains * d.draws), "resampled": bool(attrs.get("resampled", 0)),
                 "importance_ess": ess if np.isfinite(ess) else None,
                 "candidates": int(attrs.get("candidates", d.chains * d.draws))}
        if "paths" in attrs:  # pathfinder
            label.update(paths=int(attrs["paths"]), iterations=int(attrs["iterations"]))
        return {**label, "note": approximate_note(d.method)}

    def review(self, roas_range: tuple[float, float] | None = None) -> Review:
        """The health verdict of the fit: convergence, fit, baseline, ROAS, prior–posterior overlap.

        Parameters
        ----------
        roas_range : (float, float), optional
            Plausible posterior-mean ROAS in target units per unit of spend;
            defaults to the config's ``[review] roas_range``.

        Returns
        -------
        Review
            See :func:`mediamix.review.review_fit`; ``review().verdict`` is the worst severity.
        """
        self._check_fitted()
        low, high = roas_range or self.config_.review.roas_range
        key = (float(low), float(high))
        reviews = self.__dict__.setdefault("_reviews", {})
        if key not in reviews:
            observed = self.data_[self.config_.data.target].to_numpy()
            tree, stats = getattr(self, "_parameter_diagnostics", (None, None))
            reviews[key] = review_fit(self.idata_, self.decomposition(), observed, self.design_, self.config_, key,
                                      stats=stats if tree is self.idata_ else None)
        return reviews[key]

    def check_data(self, data: pd.DataFrame | str | os.PathLike[str]) -> Review:
        """Check a training table before fitting: can it support this model?

        :meth:`fit` runs the same checks and warns (:class:`~mediamix.errors.DataWarning`)
        for each one that does not pass.

        Parameters
        ----------
        data : DataFrame or path
            The table :meth:`fit` would take.

        Returns
        -------
        Review
            See :func:`mediamix.review.check_data`: zero and constant spend, spend
            variation, collinearity and VIF, rows per parameter, target outliers
            and variation.

        Raises
        ------
        DataError
            If the table cannot be fitted at all (see :func:`mediamix.data.validate_data`).
        ConfigError
            If the config asks for something these dates cannot show (a weekly cycle on
            weekly data, a Fourier order above the Nyquist limit): found here, not at fit.
        """
        frame = self._validate(data, training=True)
        make_design(frame, self.config, Scales.from_frame(frame, self.config))
        return check_data(frame, self.config)

    # ---------------------------------------------------------- prediction
    def _design_for(self, data: pd.DataFrame | str | os.PathLike[str]) -> Design:
        frame = self._validate(data, training=False, config=self.config_)
        dates = pd.DatetimeIndex(frame[self.config_.data.date])
        self._check_cadence(dates, f"Column '{self.config_.data.date}'")
        return make_design(frame, self.config_, self.scales_, history=self._history_before(dates[0]))

    def _history_before(self, start: pd.Timestamp) -> pd.DataFrame | None:
        """The spend that carries over into a table starting at ``start``: the training rows before
        it and, for a table that starts later than the period after them, zero spend in between.

        ``None`` when none can reach it (the table starts first, or off the training dates' grid, or
        more than an adstock window after them). Found in review: only a table starting exactly one
        period after the training data used to get any carryover; one that overlapped it or left a
        gap started from zero spend.
        """
        d = self.config_.data
        cadence = self.scales_.cadence
        before = self.data_.loc[pd.DatetimeIndex(self.data_[d.date]) < start, [d.date, *d.channels]]
        if before.empty:
            return None
        last = pd.Timestamp(before[d.date].iloc[-1])
        periods = cadence.steps_between(last, start)
        if periods is None or periods - 1 >= self.config_.max_l_max - 1:
            return None
        gap = periods - 1
        if gap > 0:
            between = pd.DataFrame({d.date: cadence.range(cadence.shift(last, 1), gap),
                                    **{c: 0.0 for c in d.channels}})
            before = pd.concat([before, between], ignore_index=True)
        return before

    def predict(
        self,
        data: pd.DataFrame | str | os.PathLike[str],
        *,
        include_noise: bool = False,
        seed: int | None = None,
    ) -> xr.DataArray:
        """Posterior predictions of the target for new (or the training) dates.

        Spend from the training weeks before ``data``'s first date carries over
        into it through the adstock: a table that overlaps the training data
        reproduces the fitted mean there, and one that starts later than the
        period right after it counts the periods in between as zero spend.

        Parameters
        ----------
        data : DataFrame or path
            The date, channel and control columns (the target is optional).
        include_noise : bool, default=False
            Draw observations (mean + noise) instead of the expected value.
        seed : int, optional

        Returns
        -------
        xarray.DataArray, dims (chain, draw, date), in target units.
        """
        self._check_fitted()
        design = self._design_for(data)
        if include_noise:
            return analysis.predictive(self.posterior, design, self.config_, seed=seed)
        return analysis.decompose(self.posterior, design, self.config_)["mu"].rename("y")

    def sample_posterior_predictive(self, seed: int | None = None) -> xr.DataArray:
        """Replicated target for the training dates, dims (chain, draw, date), target units."""
        self._check_fitted()
        return analysis.predictive(self.posterior, self.design_, self.config_, seed=seed, mu=self.decomposition()["mu"])

    def sample_prior_predictive(
        self,
        data: pd.DataFrame | str | os.PathLike[str] | None = None,
        *,
        draws: int = 500,
        seed: int | None = None,
    ) -> xr.Dataset:
        """Draws from the prior and the target they imply, before or after fitting.

        Parameters
        ----------
        data : DataFrame or path, optional
            The training table; defaults to the fitted one.
        draws : int, default=500
        seed : int, optional

        Returns
        -------
        xarray.Dataset
            ``y`` (chain, draw, date) and the decomposition's variables, in
            target units; ``chain`` has length 1.
        """
        import pymc as pm

        from mediamix.model.build import TARGET_VAR, build_model

        if data is None:
            self._check_fitted()
            config, design = self.config_, self.design_
        else:
            config = self.config
            frame = self._validate(data, training=True, config=config)
            design = make_design(frame, config, Scales.from_frame(frame, config))
        model = build_model(config, design)
        prior = pm.sample_prior_predictive(draws=draws, model=model, random_seed=seed)
        params = prior["prior"].to_dataset()
        parts = analysis.decompose(params, design, config)
        y = prior["prior_predictive"][TARGET_VAR]
        y = (np.exp(y) if config.model.form == "multiplicative" else y) * design.scales.target
        return parts.assign(y=(y.dims, y.to_numpy()))

    # --------------------------------------------------------------- files
    def report_data(
        self,
        prob: float = analysis.HDI_PROB,
        *,
        optimization: Mapping[str, Any] | None = None,
        summary: Mapping[str, Any] | None = None,
        tables: Mapping[str, pd.DataFrame] | None = None,
    ) -> ReportData:
        """Everything ``report.html`` shows, as plain values (see :mod:`mediamix.report`).

        Parameters
        ----------
        prob : float, default=0.94
            Mass of every interval.
        optimization : mapping, optional
            An ``optimization.json`` payload to show.
        summary, tables : optional
            :meth:`summary_dict` and :meth:`attribution_tables` when already computed.
        """
        self._check_fitted()
        summary = summary if summary is not None else self.summary_dict(prob)
        tables = tables if tables is not None else self.attribution_tables(prob)
        d = self.config_.data
        fit = fit_table(self.data_, d.date, d.target, analysis.hdi_summary(self.decomposition()["mu"], prob),
                        analysis.hdi_summary(self.sample_posterior_predictive(seed=0), prob))
        return ReportData(
            summary=summary, observed=self.data_, fit=fit, decomposition=self.contributions(),
            waterfall=tables["waterfall.csv"], response_curves=tables["response_curves.csv"],
            adstock_curves=tables["adstock.csv"], parameters=parameter_draws(self.posterior, self.config_.priors),
            date_column=d.date, target=d.target, channels=d.channels, controls=self.config_.control_names,
            config_text=dump_config(self.config_), problems=self.diagnostics_.problems(), optimization=optimization,
        )

    def save(self, path: str | os.PathLike[str], extra_files: Mapping[str, str] | None = None) -> Path:
        """Write the output folder (``summary.json``, ``contributions.csv``, ``posterior.nc``, ``config.toml``,
        the attribution tables and ``report.html``).

        The folder is written whole or not at all; see :mod:`mediamix.output`.

        Parameters
        ----------
        path : path
            The folder to create or replace (only an empty folder or an earlier
            mediamix output is replaced).
        extra_files : mapping of str to str, optional
            More text files to write into the folder, by file name.
        """
        self._check_fitted()
        with output.collector_paused():
            return self._save(path, extra_files)

    def _save(self, path: str | os.PathLike[str], extra_files: Mapping[str, str] | None) -> Path:
        # The report begins first: a helper process, when there is one (the CLI's), gets a copy of
        # this fitted model, makes the report's inputs with the chart tables in them (the curves,
        # the waterfall: 0.35 s of the demo's cold fit on one CPU) and draws some charts, while this
        # process makes the summary (marginal ROAS, model review) and writes the files; the inputs
        # come back for the tables and the other charts. Without a helper, or where it fails, they
        # are made here, the same.
        pending = start_charts(functools.partial(self._copy_for_report()._report_start, analysis.HDI_PROB))
        began = time.perf_counter()
        summary = self.summary_dict()
        contributions = self.contributions()
        date = self.config_.data.date
        tree = self.idata_.copy()
        stats = tree["sample_stats"].to_dataset()
        # Object-typed sampler messages do not fit netCDF; the flags beside them keep the information.
        tree["sample_stats"] = xr.DataTree(stats.drop_vars([v for v in stats.data_vars if stats[v].dtype == object]))
        tree[output.FIT_DATA_GROUP] = xr.DataTree(output.frame_to_dataset(self.data_, date))
        with output.atomic_folder(path) as tmp:
            output.write_json(tmp / output.SUMMARY_FILE, summary)
            contributions.to_csv(tmp / output.CONTRIBUTIONS_FILE, index=False, date_format="%Y-%m-%d")
            output.write_posterior(tree, tmp / output.POSTERIOR_FILE)
            (tmp / output.CONFIG_FILE).write_text(dump_config(self.config_), encoding="utf-8")
            # The helper's work is about this process's so far (the same posterior, the same kind of
            # sums): a helper far slower than that is stuck, and stopped.
            made = pending.made_there(timeout=max(30.0, 3 * (time.perf_counter() - began)))
            if made is None:  # no helper made them: here, as it would have
                chart_tables = self._chart_tables(analysis.HDI_PROB)
                report = self._start_report(chart_tables)
            else:
                chart_tables = {"waterfall.csv": made.waterfall, "response_curves.csv": made.response_curves,
                                "adstock.csv": made.adstock_curves}
                report = made, pending
            tables = self._attribution_tables(analysis.HDI_PROB, chart_tables)
            for name, table in tables.items():
                table.to_csv(tmp / name, index=False, date_format="%Y-%m-%d")
            for name, text in (extra_files or {}).items():
                (tmp / Path(name).name).write_text(text, encoding="utf-8")
            self._write_report(tmp / REPORT_FILE, path, report, summary)
        return Path(path)

    def _report_start(self, prob: float) -> ReportData:
        """The report's inputs with the chart tables in them, and a summary of only ``hdi_prob`` so
        far (what the helper's charts read): made in the chart helper when there is one."""
        return self.report_data(summary={"hdi_prob": prob}, tables=self._chart_tables(prob))

    def _copy_for_report(self) -> MMM:
        """A shallow copy of this fitted model without its computed tables: what a chart helper
        gets (pickled), small (the demo's: 1.2 MB) whatever was computed here already."""
        clone = copy.copy(self)
        clone._reset_computed()
        return clone

    def _reset_computed(self) -> None:
        """Forget what was computed from the posterior (a new fit or load, or a copy to send)."""
        self._decomposition: xr.Dataset | None = None
        self._reviews: dict[tuple[float, ...], Review] = {}
        self._marginal_roas: dict[float, xr.DataArray] = {}
        self._channel_summaries: dict[float, dict[str, dict[str, Any]]] = {}

    def _start_report(self, tables: Mapping[str, pd.DataFrame]) -> tuple[ReportData, PendingCharts] | Exception:
        """The report's inputs, with a summary of only ``hdi_prob`` so far, and its charts begun
        (:func:`~mediamix.report.start_charts`: the helper's charts read nothing else of the summary);
        or the error, which :meth:`_write_report` reports after the other files are written."""
        try:
            data = self.report_data(summary={"hdi_prob": analysis.HDI_PROB}, tables=tables)
            return data, start_charts(data)
        except Exception as err:
            return err

    def _write_report(self, file: Path, folder: str | os.PathLike[str],
                      report: tuple[ReportData, PendingCharts] | Exception, summary: dict[str, Any]) -> None:
        try:
            if isinstance(report, Exception):
                raise report
            data, charts = report
            data = dataclasses.replace(data, summary=summary)
            write_report(file, data, charts=charts.result(data))
        except Exception as err:  # a chart must never cost the user a finished fit: keep the rest, say so
            warnings.warn(
                f"Could not write {REPORT_FILE} ({type(err).__name__}: {err}); the fit was saved. "
                f"Rebuild the report with 'mediamix report {folder}'.",
                RuntimeWarning,
                stacklevel=3,
            )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> MMM:
        """A fitted model from an output folder, ready to predict and report without refitting."""
        folder = Path(path)
        if not folder.is_dir():
            raise output.OutputError(f"'{folder}' is not a folder; expected a mediamix output folder.")
        config = load_config(folder / output.CONFIG_FILE)
        tree = output.read_posterior(folder / output.POSTERIOR_FILE)
        for group in ("posterior", output.FIT_DATA_GROUP):
            if group not in tree.children:
                raise output.OutputError(f"'{folder / output.POSTERIOR_FILE}' has no '{group}' group.")
        summary = output.read_summary(folder / output.SUMMARY_FILE)
        self = cls.from_config(config)
        frame = self._validate(output.dataset_to_frame(tree[output.FIT_DATA_GROUP].to_dataset()), training=True)
        self.config_ = config
        self.data_ = frame
        self.scales_ = Scales.from_frame(frame, config)
        self.design_ = make_design(frame, config, self.scales_)
        _check_labels(tree["posterior"].to_dataset(), model_coords(config, self.design_), folder)
        self.idata_ = tree
        stats = parameter_diagnostics(tree)
        self._parameter_diagnostics = (tree, stats)
        self.diagnostics_ = diagnose(tree, stats)
        self.timing_ = dict(summary.get("timing", {}))
        self._reset_computed()
        return self

    # ------------------------------------------------ curves and budgets
    def media_response(self, max_draws: int | None = None) -> MediaResponse:
        """The posterior's spend -> contribution map (optionally thinned to ``max_draws`` draws).

        A multiplicative model's plans lift the baseline of the last year of
        training data (its mean per period, per draw).
        """
        self._check_fitted()
        posterior = thin_draws(self.posterior, max_draws)
        level = None
        if self.config_.model.form == "multiplicative":
            dates = self.design_.dates
            last_year = dates > dates[-1] - pd.Timedelta(days=364)  # 52 weeks, 364 days
            level = self._baseline(max_draws)[:, last_year].mean(axis=1)
        return MediaResponse.from_posterior(
            posterior, self.config_, self.scales_.channels, self.scales_.target, baseline=level
        )

    def _baseline(self, max_draws: int | None = None) -> np.ndarray:
        """The KPI without media per draw and training date, dims (sample, date), target units."""
        parts = self.decomposition()
        baseline = sum(parts[name] for name in analysis.BASELINE_COMPONENTS) + parts["control_contribution"].sum(
            "control")
        baseline = thin_draws(baseline.rename("baseline").to_dataset(), max_draws)["baseline"]
        return baseline.transpose("chain", "draw", "date").to_numpy().reshape(-1, parts.sizes["date"])

    def marginal_roas(self, step: float = 0.01) -> xr.DataArray:
        """Return of the next unit of spend at the historical level, dims (chain, draw, channel); read-only."""
        self._check_fitted()
        if step not in self._marginal_roas:  # per fit: fit() and load() reset it
            baseline = contribution = None
            if self.config_.model.form == "multiplicative":
                baseline = self._baseline()
            else:  # the decomposition's channel contributions are the historical level's: one pass less
                by_draw = self.decomposition()["channel_contribution"]
                contribution = by_draw.to_numpy().reshape(-1, *by_draw.shape[2:])
            self._marginal_roas[step] = _read_only(response.marginal_roas(self.media_response(), self.design_,
                                                                          self.posterior, step, baseline,
                                                                          contribution))
        return self._marginal_roas[step]

    def response_curves(self, points: int = 41, max_multiple: float = 2.0) -> xr.DataArray:
        """Expected weekly contribution at a constant weekly spend from 0 to ``max_multiple`` × the historical maximum.

        Returns
        -------
        xarray.DataArray, dims (chain, draw, channel, point), coordinate ``spend`` (channel, point).
        """
        return response.response_curves(self.media_response(), self.design_, self.posterior, points, max_multiple)

    def adstock_curves(self) -> xr.DataArray:
        """Share of a pulse of spend acting after each lag, dims (chain, draw, lag, channel)."""
        return response.adstock_curves(self.media_response(), self.posterior)

    def waterfall(self, prob: float = analysis.HDI_PROB) -> xr.Dataset:
        """Total contribution of every component (baseline, controls, channels) with HDI, dim ``component``."""
        return response.waterfall(self.decomposition(), prob)

    def contribution_bands(self, prob: float = analysis.HDI_PROB) -> xr.Dataset:
        """Each channel's contribution per date: ``mean``, ``hdi_low``, ``hdi_high``, dims (date, channel)."""
        return response.contribution_bands(self.decomposition(), prob)

    def attribution_tables(self, prob: float = analysis.HDI_PROB) -> dict[str, pd.DataFrame]:
        """The attribution tables written to the output folder, by file name.

        ``channels.csv`` (spend and its share, contribution, share of effect,
        ROAS, marginal ROAS with HDIs), ``contribution_bands.csv`` (per date and
        channel), ``waterfall.csv`` (total of every component),
        ``response_curves.csv`` (per channel and weekly spend) and ``adstock.csv``
        (per channel and lag); every interval is the ``prob`` HDI.
        """
        return self._attribution_tables(prob, self._chart_tables(prob))

    def _chart_tables(self, prob: float) -> dict[str, pd.DataFrame]:
        """The attribution tables the report's charts read (no marginal ROAS: see :meth:`_save`)."""
        curves = self.response_curves()
        curve_stats = analysis.hdi_summary(curves, prob).assign_coords(spend=curves["spend"])
        return {
            "waterfall.csv": self.waterfall(prob).to_dataframe().reset_index(),
            "response_curves.csv": curve_stats.to_dataframe().reset_index()[
                ["channel", "point", "spend", "mean", "hdi_low", "hdi_high"]
            ],
            "adstock.csv": analysis.hdi_summary(self.adstock_curves(), prob).to_dataframe().reset_index(),
        }

    def _attribution_tables(self, prob: float, chart_tables: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
        return {
            "channels.csv": self.summary(prob).reset_index(),
            "contribution_bands.csv": self.contribution_bands(prob).to_dataframe().reset_index()
            .rename(columns={"date": self.config_.data.date}),
            **chart_tables,
        }

    def historical_weekly_spend(self) -> pd.Series:
        """Mean spend per period of each channel over the training data."""
        self._check_fitted()
        return self.data_[list(self.config_.data.channels)].mean()

    def optimize_budget(
        self,
        budget: float,
        weeks: int,
        *,
        bounds: Mapping[str, Any] | str | os.PathLike[str] | None = None,
        allow_unspent: bool = False,
        flighting: bool = False,
        discount_rate: float = 0.0,
        objective: Objective = "mean",
        risk: float | None = None,
        reference: Mapping[str, float] | None = None,
        target_kpi: float | None = None,
        min_marginal_roas: float | None = None,
        max_draws: int = 1000,
    ) -> BudgetResult:
        """Allocate a budget over channels (and, with flighting, weeks) for the next ``weeks`` periods.

        Carryover counts both ways: the last historical weeks' spend still acts
        in the horizon, and the horizon's spend keeps acting ``l_max - 1`` weeks
        after it. The KPI is the media contribution; the baseline does not
        depend on the allocation.

        Parameters
        ----------
        budget : float
            Total spend over the horizon (the first guess for the scenarios below).
        weeks : int
            Horizon length in periods.
        bounds : mapping or path, optional
            Per channel ``{"lower", "upper", "lower_relative", "upper_relative", "fixed"}``
            (totals over the horizon; relative ones × historical spend over as many weeks),
            or a TOML file of such tables.
        allow_unspent : bool, default=False
            Let part of the budget stay unspent when more spend does not pay (risk-aware objectives).
        flighting : bool, default=False
            Optimize each week's spend, not just each channel's total.
        discount_rate : float, default=0.0
            Yearly discount of later returns.
        objective : {"mean", "mean-sd", "quantile", "cvar"}, default="mean"
        risk : float, optional
            ``k`` for mean-sd (default 1); tail probability for quantile/cvar (default 0.1).
        reference : mapping of str to float, optional
            Allocation to compare with; default the historical spend shares of the same budget.
        target_kpi : float, optional
            Instead: the smallest budget whose objective reaches this media KPI.
        min_marginal_roas : float, optional
            Instead: the largest budget whose marginal ROAS stays at or above this.
        max_draws : int, default=1000
            Posterior draws used (evenly thinned), for speed.

        Returns
        -------
        BudgetResult

        Raises
        ------
        ConfigError
            For unknown channel names, bad options, or infeasible bounds (saying which).
        """
        self._check_fitted()
        channels = tuple(self.config_.data.channels)
        weekly_history = self.historical_weekly_spend().to_numpy()
        if isinstance(bounds, str | os.PathLike):
            bounds = load_bounds(bounds)
        historical_totals = {c: float(weekly_history[i] * weeks) for i, c in enumerate(channels)}
        resolved = resolve_bounds(bounds or {}, channels, historical_totals)
        problem = BudgetProblem(
            budget=float(budget), weeks=int(weeks), bounds=resolved, allow_unspent=allow_unspent,
            flighting=flighting, discount_rate=discount_rate, objective=objective, risk=risk,
        )
        if target_kpi is not None and min_marginal_roas is not None:
            raise ConfigError("Give target_kpi or min_marginal_roas, not both.")
        if (target_kpi is not None or min_marginal_roas is not None) and (reference is not None or allow_unspent):
            # The scenarios search the budget: the result compares with the historical split of the
            # budget found, and spends it all. Silently ignoring either option misleads.
            given = "a reference allocation" if reference is not None else "allow_unspent"
            raise ConfigError(
                f"{given} cannot be combined with target_kpi or min_marginal_roas: those search the budget "
                "and compare the optimum with the historical split of the budget they find. Leave it out."
            )
        evaluator = PlanEvaluator(
            media=self.media_response(max_draws),
            history=self.data_[list(channels)].to_numpy()[-(self.config_.max_l_max - 1):]
            if self.config_.max_l_max > 1 else np.zeros((0, len(channels))),
            weeks=int(weeks),
            discount_rate=discount_rate,
            step_days=self.scales_.cadence.mean_days,
        )
        if target_kpi is not None:
            return minimum_budget_for_kpi(evaluator, problem, weekly_history, float(target_kpi))
        if min_marginal_roas is not None:
            return budget_for_marginal_roas(evaluator, problem, weekly_history, float(min_marginal_roas))
        return solve(evaluator, problem, weekly_history, reference)

    def compare_plans(
        self, plans: Mapping[str, pd.DataFrame | str | os.PathLike[str]], *, seed: int | None = 0
    ) -> xr.Dataset:
        """Predict the total KPI of several spend plans side by side.

        Each plan is a table of future (or past) dates with every channel's
        spend; control columns that a plan leaves out are taken as 0. Every plan is
        evaluated over one common window: from the earliest plan date to the latest,
        plus the adstock window's last periods after it (zero spend outside a plan's own
        dates), so each plan's full carryover counts, as in :meth:`optimize_budget`, and
        plans of different lengths or starts are compared over the same dates. Spend
        from the training weeks before the window carries over into it (see :meth:`predict`).

        Parameters
        ----------
        plans : mapping of name to DataFrame or path
        seed : int, optional
            Seed of the observation noise in the predictive draws.

        Returns
        -------
        xarray.Dataset
            Along dims (plan, chain, draw): ``kpi`` (total target over the common
            window, with observation noise: a predictive distribution), ``expected_kpi``
            (without noise), ``media_kpi`` (the channels' part), plus ``spend``
            (plan) and ``weeks`` (plan: its own periods); attrs ``window_start``,
            ``window_end`` and ``window_periods``.
        """
        self._check_fitted()
        if not plans:
            raise ConfigError("Give at least one plan to predict.")
        frames = {}
        for name, plan in plans.items():
            frame = read_table(plan) if isinstance(plan, str | os.PathLike) else plan
            if not isinstance(frame, pd.DataFrame):
                raise DataError(f"Plan '{name}' must be a DataFrame or a path to a CSV/Parquet file.")
            missing = [c for c in self.config_.data.controls if c not in frame.columns]
            try:
                frames[name] = self._validate(frame.assign(**{c: 0.0 for c in missing}), training=False,
                                              config=self.config_)
            except DataError as err:  # which plan: found in review, a gap in one of several plans named none
                raise DataError(f"Plan '{name}': {err}") from err
        window = self._plan_window(frames)
        rows = []
        for name, frame in frames.items():
            design = self._design_for(_on_window(frame, window, self.config_.data.date, name, self.scales_.cadence))
            parts = analysis.decompose(self.posterior, design, self.config_)
            noisy = analysis.predictive(self.posterior, design, self.config_, seed=seed)
            rows.append(
                xr.Dataset(
                    {
                        "kpi": noisy.sum("date"),
                        "expected_kpi": parts["mu"].sum("date"),
                        "media_kpi": parts["channel_contribution"].sum(("date", "channel")),
                        "spend": float(frame[list(self.config_.data.channels)].to_numpy().sum()),
                        "weeks": len(frame),
                    }
                )
            )
        out = xr.concat(rows, dim=pd.Index(list(plans), name="plan"))
        out.attrs.update(window_start=str(window[0].date()), window_end=str(window[-1].date()),
                         window_periods=len(window))
        return out

    def _plan_window(self, frames: Mapping[str, pd.DataFrame]) -> pd.DatetimeIndex:
        """The dates every plan is evaluated over: first plan date to last, plus the adstock's tail."""
        date, cadence = self.config_.data.date, self.scales_.cadence
        for name, frame in frames.items():
            self._check_cadence(pd.DatetimeIndex(frame[date]), f"Plan '{name}': column '{date}'")
        start = min(pd.Timestamp(frame[date].iloc[0]) for frame in frames.values())
        end = max(pd.Timestamp(frame[date].iloc[-1]) for frame in frames.values())
        last = int(cadence.index_of(start, [end])[0])
        if cadence.shift(start, last) != end:  # a plan off the first one's grid: _on_window names it
            last += 1
        return cadence.range(start, last + self.config_.max_l_max)

    def _check_cadence(self, dates: pd.DatetimeIndex, where: str) -> None:
        """A DataError when new dates do not step as the training dates do (weekly vs monthly...).

        Each step is checked against the fitted cadence rather than the cadence of the new dates
        inferred anew: two or three four-weekly dates can look like calendar months (28 days apart
        across February)."""
        cadence = self.scales_.cadence
        if len(dates) < 2 or (pd.DatetimeIndex(cadence.shift(dates[:-1], 1)) == dates[1:]).all():
            return
        try:
            spaced = f"dates {Cadence.of(dates).describe()}"
        except DataError:
            spaced = "unevenly spaced dates"
        raise DataError(
            f"{where} has {spaced}, but the model was fitted on dates {cadence.describe()}; "
            "give one row per period, on the training data's grid."
        )



    def __repr__(self) -> str:
        d = self.config.data
        state = "fitted" if self.is_fitted else "not fitted"
        return f"MMM(target={d.target!r}, channels={list(d.channels)!r}, {state})"


def _check_event_names(frame: pd.DataFrame, config: MMMConfig) -> None:
    """A column named like an event is ambiguous (the column or the event's dummy?): a DataError."""
    for event in config.model.events:
        if event.name in frame.columns:
            raise DataError(
                f"Column '{event.name}' in the data has the name of event '{event.name}' ([[model.events]]); "
                "rename the event or drop the column (list it in [data] controls to use the column instead)."
            )


def load(path: str | os.PathLike[str]) -> MMM:
    """Load a fitted :class:`MMM` from an output folder written by :meth:`MMM.save` or ``mediamix fit``."""
    return MMM.load(path)


def _check_labels(posterior: xr.Dataset, coords: dict[str, Any], folder: Path) -> None:
    """OutputError unless the posterior's labels (channels, controls, ...) are the config's, in its order.

    The posterior's arrays are used by position, so a ``config.toml`` edited after the fit (channels
    reordered, one dropped) would silently pair every channel with another's parameters.
    """
    for dim, labels in coords.items():
        if dim == "date" or dim not in posterior.coords:
            continue
        stored = [str(label) for label in posterior.coords[dim].to_numpy()]
        expected = [str(label) for label in labels]
        if stored != expected:
            raise output.OutputError(
                f"'{folder / output.POSTERIOR_FILE}' was fitted with {dim} {stored}, but "
                f"'{folder / output.CONFIG_FILE}' gives {expected}. The posterior follows the order it was fitted "
                "in: restore config.toml as the fit wrote it, or fit again."
            )


def _read_only(result: Any) -> Any:
    """``result`` (a Dataset or DataArray kept for later calls) with its arrays made read-only.

    The fitted model hands out the same object on every call (no copy of thousands of draws);
    an in-place edit by the caller (``cc *= 1000``) would otherwise change every later summary,
    table and report. Now it raises instead; ``.copy()`` gives an editable one.
    """
    variables = result.variables.values() if isinstance(result, xr.Dataset) else [result.variable]
    for variable in variables:
        data = variable.data
        if isinstance(data, np.ndarray):
            data.flags.writeable = False
    return result


def _on_window(frame: pd.DataFrame, window: pd.DatetimeIndex, date: str, name: str, cadence: Cadence) -> pd.DataFrame:
    """A plan spread over the comparison window: its own rows, zero spend and controls elsewhere."""
    dates = pd.DatetimeIndex(frame[date])
    off = ~dates.isin(window)
    if off.any():
        same = "on the same weekday" if cadence.days and cadence.days % 7 == 0 else "on the same grid"
        raise DataError(
            f"Plan '{name}': date {dates[off][0].date()} is not on the other plans' grid of dates "
            f"{cadence.describe()} (from {window[0].date()}); date every plan {same}."
        )
    spread = pd.DataFrame({date: window}).merge(frame, on=date, how="left")
    return spread.fillna({column: 0.0 for column in spread.columns if column != date})

