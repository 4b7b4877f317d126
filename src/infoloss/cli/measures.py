"""``infoloss entropy|perplexity|...|kl|js``: the information measures of distributions."""

from __future__ import annotations

import argparse
import json
from functools import partial
from typing import Any

import numpy as np

import infoloss as il

from . import lazy
from ._common import NO_BASE, InputError, Parser, base_arg, base_text, fmt, json_number, unit
from .reading import distribution_arg, read_source

__all__ = ["FORMS", "add_parsers", "emit", "run"]

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
#: Measures with a value per outcome of each distribution, not one per distribution.
_PER_OUTCOME = ("self-information",)
FORMS = ("probs", "log_probs", "logits")


def _common_parser() -> Parser:
    common = Parser(add_help=False)
    common.add_argument(
        "--base",
        type=base_arg,
        default=None,
        help="log base: 2 or 'bits', 10, e or 'nats' (default), any b > 0, b != 1",
    )
    common.add_argument(
        "--form", choices=FORMS, default="probs", help="how the numbers are given (default: probs)"
    )
    common.add_argument(
        "--format",
        choices=("csv", "json", "npy", "parquet", "zarr"),
        default=None,
        help="file format (default: from the extension; csv for standard input; parquet and "
        "zarr with --dask)",
    )
    common.add_argument("--normalize", action="store_true", help="renormalise each row")
    common.add_argument("--json", action="store_true", help="print JSON instead of a table")
    lazy.add_options(common)
    return common


def _value(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        pass
    if ";" in text or "," in text:
        raise argparse.ArgumentTypeError(
            f"expected numbers separated by spaces; got {text!r} (give each number as its "
            "own argument)"
        )
    raise argparse.ArgumentTypeError(f"not a number: {text!r}")


def add_parsers(sub: Any) -> None:
    """One subcommand per measure."""
    common = _common_parser()
    for name, (_, label) in _ONE.items():
        each = "outcome" if name in _PER_OUTCOME else "row"
        p = sub.add_parser(name, parents=[common], help=f"{label} of each {each}")
        p.add_argument("values", nargs="*", type=_value, help="one distribution's numbers")
        p.add_argument("--file", help="rows from a CSV, .npy or JSON file, or - for standard input")
        p.set_defaults(handler=run)
    for name, (_, label) in _TWO.items():
        p = sub.add_parser(name, parents=[common], help=f"{label} of each pair of rows")
        p.add_argument("--p", help="P: numbers (0.5,0.5), a file, or - for standard input")
        p.add_argument("--q", help="Q: numbers (0.9,0.1), a file, or - for standard input")
        p.add_argument("--p-form", choices=FORMS, help="the form of P (default: --form)")
        p.add_argument("--q-form", choices=FORMS, help="the form of Q (default: --form)")
        p.set_defaults(handler=run)


def _forms(args: argparse.Namespace) -> str | tuple[str, str]:
    p_form = args.p_form or args.form
    q_form = args.q_form or args.form
    return p_form if p_form == q_form else (p_form, q_form)


def _two(args: argparse.Namespace, opts: dict[str, Any]) -> Any:
    command = args.command
    if args.p is None or args.q is None:
        raise InputError(f"{command} needs both --p and --q")
    if args.p == "-" and args.q == "-":
        raise InputError("only one of --p and --q can be - (standard input)")
    p = _distribution(args, args.p, "--p")
    q = _distribution(args, args.q, "--q")
    fn = partial(getattr(il, _TWO[command][0]), form=_forms(args), **opts)
    return lazy.map_rows(fn, [p, q], outcomes=False) if args.dask else fn(p, q)


def _distribution(args: argparse.Namespace, text: str, what: str) -> Any:
    """``--p`` or ``--q``: numbers, or a file (read lazily with ``--dask``)."""
    read = lazy.read_rows if args.dask else read_source
    return distribution_arg(text, args.format, what, read=read)


def _one(args: argparse.Namespace, opts: dict[str, Any]) -> Any:
    command = args.command
    if args.values and args.file:
        raise InputError("give numbers or --file, not both")
    fn = partial(getattr(il, _ONE[command][0]), form=args.form, **opts)
    if args.file and args.dask:
        x = lazy.read_rows(args.file, args.format, "--file")
        by_rows = command not in _TABLES
        return lazy.map_rows(fn, [x], outcomes=command in _PER_OUTCOME, by_rows=by_rows)
    if args.file:
        x = read_source(args.file, args.format, "--file")
    elif args.values:
        x = np.array(args.values, dtype=np.float64)
        if command in _TABLES:
            raise InputError(f"{command} needs a joint table: pass it with --file")
    else:
        raise InputError(f"{command}: give numbers or --file (use - for standard input)")
    return fn(x)


def run(args: argparse.Namespace, out: Any) -> int:
    """Compute one measure of the rows given and print it."""
    command = args.command
    opts: dict[str, Any] = {}
    if command not in NO_BASE:
        opts["base"] = args.base
    elif args.base is not None:
        raise InputError(f"--base does not apply to {command}: it is the same in every base")
    if args.normalize:
        if command == "self-information":
            raise InputError("--normalize does not apply to self-information")
        opts["normalize"] = True
    with lazy.session(args):
        values = _two(args, opts) if command in _TWO else _one(args, opts)
    label = (_TWO if command in _TWO else _ONE)[command][1]
    shown_base = None if args.base is None or command in NO_BASE else base_text(args.base)
    emit(
        values,
        command=command,
        label=label,
        unit=unit(command, shown_base),
        as_json=args.json,
        out=out,
        outcomes=command in _PER_OUTCOME,
    )
    return 0


def emit(
    values: np.ndarray,
    *,
    command: str,
    label: str,
    unit: str,
    as_json: bool,
    out: Any,
    outcomes: bool = False,
) -> None:
    """Print *values*: one line for a scalar, else a table numbered by row (and by outcome
    where *outcomes*: the last axis is the distribution's outcomes); or one JSON object."""
    flat = np.atleast_1d(np.asarray(values, dtype=np.float64)).ravel()
    if as_json:
        payload = {
            "measure": command,
            "unit": unit,
            "shape": list(np.shape(values)),
            "values": [json_number(float(v)) for v in flat],
        }
        out.write(json.dumps(payload) + "\n")
        return
    header = f"{label} ({unit})"
    if flat.size == 1 and np.ndim(values) == 0:
        out.write(f"{header}: {fmt(float(flat[0]))}\n")
        return
    names, index = _index(np.shape(values), outcomes)
    widths = [max([len(n), *(len(str(i[c])) for i in index)]) for c, n in enumerate(names)]
    out.write("  ".join(f"{n:>{w}}" for n, w in zip(names, widths, strict=True)))
    out.write(f"  {header}\n")
    for i, v in zip(index, flat, strict=True):
        cells = "  ".join(f"{k:>{w}}" for k, w in zip(i, widths, strict=True))
        out.write(f"{cells}  {fmt(float(v))}\n")


def _index(shape: tuple[int, ...], outcomes: bool) -> tuple[list[str], list[tuple[int, ...]]]:
    """The index columns of a table: the row, counted over every batch axis; the outcome."""
    size = int(np.prod(shape))
    if not outcomes:
        return ["row"], [(i,) for i in range(size)]
    k = shape[-1]
    if len(shape) == 1:
        return ["outcome"], [(i,) for i in range(size)]
    return ["row", "outcome"], [divmod(i, k) for i in range(size)]
