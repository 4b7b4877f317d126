"""Reading files lazily with Dask, for ``--dask`` and ``--scheduler``.

CSV and Parquet go through ``dask.dataframe``, Zarr through ``dask.array.from_zarr``, and
``.npy`` through a memory map read block by block.  A table is read twice: one pass
checks every cell and learns each block's length (the estimators need known chunk sizes,
and a bad cell is reported with its line, as in memory), the next one computes.  Nothing
here imports Dask until a command asks for it.

The numbers are those of the in-memory commands: the estimators count Dask arrays exactly
as NumPy ones, and a measure runs block by block on blocks large enough that each takes
the same route (compiled kernel or array-API code) as the whole array would.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import itertools
import logging
import math
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from .._validate import moved_rows
from ._common import InputError
from .reading import _column_index, _is_number, _split_fields, check_dtype, check_npy

__all__ = [
    "DASK_EXTRA",
    "FILES_EXTRA",
    "add_options",
    "map_rows",
    "read_columns",
    "read_rows",
    "session",
]

DASK_EXTRA = 'pip install "infoloss[dask]"'
FILES_EXTRA = 'pip install "infoloss[files]"'

#: Bytes of a CSV file per ``dask.dataframe`` partition.
BLOCK_BYTES = 64 * 2**20
#: Entries of a block of rows (an ``.npy`` or Zarr file, or a measure's input).
BLOCK_ENTRIES = 2**22
#: How long a run goes before its progress bar is drawn: a quick one shows none.
BAR_AFTER_SECONDS = 1.0
#: How long ``--scheduler`` waits for the scheduler to answer.
CONNECT_SECONDS = 10

_SUFFIXES = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".zarr": "zarr",
    ".npy": "npy",
    ".json": "json",
}


def add_options(parser: argparse.ArgumentParser) -> None:
    """``--dask``, ``--scheduler`` and ``--no-progress``."""
    group = parser.add_argument_group("reading lazily with Dask")
    group.add_argument(
        "--dask",
        action="store_true",
        help="read CSV, Parquet, Zarr or .npy files lazily, block by block, with Dask "
        "(on a local cluster started for the run, unless --scheduler is given)",
    )
    group.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        default=None,
        help="run on the Dask cluster whose scheduler is at ADDRESS (tcp://host:8786); "
        "implies --dask",
    )
    group.add_argument(
        "--no-progress",
        dest="progress",
        action="store_false",
        help="no progress bar (there is none when standard error is not a terminal)",
    )


def need(module: str, why: str, extra: str) -> Any:
    """``module`` imported, or an :class:`InputError` saying what to install."""
    try:
        return importlib.import_module(module)
    except ImportError:
        package = module.split(".")[0]
        raise InputError(f"{why} needs {package}, which is not installed ({extra})") from None


# ------------------------------------------------------------------ the cluster


@contextmanager
def session(args: argparse.Namespace) -> Iterator[None]:
    """Run the block on a Dask cluster where the command asks for one (else as it is)."""
    if args.scheduler is not None:
        args.dask = True
    if not args.dask:
        yield
        return
    need("dask.array", "--dask", DASK_EXTRA)
    distributed = need("distributed", "--dask", DASK_EXTRA)
    import dask

    client, cluster = _connect(distributed, args.scheduler)
    bar = args.progress and _is_terminal(sys.stderr)
    try:
        with dask.config.set(scheduler=partial(_get, client, bar)):
            yield
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _connect(distributed: Any, address: str | None) -> tuple[Any, Any]:
    if address is None:
        # A task that fails on a bad cell comes back to this process as its error; the
        # workers' own report of it (a traceback) would bury the one line that says why.
        cluster = distributed.LocalCluster(
            dashboard_address=":0",
            scheduler_kwargs={"dashboard": False},
            silence_logs=logging.CRITICAL,
        )
        client = distributed.Client(cluster, set_as_default=False)
        threads = sum(client.nthreads().values())
        sys.stderr.write(
            f"infoloss: started a local Dask cluster for this run ({len(cluster.workers)} "
            f"workers, {threads} threads); --scheduler ADDRESS uses a running one\n"
        )
        return client, cluster
    try:
        client = distributed.Client(address, timeout=CONNECT_SECONDS, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise InputError(f"--scheduler: no Dask scheduler answers at {address} ({exc})") from None
    return client, None


def _is_terminal(stream: Any) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(callable(isatty) and isatty())


def _get(client: Any, bar: bool, dsk: Any, keys: Any, **kwargs: Any) -> Any:
    """Dask's ``get`` on the cluster, with a progress bar on standard error."""
    futures = client.get(dsk, keys, sync=False)
    if bar:
        from distributed import futures_of

        _progress_bar()(futures_of(futures), scheduler=client.scheduler.address)  # type: ignore[no-untyped-call]
    return client.gather(futures)


def _progress_bar() -> Any:
    """dask.distributed's text bar, drawn on standard error: standard output is the result."""
    from distributed.diagnostics.progressbar import TextProgressBar

    class Bar(TextProgressBar):
        drawn = False

        def _draw_bar(self, remaining: int, all: int, **kwargs: Any) -> None:
            if self.elapsed < BAR_AFTER_SECONDS:
                return
            done = (1 - remaining / all) if all else 1.0
            filled = "#" * int(self.width * done)
            sys.stderr.write(f"\r[{filled:<{self.width}}] {int(100 * done)}% of {all} tasks")
            sys.stderr.flush()
            self.drawn = True

        def _draw_stop(self, **kwargs: Any) -> None:
            if self.drawn:
                sys.stderr.write("\33[2K\r")
                sys.stderr.flush()

    return Bar


# ---------------------------------------------------------------- which file


def _kind(source: str, fmt: str | None, what: str) -> str:
    """The file's format, once the file is known to exist and to be one Dask reads."""
    if source == "-":
        raise InputError(f"{what}: --dask reads files, not standard input")
    path = Path(source)
    kind = fmt or _SUFFIXES.get(path.suffix.lower(), "csv")
    if kind == "json":
        raise InputError(
            f"{what}: --dask reads CSV, Parquet, Zarr and .npy files; {source} is JSON "
            "(without --dask it is read into memory)"
        )
    if not path.exists():
        raise InputError(f"{what}: no such file: {source}")
    if path.is_dir() and kind in ("csv", "npy"):
        raise InputError(f"{what}: {source} is a directory, not a file")
    return kind


# ------------------------------------------------------- tables: CSV and Parquet


class _Table(NamedTuple):
    name: str
    #: The column names (a CSV file of rows without a header: 1, 2, ...).
    header: list[str]
    #: One delayed pandas DataFrame per partition.
    frames: list[Any]
    #: Rows to drop at the start of the first frame: the header line, read as data.
    skip: int
    #: The line of the first data row; 0 where rows are counted instead (Parquet).
    first_line: int


def _reason(exc: BaseException) -> str:
    """An error's first line; where Dask wraps a reader's error in its own, the reader's."""
    cause = exc.__cause__ or exc
    return str(cause).splitlines()[0] if str(cause) else type(cause).__name__


def _csv_frames(source: str, what: str, names: int, **options: Any) -> list[Any]:
    dd = need("dask.dataframe", f"{what}: reading {source}", FILES_EXTRA)
    # Every cell as text, and only an empty one missing: each is then judged as in memory.
    try:
        frame = dd.read_csv(
            source,
            header=None,
            names=list(range(names)),
            dtype=object,
            keep_default_na=False,
            na_values=[""],
            blocksize=BLOCK_BYTES,
            encoding="utf-8",
            **options,
        )
    except ValueError as exc:
        raise InputError(f"{source}: rows have different lengths ({_reason(exc)})") from None
    return list(frame.to_delayed())


def _first_line(source: str, what: str, skip_comments: bool) -> tuple[str, int]:
    """The first line (the first that is not blank nor a comment, where those are skipped)
    and its number."""
    from .reading import _decode

    with open(source, "rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            line = _decode(raw, source, what).strip()
            if not skip_comments or (line and not line.startswith("#")):
                return line, lineno
    raise InputError(f"{what}: {source}: no data rows")


def _csv_table(source: str, what: str, rows: bool) -> _Table:
    line, lineno = _first_line(source, what, skip_comments=rows)
    if not rows:
        header = [h.strip() for h in next(csv.reader([line]))]
        frames = _csv_frames(source, what, len(header))
        return _Table(source, header, frames, 1, lineno + 1)
    fields = _split_fields(line)
    named = not any(_is_number(f) for f in fields if f)
    sep = "," if "," in line else r"\s+"
    frames = _csv_frames(source, what, len(fields), sep=sep, comment="#")
    header = [str(i) for i in range(1, len(fields) + 1)]
    return _Table(source, header, frames, int(named), lineno + int(named))


def _parquet_table(source: str, what: str) -> _Table:
    why = f"{what}: reading {source}"
    dd = need("dask.dataframe", why, FILES_EXTRA)
    need("pyarrow", why, FILES_EXTRA)
    try:
        frame = dd.read_parquet(source)
        frames = list(frame.to_delayed())
    except (ValueError, OSError) as exc:
        reason = _reason(exc)
        raise InputError(f"{what}: {source} is not a readable Parquet file ({reason})") from None
    return _Table(source, [str(c) for c in frame.columns], frames, 0, 0)


class _Column(NamedTuple):
    """What one partition's pass found in one column; rows are counted in the partition."""

    empty: int  # the first empty cell (-1: none)
    text: int  # the first cell that is not a number (-1: none)
    text_cell: str
    nans: int  # how many cells are NaN, and the first
    nan: int
    nan_cell: str
    width: int  # the longest cell, in characters


def _cells(series: Any) -> list[str | None]:
    """The cells as stripped text; None for an empty one (pandas' missing value)."""
    missing = series.isna().to_numpy()
    return [None if m else str(c).strip() for c, m in zip(series.tolist(), missing, strict=True)]


def _column_summary(series: Any) -> _Column:
    if series.dtype.kind in "biuf":
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        nan = np.flatnonzero(np.isnan(values))
        first = int(nan[0]) if nan.size else -1
        return _Column(-1, -1, "", int(nan.size), first, "nan", 0)
    cells = _cells(series)
    empty = next((i for i, c in enumerate(cells) if not c), -1)
    text = next((i for i, c in enumerate(cells) if c and not _is_number(c)), -1)
    nans = [i for i, c in enumerate(cells) if c and text < 0 and math.isnan(float(c))]
    return _Column(
        empty,
        text,
        cells[text] or "" if text >= 0 else "",
        len(nans),
        nans[0] if nans else -1,
        cells[nans[0]] or "" if nans else "",
        max((len(c) for c in cells if c), default=0),
    )


def _summary(frame: Any, skip: int, positions: Sequence[int]) -> tuple[int, list[_Column]]:
    """The rows of one partition, and what each column read holds."""
    frame = frame.iloc[skip:]
    return len(frame), [_column_summary(frame.iloc[:, p]) for p in positions]


def _column_values(frame: Any, skip: int, position: int, numbers: bool, width: int) -> Any:
    series = frame.iloc[skip:, position]
    if series.dtype.kind in "biuf":
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    cells = _cells(series)
    if numbers:
        return np.array([float(c) for c in cells], dtype=np.float64)  # type: ignore[arg-type]
    return np.array(cells, dtype=f"<U{width}")


def _row_values(frame: Any, skip: int, k: int) -> Any:
    return np.column_stack([_column_values(frame, skip, p, True, 0) for p in range(k)])


def _scan(table: _Table, positions: Sequence[int]) -> list[tuple[int, list[_Column]]]:
    """The first pass: every partition's length and what its columns hold."""
    from dask.base import compute
    from dask.delayed import delayed

    task = delayed(_summary, pure=True)
    skips = [table.skip] + [0] * (len(table.frames) - 1)
    parts = [task(f, s, list(positions)) for f, s in zip(table.frames, skips, strict=True)]
    try:
        return list(compute(*parts))  # type: ignore[no-untyped-call]
    except ValueError as exc:
        if type(exc).__name__ != "ParserError":
            raise
        # pandas counts the lines of a block, not of the file, so its line is not said.
        raise InputError(
            f"{table.name}: rows have different lengths (a row is longer than the first)"
        ) from None


def _where(table: _Table, row: int) -> str:
    if table.first_line:
        return f"{table.name}, line {table.first_line + row}"
    return f"{table.name}, row {row + 1}"


def _first(scan: list[tuple[int, list[_Column]]], j: int, field: str) -> tuple[int, str] | None:
    """The row (counted over the file) of column ``j``'s first ``field`` hit, and its cell."""
    start = 0
    for n, columns in scan:
        column = columns[j]
        at = getattr(column, field)
        if at >= 0:
            return start + at, getattr(column, f"{field}_cell", "")
        start += n
    return None


def _check_columns(
    table: _Table, scan: list[tuple[int, list[_Column]]], labels: list[str]
) -> tuple[list[bool], list[int]]:
    """Raise on the first bad cell, as the in-memory reader would; else whether each column
    is one of numbers, and its widest cell."""
    if not sum(n for n, _ in scan):
        raise InputError(f"{table.name}: no data rows under the header")
    empties = [(hit[0], j) for j in range(len(labels)) if (hit := _first(scan, j, "empty"))]
    if empties:
        row, j = min(empties)
        raise InputError(f"{_where(table, row)}: empty cell in column {labels[j]!r}")
    numbers = [_first(scan, j, "text") is None for j in range(len(labels))]
    for j, label in enumerate(labels):
        nans = sum(columns[j].nans for _, columns in scan)
        hit = _first(scan, j, "nan")
        if numbers[j] and hit is not None:
            # A missing value is no category, so it has no estimate (as in memory).
            raise InputError(
                f"{_where(table, hit[0])}: column {label!r} holds {hit[1]!r}, a missing "
                f"value, not a category ({nans} such cells)"
            )
    widths = [max(columns[j].width for _, columns in scan) for j in range(len(labels))]
    return numbers, widths


def _check_rows(table: _Table, scan: list[tuple[int, list[_Column]]]) -> None:
    """Raise on the first empty or non-numeric cell, as the in-memory reader would."""
    if not sum(n for n, _ in scan):
        raise InputError(f"{table.name}: no data rows")
    problems = []
    for j in range(len(table.header)):
        if hit := _first(scan, j, "empty"):
            problems.append((hit[0], j, f"empty cell in column {j + 1}"))
        if hit := _first(scan, j, "text"):
            problems.append((hit[0], j, f"non-numeric value {hit[1]!r} in column {j + 1}"))
    if problems:
        row, _, message = min(problems)
        raise InputError(f"{_where(table, row)}: {message}")


def _assemble(
    table: _Table, lengths: list[int], fn: Callable[..., Any], dtype: Any, tail: tuple[int, ...]
) -> Any:
    """The second pass, lazily: ``fn(frame, skip)`` of each partition, as one Dask array."""
    import dask.array as da
    from dask.delayed import delayed

    task = delayed(fn, pure=True)
    skips = [table.skip] + [0] * (len(table.frames) - 1)
    parts = [
        da.from_delayed(task(f, s), shape=(n, *tail), dtype=dtype)  # type: ignore[no-untyped-call]
        for f, s, n in zip(table.frames, skips, lengths, strict=True)
        if n
    ]
    return da.concatenate(parts) if len(parts) > 1 else parts[0]  # type: ignore[no-untyped-call]


def _table(source: str, kind: str, what: str, rows: bool) -> _Table:
    return _csv_table(source, what, rows) if kind == "csv" else _parquet_table(source, what)


# ------------------------------------------------------------- arrays: .npy and Zarr


def row_chunks(n: int, k: int) -> tuple[int, ...]:
    """Rows per block for ``n`` rows of ``k`` entries: about :data:`BLOCK_ENTRIES` entries,
    and never fewer than the compiled kernels' threshold unless the whole array is (a
    measure then takes the route on each block that it takes on the whole)."""
    from .._kernels._layout import MIN_SIZE

    k = max(k, 1)
    if n * k < MIN_SIZE:
        return (n,)
    rows = max(-(-BLOCK_ENTRIES // k), -(-MIN_SIZE // k))
    sizes = [rows] * (n // rows)
    rest = n - rows * len(sizes)
    if rest and (rest * k >= MIN_SIZE or not sizes):
        sizes.append(rest)
    elif rest:
        sizes[-1] += rest
    return tuple(sizes)


def _npy_block(source: str, start: int, stop: int) -> Any:
    return np.array(np.load(source, mmap_mode="r")[start:stop], dtype=np.float64)


def _npy_array(source: str, what: str) -> Any:
    da = need("dask.array", f"{what}: reading {source}", DASK_EXTRA)
    from dask.delayed import delayed

    with open(source, "rb") as fh:
        check_npy(fh, Path(source).stat().st_size, source, what)
    shape = np.load(source, mmap_mode="r").shape
    if len(shape) < 2:
        return da.from_array(_npy_block(source, 0, shape[0] if shape else 1).reshape(shape))
    bounds = np.cumsum((0, *row_chunks(shape[0], math.prod(shape[1:]))))
    task = delayed(_npy_block, pure=True)
    parts = [
        da.from_delayed(task(source, int(a), int(b)), (int(b - a), *shape[1:]), np.float64)
        for a, b in itertools.pairwise(bounds)
    ]
    return da.concatenate(parts) if len(parts) > 1 else parts[0]


def _zarr_array(source: str, what: str) -> Any:
    why = f"{what}: reading {source}"
    da = need("dask.array", why, DASK_EXTRA)
    need("zarr", why, FILES_EXTRA)
    try:
        a = da.from_zarr(source)
    except (ValueError, OSError, KeyError, TypeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{what}: {source} is not a readable Zarr array ({reason})") from None
    check_dtype(np.dtype(a.dtype), source, what)
    return a.astype(np.float64)


def _array(source: str, kind: str, what: str) -> Any:
    return _npy_array(source, what) if kind == "npy" else _zarr_array(source, what)


def _no_nan(block: Any, label: str, name: str, block_info: Any = None) -> Any:
    bad = np.flatnonzero(np.isnan(block))
    if bad.size:
        start = block_info[0]["array-location"][0][0] if block_info else 0
        raise InputError(
            f"{name}, row {start + int(bad[0]) + 1}: column {label!r} holds nan, a missing "
            "value, not a category"
        )
    return block


def _array_columns(a: Any, source: str, columns: Sequence[str]) -> tuple[list[Any], list[str]]:
    if a.ndim != 2:
        raise InputError(
            f"--file: {source} holds a {a.ndim}-D array; columns are read from a 2-D array "
            "(rows by columns)"
        )
    header = [str(i) for i in range(a.shape[1])]
    labels = [header[_column_index(header, c, source)] for c in columns]
    arrays = [
        a[:, int(label)].map_blocks(_no_nan, label, source, dtype=np.float64) for label in labels
    ]
    return arrays, labels


# ------------------------------------------------------------------ what commands call


def read_columns(
    source: str, columns: Sequence[str], what: str = "--file"
) -> tuple[list[Any], list[str]]:
    """The named columns of a file as lazy 1-D Dask arrays of known length, and their labels.

    CSV and Parquet columns are named by header or 0-based position, and read as numbers
    where every cell is one, else as text (as :func:`.reading.read_csv_columns` reads them);
    ``.npy`` and Zarr columns, of a 2-D array of numbers, by position.
    """
    kind = _kind(source, None, what)
    if kind in ("npy", "zarr"):
        return _array_columns(_array(source, kind, what), source, columns)
    table = _table(source, kind, what, rows=False)
    positions = [_column_index(table.header, c, source) for c in columns]
    labels = [table.header[p] for p in positions]
    scan = _scan(table, positions)
    numbers, widths = _check_columns(table, scan, labels)
    lengths = [n for n, _ in scan]
    arrays = [
        _assemble(
            table,
            lengths,
            partial(_column_values, position=p, numbers=b, width=w),
            np.float64 if b else np.dtype(f"<U{w}"),
            (),
        )
        for p, b, w in zip(positions, numbers, widths, strict=True)
    ]
    return arrays, labels


def read_rows(source: str, fmt: str | None, what: str) -> Any:
    """The rows of a file (each a distribution) as a lazy float64 Dask array."""
    kind = _kind(source, fmt, what)
    if kind in ("npy", "zarr"):
        return _array(source, kind, what)
    table = _table(source, kind, what, rows=True)
    k = len(table.header)
    scan = _scan(table, range(k))
    _check_rows(table, scan)
    lengths = [n for n, _ in scan]
    return _assemble(table, lengths, partial(_row_values, k=k), np.float64, (k,))


def _block(
    *blocks: Any, fn: Any, slots: list[int], consts: list[Any], block_info: Any = None
) -> Any:
    args = list(consts)
    for i, b in zip(slots, blocks, strict=True):
        args[i] = b
    start = block_info[0]["array-location"][0][0] if block_info else 0
    try:
        return fn(*args)
    except ValueError as exc:
        # The library counts rows from the top of the block; the file's count from its top.
        raise ValueError(moved_rows(str(exc), start)) from None


def map_rows(
    fn: Callable[..., Any], inputs: Sequence[Any], outcomes: bool, by_rows: bool = True
) -> Any:
    """``fn(*inputs)`` computed, where some inputs are lazy arrays of rows: block by block
    when ``by_rows`` (``fn`` treats each row alone) and those are 2-D and of one shape (and
    the others 1-D), else in memory.  ``outcomes``: ``fn`` keeps the outcome axis (else it
    gives one value per row)."""
    import dask.array as da
    from dask.base import compute, is_dask_collection

    lazy = [i for i, a in enumerate(inputs) if is_dask_collection(a)]
    shapes = {inputs[i].shape for i in lazy}
    rows = by_rows and len(shapes) == 1 and len(next(iter(shapes))) == 2
    if not rows or any(np.ndim(a) > 1 for i, a in enumerate(inputs) if i not in lazy):
        return fn(*compute(*inputs))  # type: ignore[no-untyped-call]
    n, k = next(iter(shapes))
    chunks = (row_chunks(n, k), (k,))
    arrays = [inputs[i].rechunk(chunks) for i in lazy]
    consts = [None if i in lazy else a for i, a in enumerate(inputs)]
    out = da.map_blocks(  # type: ignore[no-untyped-call]
        _block,
        *arrays,
        fn=fn,
        slots=lazy,
        consts=consts,
        dtype=np.float64,
        drop_axis=None if outcomes else 1,
        meta=np.empty((0, 0) if outcomes else (0,)),
    )
    return out.compute()
