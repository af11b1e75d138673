"""The MMM facade: fit state, prediction with carryover, predictive draws, save/load."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mediamix
from mediamix import MMM, ConvergenceWarning, NotFittedError
from mediamix.testing import PriorSampler


def test_unfitted_model_says_so(demo) -> None:
    mmm = MMM.from_config(demo.config)
    assert not mmm.is_fitted
    with pytest.raises(NotFittedError, match="not fitted yet. Call fit"):
        mmm.roas()
    assert "not fitted" in repr(mmm)


def test_keyword_constructor_equals_config(demo) -> None:
    mmm = MMM(date="date_week", target="y", channels=["x1", "x2"], controls=["event_1", "event_2"])
    assert mmm.config == MMM.from_config(demo.config).config


def test_fit_overrides_the_mass_matrix_for_this_fit(demo) -> None:
    mmm = MMM.from_config(demo.config)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mmm.fit(demo.data, sampler=PriorSampler(), chains=2, draws=50, seed=3, mass_matrix="low_rank")
    assert mmm.config_.fit.mass_matrix == "low_rank" and mmm.config.fit.mass_matrix == "diagonal"


def test_fit_sets_the_learned_state(prior_fit) -> None:
    for attr in ("config_", "data_", "scales_", "design_", "idata_", "diagnostics_", "timing_"):
        assert hasattr(prior_fit, attr), attr
    assert prior_fit.config_.fit.draws == 100 and prior_fit.config_.fit.chains == 2
    assert prior_fit.roas().dims == ("chain", "draw", "channel")
    assert list(prior_fit.roas()["channel"].values) == ["x1", "x2"]


def test_summary_table_is_indexed_by_channel(prior_fit) -> None:
    table = prior_fit.summary()
    assert list(table.index) == ["x1", "x2"]
    assert {"spend", "contribution_mean", "roas_hdi_low", "share_hdi_high"} <= set(table.columns)


def test_divergences_raise_a_convergence_warning(demo) -> None:
    mmm = MMM.from_config(demo.config)
    with pytest.warns(ConvergenceWarning) as record:  # prior draws also fail r-hat and ESS, by design
        mmm.fit(demo.data, sampler=PriorSampler(divergences=3), chains=2, draws=20)
    assert any("3 divergent transitions" in str(w.message) for w in record)
    assert {w.filename for w in record if w.category is ConvergenceWarning} == {__file__}  # points at the caller


def test_predict_in_sample_equals_fitted_mean(prior_fit, demo) -> None:
    pred = prior_fit.predict(demo.data)
    np.testing.assert_allclose(pred, prior_fit.decomposition()["mu"])


def _future(demo, weeks: int, spend: float) -> pd.DataFrame:
    last = demo.data["date_week"].iloc[-1]
    dates = pd.date_range(last + pd.Timedelta(days=7), periods=weeks, freq="7D")
    return pd.DataFrame({"date_week": dates, "x1": spend, "x2": spend, "event_1": 0.0, "event_2": 0.0})


def test_future_weeks_carry_over_spend_from_the_last_training_weeks(prior_fit, demo) -> None:
    future = _future(demo, weeks=10, spend=0.0)
    parts = mediamix.analysis.decompose(prior_fit.posterior, prior_fit._design_for(future), prior_fit.config_)
    media = parts["channel_contribution"].sel(channel="x1").mean(("chain", "draw")).to_numpy()
    assert media[0] > 0  # last training weeks' spend still works
    assert np.all(np.diff(media[:7]) < 0)  # and decays
    np.testing.assert_allclose(media[7:], 0.0, atol=1e-12)  # gone after l_max - 1 weeks
    # Not adjacent to the training data: no carryover is assumed.
    later = future.assign(date_week=future["date_week"] + pd.Timedelta(days=70))
    parts = mediamix.analysis.decompose(prior_fit.posterior, prior_fit._design_for(later), prior_fit.config_)
    np.testing.assert_allclose(parts["channel_contribution"].sel(channel="x1"), 0.0, atol=1e-12)


def test_a_table_overlapping_the_training_data_predicts_the_fitted_mean_there(prior_fit, demo) -> None:
    """Found in review: carryover reached only a table starting exactly after the training data."""
    tail = demo.data.drop(columns="y").iloc[-4:]
    table = pd.concat([tail, _future(demo, weeks=20, spend=0.3)], ignore_index=True)
    predicted = prior_fit.predict(table)
    fitted = prior_fit.decomposition()["mu"].isel(date=slice(-4, None))
    np.testing.assert_allclose(predicted.isel(date=slice(0, 4)), fitted, rtol=1e-12)
    # and the future rows are those of a table that starts right after the training data
    np.testing.assert_allclose(predicted.isel(date=slice(4, None)), prior_fit.predict(_future(demo, 20, 0.3)),
                               rtol=1e-12)


def test_a_table_after_a_gap_counts_the_periods_between_as_zero_spend(prior_fit, demo) -> None:
    gap, weeks = 2, 10
    later = _future(demo, weeks=weeks + gap, spend=0.4)
    later.loc[: gap - 1, ["x1", "x2"]] = 0.0  # the same weeks with zero spend written out
    written_out = prior_fit.predict(later).isel(date=slice(gap, None))
    np.testing.assert_allclose(prior_fit.predict(later.iloc[gap:]), written_out, rtol=1e-12)


def test_compared_plans_count_their_whole_carryover_as_the_optimizer_does(prior_fit) -> None:
    """Found in review: a plan's carryover after its last week was left out (6% below the optimizer's KPI)."""
    result = prior_fit.optimize_budget(6.0, 8)
    date = prior_fit.config_.data.date
    last = prior_fit.data_[date].iloc[-1]
    plan = pd.DataFrame({date: pd.date_range(last + pd.Timedelta(days=7), periods=8, freq="7D"),
                         **{c: result.weekly[:, i] for i, c in enumerate(result.channels)}})
    comparison = prior_fit.compare_plans({"optimum": plan})
    assert comparison.attrs["window_periods"] == 8 + prior_fit.config_.max_l_max - 1
    assert float(comparison["media_kpi"].mean()) == pytest.approx(float(result.kpi.mean()), rel=1e-9)


def test_plans_of_different_lengths_are_compared_over_the_same_dates(prior_fit, demo) -> None:
    long, short = _future(demo, weeks=12, spend=0.0), _future(demo, weeks=8, spend=0.0)
    long[["x1", "x2"]], short[["x1", "x2"]] = 0.25, 0.25 * 12 / 8  # the same total spend
    comparison = prior_fit.compare_plans({"long": long, "short": short, "none": short.assign(x1=0.0, x2=0.0)})
    assert list(comparison["weeks"].values) == [12, 8, 8]
    assert comparison["spend"].sel(plan="long") == pytest.approx(float(comparison["spend"].sel(plan="short")))
    # over one window the baseline is the same for every plan: the differences are the media's alone
    difference = comparison["expected_kpi"] - comparison["expected_kpi"].sel(plan="none")
    np.testing.assert_allclose(difference, comparison["media_kpi"] - comparison["media_kpi"].sel(plan="none"),
                               rtol=1e-9, atol=1e-9)


def test_predict_with_noise_is_wider(prior_fit, demo) -> None:
    future = _future(demo, weeks=4, spend=0.5)
    mean = prior_fit.predict(future)
    noisy = prior_fit.predict(future, include_noise=True, seed=1)
    assert mean.dims == noisy.dims == ("chain", "draw", "date")
    assert float(noisy.std()) > float(mean.std())


def test_predict_validates_new_data(prior_fit, demo) -> None:
    future = _future(demo, weeks=4, spend=0.5).drop(columns="x2")
    with pytest.raises(mediamix.DataError, match="x2"):
        prior_fit.predict(future)


def test_prior_predictive_before_fitting(demo) -> None:
    prior = MMM.from_config(demo.config).sample_prior_predictive(demo.data, draws=30, seed=1)
    assert prior["y"].shape == (1, 30, len(demo.data))
    # The prior is wide: it covers the observed target's range.
    assert float(prior["y"].min()) < demo.data["y"].min() < demo.data["y"].max() < float(prior["y"].max())


def test_save_load_round_trip(prior_fit, tmp_path: Path, demo) -> None:
    prior_fit.save(tmp_path / "fit")
    loaded = mediamix.load(tmp_path / "fit")
    assert loaded.config_ == prior_fit.config_
    pd.testing.assert_frame_equal(loaded.summary(), prior_fit.summary())
    pd.testing.assert_frame_equal(loaded.contributions(), prior_fit.contributions())
    future = _future(demo, weeks=3, spend=0.2)
    np.testing.assert_allclose(loaded.predict(future), prior_fit.predict(future))
    assert loaded.diagnostics_ == prior_fit.diagnostics_


@pytest.mark.filterwarnings("ignore::mediamix.errors.ConvergenceWarning")
def test_column_names_with_slashes_and_brackets_save_and_load(demo, tmp_path: Path) -> None:
    # netCDF variable names may not hold "/": the training table is stored by position, names aside
    names = {"x1": "facebook/instagram", "x2": "tv [eur]", "y": "sales/revenue"}
    data = demo.data.rename(columns=names)
    raw = {**demo.config, "data": {**demo.config["data"], "channels": [names["x1"], names["x2"]],
                                   "target": names["y"]}}
    fit = MMM.from_config(raw).fit(data, sampler=PriorSampler(), chains=2, draws=10, seed=1)
    fit.save(tmp_path / "fit")
    loaded = mediamix.load(tmp_path / "fit")
    pd.testing.assert_frame_equal(loaded.data_, fit.data_)
    assert list(loaded.summary().index) == ["facebook/instagram", "tv [eur]"]
    pd.testing.assert_frame_equal(loaded.summary(), fit.summary())


def test_load_refuses_a_config_edited_after_the_fit(prior_fit, tmp_path: Path) -> None:
    folder = tmp_path / "fit"
    prior_fit.save(folder)
    config = folder / "config.toml"
    text = config.read_text()
    config.write_text(text.replace('channels = [\n    "x1",\n    "x2",\n]', 'channels = [\n    "x2",\n    "x1",\n]'))
    assert config.read_text() != text  # the channels really are swapped
    with pytest.raises(mediamix.OutputError, match=r"was fitted with channel \['x1', 'x2'\], but .* gives "
                                                   r"\['x2', 'x1'\]"):
        mediamix.load(folder)
    config.write_text(text)
    assert mediamix.load(folder).config_ == prior_fit.config_


def test_load_and_summary_refuse_files_mediamix_did_not_write(prior_fit, tmp_path: Path) -> None:
    import xarray as xr

    folder = tmp_path / "fit"
    prior_fit.save(folder)
    (folder / "summary.json").write_text('{"channels": 5}')
    with pytest.raises(mediamix.OutputError, match="is not a mediamix summary"):
        mediamix.load(folder)
    folder = tmp_path / "fit2"
    prior_fit.save(folder)
    tree = mediamix.output.read_posterior(folder / "posterior.nc")
    mediamix.output.write_posterior(xr.DataTree.from_dict({"fit_data": tree["fit_data"].to_dataset()}),
                                    folder / "posterior.nc")
    with pytest.raises(mediamix.OutputError, match="has no 'posterior' group"):
        mediamix.load(folder)


def test_load_rejects_a_folder_that_is_not_an_output(tmp_path: Path) -> None:
    with pytest.raises(mediamix.MediamixError, match="config.toml"):
        mediamix.load(tmp_path)
    with pytest.raises(mediamix.OutputError, match="not a folder"):
        mediamix.load(tmp_path / "missing")


def test_no_warning_leaks_from_a_clean_prior_fit(demo) -> None:
    # Guard for the fixture's own hygiene: a fake fit with enough draws warns only about convergence.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        MMM.from_config(demo.config).fit(demo.data, sampler=PriorSampler(), chains=2, draws=10)
    assert {w.category for w in caught} <= {ConvergenceWarning}


def test_seed_none_is_drawn_and_recorded(demo) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mmm = MMM.from_config(demo.config).fit(demo.data, sampler=PriorSampler(), chains=1, draws=5)
        assert mmm.config_.fit.seed == 42  # the config's seed is used as is
        unseeded = MMM(date="date_week", target="y", channels=["x1", "x2"], seed=None)
        unseeded.fit(demo.data, sampler=PriorSampler(), chains=1, draws=5)
    assert unseeded.config.fit.seed is None
    assert isinstance(unseeded.config_.fit.seed, int)


def test_predict_rejects_a_different_date_step(prior_fit, demo) -> None:
    future = _future(demo, weeks=6, spend=0.1).iloc[::2]  # every other week: 14 days apart
    with pytest.raises(mediamix.DataError, match="14 days apart.*fitted on dates 7 days apart"):
        prior_fit.predict(future)


def test_data_of_the_wrong_type_is_a_data_error(demo) -> None:
    with pytest.raises(mediamix.DataError, match="DataFrame or a path.*Got dict"):
        MMM.from_config(demo.config).fit({"date_week": [1, 2]}, sampler=PriorSampler())


def test_a_backend_failure_becomes_a_sampling_error(demo) -> None:
    class Broken:
        name = "broken"

        def sample(self, model, **kwargs):
            raise FloatingPointError("initial point has logp -inf")

    with pytest.raises(mediamix.SamplingError, match="The broken sampler failed: FloatingPointError"):
        MMM.from_config(demo.config).fit(demo.data, sampler=Broken())


def test_fit_pauses_the_garbage_collector_and_turns_it_back_on(demo) -> None:
    """Compiling makes heaps of short-lived objects; fit() runs without cyclic collections, then restores them."""
    import gc

    seen: list[bool] = []

    class Recording(PriorSampler):
        def sample(self, model, **kwargs):  # type: ignore[no-untyped-def]
            seen.append(gc.isenabled())
            return super().sample(model, **kwargs)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        MMM.from_config(demo.config).fit(demo.data, sampler=Recording(), chains=1, draws=5)
    assert seen == [False] and gc.isenabled()


def test_results_the_model_keeps_cannot_be_edited_behind_its_back(prior_fit) -> None:
    """Found in review: `cc *= 1000` on channel_contributions() changed every later summary and table."""
    before = prior_fit.summary()
    contributions, mroas = prior_fit.channel_contributions(), prior_fit.marginal_roas()
    with pytest.raises(ValueError, match="read-only"):
        contributions *= 1000
    with pytest.raises(ValueError, match="read-only"):
        mroas.values[0, 0, 0] = 1e9
    pd.testing.assert_frame_equal(prior_fit.summary(), before)
    editable = prior_fit.channel_contributions().copy()
    editable *= 2  # a copy is the caller's own
    np.testing.assert_allclose(editable, 2 * prior_fit.channel_contributions())


def test_each_channels_spend_in_the_summary_is_its_own_total(prior_fit, demo) -> None:
    """Test audit: swapping the channels' spend went unnoticed (only the shares' sum was checked)."""
    summary, total = prior_fit.channel_summary(), demo.data[["x1", "x2"]].sum()
    for channel in ("x1", "x2"):
        assert summary[channel]["spend"] == pytest.approx(total[channel], rel=1e-12)
        assert summary[channel]["share_of_spend"] == pytest.approx(total[channel] / total.sum(), rel=1e-12)
