"""The output folder: written whole or not at all, and read back without unpickling.

Contract (other tools rely on these names):

- ``summary.json``: per-channel spend, contribution, share and ROAS (mean and
  94% HDI), diagnostics and timing;
- ``contributions.csv``: posterior-mean contribution of every component per date;
- ``posterior.nc``: the ArviZ InferenceData (netCDF, via h5netcdf), with the
  training table in its ``fit_data`` group;
- ``config.toml``: the fully resolved config;
- attribution tables: ``channels.csv``, ``contribution_bands.csv``,
  ``waterfall.csv``, ``response_curves.csv``, ``adstock.csv``.

Files are first written into a hidden temporary folder beside the target and
the folder is then moved into place with a rename, so a crash or a bad input
never leaves a half-written result, and an existing result is replaced only
once the new one is complete.
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr

from mediamix.errors import OutputError

__all__ = [
    "SUMMARY_FILE",
    "CONTRIBUTIONS_FILE",
    "POSTERIOR_FILE",
    "CONFIG_FILE",
    "FIT_DATA_GROUP",
    "atomic_folder",
    "check_target",
    "collector_paused",
    "json_text",
    "write_text_atomic",
    "write_json",
    "read_json",
    "frame_to_dataset",
    "dataset_to_frame",
    "read_posterior",
]

SUMMARY_FILE = "summary.json"
CONTRIBUTIONS_FILE = "contributions.csv"
POSTERIOR_FILE = "posterior.nc"
CONFIG_FILE = "config.toml"
#: Group of ``posterior.nc`` that holds the training table.
FIT_DATA_GROUP = "fit_data"

_MARKERS = (SUMMARY_FILE, POSTERIOR_FILE)


def _is_output_folder(path: Path) -> bool:
    return any((path / name).exists() for name in _MARKERS)


def check_target(target: str | os.PathLike[str]) -> None:
    """Raise :class:`OutputError` now if ``target`` could not be replaced by an output folder.

    Call it before long work so a wrong ``--out`` fails in a second, not after the fit.
    """
    target = Path(target)
    if target.exists():
        if not target.is_dir():
            raise OutputError(f"Output path '{target}' exists and is a file; expected a folder.")
        if any(target.iterdir()) and not _is_output_folder(target):
            raise OutputError(
                f"Output folder '{target}' is not empty and is not a mediamix output; "
                "refusing to overwrite it. Choose another --out folder or empty it."
            )


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while the block runs (reference counting still frees memory).

    Used around ``MMM.fit`` (PyTensor's compile makes heaps of objects: demo warm compile 1.7-1.8 s,
    paused 1.15-1.2 s) and ``MMM.save`` (a fitted model leaves ~400k tracked objects, and writing the
    folder's charts triggered full collections that walked them all: 1.93-2.04 s, paused 1.68-1.71 s). The collector runs again
    afterwards (if it was on), and collects what the block left behind.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@contextmanager
def atomic_folder(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary folder; on success, move it to ``target`` in one step.

    An existing ``target`` is replaced only if it is empty or a previous
    mediamix output (it holds ``summary.json`` or ``posterior.nc``); any other
    folder or a file there is an :class:`OutputError`, checked *before* any work.
    On an exception the temporary folder is removed and ``target`` is untouched.

    Parameters
    ----------
    target : path
        The output folder to create or replace.
    """
    check_target(target)
    target = Path(target)
    parent = target.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=parent))
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)  # mkdtemp makes 0700; give what a plain mkdir would
    except OSError as err:
        raise OutputError(f"Cannot create output folder '{target}': {err.strerror or err}.") from None
    try:
        yield tmp
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=parent))
            os.replace(target, old / "previous")
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write one file whole or not at all: a temporary file beside it, then a rename."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"Output path '{path}' is a folder; expected a file name.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    except OSError as err:
        raise OutputError(f"Cannot write '{path}': {err.strerror or err}.") from None
    try:
        os.fchmod(fd, _file_mode(path))  # mkstemp makes 0600; give what a plain write would
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _file_mode(path: Path) -> int:
    """The replaced file's permissions, or those a new file gets (0o666 less the umask)."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def json_text(payload: dict[str, Any]) -> str:
    """Indented JSON with NaN written as null."""
    return json.dumps(_finite(payload), indent=2, allow_nan=False) + "\n"


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` as indented JSON (NaN is written as null)."""
    text = json.dumps(_finite(payload), indent=2, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")


def _finite(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, float) and value != value:  # NaN
        return None
    return value


def read_json(path: Path) -> dict[str, Any]:
    """Read a JSON file, with a clear error if it is missing or broken."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise OutputError(f"'{path}' is missing; is this a mediamix output folder?") from None
    except json.JSONDecodeError as err:
        raise OutputError(f"'{path}' is not valid JSON: {err}.") from None


def frame_to_dataset(frame: pd.DataFrame, date_column: str) -> xr.Dataset:
    """A table as an xarray Dataset along ``date`` (for storing in ``posterior.nc``)."""
    ds = xr.Dataset.from_dataframe(frame.set_index(date_column).rename_axis("date"))
    ds.attrs["date_column"] = date_column
    return ds


def dataset_to_frame(ds: xr.Dataset) -> pd.DataFrame:
    """Inverse of :func:`frame_to_dataset`."""
    date_column = str(ds.attrs.get("date_column", "date"))
    frame = ds.to_dataframe().reset_index().rename(columns={"date": date_column})
    return frame


def read_posterior(path: Path) -> xr.DataTree:
    """Open ``posterior.nc`` fully into memory (netCDF: no pickle involved)."""
    if not path.is_file():
        raise OutputError(f"'{path}' is missing; is this a mediamix output folder?")
    try:
        with xr.open_datatree(path, engine="h5netcdf") as tree:
            return tree.load()
    except (OSError, ValueError) as err:
        raise OutputError(f"Cannot read '{path}' as InferenceData: {err}.") from None
