"""Reading numbers: inline on the command line, rows of a CSV, ``.npy`` or JSON file, the
columns of a CSV file with a header, or standard input for ``-``."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._common import InputError

__all__ = [
    "check_dtype",
    "check_npy",
    "distribution_arg",
    "parse_numbers",
    "read_csv_columns",
    "read_source",
]


def _number(token: str, what: str) -> float:
    try:
        return float(token)
    except ValueError:
        raise InputError(f"{what}: {token!r} is not a number") from None


def _split_fields(line: str) -> list[str]:
    """Comma-separated when the line has a comma (empty fields kept), else on whitespace."""
    if "," in line:
        return [f.strip() for f in line.split(",")]
    return line.split()


def _is_number(field: str) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return True


def parse_numbers(text: str, what: str) -> np.ndarray:
    """Numbers typed as one argument (``0.5,0.5`` or ``"0.5 0.5"``) for the option *what*."""
    if ";" in text:
        raise InputError(f"{what}: expected numbers separated by commas or spaces; got {text!r}")
    fields = _split_fields(text.strip())
    for col, field in enumerate(fields, start=1):
        if not field:
            raise InputError(f"{what}: empty value at position {col} in {text!r}")
    return np.array([_number(f, what) for f in fields], dtype=np.float64)


def _read_bytes(source: str, what: str) -> tuple[str, bytes]:
    """The name to report and the bytes of a file, or of standard input for ``-``."""
    if source == "-":
        buffer = getattr(sys.stdin, "buffer", None)
        data = buffer.read() if buffer is not None else sys.stdin.read().encode()
        return "standard input", data
    path = Path(source)
    if path.suffix.lower() in (".parquet", ".pq", ".zarr"):
        raise InputError(f"{what}: {source}: Parquet and Zarr files are read with --dask")
    if path.is_dir():
        raise InputError(f"{what}: {source} is a directory, not a file")
    if not path.is_file():
        raise InputError(f"{what}: no such file: {source}")
    return source, path.read_bytes()


def _decode(data: bytes, name: str, what: str) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(
            f"{what}: {name} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset "
            f"{exc.start}, line {line}); save it as UTF-8"
        ) from None
    # A byte-order mark, as spreadsheet programs write, is dropped.
    return text.removeprefix("\ufeff")


def read_source(source: str, fmt: str | None, what: str) -> np.ndarray:
    """Rows from a file path, or from standard input for ``-``."""
    suffix = "" if source == "-" else Path(source).suffix.lower()
    kind = fmt or {".npy": "npy", ".json": "json"}.get(suffix, "csv")
    if kind in ("parquet", "zarr"):
        raise InputError(f"{what}: {source}: Parquet and Zarr files are read with --dask")
    name, data = _read_bytes(source, what)
    if kind == "npy":
        return _load_npy(io.BytesIO(data), name, what)
    return _load_text(_decode(data, name, what), kind, name)


def _npy_header(fh: Any) -> tuple[tuple[int, ...], np.dtype[Any], int] | None:
    """The shape, dtype and data offset an ``.npy`` header declares, read without loading
    (None if there is no readable header)."""
    from numpy.lib import format as npy_format

    try:
        version = npy_format.read_magic(fh)
        if version == (1, 0):
            shape, _, dtype = npy_format.read_array_header_1_0(fh)
        else:
            shape, _, dtype = npy_format.read_array_header_2_0(fh)
        offset = fh.tell()
    except (ValueError, OSError, EOFError):
        return None
    finally:
        fh.seek(0)
    return tuple(shape), np.dtype(dtype), offset


#: What an ``.npy`` array of each non-numeric dtype kind holds, in words.
_NON_NUMBERS = {
    "U": "text",
    "S": "bytes",
    "b": "true/false values",
    "M": "dates",
    "m": "time spans",
    "V": "records",
}


def check_dtype(dtype: np.dtype[Any], name: str, what: str) -> None:
    """Raise unless an array of ``dtype`` (read from the file ``name``) holds real numbers."""
    if dtype.hasobject:
        raise InputError(f"{what}: {name} holds Python objects, not numbers")
    if dtype.kind == "c":
        raise InputError(
            f"{what}: {name} holds complex numbers ({dtype}); probabilities and logits are real"
        )
    if dtype.kind not in "iuf":
        held = _NON_NUMBERS.get(dtype.kind, "values")
        raise InputError(f"{what}: {name} holds {held} (dtype {dtype}), not numbers")


def check_npy(fh: Any, size: int, name: str, what: str) -> np.dtype[Any]:
    """The dtype of the ``.npy`` file open as ``fh`` (``size`` bytes long), once its header
    says it holds real numbers and the file holds all the data that header declares."""
    header = _npy_header(fh)
    if header is None:
        # NumPy would go on to try the file as a pickle, and say so: never offered here.
        raise InputError(f"{what}: {name} is not an .npy file (it has no .npy header)")
    shape, dtype, offset = header
    check_dtype(dtype, name, what)
    need = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if size - offset < need:
        raise InputError(
            f"{what}: {name} is not a readable .npy file (it is cut short: "
            f"{size - offset} of its {need} bytes of data)"
        )
    return dtype


def _load_npy(fh: Any, name: str, what: str) -> np.ndarray:
    check_npy(fh, len(fh.getbuffer()), name, what)
    try:
        arr = np.load(fh, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise InputError(f"{what}: {name} is not a readable .npy file ({exc})") from None
    return np.asarray(arr, dtype=np.float64)


def _load_json(text: str, name: str) -> np.ndarray:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{name}: invalid JSON ({exc.msg} at line {exc.lineno})") from None
    try:
        return np.array(data, dtype=np.float64)
    except (ValueError, TypeError):
        raise InputError(
            f"{name}: JSON must be a list of numbers or a list of equal-length lists"
        ) from None


def _text_row(fields: list[str], name: str, lineno: int) -> list[float]:
    row = []
    for col, field in enumerate(fields, start=1):
        if not field:
            raise InputError(f"{name}, line {lineno}: empty cell in column {col}")
        if not _is_number(field):
            raise InputError(f"{name}, line {lineno}: non-numeric value {field!r} in column {col}")
        row.append(float(field))
    return row


def _load_text(text: str, kind: str, name: str) -> np.ndarray:
    if kind == "json":
        return _load_json(text, name)
    rows: list[list[float]] = []
    header: str | None = None
    header_allowed = True
    for lineno, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if ";" in line:
            raise InputError(
                f"{name}, line {lineno}: expected numbers separated by commas or spaces; "
                f"got {line!r}"
            )
        fields = _split_fields(line)
        # A first row of names only is a header, as in `infoloss lab train`.
        if header_allowed and fields and not any(_is_number(f) for f in fields if f):
            header_allowed = False
            header = line
            continue
        header_allowed = False
        rows.append(_text_row(fields, name, lineno))
    if not rows:
        read_as = "" if header is None else f" (its first line, {header!r}, reads as a header)"
        raise InputError(f"{name}: no data rows{read_as}")
    if len({len(r) for r in rows}) != 1:
        raise InputError(f"{name}: rows have different lengths")
    return np.array(rows, dtype=np.float64)


def _csv_rows(source: str) -> tuple[str, list[tuple[int, list[str]]]]:
    """The name to report and the (line number, cells) of each row, blank end lines dropped."""
    name, data = _read_bytes(source, "--file")
    reader = csv.reader(io.StringIO(_decode(data, name, "--file"), newline=""))
    try:
        rows = [(reader.line_num, row) for row in reader]
    except csv.Error as exc:
        raise InputError(f"{name}, line {reader.line_num}: {exc}") from None
    while rows and not rows[-1][1]:
        rows.pop()
    if not rows:
        raise InputError(f"{name}: empty file (a header row and data rows are needed)")
    return name, rows


def read_csv_columns(source: str, columns: Sequence[str]) -> tuple[list[np.ndarray], list[str]]:
    """The named columns of a CSV file with a header (or ``-``: standard input).

    A column is named by its header, or else by its 0-based position.  A column whose
    every cell is a number is read as float64 (so ``1`` and ``1.0`` are one category);
    any other column as text.  An empty cell, a short row (fewer fields than the header,
    whichever column is read) or a missing column is an error.
    """
    name, rows = _csv_rows(source)
    header = [h.strip() for h in rows[0][1]]
    indices = [_column_index(header, c, name) for c in columns]
    labels = [header[i] for i in indices]
    if len(rows) == 1:
        raise InputError(f"{name}: no data rows under the header")
    data: list[list[str]] = [[] for _ in indices]
    linenos = [lineno for lineno, _ in rows[1:]]
    for lineno, row in rows[1:]:
        # A short row is an error even where the asked-for column is present: a cell lost
        # before it shifts the others, and the row would be read into the wrong columns.
        if len(row) < len(header):
            raise InputError(
                f"{name}, line {lineno}: no cell for column {header[len(row)]!r} (a short "
                f"row: it has {len(row)} of the header's {len(header)} fields)"
            )
        for cells, i, label in zip(data, indices, labels, strict=True):
            cell = row[i].strip()
            if not cell:
                raise InputError(f"{name}, line {lineno}: empty cell in column {label!r}")
            cells.append(cell)
    arrays = [
        _column_array(cells, label, name, linenos)
        for cells, label in zip(data, labels, strict=True)
    ]
    return arrays, labels


def _column_array(cells: list[str], label: str, name: str, linenos: list[int]) -> np.ndarray:
    """Numbers where every cell is one, else text; a NaN among numbers is an error."""
    if not all(map(_is_number, cells)):
        return np.array(cells)
    values = np.array([float(c) for c in cells])
    missing = np.flatnonzero(np.isnan(values))
    if missing.size:
        # Spreadsheets write NaN for a missing value: no category, so no estimate of it.
        raise InputError(
            f"{name}, line {linenos[missing[0]]}: column {label!r} holds "
            f"{cells[missing[0]]!r}, a missing value, not a category ({missing.size} such cells)"
        )
    return values


def _column_index(header: list[str], column: str, name: str) -> int:
    if header.count(column) > 1:
        raise InputError(f"{name}: column {column!r} appears more than once in the header")
    if column in header:
        return header.index(column)
    if column.isdigit() and int(column) < len(header):
        return int(column)
    if len(header) == 1 and ";" in header[0]:
        raise InputError(
            f"{name}: expected columns separated by commas; the header {header[0]!r} "
            "is separated by semicolons"
        )
    raise InputError(f"{name}: no column {column!r} (columns: {', '.join(header)})")


def distribution_arg(
    text: str, fmt: str | None, what: str, read: Callable[[str, str | None, str], Any] | None = None
) -> Any:
    """``--p`` and ``--q`` take inline numbers, a file path, or ``-`` for stdin; a file is
    read by ``read`` (default :func:`read_source`)."""
    typed = ("," in text or ";" in text) and not Path(text).exists()
    if text == "-" or not (_looks_numeric(text) or typed):
        return (read or read_source)(text, fmt, what)
    # Numbers, or a comma-separated list with a typo (no file has that name): say which field.
    return parse_numbers(text, what)


def _looks_numeric(text: str) -> bool:
    fields = [f for f in _split_fields(text.strip()) if f]
    return bool(fields) and all(_is_number(f) for f in fields)
