"""Output folders are written whole or not at all, and never clobber foreign folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from mediamix.errors import OutputError
from mediamix.output import atomic_folder, read_posterior, write_posterior

FILES = Path(__file__).parent / "files"


def _leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def test_success_moves_the_folder_into_place(tmp_path: Path) -> None:
    target = tmp_path / "out"
    with atomic_folder(target) as tmp:
        (tmp / "summary.json").write_text("{}")
        assert not target.exists()  # nothing visible until the end
    assert (target / "summary.json").read_text() == "{}"
    assert _leftovers(tmp_path) == []


def test_failure_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "out"
    with pytest.raises(RuntimeError):
        with atomic_folder(target) as tmp:
            (tmp / "summary.json").write_text("{}")
            raise RuntimeError("crash halfway")
    assert not target.exists()
    assert _leftovers(tmp_path) == []


OLD = '{"mediamix_version": "0.0.9", "note": "old"}'


def test_failure_keeps_the_previous_result(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "summary.json").write_text(OLD)
    with pytest.raises(RuntimeError):
        with atomic_folder(target) as tmp:
            (tmp / "summary.json").write_text("new")
            raise RuntimeError("crash")
    assert (target / "summary.json").read_text() == OLD


def test_a_previous_result_is_replaced(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "summary.json").write_text(OLD)
    (target / "optimization.json").write_text("{}")  # written by a later command, stale now
    with atomic_folder(target) as tmp:
        (tmp / "summary.json").write_text("new")
    assert (target / "summary.json").read_text() == "new"
    assert not (target / "optimization.json").exists()
    assert _leftovers(tmp_path) == []


def test_a_foreign_folder_is_refused_untouched(tmp_path: Path) -> None:
    target = tmp_path / "thesis"
    target.mkdir()
    (target / "chapter1.tex").write_text("precious")
    with pytest.raises(OutputError, match="not a mediamix output; refusing to overwrite"):
        with atomic_folder(target):
            pytest.fail("the body must not run")
    assert (target / "chapter1.tex").read_text() == "precious"


def test_the_users_files_beside_an_earlier_output_are_never_deleted(tmp_path: Path) -> None:
    target = tmp_path / "proj"
    target.mkdir()
    (target / "summary.json").write_text(OLD)
    (target / "notes.txt").write_text("months of work")
    (target / "data.csv").write_text("date,y")
    with pytest.raises(OutputError, match=r"also files mediamix did not write \(notes.txt\); replacing it would "
                                          r"delete them"):
        with atomic_folder(target):
            pytest.fail("the body must not run")
    assert (target / "notes.txt").read_text() == "months of work"


@pytest.mark.parametrize("summary", ['{"note": "my own summary"}', "[1, 2]", "not json"])
def test_a_summary_json_that_mediamix_did_not_write_does_not_make_an_output_folder(tmp_path: Path,
                                                                                 summary: str) -> None:
    target = tmp_path / "proj"
    target.mkdir()
    (target / "summary.json").write_text(summary)
    with pytest.raises(OutputError, match="not a mediamix output"):
        with atomic_folder(target):
            pass
    assert (target / "summary.json").read_text() == summary


def test_a_simulation_folder_is_replaced_but_not_with_a_fit_inside(tmp_path: Path) -> None:
    target = tmp_path / "sim"
    target.mkdir()
    for name in ("data.csv", "mmm.toml"):
        (target / name).write_text("old")
    (target / "truth.json").write_text("{}")
    with atomic_folder(target) as tmp:
        (tmp / "truth.json").write_text('{"new": 1}')
    assert sorted(p.name for p in target.iterdir()) == ["truth.json"]
    (target / "fit").mkdir()  # the fit the simulate command suggests: --out sim/fit
    with pytest.raises(OutputError, match=r"\(fit\)"):
        with atomic_folder(target):
            pass


def test_an_interruption_between_the_two_renames_puts_the_previous_result_back(tmp_path: Path,
                                                                                monkeypatch) -> None:
    import os

    target = tmp_path / "out"
    target.mkdir()
    (target / "summary.json").write_text(OLD)
    replace = os.replace

    def interrupted(src, dst) -> None:  # the second rename (new folder into place) never happens
        if Path(dst) == target and ".tmp-" in Path(src).name:
            raise KeyboardInterrupt
        replace(src, dst)

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        with atomic_folder(target) as tmp:
            (tmp / "summary.json").write_text("new")
    assert (target / "summary.json").read_text() == OLD
    assert _leftovers(tmp_path) == []


def test_a_file_in_the_way_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.write_text("file")
    with pytest.raises(OutputError, match="is a file"):
        with atomic_folder(target):
            pass


def test_the_folder_gets_ordinary_permissions(tmp_path: Path) -> None:
    import os

    umask = os.umask(0o022)
    try:
        with atomic_folder(tmp_path / "out") as tmp:
            (tmp / "summary.json").write_text("{}")
    finally:
        os.umask(umask)
    assert (tmp_path / "out").stat().st_mode & 0o777 == 0o755


def test_collector_paused_turns_the_collector_back_on() -> None:
    import gc

    from mediamix.output import collector_paused

    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()  # no full scans of a fit's objects while the folder is written
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("an error while writing")
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()  # a process that turned it off keeps it off
    finally:
        gc.enable()


def test_a_table_stored_by_an_earlier_version_under_its_column_names_still_reads() -> None:
    import pandas as pd
    import xarray as xr

    from mediamix.output import dataset_to_frame, frame_to_dataset

    frame = pd.DataFrame({"week": pd.date_range("2024-01-01", periods=3, freq="7D"), "tv": [1.0, 2.0, 3.0],
                          "y": [4.0, 5.0, 6.0]})
    old = xr.Dataset.from_dataframe(frame.set_index("week").rename_axis("date"))
    old.attrs["date_column"] = "week"
    pd.testing.assert_frame_equal(dataset_to_frame(old), frame)
    pd.testing.assert_frame_equal(dataset_to_frame(frame_to_dataset(frame, "week")), frame)


def _small_posterior() -> xr.DataTree:
    """A posterior.nc's layout in small: draws with dims and coordinates, sample stats, the
    training table with dates and its attributes."""
    rng = np.random.default_rng(7)
    chains, draws = {"chain": [0, 1]}, {"draw": np.arange(5)}
    posterior = xr.Dataset(
        {"beta": (("chain", "draw", "channel"), rng.normal(size=(2, 5, 2))),
         "sigma": (("chain", "draw"), rng.gamma(2.0, size=(2, 5)))},
        coords={**chains, **draws, "channel": ["x1", "x2"]})
    stats = xr.Dataset({"diverging": (("chain", "draw"), np.zeros((2, 5), dtype=bool)),
                        "n_steps": (("chain", "draw"), rng.integers(1, 30, size=(2, 5)).astype(np.uint64))},
                       coords={**chains, **draws})
    fit_data = xr.Dataset({"column_0": ("date", rng.normal(size=4))},
                          coords={"date": pd.date_range("2024-01-01", periods=4, freq="W-MON")},
                          attrs={"date_column": "week", "columns": '["sales"]'})
    return xr.DataTree.from_dict({"posterior": posterior, "sample_stats": stats, "fit_data": fit_data})


def test_posterior_nc_round_trips(tmp_path: Path) -> None:
    tree = _small_posterior()
    write_posterior(tree, tmp_path / "posterior.nc")
    assert read_posterior(tmp_path / "posterior.nc").identical(tree)


def test_a_posterior_nc_written_by_h5netcdf_still_reads() -> None:
    """mediamix wrote posterior.nc with h5netcdf before; such output folders still load. The file was
    written once from ``_small_posterior()`` with h5netcdf 1.8.2 (h5netcdf is no dependency now)."""
    assert read_posterior(FILES / "posterior-h5netcdf.nc").identical(_small_posterior())


def test_a_damaged_posterior_nc_says_so(tmp_path: Path) -> None:
    """Found in review: the netCDF library raises RuntimeError for damaged compressed data (h5netcdf
    raised OSError); either is the user's file, and an OutputError says which."""
    draws = xr.Dataset({"beta": (("chain", "draw"), np.random.default_rng(0).normal(size=(4, 5000)))})
    xr.DataTree.from_dict({"posterior": draws}).to_netcdf(
        tmp_path / "posterior.nc", engine="netcdf4",
        encoding={"/posterior": {"beta": {"zlib": True, "chunksizes": (1, 500)}}})
    damaged = bytearray((tmp_path / "posterior.nc").read_bytes())
    middle = len(damaged) // 2
    damaged[middle:middle + 2048] = bytes(2048)
    (tmp_path / "posterior.nc").write_bytes(damaged)
    with pytest.raises(OutputError, match=r"Cannot read '.*posterior.nc' as InferenceData: NetCDF: HDF error"):
        read_posterior(tmp_path / "posterior.nc")


def test_a_posterior_nc_that_is_no_netcdf_says_so(tmp_path: Path) -> None:
    (tmp_path / "posterior.nc").write_bytes(b"\x80\x04not netCDF at all")
    with pytest.raises(OutputError, match=r"Cannot read '.*posterior.nc' as InferenceData"):
        read_posterior(tmp_path / "posterior.nc")
    with pytest.raises(OutputError, match="is missing"):
        read_posterior(tmp_path / "none.nc")
