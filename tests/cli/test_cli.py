"""The CLI end to end through typer's runner: simulate, fit, summary, and bad input."""

from __future__ import annotations

import json
import os
import sys
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import mediamix
from mediamix.cli.app import app

runner = CliRunner()



@pytest.fixture(scope="module")
def fitted_dir(seed_dir: Path) -> tuple[Path, str]:
    out = seed_dir.parent / "fit"
    args = ["fit", str(seed_dir / "data.csv"), "--config", str(seed_dir / "mmm.toml"), "--out", str(out),
            "--chains", "2", "--draws", "300", "--tune", "300", "--seed", "7", "--mass-matrix", "low_rank",
            "--no-progress"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return out, result.output


def test_simulate_writes_data_truth_and_config(seed_dir: Path) -> None:
    data = pd.read_csv(seed_dir / "data.csv")
    assert list(data.columns) == ["date_week", "y", "x1", "x2", "event_1", "event_2"]
    assert len(data) == 179 and data["date_week"].iloc[0] == "2018-04-02"
    truth = json.loads((seed_dir / "truth.json").read_text())
    assert truth["channels"]["x1"]["alpha"] == 0.4 and truth["channels"]["x2"]["lam"] == 3.0
    assert mediamix.load_config(seed_dir / "mmm.toml").data.channels == ("x1", "x2")


def test_fit_writes_the_output_contract(fitted_dir: tuple[Path, str]) -> None:
    out, printed = fitted_dir
    assert {p.name for p in out.iterdir()} == {
        "summary.json", "contributions.csv", "posterior.nc", "config.toml",
        "channels.csv", "contribution_bands.csv", "waterfall.csv", "response_curves.csv", "adstock.csv",
        "report.html",
    }
    summary = json.loads((out / "summary.json").read_text())
    assert summary["mediamix_version"] == mediamix.__version__
    assert summary["hdi_prob"] == 0.94
    for entry in summary["channels"].values():
        assert set(entry) >= {"spend", "share_of_spend", "contribution", "share", "roas", "marginal_roas"}
        for key in ("contribution", "share", "roas", "marginal_roas"):
            assert set(entry[key]) == {"mean", "hdi_low", "hdi_high"}
    assert set(summary["diagnostics"]) >= {"r_hat_max", "ess_bulk_min", "divergences", "converged"}
    assert set(summary["timing"]) == {"compile_s", "sampling_s", "total_s"}
    assert "x1" in printed and "ROAS" in printed and "Wrote" in printed


def test_flags_override_the_config_and_are_recorded(fitted_dir: tuple[Path, str], seed_dir: Path) -> None:
    out, _ = fitted_dir
    written = tomllib.loads((out / "config.toml").read_text())
    assert written["fit"]["chains"] == 2 and written["fit"]["draws"] == 300 and written["fit"]["seed"] == 7
    assert written["fit"]["mass_matrix"] == "low_rank"
    assert "mass_matrix" not in tomllib.loads((seed_dir / "mmm.toml").read_text())["fit"]  # the default, diagonal
    assert written["priors"]["beta"] == {"dist": "HalfNormal", "sigma": 2.0}  # fully resolved


def test_contributions_csv_adds_up_to_the_fitted_mean(fitted_dir: tuple[Path, str]) -> None:
    out, _ = fitted_dir
    table = pd.read_csv(out / "contributions.csv")
    assert list(table.columns) == ["date_week", "x1", "x2", "intercept", "trend", "seasonality", "event_1", "event_2"]
    loaded = mediamix.load(out)
    mu = loaded.decomposition()["mu"].mean(("chain", "draw")).to_numpy()
    np.testing.assert_allclose(table.drop(columns="date_week").sum(axis=1), mu, rtol=1e-9)


def test_round_trip_load_gives_the_same_numbers(fitted_dir: tuple[Path, str]) -> None:
    out, _ = fitted_dir
    summary = json.loads((out / "summary.json").read_text())
    loaded = mediamix.load(out)
    for name, entry in loaded.channel_summary().items():
        for key in ("contribution", "share", "roas"):
            for stat in ("mean", "hdi_low", "hdi_high"):
                assert entry[key][stat] == pytest.approx(summary["channels"][name][key][stat], rel=1e-12)


def test_attribution_tables_agree_with_the_summary(fitted_dir: tuple[Path, str]) -> None:
    out, _ = fitted_dir
    summary = json.loads((out / "summary.json").read_text())
    channels = pd.read_csv(out / "channels.csv").set_index("channel")
    for name, entry in summary["channels"].items():
        assert channels.loc[name, "roas_mean"] == pytest.approx(entry["roas"]["mean"])
        assert channels.loc[name, "marginal_roas_hdi_high"] == pytest.approx(entry["marginal_roas"]["hdi_high"])
    waterfall = pd.read_csv(out / "waterfall.csv").set_index("component")
    contributions = pd.read_csv(out / "contributions.csv")
    for column in ("x1", "x2", "intercept", "trend", "seasonality", "event_1"):
        assert waterfall.loc[column, "mean"] == pytest.approx(contributions[column].sum())
    curves = pd.read_csv(out / "response_curves.csv")
    for _, curve in curves.groupby("channel"):
        assert curve["mean"].iloc[0] == 0 and curve["mean"].is_monotonic_increasing
    bands = pd.read_csv(out / "contribution_bands.csv")
    assert (bands["hdi_low"] <= bands["mean"]).all() and (bands["mean"] <= bands["hdi_high"]).all()
    adstock = pd.read_csv(out / "adstock.csv")
    assert adstock.groupby("channel")["mean"].sum().to_numpy() == pytest.approx([1.0, 1.0])


def test_summary_command_prints_a_saved_fit(fitted_dir: tuple[Path, str]) -> None:
    out, _ = fitted_dir
    result = runner.invoke(app, ["summary", str(out)])
    assert result.exit_code == 0
    assert "x2" in result.output and "Diagnostics" in result.output


def _bad(seed_dir: Path, tmp_path: Path, edit, config_text: str | None = None) -> tuple[object, Path]:
    data = pd.read_csv(seed_dir / "data.csv")
    data = edit(data)
    data_path = tmp_path / "data.csv"
    data.to_csv(data_path, index=False)
    config_path = tmp_path / "mmm.toml"
    config_path.write_text(config_text or (seed_dir / "mmm.toml").read_text())
    out = tmp_path / "out"
    result = runner.invoke(app, ["fit", str(data_path), "--config", str(config_path), "--out", str(out), "--no-progress"])
    return result, out


def _set(df: pd.DataFrame, row: int, col: str, value: object) -> pd.DataFrame:
    df = df.astype({col: object})
    df.loc[row, col] = value
    return df


BAD_DATA = {
    "missing column": (lambda d: d.drop(columns="x2"), r"x2"),
    "non-numeric": (lambda d: _set(d, 4, "x1", "abc"), r"x1.*row 5.*abc"),
    "NaN": (lambda d: _set(d, 9, "y", np.nan), r"y.*row 10"),
    "negative spend": (lambda d: _set(d, 2, "x2", -1.0), r"x2.*row 3"),
    "duplicated date": (lambda d: _set(d, 6, "date_week", d.loc[5, "date_week"]), r"date_week"),
    "unsorted dates": (lambda d: d.iloc[[1, 0, *range(2, len(d))]], r"date_week"),
    "gap": (lambda d: d.drop(index=20), r"2018-08-13.*2018-08-27|gap"),
    "all-zero channel": (lambda d: d.assign(x2=0.0), r"x2.*zero"),
    "too few rows": (lambda d: d.iloc[:5], r"l_max"),
}


@pytest.mark.parametrize("case", list(BAD_DATA))
def test_bad_data_exits_2_with_a_clear_message_and_writes_nothing(seed_dir: Path, tmp_path: Path, case: str) -> None:
    edit, pattern = BAD_DATA[case]
    result, out = _bad(seed_dir, tmp_path, edit)
    assert result.exit_code == 2, result.output
    assert "Error:" in result.output
    import re

    assert re.search(pattern, result.output.replace("\n", " ")), result.output
    assert "Compiling" not in result.output  # said before any work is announced
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


def test_config_typo_exits_2_naming_the_key(seed_dir: Path, tmp_path: Path) -> None:
    text = (seed_dir / "mmm.toml").read_text().replace("l_max", "l_maxx")
    result, out = _bad(seed_dir, tmp_path, lambda d: d, config_text=text)
    assert result.exit_code == 2
    assert "l_maxx" in result.output and "Did you mean 'l_max'" in result.output
    assert not out.exists()


def test_missing_data_file_exits_2(seed_dir: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["fit", str(tmp_path / "nope.csv"), "--config", str(seed_dir / "mmm.toml"),
                                 "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "nope.csv" in result.output
    assert not (tmp_path / "out").exists()


def test_bad_flag_value_exits_2(seed_dir: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["fit", str(seed_dir / "data.csv"), "--config", str(seed_dir / "mmm.toml"),
                                 "--out", str(tmp_path / "out"), "--sampler", "stan"])
    assert result.exit_code == 2 and "fit.sampler" in result.output


def test_parquet_input_is_read_and_a_foreign_out_folder_fails_before_fitting(seed_dir: Path, tmp_path: Path) -> None:
    data = pd.read_csv(seed_dir / "data.csv", parse_dates=["date_week"])
    data.to_parquet(tmp_path / "data.parquet")
    frame = mediamix.MMM.from_config(seed_dir / "mmm.toml")._validate(tmp_path / "data.parquet", training=True)
    assert len(frame) == 179 and frame["x1"].dtype == float
    foreign = tmp_path / "thesis"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("precious")
    result = runner.invoke(app, ["fit", str(tmp_path / "data.parquet"), "--config", str(seed_dir / "mmm.toml"),
                                 "--out", str(foreign), "--no-progress"])
    assert result.exit_code == 2 and "refusing to overwrite" in result.output
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"]
    assert "Timing" not in result.output  # stopped before any sampling


def test_version_flag() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and mediamix.__version__ in result.output


def test_demo_command_fits_and_writes_the_folder_with_truth(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = runner.invoke(app, ["demo", "--out", str(out), "--chains", "2", "--draws", "200", "--tune", "200",
                                 "--no-progress"])
    assert result.exit_code == 0, result.output
    assert {"summary.json", "contributions.csv", "posterior.nc", "config.toml", "data.csv", "truth.json",
            "mmm.toml"} <= {p.name for p in out.iterdir()}
    assert "truth" in result.output and "x1" in result.output
    # The demo folder is itself a valid input for `mediamix fit`.
    assert mediamix.load_config(out / "mmm.toml").data.target == "y"


def test_the_console_script_ends_without_a_final_collection_and_still_runs_exit_handlers() -> None:
    """``main()`` moves what the process holds to the permanent generation as it ends (a fast exit);
    the command's own exit code and the ``atexit`` handlers are untouched."""
    import subprocess
    import sys

    code = ("import atexit, gc, sys\n"
            "from mediamix.cli.app import main\n"
            "atexit.register(lambda: print('at exit:', gc.isenabled(), gc.get_freeze_count() > 0))\n"
            "sys.argv = ['mediamix', '--version']\n"
            "main()\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"mediamix {mediamix.__version__}", "at exit: False True"]
    bad = subprocess.run([sys.executable, "-m", "mediamix", "fit", "missing.csv", "--config", "missing.toml",
                          "--out", "never"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "missing.toml" in bad.stderr


def test_a_fit_by_the_console_script_without_the_collector_reads_back_whole(seed_dir: Path, tmp_path: Path) -> None:
    """The CliRunner tests call ``app``; this one runs the real entry point, which turns the cyclic
    garbage collector off for the command: the folder it writes must be complete and load."""
    import subprocess
    import sys

    out = tmp_path / "fit"
    done = subprocess.run([sys.executable, "-m", "mediamix", "fit", str(seed_dir / "data.csv"), "--config",
                           str(seed_dir / "mmm.toml"), "--out", str(out), "--chains", "2", "--draws", "100",
                           "--tune", "100", "--no-progress"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr
    fitted = mediamix.load(out)
    assert dict(fitted.posterior.sizes)["draw"] == 100 and dict(fitted.posterior.sizes)["chain"] == 2
    assert set(fitted.summary().index) == {"x1", "x2"}
    assert (out / "report.html").stat().st_size > 100_000


def test_the_console_script_draws_part_of_the_report_in_a_helper_and_the_report_is_the_same(
        seed_dir: Path, tmp_path: Path) -> None:
    """The real entry point starts the chart helper for ``fit``; the report it writes embeds the PNGs
    this process draws for the saved fit, byte for byte."""
    import base64
    import re
    import subprocess
    import sys

    from mediamix.report import chart_process, draw_charts

    if not sys.platform.startswith("linux") or len(os.sched_getaffinity(0)) < 2:
        pytest.skip("the helper forks on Linux with two CPUs or more only")
    out = tmp_path / "fit"
    code = ("import os, sys\n"
            "os.getloadavg = lambda: (0.0, 0.0, 0.0)  # the suite's own load: not what this test checks\n"
            "import mediamix.report.charts as charts\n"
            "result = charts.PendingCharts.result\n"
            "def traced(self, *args):\n"
            "    print('charts in parallel:', self.in_parallel)\n"
            "    return result(self, *args)\n"
            "charts.PendingCharts.result = traced\n"
            "from mediamix.cli.app import main\n"
            f"sys.argv = ['mediamix', 'fit', {str(seed_dir / 'data.csv')!r},"
            f" '--config', {str(seed_dir / 'mmm.toml')!r}, '--out', {str(out)!r},"
            " '--chains', '2', '--draws', '100', '--tune', '100', '--no-progress']\n"
            "main()\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "charts in parallel: True" in done.stdout
    assert "Warning" not in done.stderr
    assert chart_process.current() is None
    embedded = [base64.b64decode(uri) for uri in
                re.findall(r'src="data:image/png;base64,([^"]+)"', (out / "report.html").read_text())]
    assert embedded == list(draw_charts(mediamix.load(out).report_data()).values())


def test_the_chart_helper_is_for_the_console_script_only_and_can_be_turned_off(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import mediamix.cli.app as cli

    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    with cli.chart_helper() as helper:  # as CliRunner and library callers run commands: no second process
        assert helper is None
    monkeypatch.setattr(cli, "_charts_in_parallel", True)  # as main() sets it
    monkeypatch.setenv(cli.CHART_PROCESS_ENV, "0")
    with cli.chart_helper() as helper:
        assert helper is None
    if sys.platform.startswith("linux") and len(os.sched_getaffinity(0)) >= 2:
        monkeypatch.delenv(cli.CHART_PROCESS_ENV)
        with cli.chart_helper() as helper:
            assert helper is not None


@pytest.mark.parametrize("user_opt", [None, "2"])
def test_the_console_script_has_numba_optimize_at_level_1_unless_the_user_chose(user_opt: str | None) -> None:
    """The level is in numba's config before its code generator exists (built at the first compile)."""
    import os
    import subprocess
    import sys

    code = ("import atexit, sys\n"
            "import numba.core.config as config, numba.core.registry as registry\n"
            "from mediamix.cli.app import main\n"
            "atexit.register(lambda: print(int(config.OPT), 'target_context' in vars(registry.cpu_target)))\n"
            "sys.argv = ['mediamix', '--version']\n"
            "main()\n")
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_OPT"}
    if user_opt is not None:
        env["NUMBA_OPT"] = user_opt
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == f"{user_opt or 1} False"


def test_fit_into_the_folder_that_holds_its_data_is_refused_and_deletes_nothing(fitted_dir: tuple[Path, str],
                                                                                seed_dir: Path,
                                                                                tmp_path: Path) -> None:
    import shutil

    proj = tmp_path / "proj"
    shutil.copytree(fitted_dir[0], proj)  # an earlier fit's folder ...
    shutil.copy(seed_dir / "data.csv", proj / "data.csv")  # ... where the user then put the data
    before = sorted(p.name for p in proj.iterdir())
    result = runner.invoke(app, ["fit", str(proj / "data.csv"), "--config", str(seed_dir / "mmm.toml"),
                                 "--out", str(proj), "--no-progress"])
    assert result.exit_code == 2, result.output
    assert "holds the input file" in result.output and "would delete it" in result.output
    assert sorted(p.name for p in proj.iterdir()) == before


def test_summary_of_a_folder_mediamix_did_not_write_exits_2(tmp_path: Path) -> None:
    (tmp_path / "summary.json").write_text("[]")
    result = runner.invoke(app, ["summary", str(tmp_path)])
    assert result.exit_code == 2 and "is not a mediamix summary" in result.output
