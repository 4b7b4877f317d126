"""The ``infoloss`` command line.

Thin commands over the library: read distributions (numbers on the command line, or rows of
a CSV, ``.npy`` or JSON file, or standard input), call one function, print a table or JSON.
Bad input prints one line to standard error and exits with status 2; a closed output pipe
exits 141 and Ctrl-C 130, each with one line and no traceback.

Examples::

    infoloss entropy 0.5 0.5 --base 2
    infoloss entropy --form logits 2 -1e3 -inf
    infoloss kl --p 0.5,0.5 --q 0.9,0.1
    infoloss cross-entropy --p 1,0,0 --q 2,-1,0.5 --q-form logits
    infoloss entropy --file rows.csv --json
    cat rows.json | infoloss cross-entropy --p - --q q.npy --format json
    infoloss loss softmax-ce --logits 2,-1,0.5 --targets 0 --grad
    infoloss estimate entropy --file data.csv --column c --method nsb --interval
    infoloss estimate mi --file data.csv --x a --y b --json
    infoloss explore --open
    infoloss demo
    infoloss lab train --dataset digits --model mlp --losses ce,mse
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

import infoloss as il

__all__ = ["main"]

EXIT_BAD_INPUT = 2
#: 128 + SIGINT and 128 + SIGPIPE, as a shell reports a process those signals end.
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141

# Each command names its library function; it is looked up when the command runs.
_ONE: dict[str, tuple[str, str]] = {
    "entropy": ("entropy", "entropy"),
    "perplexity": ("perplexity", "perplexity"),
    "self-information": ("self_information", "self-information"),
    "joint-entropy": ("joint_entropy", "joint entropy"),
    "conditional-entropy": ("conditional_entropy", "conditional entropy H(Y|X)"),
    "mutual-information": ("mutual_information", "mutual information"),
}
_TWO: dict[str, tuple[str, str]] = {
    "cross-entropy": ("cross_entropy", "cross-entropy H(P,Q)"),
    "kl": ("kl_divergence", "KL divergence D(P||Q)"),
    "js": ("js_divergence", "Jensen-Shannon divergence"),
}
_TABLES = ("joint-entropy", "conditional-entropy", "mutual-information")
_NO_BASE = ("perplexity",)
#: ``infoloss loss NAME``: the library function, whether the logits are rows of classes.
_LOSSES: dict[str, tuple[str, bool, str]] = {
    "softmax-ce": ("softmax_cross_entropy", True, "softmax cross-entropy"),
    "softmax-se": ("softmax_squared_error", True, "squared error on softmax probabilities"),
    "logit-se": ("logit_squared_error", True, "squared error on logits"),
    "sigmoid-bce": ("sigmoid_binary_cross_entropy", False, "sigmoid binary cross-entropy"),
    "sigmoid-se": ("sigmoid_squared_error", False, "squared error on sigmoid probabilities"),
}
_FORMS = ("probs", "log_probs", "logits")


class InputError(ValueError):
    """Bad input from the command line or a file."""


def _library(name: str) -> Callable[..., Any]:
    func: Callable[..., Any] = getattr(il, name)
    return func


# ------------------------------------------------------------------------- reading


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


def _parse_numbers(text: str, what: str) -> np.ndarray:
    fields = _split_fields(text.strip())
    for col, field in enumerate(fields, start=1):
        if not field:
            raise InputError(f"{what}: empty value at position {col} in {text!r}")
    return np.array([_number(f, what) for f in fields], dtype=np.float64)


def _read_source(source: str, fmt: str | None, what: str) -> np.ndarray:
    """Rows from a file path, or from standard input for ``-``."""
    if source == "-":
        kind = fmt or "csv"
        if kind == "npy":
            return _load_npy(io.BytesIO(sys.stdin.buffer.read()), "standard input")
        return _load_text(sys.stdin.read(), kind, "standard input")
    path = Path(source)
    if not path.is_file():
        raise InputError(f"{what}: no such file: {source}")
    kind = fmt or {".npy": "npy", ".json": "json"}.get(path.suffix.lower(), "csv")
    if kind == "npy":
        with path.open("rb") as fh:
            return _load_npy(fh, source)
    # utf-8-sig: a byte-order mark, as spreadsheet programs write, is read and dropped.
    return _load_text(path.read_text(encoding="utf-8-sig"), kind, source)


def _load_npy(fh: Any, name: str) -> np.ndarray:
    try:
        arr = np.load(fh, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise InputError(f"{name}: not a readable .npy file ({exc})") from None
    if np.iscomplexobj(arr):
        raise InputError(
            f"{name}: .npy array is complex ({arr.dtype}); probabilities and logits are real"
        )
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise InputError(f"{name}: .npy array must be numeric, got dtype {arr.dtype}")
    return np.asarray(arr, dtype=np.float64)


def _is_number(field: str) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return True


def _load_text(text: str, kind: str, name: str) -> np.ndarray:
    text = text.removeprefix("\ufeff")
    if kind == "json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"{name}: invalid JSON ({exc.msg} at line {exc.lineno})") from None
        try:
            arr = np.array(data, dtype=np.float64)
        except (ValueError, TypeError):
            raise InputError(
                f"{name}: JSON must be a list of numbers or a list of equal-length lists"
            ) from None
        return arr
    rows: list[list[float]] = []
    header_allowed = True
    for lineno, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = _split_fields(line)
        # A first row of names only is a header, as in `infoloss lab train`.
        if header_allowed and fields and not any(_is_number(f) for f in fields if f):
            header_allowed = False
            continue
        header_allowed = False
        row = []
        for col, field in enumerate(fields, start=1):
            if not field:
                raise InputError(f"{name}, line {lineno}: empty cell in column {col}")
            if not _is_number(field):
                raise InputError(
                    f"{name}, line {lineno}: non-numeric value {field!r} in column {col}"
                )
            row.append(float(field))
        rows.append(row)
    if not rows:
        raise InputError(f"{name}: no data rows")
    if len({len(r) for r in rows}) != 1:
        raise InputError(f"{name}: rows have different lengths")
    return np.array(rows, dtype=np.float64)


def _read_csv_columns(source: str, columns: Sequence[str]) -> tuple[list[np.ndarray], list[str]]:
    """The named columns of a CSV file with a header (or ``-``: standard input).

    A column is named by its header, or else by its 0-based position.  A column whose
    every cell is a number is read as float64 (so ``1`` and ``1.0`` are one category);
    any other column as text.  An empty cell, a short row (fewer fields than the header,
    whichever column is read) or a missing column is an error.
    """
    if source == "-":
        name, text = "standard input", sys.stdin.read()
    else:
        path = Path(source)
        if not path.is_file():
            raise InputError(f"--file: no such file: {source}")
        # utf-8-sig: a byte-order mark, as spreadsheet programs write, is read and dropped.
        name, text = source, path.read_text(encoding="utf-8-sig")
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    try:
        rows = [(reader.line_num, row) for row in reader]
    except csv.Error as exc:
        raise InputError(f"{name}, line {reader.line_num}: {exc}") from None
    while rows and not rows[-1][1]:
        rows.pop()  # blank lines at the end of the file
    if not rows:
        raise InputError(f"{name}: empty file (a header row and data rows are needed)")
    header = [h.strip() for h in rows[0][1]]
    indices = [_column_index(header, c, name) for c in columns]
    labels = [header[i] for i in indices]
    if len(rows) == 1:
        raise InputError(f"{name}: no data rows under the header")
    data: list[list[str]] = [[] for _ in indices]
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
        np.array([float(c) for c in cells]) if all(map(_is_number, cells)) else np.array(cells)
        for cells in data
    ]
    return arrays, labels


def _column_index(header: list[str], column: str, name: str) -> int:
    if header.count(column) > 1:
        raise InputError(f"{name}: column {column!r} appears more than once in the header")
    if column in header:
        return header.index(column)
    if column.isdigit() and int(column) < len(header):
        return int(column)
    raise InputError(f"{name}: no column {column!r} (columns: {', '.join(header)})")


def _distribution_arg(text: str, fmt: str | None, what: str) -> np.ndarray:
    """``--p`` and ``--q`` take inline numbers, a file path, or ``-`` for stdin."""
    if text == "-" or not (_looks_numeric(text) or ("," in text and not Path(text).exists())):
        return _read_source(text, fmt, what)
    # Numbers, or a comma-separated list with a typo (no file has that name): say which field.
    return _parse_numbers(text, what)


def _looks_numeric(text: str) -> bool:
    fields = [f for f in _split_fields(text.strip()) if f]
    return bool(fields) and all(_is_number(f) for f in fields)


# ------------------------------------------------------------------------- output


def _unit(command: str, base: str | None) -> str:
    if command in _NO_BASE:
        return "outcomes"
    return {None: "nats", "2": "bits", "bits": "bits", "10": "hartleys", "nats": "nats"}.get(
        base, f"log base {base}"
    )


def _json_number(v: float) -> float | str:
    return v if math.isfinite(v) else ("inf" if v > 0 else "-inf" if v < 0 else "nan")


def _emit(
    values: np.ndarray, *, command: str, label: str, unit: str, as_json: bool, out: Any
) -> None:
    flat = np.atleast_1d(np.asarray(values, dtype=np.float64))
    if as_json:
        payload = {
            "measure": command,
            "unit": unit,
            "shape": list(np.shape(values)),
            "values": [_json_number(float(v)) for v in flat.ravel()],
        }
        out.write(json.dumps(payload) + "\n")
        return
    header = f"{label} ({unit})"
    if flat.size == 1 and np.ndim(values) == 0:
        out.write(f"{header}: {_fmt(float(flat[0]))}\n")
        return
    width = max(len("row"), len(str(flat.size - 1)))
    out.write(f"{'row':>{width}}  {header}\n")
    for i, v in enumerate(flat.ravel()):
        out.write(f"{i:>{width}}  {_fmt(float(v))}\n")


def _fmt(v: float) -> str:
    return repr(v) if math.isfinite(v) else ("inf" if v > 0 else "-inf" if v < 0 else "nan")


# ------------------------------------------------------------------------- commands


def _base_arg(text: str) -> float | str:
    if text in ("bits", "nats", "hartleys", "dits", "bans", "e"):
        return "nats" if text == "e" else text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a positive number other than 1, 'bits' or 'nats'; got {text!r}"
        ) from None


def _library_message(exc: ValueError) -> str:
    """The library's message, with its keyword hints spelled as this command's options."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text.replace("normalize=True", "--normalize")


def _forms(args: argparse.Namespace) -> str | tuple[str, str]:
    p_form = args.p_form or args.form
    q_form = args.q_form or args.form
    return p_form if p_form == q_form else (p_form, q_form)


def _run_measure(args: argparse.Namespace, out: Any) -> int:
    command = args.command
    fmt = args.format
    opts: dict[str, Any] = {}
    if command not in _NO_BASE:
        opts["base"] = args.base
    if getattr(args, "normalize", False):
        if command == "self-information":
            raise InputError("--normalize does not apply to self-information")
        opts["normalize"] = True
    if command in _TWO:
        name, label = _TWO[command]
        if args.p is None or args.q is None:
            raise InputError(f"{command} needs both --p and --q")
        if args.p == "-" and args.q == "-":
            raise InputError("only one of --p and --q can be - (standard input)")
        p = _distribution_arg(args.p, fmt, "--p")
        q = _distribution_arg(args.q, fmt, "--q")
        values = _call(name, p, q, form=_forms(args), **opts)
    else:
        name, label = _ONE[command]
        if args.values and args.file:
            raise InputError("give numbers or --file, not both")
        if args.file:
            x = _read_source(args.file, fmt, "--file")
        elif args.values:
            x = np.array(args.values, dtype=np.float64)
            if command in _TABLES:
                raise InputError(f"{command} needs a joint table: pass it with --file")
        else:
            raise InputError(f"{command}: give numbers or --file (use - for standard input)")
        values = _call(name, x, form=args.form, **opts)
    base_text = None if args.base is None or command in _NO_BASE else str(args.base)
    if base_text is not None and base_text.endswith(".0"):
        base_text = base_text[:-2]
    _emit(
        values,
        command=command,
        label=label,
        unit=_unit(command, base_text),
        as_json=args.json,
        out=out,
    )
    return 0


def _run_estimate(args: argparse.Namespace, out: Any) -> int:
    """``infoloss estimate entropy|mi``: one estimator of :mod:`infoloss.estimators` on
    columns of a CSV file, with its bootstrap interval on request."""
    from . import estimators

    which = args.estimate_command
    if which is None:
        raise InputError("estimate: choose a command: entropy or mi (see infoloss estimate --help)")
    if not args.interval and (args.confidence, args.resamples, args.seed) != (None,) * 3:
        raise InputError("--confidence, --resamples and --seed go with --interval")
    if which == "entropy":
        if args.column is None:
            raise InputError("estimate entropy needs --column (a header name or a 0-based index)")
        (x,), labels = _read_csv_columns(args.file, [args.column])
        arrays: tuple[np.ndarray, ...] = (x,)
        names = {"`samples`": f"column {labels[0]!r}"}
    else:
        if args.x is None or args.y is None:
            raise InputError("estimate mi needs --x and --y (header names or 0-based indices)")
        (x, y), labels = _read_csv_columns(args.file, [args.x, args.y])
        arrays = (x, y)
        names = {"`x`": f"column {labels[0]!r}", "`y`": f"column {labels[1]!r}"}
    opts: dict[str, Any] = {"method": args.method, "base": args.base}
    names |= {
        "`method`": "--method",
        "`alphabet_size`": "--alphabet-size",
        "`confidence_level`": "--confidence",
        "`base`": "--base",
    }
    std = None
    if which == "entropy":
        opts["alphabet_size"] = args.alphabet_size
        if args.method == "nsb":
            nsb_opts = {k: v for k, v in opts.items() if k != "method"}
            estimate, std = _estimator_call(estimators.entropy_nsb, arrays, nsb_opts, names)
        else:
            estimate = _estimator_call(estimators.entropy, arrays, opts, names)
    else:
        estimate = _estimator_call(estimators.mutual_information, arrays, opts, names)
    interval = None
    if args.interval:
        boot_opts = dict(opts)
        if which == "mi":
            boot_opts["y"] = arrays[1]
        boot_opts |= {
            "confidence_level": 0.95 if args.confidence is None else args.confidence,
            "n_resamples": 1000 if args.resamples is None else args.resamples,
            "rng": args.seed,
        }
        boot = _estimator_call(estimators.bootstrap_interval, arrays[:1], boot_opts, names)
        interval = {
            "confidence": boot_opts["confidence_level"],
            "kind": "basic bootstrap",
            "resamples": boot_opts["n_resamples"],
            "seed": args.seed,
            "low": float(boot.low),
            "high": float(boot.high),
        }
    measure = "entropy" if which == "entropy" else "mutual_information"
    unit = _unit(measure, None if args.base is None else _base_text(args.base))
    if args.json:
        payload: dict[str, Any] = {
            "measure": measure,
            "columns": labels,
            "method": args.method,
            "unit": unit,
            "samples": int(x.shape[0]),
            "estimate": _json_number(float(estimate)),
        }
        if std is not None:
            payload["std"] = _json_number(float(std))
        if interval is not None:
            interval["low"] = _json_number(interval["low"])
            interval["high"] = _json_number(interval["high"])
        payload["interval"] = interval
        out.write(json.dumps(payload) + "\n")
        return 0
    what = "entropy of " + labels[0] if which == "entropy" else "mutual information of "
    if which == "mi":
        what += f"{labels[0]} and {labels[1]}"
    out.write(f"{what} ({unit}), method {args.method}, {x.shape[0]} samples\n")
    out.write(f"estimate: {_fmt(float(estimate))}\n")
    if std is not None:
        out.write(f"posterior sd: {_fmt(float(std))}\n")
    if interval is not None:
        out.write(
            f"{100 * interval['confidence']:.6g}% interval ({interval['kind']}, "
            f"{interval['resamples']} resamples): {_fmt(interval['low'])} {_fmt(interval['high'])}\n"
        )
    return 0


def _estimator_call(
    func: Callable[..., Any],
    arrays: tuple[np.ndarray, ...],
    opts: dict[str, Any],
    names: dict[str, str],
) -> Any:
    """Call an estimator; its error message speaks of this command's columns and options."""
    try:
        return func(*arrays, **opts)
    except ValueError as exc:
        message = _library_message(exc)
        for old, new in names.items():
            message = message.replace(old, new)
        raise InputError(message) from None


def _base_text(base: float | str) -> str:
    text = str(base)
    return text[:-2] if text.endswith(".0") else text


def _call(name: str, *arrays: np.ndarray, **opts: Any) -> Any:
    try:
        return _library(name)(*arrays, **opts)
    except ValueError as exc:
        raise InputError(_library_message(exc)) from None


def _targets(raw: np.ndarray, logits: np.ndarray, rows: bool) -> np.ndarray:
    """Integer labels where the targets are whole numbers, one per sample; else as given."""
    if raw.shape == logits.shape:
        return raw
    if rows and raw.ndim == 2 and raw.shape[1] == 1:
        # A file of one label per line reads as a column.
        raw = raw[:, 0]
    whole = raw.size > 0 and np.all(np.isfinite(raw)) and np.all(raw == np.round(raw))
    if rows and whole and raw.ndim <= 1:
        return raw.astype(np.int64)
    return raw


def _run_loss(args: argparse.Namespace, out: Any) -> int:
    name, rows, label = _LOSSES[args.loss]
    if args.logits == "-" and args.targets == "-":
        raise InputError("only one of --logits and --targets can be - (standard input)")
    logits = _distribution_arg(args.logits, args.format, "--logits")
    raw = _distribution_arg(args.targets, args.format, "--targets")
    if rows and logits.ndim == 1:
        # Inline logits are one sample's row of class scores.
        logits = logits[np.newaxis, :]
        if raw.ndim == 1 and raw.shape[0] == logits.shape[1] and raw.shape[0] > 1:
            raw = raw[np.newaxis, :]
    targets = _targets(raw, logits, rows)
    opts: dict[str, Any] = {"reduction": args.reduction, "return_grad": True}
    if args.label_smoothing:
        opts["label_smoothing"] = args.label_smoothing
    if args.ignore_index is not None:
        opts["ignore_index"] = args.ignore_index
    if args.weight is not None:
        opts["weight"] = _parse_numbers(args.weight, "--weight")
    value, grad = _call(name, logits, targets, **opts)
    value = np.asarray(value, dtype=np.float64)
    grad = np.asarray(grad, dtype=np.float64)
    # Cross-entropy is information (natural log); a squared error has no unit.
    unit = "nats" if args.loss.endswith(("-ce", "-bce")) else "unitless"
    if args.json:
        payload: dict[str, Any] = {
            "loss": args.loss,
            "reduction": args.reduction,
            "unit": unit,
            "shape": list(value.shape),
            "values": [_json_number(float(v)) for v in np.atleast_1d(value).ravel()],
        }
        if args.grad:
            payload["grad_shape"] = list(grad.shape)
            payload["grad"] = [_json_number(float(v)) for v in grad.ravel()]
        out.write(json.dumps(payload) + "\n")
        return 0
    _emit(
        value,
        command=args.loss,
        label=f"{label}, reduction {args.reduction}",
        unit=unit,
        as_json=False,
        out=out,
    )
    if args.grad:
        out.write("gradient with respect to the logits:\n")
        for row in np.atleast_2d(grad):
            out.write("  " + " ".join(_fmt(float(v)) for v in row) + "\n")
    return 0


def _run_explore(args: argparse.Namespace, out: Any) -> int:
    from .explorer import write_page

    path = write_page(args.out, results=args.results)
    size = path.stat().st_size
    out.write(f"explorer written to {path} ({size / 1000:.0f} kB)\n")
    if args.open:
        import webbrowser

        if not webbrowser.open(path.resolve().as_uri()):
            sys.stderr.write(f"infoloss: could not open a browser; open {path} yourself\n")
    return 0


def _need_lab() -> Any:
    try:
        from . import lab
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise InputError(
            f"the lab needs its extras ({exc.name}): pip install 'infoloss[lab]'"
        ) from None
    return lab


def _run_demo(args: argparse.Namespace, out: Any) -> int:
    lab = _need_lab()
    results = lab.run_demo(args.out, seed=args.seed, quick=args.quick, progress=args.progress)
    out.write(lab.summary_table(results) + "\n")
    out.write(f"report written to {Path(args.out) / 'index.html'}\n")
    return 0


def _run_lab_train(args: argparse.Namespace, out: Any) -> int:
    lab = _need_lab()
    losses = [s.strip() for s in args.losses.split(",") if s.strip()]
    results = lab.train(
        args.dataset,
        model=args.model,
        losses=losses,
        seeds=args.seeds,
        epochs=args.epochs,
        seed=args.seed,
        progress=args.progress and not args.json,
    )
    if args.json:
        out.write(json.dumps(results, default=_json_default) + "\n")
    else:
        out.write(lab.train_table(results) + "\n")
    return 0


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {text!r}")
    return value


#: A token that starts like a negative number (``-2``, ``-.5``, ``-1e3``, ``-inf``, ``-1,2``)
#: is a value, never an option: no option of this command line starts that way.
_NEGATIVE_NUMBER = re.compile(r"^-(?:\d|\.\d|inf|nan)", re.IGNORECASE)


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # argparse's own pattern knows only -2 and -.5, so "-1e3" or "-inf" would be
        # taken for an unknown option.
        self._negative_number_matcher = _NEGATIVE_NUMBER

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="infoloss",
        description="Exact information measures, classification losses and the loss lab.",
    )
    parser.add_argument("--version", action="version", version=f"infoloss {il.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    common = _Parser(add_help=False)
    common.add_argument(
        "--base",
        type=_base_arg,
        default=None,
        help="log base: 2 or 'bits', 10, e or 'nats' (default), any b > 0, b != 1",
    )
    common.add_argument(
        "--form",
        choices=_FORMS,
        default="probs",
        help="how the numbers are given (default: probs)",
    )
    common.add_argument(
        "--format",
        choices=("csv", "json", "npy"),
        default=None,
        help="file format (default: from the extension; csv for standard input)",
    )
    common.add_argument("--normalize", action="store_true", help="renormalise each row")
    common.add_argument("--json", action="store_true", help="print JSON instead of a table")

    for name, (_, label) in _ONE.items():
        p = sub.add_parser(name, parents=[common], help=f"{label} of each row")
        p.add_argument("values", nargs="*", type=float, help="one distribution's numbers")
        p.add_argument("--file", help="rows from a CSV, .npy or JSON file, or - for standard input")
    for name, (_, label) in _TWO.items():
        p = sub.add_parser(name, parents=[common], help=f"{label} of each pair of rows")
        p.add_argument("--p", help="P: numbers (0.5,0.5), a file, or - for standard input")
        p.add_argument("--q", help="Q: numbers (0.9,0.1), a file, or - for standard input")
        p.add_argument("--p-form", choices=_FORMS, help="the form of P (default: --form)")
        p.add_argument("--q-form", choices=_FORMS, help="the form of Q (default: --form)")

    loss = sub.add_parser(
        "loss",
        help="a classification loss of logits and targets, with its gradient",
        description="A loss of logits and targets, as the library computes it. Softmax "
        "losses take rows of class logits and integer labels (or rows of target "
        "probabilities); sigmoid losses take one logit and one target in [0, 1] per sample.",
    )
    loss.add_argument("loss", choices=tuple(_LOSSES), help="which loss")
    loss.add_argument(
        "--logits", required=True, help="numbers (2,-1,0.5), a file, or - for standard input"
    )
    loss.add_argument(
        "--targets",
        required=True,
        help="labels (0), target probabilities, a file, or - for standard input",
    )
    loss.add_argument(
        "--reduction", choices=("mean", "sum", "none"), default="mean", help="(default: mean)"
    )
    loss.add_argument("--label-smoothing", type=float, default=0.0, help="epsilon in [0, 1]")
    loss.add_argument("--ignore-index", type=int, default=None, help="a label to leave out")
    loss.add_argument("--weight", help="class weights, comma-separated")
    loss.add_argument("--grad", action="store_true", help="also print dL/dlogits")
    loss.add_argument(
        "--format",
        choices=("csv", "json", "npy"),
        default=None,
        help="file format (default: from the extension; csv for standard input)",
    )
    loss.add_argument("--json", action="store_true", help="print JSON instead of a table")

    estimate = sub.add_parser(
        "estimate",
        help="estimate entropy or mutual information from samples in a CSV file",
        description="Estimators of infoloss.estimators on columns of a CSV file with a "
        "header row (or - for standard input). Cells are category labels: a column of "
        "numbers is read as numbers, any other as text; an empty cell is an error.",
    )
    est_sub = estimate.add_subparsers(
        dest="estimate_command", metavar="ESTIMATE_COMMAND", parser_class=_Parser
    )
    est_common = _Parser(add_help=False)
    est_common.add_argument(
        "--file", required=True, help="a CSV file with a header row, or - for standard input"
    )
    est_common.add_argument(
        "--base",
        type=_base_arg,
        default=None,
        help="log base: 2 or 'bits', 10, e or 'nats' (default), any b > 0, b != 1",
    )
    est_common.add_argument("--json", action="store_true", help="print JSON instead of text")
    est_common.add_argument(
        "--interval", action="store_true", help="add a basic bootstrap confidence interval"
    )
    est_common.add_argument(
        "--confidence", type=float, default=None, help="confidence level (default: 0.95)"
    )
    est_common.add_argument(
        "--resamples", type=_positive_int, default=None, help="bootstrap resamples (default: 1000)"
    )
    est_common.add_argument("--seed", type=int, default=None, help="bootstrap random seed")
    est_entropy = est_sub.add_parser(
        "entropy", parents=[est_common], help="entropy of one column's distribution"
    )
    est_entropy.add_argument("--column", help="the column: header name or 0-based index")
    est_entropy.add_argument(
        "--method",
        default="auto",
        help="plugin, miller_madow, grassberger, chao_shen, chao_wang_jost, jackknife, "
        "james_stein, zhang, nsb, or auto (default; see docs/estimators.md)",
    )
    est_entropy.add_argument(
        "--alphabet-size",
        type=_positive_int,
        default=None,
        help="the number of possible categories, when known (nsb, james_stein, auto)",
    )
    est_mi = est_sub.add_parser(
        "mi", parents=[est_common], help="mutual information of two columns"
    )
    est_mi.add_argument("--x", help="the first column: header name or 0-based index")
    est_mi.add_argument("--y", help="the second column: header name or 0-based index")
    est_mi.add_argument(
        "--method",
        default="plugin",
        help="as for estimate entropy; each entropy of H(X) + H(Y) - H(X,Y) by it "
        "(default: plugin)",
    )

    explore = sub.add_parser(
        "explore",
        help="write the interactive explorer (one offline HTML file)",
        description="Write the explorer: one self-contained HTML page of live widgets "
        "(entropy, cross-entropy and KL of distributions you drag; code lengths; forward "
        "and reverse KL; the sigmoid gradient argument). It loads nothing from the network.",
    )
    explore.add_argument(
        "--out", default="explore.html", help="where to write it (default: explore.html)"
    )
    explore.add_argument(
        "--results",
        default=None,
        help="the lab's results.json to show (default: a results.json beside --out, if any)",
    )
    explore.add_argument("--open", action="store_true", help="open it in a web browser")

    demo = sub.add_parser("demo", help="run the loss lab and write its report")
    demo.add_argument("--out", default="report", help="report folder (default: report)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    demo.add_argument("--quick", action="store_true", help="a small, fast configuration")
    demo.add_argument(
        "--no-progress", dest="progress", action="store_false", help="no progress bars"
    )

    lab = sub.add_parser("lab", help="loss-lab experiments")
    lab_sub = lab.add_subparsers(dest="lab_command", metavar="LAB_COMMAND", parser_class=_Parser)
    train = lab_sub.add_parser("train", help="compare losses on a data set")
    train.add_argument(
        "--dataset",
        required=True,
        help="digits, breast_cancer, wine, iris, synthetic, or a .csv / .npz file",
    )
    train.add_argument("--model", choices=("linear", "mlp"), default="linear")
    train.add_argument(
        "--losses", default="ce,mse,mse-logits", help="comma-separated: ce, mse, mse-logits"
    )
    train.add_argument("--seeds", type=_positive_int, default=5, help="number of seeds")
    train.add_argument("--epochs", type=_positive_int, default=None, help="training epochs")
    train.add_argument("--seed", type=int, default=0, help="first seed (default: 0)")
    train.add_argument("--json", action="store_true", help="print JSON instead of a table")
    train.add_argument(
        "--no-progress", dest="progress", action="store_false", help="no progress bars"
    )
    return parser


def main(argv: Sequence[str] | None = None, *, out: Any = None) -> int:
    """Run the command line; returns the exit status."""
    out = sys.stdout if out is None else out
    try:
        return _main(argv, out)
    except BrokenPipeError:
        # The reader went away (``infoloss ... | head``): say so once, and stop Python
        # from failing again when it flushes standard output at exit.
        _silence_stdout()
        sys.stderr.write("infoloss: output closed early (broken pipe); not all was written\n")
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        sys.stderr.write("infoloss: interrupted\n")
        return EXIT_INTERRUPTED


def _silence_stdout() -> None:
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def _main(argv: Sequence[str] | None, out: Any) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handlers: dict[str, Callable[[argparse.Namespace, Any], int]] = {
        "demo": _run_demo,
        "loss": _run_loss,
        "explore": _run_explore,
        "estimate": _run_estimate,
    }
    try:
        if args.command is None:
            parser.print_help(out)
            return EXIT_BAD_INPUT
        if args.command == "lab":
            if args.lab_command != "train":
                raise InputError("lab: choose a command: train (see infoloss lab --help)")
            return _run_lab_train(args, out)
        handler = handlers.get(args.command, _run_measure)
        return handler(args, out)
    except BrokenPipeError:
        raise
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        sys.stderr.write(f"infoloss: error: {message}\n")
        return EXIT_BAD_INPUT


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
