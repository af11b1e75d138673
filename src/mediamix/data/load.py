"""Read the input table from disk: CSV (optionally gzipped) or Parquet.

Reading only turns a file into a :class:`pandas.DataFrame`; checking that the
table is usable for a model is :func:`mediamix.data.validate.validate_data`'s
job. Pickle files are deliberately not supported: unpickling runs arbitrary code.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from mediamix.errors import DataError

__all__ = ["read_table"]

_CSV_SUFFIXES = (".csv", ".csv.gz")
_PARQUET_SUFFIXES = (".parquet", ".pq")
_EXPECTED = "a CSV (.csv, .csv.gz) or Parquet (.parquet, .pq) file"


def read_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a CSV or Parquet file into a DataFrame.

    The format is chosen from the file name's suffix (case-insensitive):
    ``.csv`` and ``.csv.gz`` are read as comma-separated text with a header row,
    ``.parquet`` and ``.pq`` as Parquet. Values are returned as stored; dates
    are parsed later by :func:`mediamix.data.validate_data`.

    Parameters
    ----------
    path : str or os.PathLike
        The file to read.

    Returns
    -------
    pandas.DataFrame
        The table, with at least one row.

    Raises
    ------
    DataError
        If the file does not exist, is a directory, has an unknown suffix, is
        empty (no bytes or no data rows), or cannot be parsed.
    """
    file = Path(path)
    if not file.exists():
        raise DataError(f"Data file '{file}' does not exist; expected {_EXPECTED}.")
    if file.is_dir():
        raise DataError(f"Data path '{file}' is a directory; expected {_EXPECTED}.")

    fmt, reader = _reader_for(file)
    if file.stat().st_size == 0:
        raise DataError(f"Data file '{file}' is empty (0 bytes); expected a {fmt} table.")
    try:
        table = reader(file)
    except pd.errors.EmptyDataError as exc:
        raise DataError(
            f"Data file '{file}' is empty; expected a {fmt} table with a header row."
        ) from exc
    except (ValueError, OSError, EOFError, zlib.error) as exc:
        # pandas' ParserError, UnicodeDecodeError, pyarrow's ArrowInvalid and gzip's BadGzipFile
        # derive from the first two; a truncated .gz raises EOFError, a corrupt one zlib.error.
        raise DataError(f"Could not read '{file}' as a {fmt} table: {exc}") from exc

    if len(table) == 0:
        raise DataError(
            f"Data file '{file}' has no data rows (columns: {list(table.columns)}); "
            "expected one row per date."
        )
    return table


def _reader_for(file: Path) -> tuple[str, Callable[[Path], pd.DataFrame]]:
    """Return the format name and reader for ``file``'s suffix."""
    name = file.name.lower()
    if name.endswith(_CSV_SUFFIXES):
        return "CSV", _read_csv
    if name.endswith(_PARQUET_SUFFIXES):
        return "Parquet", pd.read_parquet
    suffix = file.suffix or "no suffix"
    raise DataError(
        f"Data file '{file}' has an unsupported suffix ({suffix}); expected {_EXPECTED}."
    )


def _read_csv(file: Path) -> pd.DataFrame:
    """``pandas.read_csv``, keeping repeated header names as they are.

    pandas renames a second ``x1`` to ``x1.1``, so the first would be used quietly and the
    duplicate never seen; with the header's own names, validation reports a repeated column
    that the model uses (Parquet keeps duplicates as they are, too).
    """
    table = pd.read_csv(file)
    header = pd.read_csv(file, header=None, nrows=1, dtype=str, keep_default_na=False).iloc[0].tolist()
    if len(header) == table.shape[1] and len(set(header)) < len(header):
        table.columns = header
    return table

