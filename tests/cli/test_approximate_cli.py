"""``mediamix fit --method`` end to end: an approximate fit is written whole and labelled everywhere."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np
import pytest
from click.testing import Result
from typer.testing import CliRunner

import mediamix
from mediamix.cli.app import app

runner = CliRunner()
WIDE = {"COLUMNS": "240"}  # one line per message, so phrases are not wrapped apart



def fit(seed_dir: Path, out: Path, *flags: str) -> Result:
    args = ["fit", str(seed_dir / "data.csv"), "--config", str(seed_dir / "mmm.toml"), "--out", str(out),
            "--seed", "7", "--draws", "300", "--no-progress", *flags]
    return runner.invoke(app, args, env=WIDE)


@pytest.fixture(scope="module")
def map_fit(seed_dir: Path) -> tuple[Path, Result]:
    out = seed_dir.parent / "map"
    return out, fit(seed_dir, out, "--method", "map")


def test_fit_with_method_map_exits_0_and_labels_summary_json(map_fit: tuple[Path, Result]) -> None:
    out, result = map_fit
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["fit"]["method"] == "map" and summary["fit"]["approximate"] is True
    assert "convergence not checked" in summary["fit"]["note"]
    d = summary["diagnostics"]
    assert d["r_hat_max"] is None and d["converged"] is None and d["divergences"] is None
    assert (d["chains"], d["draws"], d["sampler"]) == (1, 300, "map")
    fit_label = summary["fit"]
    assert fit_label["pareto_k_limit"] == pytest.approx(1 - 1 / np.log10(300))  # 0.60 for 300 draws
    # Resampled exactly when k is within the limit for 300 draws; then the weights' ESS is recorded.
    assert fit_label["resampled"] is (fit_label["pareto_k"] <= fit_label["pareto_k_limit"])
    assert (fit_label["importance_ess"] is not None) is fit_label["resampled"]
    assert tomllib.loads((out / "config.toml").read_text())["fit"]["method"] == "map"


def test_fit_prints_that_the_result_is_approximate(map_fit: tuple[Path, Result]) -> None:
    _, result = map_fit
    printed = result.output
    assert "fitting an approximate posterior (map)" in printed
    assert "Warning: approximate fit (map), not for final decisions." in printed
    assert "refit with --method nuts" in printed
    assert "approximate fit (map) — convergence not checked" in printed
    assert "max r-hat" not in printed and "converged" not in printed.replace("not checked", "")


def test_review_and_report_label_the_fit(map_fit: tuple[Path, Result]) -> None:
    out, result = map_fit
    assert "approximation" in result.output and "r_hat" not in result.output
    review = json.loads((out / "summary.json").read_text())["review"]
    checks = {f["check"]: f for f in review["findings"]}
    assert checks["approximation"]["severity"] == "review" and review["verdict"] in ("review", "fail")
    assert "Refit with NUTS" in checks["approximation"]["next_step"]
    html = (out / "report.html").read_text()
    assert 'class="approx-banner"' in html and "Approximate fit (map): not for final decisions." in html
    assert "Largest r-hat" not in html and "The sampler converged" not in html


def test_summary_and_load_keep_the_label(map_fit: tuple[Path, Result]) -> None:
    out, _ = map_fit
    result = runner.invoke(app, ["summary", str(out)], env=WIDE)
    assert result.exit_code == 0, result.output
    assert "Warning: approximate fit (map)" in result.output
    loaded = mediamix.load(out)
    assert loaded.diagnostics_.approximate and loaded.summary_dict()["fit"]["approximate"] is True
    assert loaded.roas().sizes["draw"] == 300  # downstream analysis works unchanged


def test_unknown_method_exits_2_naming_the_key(seed_dir: Path) -> None:
    out = seed_dir.parent / "bad"
    result = fit(seed_dir, out, "--method", "laplace")
    assert result.exit_code == 2, result.output
    assert "'fit.method': Input should be 'nuts', 'advi', 'map' or 'pathfinder'. Got 'laplace'." in result.output
    assert not out.exists()


def test_fit_with_method_pathfinder_is_written_whole_and_labelled(seed_dir: Path) -> None:
    from mediamix.helper_processes import jax_loaded

    out = seed_dir.parent / "pathfinder"
    jax_before = jax_loaded()
    result = fit(seed_dir, out, "--method", "pathfinder")
    assert result.exit_code == 0, result.output
    # SciPy's logsumexp imported JAX through ArviZ's lazy placeholder (0.45 s, and no chart helper in
    # the processes after it): found when the chart-helper tests failed after this one.
    assert jax_loaded() == jax_before
    assert "Warning: approximate fit (pathfinder), not for final decisions." in result.output
    summary = json.loads((out / "summary.json").read_text())
    fit_label = summary["fit"]
    assert fit_label["method"] == "pathfinder" and fit_label["approximate"] is True
    assert fit_label["paths"] >= 1 and fit_label["candidates"] == 300 * fit_label["paths"]
    assert summary["diagnostics"]["draws"] == 300 and summary["diagnostics"]["sampler"] == "pathfinder"
    assert 'class="approx-banner"' in (out / "report.html").read_text()
    assert mediamix.load(out).roas().sizes["draw"] == 300


def test_demo_takes_the_method(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = runner.invoke(app, ["demo", "--out", str(out), "--method", "map", "--draws", "200", "--no-progress"],
                           env=WIDE)
    assert result.exit_code == 0, result.output
    assert "Warning: approximate fit (map)" in result.output
    assert json.loads((out / "summary.json").read_text())["fit"]["approximate"] is True
