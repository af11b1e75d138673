"""Tests for mediamix.data.load.read_table: round trips and every failure."""

from __future__ import annotations

import gzip
import re
from contextlib import AbstractContextManager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mediamix.data import read_table, validate_data
from mediamix.errors import DataError


@pytest.fixture
def table() -> pd.DataFrame:
    n = 12
    return pd.DataFrame(
        {
            "date_week": pd.date_range("2018-04-02", periods=n, freq="7D").strftime("%Y-%m-%d"),
            "y": np.linspace(100.0, 210.0, n),
            "x1": np.arange(n, dtype=float) * 1.5,
            "event_1": np.tile([0, 1], n // 2),
        }
    )


@pytest.mark.parametrize("name", ["data.csv", "data.CSV", "data.csv.gz"])
def test_csv_round_trip(tmp_path: Path, table: pd.DataFrame, name: str) -> None:
    path = tmp_path / name
    table.to_csv(path, index=False)  # pandas gzips from the .gz suffix
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == name.endswith(".gz")
    pd.testing.assert_frame_equal(read_table(path), table)


@pytest.mark.parametrize("name", ["data.parquet", "data.pq"])
def test_parquet_round_trip(tmp_path: Path, table: pd.DataFrame, name: str) -> None:
    path = tmp_path / name
    table.to_parquet(path, index=False)
    pd.testing.assert_frame_equal(read_table(str(path)), table)  # a str path works too


def test_read_then_validate(tmp_path: Path, table: pd.DataFrame) -> None:
    path = tmp_path / "data.csv"
    table.to_csv(path, index=False)
    out = validate_data(read_table(path), date="date_week", target="y", channels=["x1"],
                        controls=["event_1"])
    assert out["date_week"].iloc[-1] == pd.Timestamp("2018-06-18")
    assert out["event_1"].dtype == np.float64


def data_error(*fragments: str) -> AbstractContextManager[pytest.ExceptionInfo[DataError]]:
    """Expect a DataError whose message contains every fragment, literally."""
    pattern = "".join(f"(?=[\\s\\S]*{re.escape(f)})" for f in fragments)
    return pytest.raises(DataError, match=pattern)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.csv"
    with data_error(f"'{path}' does not exist", "expected a CSV (.csv, .csv.gz) or Parquet"):
        read_table(path)


def test_directory(tmp_path: Path) -> None:
    folder = tmp_path / "data.csv"
    folder.mkdir()
    with data_error(f"'{folder}' is a directory", "expected a CSV"):
        read_table(folder)


@pytest.mark.parametrize(
    ("name", "suffix"), [("data.xlsx", ".xlsx"), ("data.pkl", ".pkl"), ("data", "no suffix")]
)
def test_unknown_suffix(tmp_path: Path, name: str, suffix: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"date,y\n2018-04-02,1\n")
    with data_error(f"'{path}' has an unsupported suffix ({suffix})", "Parquet (.parquet, .pq)"):
        read_table(path)


@pytest.mark.parametrize(("name", "fmt"), [("data.csv", "CSV"), ("data.parquet", "Parquet")])
def test_zero_byte_file(tmp_path: Path, name: str, fmt: str) -> None:
    path = tmp_path / name
    path.touch()
    with data_error(f"'{path}' is empty (0 bytes)", f"expected a {fmt} table"):
        read_table(path)


def test_blank_csv_and_gzipped_empty_csv(tmp_path: Path) -> None:
    blank = tmp_path / "blank.csv"
    blank.write_text("\n\n")
    with data_error(f"'{blank}' is empty", "header row"):
        read_table(blank)
    empty_gz = tmp_path / "empty.csv.gz"
    empty_gz.write_bytes(gzip.compress(b""))
    with data_error(f"'{empty_gz}' is empty", "header row"):
        read_table(empty_gz)


def test_header_only_csv(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text("date_week,y,x1\n")
    with data_error(f"'{path}' has no data rows", "'date_week'", "one row per date"):
        read_table(path)


def test_malformed_csv(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text("date_week,y\n2018-04-02,1\n2018-04-09,2,3,4\n")
    with data_error(f"Could not read '{path}' as a CSV table", "Expected 2 fields"):
        read_table(path)


def test_csv_that_is_not_text(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(b"date,y\n\xff\xfe\xfa,1\n")
    with data_error(f"Could not read '{path}' as a CSV table", "codec"):
        read_table(path)


def test_gz_that_is_not_gzip(tmp_path: Path) -> None:
    path = tmp_path / "data.csv.gz"
    path.write_text("date_week,y\n2018-04-02,1\n")
    with data_error(f"Could not read '{path}' as a CSV table", "gzip"):
        read_table(path)


def test_corrupt_parquet(tmp_path: Path) -> None:
    path = tmp_path / "data.parquet"
    path.write_text("date_week,y\n2018-04-02,1\n")
    with data_error(f"Could not read '{path}' as a Parquet table"):
        read_table(path)


@pytest.mark.parametrize("damage", ["truncated", "corrupt"])
def test_damaged_gzip_is_a_data_error(tmp_path: Path, table: pd.DataFrame, damage: str) -> None:
    packed = bytearray(gzip.compress(table.to_csv(index=False).encode()))
    if damage == "truncated":  # an interrupted download
        packed = packed[: len(packed) // 2]
    else:
        packed[len(packed) // 2] ^= 0xFF
        packed[len(packed) // 2 + 1] ^= 0xFF
    path = tmp_path / "data.csv.gz"
    path.write_bytes(bytes(packed))
    with pytest.raises(DataError, match=r"Could not read '.*data.csv.gz' as a CSV table"):
        read_table(path)


def test_a_repeated_csv_column_is_reported_not_renamed(tmp_path: Path, table: pd.DataFrame) -> None:
    path = tmp_path / "data.csv"
    header = "date_week,y,x1,event_1,x1,notes,notes\n"
    rows = "".join(f"{r.date_week},{r.y},{r.x1},{r.event_1},{-r.x1},a,b\n" for r in table.itertuples())
    path.write_text(header + rows)
    frame = read_table(path)
    assert list(frame.columns) == ["date_week", "y", "x1", "event_1", "x1", "notes", "notes"]
    with pytest.raises(DataError, match=r"Column 'x1' \(channel\) appears 2 times; expected once"):
        validate_data(frame, date="date_week", target="y", channels=["x1"], controls=["event_1"])
    # a repeated column the model does not use is harmless
    validate_data(frame.iloc[:, [0, 1, 2, 3, 5, 6]], date="date_week", target="y", channels=["x1"], controls=["event_1"])
