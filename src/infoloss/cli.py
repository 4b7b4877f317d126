"""The ``infoloss`` command line.

Thin commands over the library: read distributions (numbers on the command line, or rows of
a CSV, ``.npy`` or JSON file, or standard input), call one function, print a table or JSON.
Bad input prints one line to standard error and exits with status 2.

Examples::

    infoloss entropy 0.5 0.5 --base 2
    infoloss kl --p 0.5,0.5 --q 0.9,0.1
    infoloss entropy --file rows.csv --json
    cat rows.json | infoloss cross-entropy --p - --q q.npy --format json
    infoloss demo
    infoloss lab train --dataset digits --model mlp --losses ce,mse
"""

from __future__ import annotations

import argparse
import io
import json
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from . import __version__, measures

__all__ = ["main"]

EXIT_BAD_INPUT = 2

_ONE: dict[str, tuple[Callable[..., Any], str]] = {
    "entropy": (measures.entropy, "entropy"),
    "perplexity": (measures.perplexity, "perplexity"),
    "self-information": (measures.self_information, "self-information"),
    "joint-entropy": (measures.joint_entropy, "joint entropy"),
    "conditional-entropy": (measures.conditional_entropy, "conditional entropy H(Y|X)"),
    "mutual-information": (measures.mutual_information, "mutual information"),
}
_TWO: dict[str, tuple[Callable[..., Any], str]] = {
    "cross-entropy": (measures.cross_entropy, "cross-entropy H(P,Q)"),
    "kl": (measures.kl_divergence, "KL divergence D(P||Q)"),
    "js": (measures.js_divergence, "Jensen-Shannon divergence"),
}
_TABLES = ("joint-entropy", "conditional-entropy", "mutual-information")
_NO_BASE = ("perplexity",)


class InputError(ValueError):
    """Bad input from the command line or a file."""


# ------------------------------------------------------------------------- reading


def _parse_numbers(text: str, what: str) -> np.ndarray:
    try:
        return np.array([float(t) for t in text.replace(",", " ").split()], dtype=np.float64)
    except ValueError:
        raise InputError(f"{what}: expected numbers separated by commas, got {text!r}") from None


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
    return _load_text(path.read_text(encoding="utf-8"), kind, source)


def _load_npy(fh: Any, name: str) -> np.ndarray:
    try:
        arr = np.load(fh, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise InputError(f"{name}: not a readable .npy file ({exc})") from None
    if not np.issubdtype(arr.dtype, np.number):
        raise InputError(f"{name}: .npy array must be numeric, got dtype {arr.dtype}")
    return np.asarray(arr, dtype=np.float64)


def _load_text(text: str, kind: str, name: str) -> np.ndarray:
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
    rows = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            rows.append([float(t) for t in line.replace(",", " ").split()])
        except ValueError:
            raise InputError(f"{name}, line {lineno}: non-numeric value in {line!r}") from None
    if not rows:
        raise InputError(f"{name}: no data rows")
    if len({len(r) for r in rows}) != 1:
        raise InputError(f"{name}: rows have different lengths")
    return np.array(rows, dtype=np.float64)


def _distribution_arg(text: str, fmt: str | None, what: str) -> np.ndarray:
    """``--p`` and ``--q`` take inline numbers, a file path, or ``-`` for stdin."""
    if text == "-" or not _looks_numeric(text):
        return _read_source(text, fmt, what)
    return _parse_numbers(text, what)


def _looks_numeric(text: str) -> bool:
    try:
        [float(t) for t in text.replace(",", " ").split()]
    except ValueError:
        return False
    return bool(text.strip())


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


def _run_measure(args: argparse.Namespace, out: Any) -> int:
    command = args.command
    fmt = args.format
    opts: dict[str, Any] = {"form": args.form}
    if command not in _NO_BASE:
        opts["base"] = args.base
    if getattr(args, "normalize", False):
        if command == "self-information":
            raise InputError("--normalize does not apply to self-information")
        opts["normalize"] = True
    if command in _TWO:
        func2, label = _TWO[command]
        if args.p is None or args.q is None:
            raise InputError(f"{command} needs both --p and --q")
        p = _distribution_arg(args.p, fmt, "--p")
        q = _distribution_arg(args.q, fmt, "--q")
        values = func2(p, q, **opts)
    else:
        func, label = _ONE[command]
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
        values = func(x, **opts)
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


def _float_list(text: str) -> list[float]:
    return [float(t) for t in text.split(",")]


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


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="infoloss",
        description="Exact information measures, classification losses and the loss lab.",
    )
    parser.add_argument("--version", action="version", version=f"infoloss {__version__}")
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
        choices=("probs", "log_probs", "logits"),
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
    parser = build_parser()
    args = parser.parse_args(argv)
    handlers: dict[str, Callable[[argparse.Namespace, Any], int]] = {
        "demo": _run_demo,
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
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        sys.stderr.write(f"infoloss: error: {message}\n")
        return EXIT_BAD_INPUT


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
