"""Pre-fit data checks on constructed tables: each problem triggers its check, the demo passes all."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mediamix import MMM, ConvergenceWarning, DataWarning
from mediamix.config import MMMConfig, parse_config
from mediamix.data import validate_data
from mediamix.review import Finding, Review, check_data, count_parameters
from mediamix.review.data_checks import CORRELATION_REVIEW, MAX_ZERO_SHARE, OUTLIER_Z, VIF_FAIL, VIF_REVIEW
from mediamix.simulate import seed_config, seed_example
from mediamix.testing import PriorSampler

DATA_CHECKS = ("zero_spend", "zero_spend_run", "constant_spend", "spend_variation", "collinearity", "vif", "events",
               "data_to_parameters", "adstock_window", "target_outliers", "target_variation")


def _config(channels: tuple[str, ...] = ("x1", "x2"), **model: Any) -> MMMConfig:
    raw = seed_config()
    raw["data"]["channels"] = list(channels)
    raw["model"].update(model)
    return parse_config(raw)


def _check(data: pd.DataFrame, config: MMMConfig | None = None) -> Review:
    config = config or _config()
    d = config.data
    frame = validate_data(data, date=d.date, target=d.target, channels=d.channels, controls=d.controls,
                          l_max=config.model.l_max)
    return check_data(frame, config)


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return seed_example().data


def _finding(review: Review, check: str) -> Finding:
    finding = review.get(check)
    assert finding is not None, check
    return finding


def _only_problem(review: Review, check: str) -> Finding:
    """The finding of ``check``, asserting it is the only one that did not pass."""
    assert [f.check for f in review.problems()] == [check], [f.message for f in review.problems()]
    return _finding(review, check)


def test_the_demo_data_pass_every_check(data: pd.DataFrame) -> None:
    review = _check(data)
    assert review.checks == DATA_CHECKS
    assert review.verdict == "pass", [f.message for f in review.problems()]
    assert all(f.next_step == "" for f in review)


def test_an_event_outside_the_data_or_on_every_row_needs_review(data: pd.DataFrame) -> None:
    """An event whose dates all lie outside the table was a silent all-zero column."""
    events = [{"name": "launch", "dates": ["2018-06-04"]},  # inside: marks one week
              {"name": "old_promo", "dates": ["2012-11-23", "2013-11-29"], "window": [1, 1]},
              {"name": "always", "dates": ["2018-04-02"], "window": [0, 500]}]
    finding = _finding(_check(data, _config(events=events)), "events")
    assert finding.severity == "review"
    assert finding.message.startswith("Event 'old_promo' marks none of the 179 weeks from 2018-04-02 to 2021-08-30")
    assert "; Event 'always' marks every one of the 179 weeks. Such an event cannot be told apart" in finding.message
    assert finding.numbers["rows_marked"] == [1, 0, len(data)]
    assert "Check the event's dates" in finding.next_step
    passing = _finding(_check(data, _config(events=events[:1])), "events")
    assert passing.severity == "pass" and "'launch' 1" in passing.message


def test_an_adstock_window_of_one_period_needs_review(data: pd.DataFrame) -> None:
    finding = _finding(_check(data, _config(adstock="delayed", l_max=1)), "adstock_window")
    assert finding.severity == "review"
    assert finding.message == ("l_max = 1 leaves no carryover: the adstock parameters of 'x1', 'x2' (delayed: alpha, "
                               "theta) do not enter the fit and keep their priors.")
    assert finding.numbers["channel"] == ["x1", "x2"]
    # Unnormalized, the one weight of a delayed or Weibull-PDF window still depends on the parameters.
    raw = _finding(_check(data, _config(adstock="weibull_pdf", l_max=1, normalize_adstock=False)), "adstock_window")
    assert "those of 'x1', 'x2' (weibull_pdf: weibull_shape, weibull_scale) only scale the channel's effect" in raw.message
    raw_geometric = _finding(_check(data, _config(l_max=1, normalize_adstock=False)), "adstock_window")
    assert "(geometric: alpha) do not enter the fit" in raw_geometric.message


def test_perfectly_collinear_channels_fail_naming_both(data: pd.DataFrame) -> None:
    review = _check(data.assign(x2=2.0 * data["x1"]))
    finding = review.get("collinearity")
    assert finding is not None and finding.severity == "fail"
    assert "'x1' and 'x2' (r = 1.000)" in finding.message
    assert "merge" in finding.next_step.lower() and "lift test" in finding.next_step
    assert finding.numbers["pairs"] == ["x1 ~ x2"] and finding.numbers["correlation"] == [pytest.approx(1.0)]
    vif = review.get("vif")
    assert vif is not None and vif.severity == "fail" and "'x1' (VIF infinite" in vif.message
    assert vif.numbers["vif"] == [np.inf, np.inf]
    assert review.verdict == "fail"


def test_correlated_channels_need_review(data: pd.DataFrame) -> None:
    rng = np.random.default_rng(0)
    x2 = data["x1"] + rng.normal(0, 0.12, len(data)).clip(-data["x1"], None)  # r ≈ 0.85
    review = _check(data.assign(x2=x2))
    finding = review.get("collinearity")
    r = np.corrcoef(data["x1"], x2)[0, 1]
    assert CORRELATION_REVIEW < r < 0.95
    assert finding is not None and finding.severity == "review"
    assert f"'x1' and 'x2' (r = {r:.3f})" in finding.message


def test_a_channel_that_never_changes_fails(data: pd.DataFrame) -> None:
    review = _check(data.assign(x3=5.0), _config(("x1", "x2", "x3")))
    finding = review.get("constant_spend")
    assert finding is not None and finding.severity == "fail"
    assert "'x3' (5 in every period)" in finding.message and "intercept" in finding.message
    assert finding.numbers["channels"] == ["x3"]
    assert _finding(review, "spend_variation").severity == "pass"  # not reported twice


def test_spend_that_barely_varies_needs_review(data: pd.DataFrame) -> None:
    x3 = 5.0 + 0.1 * np.sin(np.arange(len(data)))  # sd/mean ≈ 0.014
    review = _check(data.assign(x3=x3), _config(("x1", "x2", "x3")))
    finding = review.get("spend_variation")
    assert finding is not None and finding.severity == "review" and "'x3' (sd/mean = 0.014)" in finding.message
    assert _finding(review, "data_to_parameters").severity == "review"  # 179 rows / 18 parameters


def test_a_channel_explained_by_the_trend_is_flagged_by_vif_not_by_pairwise_correlation(data: pd.DataFrame) -> None:
    review = _check(data.assign(x3=np.linspace(1.0, 2.0, len(data))), _config(("x1", "x2", "x3")))
    assert _finding(review, "collinearity").severity == "pass"
    finding = review.get("vif")
    assert finding is not None and finding.severity == "fail" and "'x3' (VIF infinite" in finding.message
    assert "trend" in finding.message
    assert all(v < VIF_REVIEW for v in list(finding.numbers["vif"])[:2])


@pytest.mark.parametrize(("noise", "severity"), [(0.2, "pass"), (0.05, "review"), (0.03, "fail")])  # VIF 3, 38, 104
def test_vif_between_its_thresholds_needs_review(data: pd.DataFrame, noise: float, severity: str) -> None:
    """A third channel close to (not equal to) the trend: VIF in the 10-100 band, then past it."""
    trend = np.linspace(1.0, 2.0, len(data))
    x3 = trend + noise * np.random.default_rng(0).normal(size=len(data))
    finding = _finding(_check(data.assign(x3=x3), _config(("x1", "x2", "x3"))), "vif")
    vif = dict(zip(finding.numbers["channel"], finding.numbers["vif"], strict=True))["x3"]
    expected = "pass" if vif <= VIF_REVIEW else "review" if vif < VIF_FAIL else "fail"
    assert expected == severity
    assert finding.severity == severity


@pytest.mark.parametrize(("rows", "severity", "ratio"), [(40, "fail", "2.7"), (100, "review", "6.7")])
def test_too_few_rows_for_the_parameters(data: pd.DataFrame, rows: int, severity: str, ratio: str) -> None:
    finding = _check(data.iloc[:rows]).get("data_to_parameters")
    assert finding is not None and finding.severity == severity
    assert finding.message.startswith(f"{rows} rows for 15 free parameters (intercept 1, sigma 1, channels 6, "
                                      f"controls 2, seasonality 4, trend 1): {ratio} rows per parameter")
    assert "≥ 150 rows" in finding.next_step
    assert finding.numbers["parameters"] == 15


def test_parameter_count_follows_the_config() -> None:
    assert sum(count_parameters(_config()).values()) == 15
    smaller = _config(yearly_seasonality=0, trend="none")
    assert count_parameters(smaller) == {"intercept": 1, "sigma": 1, "channels": 6, "controls": 2,
                                         "seasonality": 0, "trend": 0}


def test_a_channel_mostly_at_zero_needs_review(data: pd.DataFrame) -> None:
    x2 = np.zeros(len(data))
    x2[::20] = 1.0  # 9 of 179 weeks
    review = _check(data.assign(x2=x2))
    finding = review.get("zero_spend")
    assert finding is not None and finding.severity == "review"
    assert "'x2' (95% of 179 periods)" in finding.message and finding.numbers["zero_share"][1] > MAX_ZERO_SHARE


def test_a_long_stretch_without_spend_names_the_dates(data: pd.DataFrame) -> None:
    x1 = data["x1"].to_numpy().copy()
    x1[:60] = 0.0
    finding = _only_problem(_check(data.assign(x1=x1)), "zero_spend_run")
    assert "'x1' for 60 weeks in a row (2018-04-02 to 2019-05-20, 34% of the rows)" in finding.message
    assert finding.numbers["longest_zero_run"] == [60, 22]


def test_target_outliers_name_the_dates(data: pd.DataFrame) -> None:
    y = data["y"].to_numpy().copy()
    y[[10, 100]] = [60.0, -30.0]
    finding = _only_problem(_check(data.assign(y=y)), "target_outliers")
    assert "'y' has 2 outlier(s)" in finding.message
    assert "2018-06-11 (60, z = +" in finding.message and "2020-03-02 (-30, z = -" in finding.message
    assert finding.numbers["dates"] == ["2018-06-11", "2020-03-02"]
    assert all(abs(z) > OUTLIER_Z for z in list(finding.numbers["robust_z"]))


@pytest.mark.parametrize(("z", "flagged"), [(0.8 * OUTLIER_Z, False), (1.2 * OUTLIER_Z, True)])
def test_the_outlier_threshold_is_in_robust_standard_deviations(data: pd.DataFrame, z: float, flagged: bool) -> None:
    """The robust sd is MAD / 0.6745 (test audit: the scale was untested; only absurd outliers were)."""
    y = data["y"].to_numpy().copy()
    rest = np.delete(y, 10)
    median = np.median(y)
    for _ in range(3):  # the point moves the median and MAD a little: settle where it sits at z
        sd = np.median(np.abs(np.append(rest, y[10]) - median)) / 0.6745
        y[10] = median + z * sd
        median = np.median(y)
    finding = _finding(_check(data.assign(y=y)), "target_outliers")
    assert (finding.severity == "review") is flagged
    assert finding.numbers["max_abs_z"] == pytest.approx(z, rel=0.02)


def test_a_constant_target_fails_and_a_nearly_constant_one_needs_review(data: pd.DataFrame) -> None:
    constant = _check(data.assign(y=7.0)).get("target_variation")
    assert constant is not None and constant.severity == "fail" and "'y' is 7 in every row" in constant.message
    level = 1000.0 + data["y"]  # sd ≈ 1, 0.1% of the level
    nearly = _check(data.assign(y=level)).get("target_variation")
    assert nearly is not None and nearly.severity == "review" and "below 1%" in nearly.message


def test_mmm_check_data_validates_first_and_fit_warns(data: pd.DataFrame) -> None:
    mmm = MMM.from_config(seed_config())
    assert mmm.check_data(data).verdict == "pass"
    collinear = data.assign(x2=2.0 * data["x1"])
    assert _finding(mmm.check_data(collinear), "collinearity").severity == "fail"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mmm.fit(collinear, sampler=PriorSampler(), chains=2, draws=20)
    messages = [str(w.message) for w in caught if issubclass(w.category, DataWarning)]
    assert len(messages) == 2  # collinearity and vif: one warning per finding, message then next step
    assert "'x1' and 'x2' (r = 1.000)" in messages[0] and "Merge the collinear channels" in messages[0]
    assert "'x2' (VIF infinite" in messages[1]
    assert any(issubclass(w.category, ConvergenceWarning) for w in caught)  # 20 prior draws, as expected
