"""`mediamix check` and `mediamix fit --strict` through typer's runner."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import Result
from typer.testing import CliRunner

import mediamix
from mediamix.cli.app import REVIEW_FAILED_EXIT_CODE, app

runner = CliRunner()
WIDE = {"COLUMNS": "240"}  # one line per finding, so phrases are not wrapped apart



def _fit(seed_dir: Path, out: Path, *flags: str) -> Result:
    args = ["fit", str(seed_dir / "data.csv"), "--config", str(seed_dir / "mmm.toml"), "--out", str(out),
            "--seed", "7", "--no-progress", *flags]
    return runner.invoke(app, args, env=WIDE)


@pytest.fixture(scope="module")
def unconverged(seed_dir: Path) -> tuple[Path, Result]:
    """Five tuning steps: far too few for NUTS to adapt, so the chains cannot agree."""
    out = seed_dir.parent / "unconverged"
    return out, _fit(seed_dir, out, "--chains", "2", "--draws", "50", "--tune", "5", "--strict")


def test_check_passes_the_demo_data_and_lists_every_check(seed_dir: Path) -> None:
    result = runner.invoke(app, ["check", str(seed_dir / "data.csv"), "--config", str(seed_dir / "mmm.toml")],
                           env=WIDE)
    assert result.exit_code == 0, result.output
    assert "Data checks for data.csv: PASS (11 pass)" in result.output
    for check in ("zero_spend", "collinearity", "vif", "data_to_parameters", "target_outliers"):
        assert check in result.output


def test_check_fails_on_collinear_channels_with_exit_code_3(seed_dir: Path, tmp_path: Path) -> None:
    data = pd.read_csv(seed_dir / "data.csv")
    data.assign(x2=3.0 * data["x1"]).to_csv(tmp_path / "data.csv", index=False)
    result = runner.invoke(app, ["check", str(tmp_path / "data.csv"), "--config", str(seed_dir / "mmm.toml")],
                           env=WIDE)
    assert result.exit_code == REVIEW_FAILED_EXIT_CODE == 3
    assert "FAIL" in result.output and "'x1' and 'x2' (r = 1.000)" in result.output
    assert "Merge the collinear channels" in result.output


def test_check_of_unusable_data_exits_2(seed_dir: Path, tmp_path: Path) -> None:
    pd.read_csv(seed_dir / "data.csv").drop(columns="x2").to_csv(tmp_path / "data.csv", index=False)
    result = runner.invoke(app, ["check", str(tmp_path / "data.csv"), "--config", str(seed_dir / "mmm.toml")])
    assert result.exit_code == 2 and "Column 'x2' (channel) is not in the table" in result.output


def test_fit_strict_writes_the_folder_then_exits_3_on_a_failed_review(unconverged: tuple[Path, Result]) -> None:
    out, result = unconverged
    assert result.exit_code == REVIEW_FAILED_EXIT_CODE, result.output
    output = result.output
    assert "Model review: FAIL" in output and "r_hat" in output and "--strict" in output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["review"]["verdict"] == "fail"
    r_hat = next(f for f in summary["review"]["findings"] if f["check"] == "r_hat")
    assert r_hat["severity"] == "fail" and r_hat["numbers"]["r_hat_max"] > 1.05


def test_too_few_tuning_steps_get_the_convergence_finding(unconverged: tuple[Path, Result]) -> None:
    out, _ = unconverged
    review = mediamix.load(out).review()  # recomputed from the saved posterior
    assert review.verdict == "fail"
    r_hat, ess = review.get("r_hat"), review.get("ess")
    assert r_hat is not None and r_hat.severity == "fail" and "the chains disagree" in r_hat.message
    assert "more tuning steps" in r_hat.next_step
    assert ess is not None and ess.severity == "fail"


def test_summary_prints_the_saved_review(unconverged: tuple[Path, Result]) -> None:
    out, _ = unconverged
    result = runner.invoke(app, ["summary", str(out)], env=WIDE)
    assert result.exit_code == 0 and "Model review: FAIL" in result.output and "r_hat" in result.output


def test_fit_strict_exits_0_when_the_review_does_not_fail(seed_dir: Path) -> None:
    out = seed_dir.parent / "converged"
    result = _fit(seed_dir, out, "--chains", "2", "--draws", "1000", "--tune", "500", "--strict")
    assert result.exit_code == 0, result.output
    assert "Model review: " in result.output and "Wrote" in result.output
    assert json.loads((out / "summary.json").read_text())["review"]["verdict"] != "fail"


def test_fit_help_documents_strict_and_its_exit_code() -> None:
    result = runner.invoke(app, ["fit", "--help"], env=WIDE)
    assert result.exit_code == 0
    assert "--strict" in result.output and "Exit with code 3 when the model review's verdict is fail" in result.output
    assert "Override [fit] chains." in result.output  # a config section, not terminal markup


def test_check_finds_a_config_the_dates_cannot_support_and_exits_2(seed_dir: Path, tmp_path: Path) -> None:
    config = (seed_dir / "mmm.toml").read_text().replace("[model]", "[model]\nmonthly_seasonality = 4", 1)
    (tmp_path / "mmm.toml").write_text(config)
    result = runner.invoke(app, ["check", str(seed_dir / "data.csv"), "--config", str(tmp_path / "mmm.toml")],
                           env=WIDE)
    assert result.exit_code == 2, result.output
    assert "[model] monthly_seasonality = 4 is too fine for data 7 days apart" in result.output
    assert "Use at most 2" in result.output


@pytest.mark.parametrize("channel", ["x2 [eur]", "tv[/b]"])
def test_errors_print_names_and_config_sections_as_they_are(seed_dir: Path, tmp_path: Path, channel: str) -> None:
    """Brackets in a message are text, not terminal markup: nothing dropped, no crash."""
    config = (seed_dir / "mmm.toml").read_text().replace('"x2"', f'"{channel}"', 1)
    (tmp_path / "mmm.toml").write_text(config)
    result = runner.invoke(app, ["check", str(seed_dir / "data.csv"), "--config", str(tmp_path / "mmm.toml")],
                           env=WIDE)
    assert result.exit_code == 2, result.output
    assert f"Column '{channel}' (channel) is not in the table" in result.output
