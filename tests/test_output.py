"""Output folders are written whole or not at all, and never clobber foreign folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from mediamix.errors import OutputError
from mediamix.output import atomic_folder


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


def test_failure_keeps_the_previous_result(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "summary.json").write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_folder(target) as tmp:
            (tmp / "summary.json").write_text("new")
            raise RuntimeError("crash")
    assert (target / "summary.json").read_text() == "old"


def test_a_previous_result_is_replaced(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "summary.json").write_text("old")
    (target / "stale.txt").write_text("x")
    with atomic_folder(target) as tmp:
        (tmp / "summary.json").write_text("new")
    assert (target / "summary.json").read_text() == "new"
    assert not (target / "stale.txt").exists()
    assert _leftovers(tmp_path) == []


def test_a_foreign_folder_is_refused_untouched(tmp_path: Path) -> None:
    target = tmp_path / "thesis"
    target.mkdir()
    (target / "chapter1.tex").write_text("precious")
    with pytest.raises(OutputError, match="not a mediamix output; refusing to overwrite"):
        with atomic_folder(target):
            pytest.fail("the body must not run")
    assert (target / "chapter1.tex").read_text() == "precious"


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
