"""``mediamix optimize`` and ``mediamix predict`` through typer's runner, on a folder saved from a
prior-sampler fit (no MCMC: the numbers are the prior's, the plumbing is what is tested)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import mediamix
from mediamix.cli.app import app

runner = CliRunner()


@pytest.fixture(scope="module")
def fit_dir(prior_fit, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return prior_fit.save(tmp_path_factory.mktemp("optimize") / "fit")


def _listing(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def _one_line(output: str) -> str:
    return " ".join(output.split())  # rich wraps long messages to the terminal width


# ----------------------------------------------------------------- optimize


def test_the_report_says_how_later_returns_were_discounted(fit_dir: Path, tmp_path: Path) -> None:
    import shutil

    folder = tmp_path / "fit"
    shutil.copytree(fit_dir, folder)
    result = runner.invoke(app, ["optimize", str(folder), "--budget", "5", "--weeks", "8", "--discount-rate", "0.1"])
    assert result.exit_code == 0, result.output
    assert "later returns discounted at 10.0% a year" in (folder / "report.html").read_text()


def test_periods_is_another_name_for_weeks(fit_dir: Path, tmp_path: Path) -> None:
    """For monthly data a horizon in 'weeks' reads wrong; --periods says the same thing."""
    results = []
    for flag in ("--weeks", "--periods"):
        out = tmp_path / f"{flag.strip('-')}.json"
        result = runner.invoke(app, ["optimize", str(fit_dir), "--budget", "5", flag, "6", "--out", str(out)])
        assert result.exit_code == 0, result.output
        results.append(json.loads(out.read_text()))
    assert results[0]["weeks"] == results[1]["weeks"] == 6
    assert results[0]["allocation"] == results[1]["allocation"]
    zero = runner.invoke(app, ["optimize", str(fit_dir), "--budget", "5", "--periods", "0"], env={"COLUMNS": "200"})
    assert zero.exit_code == 2 and "'--weeks' / '--periods'" in zero.output


def test_optimize_writes_the_result_json(fit_dir: Path, prior_fit) -> None:
    before = _listing(fit_dir)
    result = runner.invoke(app, ["optimize", str(fit_dir), "--budget", "5", "--weeks", "8"])
    assert result.exit_code == 0, result.output
    written = fit_dir / "optimization.json"
    assert _listing(fit_dir) == before | {"optimization.json"}  # nothing else, no temporary file left
    assert '<section id="optimization">' in (fit_dir / "report.html").read_text()  # the report now shows it
    payload = json.loads(written.read_text())
    assert {"budget", "spent", "weeks", "objective", "allocation", "reference_allocation", "kpi", "reference_kpi",
            "uplift", "weekly_plan", "solver"} <= set(payload)
    assert payload["budget"] == 5.0 and payload["weeks"] == 8 and payload["objective"] == "mean"
    assert set(payload["allocation"]) == {"x1", "x2"}
    assert sum(payload["allocation"].values()) == pytest.approx(5.0, rel=1e-6)
    assert sum(payload["reference_allocation"].values()) == pytest.approx(5.0)
    assert set(payload["kpi"]) == {"mean", "hdi_low", "hdi_high"}
    assert set(payload["uplift"]) == {"mean", "hdi_low", "hdi_high", "probability_positive"}
    assert set(payload["solver"]) == {"success", "message", "iterations", "seconds"}
    assert len(payload["weekly_plan"]["x1"]) == 8
    # The same numbers as the library call.
    direct = prior_fit.optimize_budget(5.0, 8)
    assert payload["allocation"] == pytest.approx(direct.allocation, rel=1e-9)
    assert payload["kpi"]["mean"] == pytest.approx(float(direct.kpi.mean()), rel=1e-9)
    assert "x1" in result.output and "Media KPI" in result.output and "Wrote" in result.output
    written.unlink()


def test_optimize_with_bounds_objective_and_out(fit_dir: Path, tmp_path: Path) -> None:
    bounds = tmp_path / "bounds.toml"
    bounds.write_text("[x2]\nfixed = 1.5\n")
    out = tmp_path / "results" / "plan.json"
    args = ["optimize", str(fit_dir), "--budget", "5", "--weeks", "6", "--bounds", str(bounds),
            "--objective", "cvar", "--risk", "0.2", "--flighting", "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    payload = json.loads(out.read_text())
    assert payload["allocation"]["x2"] == pytest.approx(1.5, rel=1e-6)
    assert payload["objective"] == "cvar" and payload["risk"] == 0.2 and payload["flighting"] is True
    assert not (fit_dir / "optimization.json").exists()


def test_optimize_target_kpi_scenario_without_a_budget(fit_dir: Path, prior_fit, tmp_path: Path) -> None:
    base = prior_fit.optimize_budget(float(prior_fit.historical_weekly_spend().sum() * 4), 4)
    target = 1.05 * float(base.kpi.mean())
    out = tmp_path / "target.json"
    result = runner.invoke(app, ["optimize", str(fit_dir), "--weeks", "4", "--target-kpi", repr(target),
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    payload = json.loads(out.read_text())
    assert payload["scenario"] == {"kind": "target_kpi", "target": pytest.approx(target)}
    assert target <= payload["kpi"]["mean"] <= 1.01 * target
    assert "scenario" in result.output


@pytest.mark.parametrize(
    ("bounds_text", "message"),
    [
        ("[x1]\nlower = 10\n", "Infeasible bounds: the channels' lower bounds add up to 10, more than the budget 5"),
        ("[x1]\nupper = 1\n[x2]\nupper = 1\n", "upper bounds add up to 2, less than the budget 5"),
        ("[x1]\nlower = 3\nupper = 2\n", "channel 'x1' has lower 3 > upper 2"),
        ("[x1s]\nupper = 1\n", "unknown channel 'x1s'. Did you mean 'x1'? Known channels: x1, x2"),
        ("[x1]\nuper = 1\n", "unknown key 'uper'. Did you mean 'upper'?"),
    ],
)
def test_infeasible_or_bad_bounds_exit_2_and_write_nothing(fit_dir: Path, tmp_path: Path, bounds_text: str,
                                                           message: str) -> None:
    bounds = tmp_path / "bounds.toml"
    bounds.write_text(bounds_text)
    before = _listing(fit_dir)
    out = tmp_path / "out.json"
    result = runner.invoke(app, ["optimize", str(fit_dir), "--budget", "5", "--weeks", "8", "--bounds", str(bounds),
                                 "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "Error:" in result.output and message in _one_line(result.output)
    assert not out.exists()
    assert _listing(tmp_path) == {"bounds.toml"}  # no partial or temporary file
    assert _listing(fit_dir) == before


def test_optimize_to_an_unwritable_out_exits_2_and_leaves_no_temporary_file(fit_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "taken"
    folder.mkdir()
    result = runner.invoke(app, ["optimize", str(fit_dir), "--budget", "5", "--weeks", "8", "--out", str(folder)])
    assert result.exit_code == 2
    assert f"Output path '{folder}' is a folder; expected a file name" in _one_line(result.output)
    assert _listing(tmp_path) == {"taken"} and not any(folder.iterdir())


def test_optimize_without_budget_or_scenario_exits_2(fit_dir: Path) -> None:
    result = runner.invoke(app, ["optimize", str(fit_dir), "--weeks", "8"])
    assert result.exit_code == 2
    assert "Give --budget (or a scenario: --target-kpi or --min-mroas)" in _one_line(result.output)
    assert not (fit_dir / "optimization.json").exists()


def test_optimize_with_a_misspelled_objective_exits_2(fit_dir: Path) -> None:
    result = runner.invoke(app, ["optimize", str(fit_dir), "--budget", "5", "--objective", "cvarr"])
    assert result.exit_code == 2
    assert "Unknown objective 'cvarr'. Did you mean 'cvar'?" in _one_line(result.output)
    assert not (fit_dir / "optimization.json").exists()


def test_optimize_on_a_folder_that_is_not_an_output_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["optimize", str(tmp_path / "nowhere"), "--budget", "5"])
    assert result.exit_code == 2 and "is not a folder" in _one_line(result.output)


# ----------------------------------------------------------------- predict


def _plan_csv(folder: Path, name: str, prior_fit, x1: float, x2: float, weeks: int = 6) -> Path:
    last = prior_fit.data_["date_week"].iloc[-1]
    dates = pd.date_range(last + pd.Timedelta(days=7), periods=weeks, freq="7D")
    path = folder / f"{name}.csv"
    pd.DataFrame({"date_week": dates.strftime("%Y-%m-%d"), "x1": x1, "x2": x2}).to_csv(path, index=False)
    return path


def test_predict_compares_plans_and_writes_a_csv(fit_dir: Path, prior_fit, tmp_path: Path) -> None:
    a = _plan_csv(tmp_path, "a", prior_fit, 0.4, 0.1)
    b = _plan_csv(tmp_path, "b", prior_fit, 0.0, 0.0)
    out = tmp_path / "x.csv"
    result = runner.invoke(app, ["predict", str(fit_dir), "--plan", str(a), "--plan", str(b), "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert list(table["plan"]) == ["a", "b"]
    assert {"weeks", "spend", "kpi_mean", "kpi_low", "kpi_high", "media_kpi_mean", "vs_first_mean",
            "p_higher_than_first"} <= set(table.columns)
    assert list(table["weeks"]) == [6, 6]
    assert table["spend"].tolist() == pytest.approx([6 * 0.5, 0.0])
    assert table.loc[0, "vs_first_mean"] == 0.0
    # The numbers are the library's: the expected KPIs' difference, and media KPI of a zero plan is carryover only.
    comparison = prior_fit.compare_plans({"a": a, "b": b}, seed=0)
    expected = comparison["expected_kpi"].mean(("chain", "draw")).to_numpy()
    assert table.loc[1, "vs_first_mean"] == pytest.approx(expected[1] - expected[0], rel=1e-9)
    assert table.loc[0, "kpi_mean"] == pytest.approx(float(comparison["kpi"].sel(plan="a").mean()), rel=1e-9)
    assert table.loc[0, "media_kpi_mean"] > table.loc[1, "media_kpi_mean"] > 0
    assert (table["kpi_low"] <= table["kpi_mean"]).all() and (table["kpi_mean"] <= table["kpi_high"]).all()
    assert "KPI" in result.output and "Wrote" in result.output


def test_predict_needs_distinct_plan_names(fit_dir: Path, prior_fit, tmp_path: Path) -> None:
    (tmp_path / "other").mkdir()
    a = _plan_csv(tmp_path, "a", prior_fit, 0.4, 0.1)
    a2 = _plan_csv(tmp_path / "other", "a", prior_fit, 0.1, 0.1)
    out = tmp_path / "x.csv"
    result = runner.invoke(app, ["predict", str(fit_dir), "--plan", str(a), "--plan", str(a2), "--out", str(out)])
    assert result.exit_code == 2
    assert "Plans need distinct file names" in _one_line(result.output)
    assert not out.exists()


def test_predict_with_a_plan_missing_a_channel_exits_2_and_writes_nothing(fit_dir: Path, prior_fit,
                                                                           tmp_path: Path) -> None:
    plan = _plan_csv(tmp_path, "a", prior_fit, 0.4, 0.1)
    pd.read_csv(plan).drop(columns="x2").to_csv(plan, index=False)
    out = tmp_path / "x.csv"
    result = runner.invoke(app, ["predict", str(fit_dir), "--plan", str(plan), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "Error:" in result.output and "x2" in result.output
    assert not out.exists()
    assert _listing(tmp_path) == {"a.csv"}


def test_loaded_folder_optimizes_like_the_fitted_model(fit_dir: Path, prior_fit) -> None:
    loaded = mediamix.load(fit_dir)
    np.testing.assert_allclose(loaded.optimize_budget(5.0, 8).kpi, prior_fit.optimize_budget(5.0, 8).kpi, rtol=1e-12)


def test_optimize_compares_with_a_given_reference(fit_dir: Path, tmp_path: Path) -> None:
    reference = tmp_path / "reference.toml"
    reference.write_text("x1 = 1.0\nx2 = 4.0\n")
    out = tmp_path / "opt.json"
    result = runner.invoke(app, ["optimize", str(fit_dir), "--budget", "5", "--weeks", "8",
                                 "--reference", str(reference), "--out", str(out)])
    assert result.exit_code == 0, result.output
    payload = json.loads(out.read_text())
    assert payload["reference_allocation"] == {"x1": 1.0, "x2": 4.0}
    reference.write_text("x1 = 1.0\nx3 = 4.0\n")
    bad = runner.invoke(app, ["optimize", str(fit_dir), "--budget", "5", "--weeks", "8",
                              "--reference", str(reference), "--out", str(tmp_path / "bad.json")])
    assert bad.exit_code == 2 and "unknown channel 'x3'" in _one_line(bad.output)
    assert not (tmp_path / "bad.json").exists()
