"""``infoloss estimate entropy|mi``: an estimator of :mod:`infoloss.estimators` on columns
of a CSV file, with its bootstrap interval on request."""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np

from ..estimators._estimate import METHODS
from . import lazy
from ._common import (
    InputError,
    Parser,
    base_arg,
    base_text,
    fmt,
    json_number,
    level_arg,
    positive_int,
    unit,
)
from .reading import read_csv_columns

__all__ = ["DEFAULT_SEED", "add_parser", "run"]

#: The bootstrap's seed when none is given: a fixed one, so the same command prints the
#: same interval, as it prints the same estimate.
DEFAULT_SEED = 0


def _common_parser() -> Parser:
    common = Parser(add_help=False)
    common.add_argument(
        "--file",
        required=True,
        help="a CSV file with a header row, or - for standard input (with --dask: CSV, "
        "Parquet, Zarr or .npy, read lazily)",
    )
    common.add_argument(
        "--base",
        type=base_arg,
        default=None,
        help="log base: 2 or 'bits', 10, e or 'nats' (default), any b > 0, b != 1",
    )
    common.add_argument("--json", action="store_true", help="print JSON instead of text")
    common.add_argument(
        "--interval", action="store_true", help="add a basic bootstrap confidence interval"
    )
    common.add_argument(
        "--confidence", type=level_arg, default=None, help="confidence level (default: 0.95)"
    )
    common.add_argument(
        "--resamples", type=positive_int, default=None, help="bootstrap resamples (default: 1000)"
    )
    common.add_argument(
        "--seed",
        type=int,
        default=None,
        help=f"bootstrap random seed (default: {DEFAULT_SEED}, so a run gives the same interval "
        "each time; another seed shows how much the interval itself varies)",
    )
    lazy.add_options(common)
    return common


def add_parser(sub: Any) -> None:
    """The ``estimate`` subcommand and its ``entropy`` and ``mi``."""
    estimate = sub.add_parser(
        "estimate",
        help="estimate entropy or mutual information from samples in a CSV file",
        description="Estimators of infoloss.estimators on columns of a CSV file with a "
        "header row (or - for standard input). Cells are category labels: a column of "
        "numbers is read as numbers, any other as text; an empty cell is an error. "
        "With --dask, also Parquet, Zarr and .npy files, read lazily on a Dask cluster.",
    )
    estimate.set_defaults(handler=run)
    est_sub = estimate.add_subparsers(
        dest="estimate_command", metavar="ESTIMATE_COMMAND", parser_class=Parser
    )
    common = _common_parser()
    entropy = est_sub.add_parser(
        "entropy", parents=[common], help="entropy of one column's distribution"
    )
    entropy.add_argument("--column", help="the column: header name or 0-based index")
    entropy.add_argument(
        "--method",
        default="auto",
        help=", ".join(m for m in METHODS if m != "auto")
        + ", or auto (default; see docs/estimators.md)",
    )
    entropy.add_argument(
        "--alphabet-size",
        type=positive_int,
        default=None,
        help="the number of possible categories, when known (nsb, james_stein, auto)",
    )
    mi = est_sub.add_parser("mi", parents=[common], help="mutual information of two columns")
    mi.add_argument("--x", help="the first column: header name or 0-based index")
    mi.add_argument("--y", help="the second column: header name or 0-based index")
    mi.add_argument(
        "--method",
        default="plugin",
        help="as for estimate entropy; each entropy of H(X) + H(Y) - H(X,Y) by it "
        "(default: plugin)",
    )


def _columns(args: argparse.Namespace) -> tuple[tuple[Any, ...], list[str]]:
    """The sample arrays (lazy Dask arrays with ``--dask``) and their column labels."""
    if args.estimate_command == "entropy":
        if args.column is None:
            raise InputError("estimate entropy needs --column (a header name or a 0-based index)")
        names = [args.column]
    else:
        if args.x is None or args.y is None:
            raise InputError("estimate mi needs --x and --y (header names or 0-based indices)")
        names = [args.x, args.y]
    read = lazy.read_columns if args.dask else read_csv_columns
    arrays, labels = read(args.file, names)
    return tuple(arrays), labels


def _resolved(args: argparse.Namespace) -> str:
    """The estimator ``--method`` names: "auto" resolved as the library resolves it."""
    from ..estimators._estimate import resolve

    size = args.alphabet_size if args.estimate_command == "entropy" else None
    return resolve(args.method, size)


def _point(
    args: argparse.Namespace,
    arrays: tuple[np.ndarray, ...],
    opts: dict[str, Any],
) -> tuple[Any, Any]:
    """The estimate, and NSB's posterior standard deviation (else None)."""
    from .. import estimators

    if args.estimate_command == "mi":
        return estimators.mutual_information(*arrays, **opts), None
    opts["alphabet_size"] = args.alphabet_size
    if opts["method"] == "nsb":
        nsb_opts = {k: v for k, v in opts.items() if k != "method"}
        estimate, std = estimators.entropy_nsb(*arrays, **nsb_opts)
        return estimate, std
    return estimators.entropy(*arrays, **opts), None


def _interval(
    args: argparse.Namespace,
    arrays: tuple[np.ndarray, ...],
    opts: dict[str, Any],
) -> dict[str, Any]:
    from .. import estimators

    boot_opts = dict(opts)
    if args.estimate_command == "mi":
        boot_opts["y"] = arrays[1]
    boot_opts |= {
        "confidence_level": 0.95 if args.confidence is None else args.confidence,
        "n_resamples": 1000 if args.resamples is None else args.resamples,
        "rng": DEFAULT_SEED if args.seed is None else args.seed,
    }
    boot = estimators.bootstrap_interval(arrays[0], **boot_opts)
    return {
        "confidence": boot_opts["confidence_level"],
        "kind": "basic bootstrap",
        "resamples": boot_opts["n_resamples"],
        "seed": boot_opts["rng"],
        "low": float(boot.low),
        "high": float(boot.high),
    }


def run(args: argparse.Namespace, out: Any) -> int:
    """Estimate, bootstrap on request, and print."""
    if args.estimate_command is None:
        raise InputError("estimate: choose a command: entropy or mi (see infoloss estimate --help)")
    if not args.interval and (args.confidence, args.resamples, args.seed) != (None,) * 3:
        raise InputError("--confidence, --resamples and --seed go with --interval")
    with lazy.session(args):
        arrays, labels = _columns(args)
        opts: dict[str, Any] = {"method": _resolved(args), "base": args.base}
        estimate, std = _point(args, arrays, opts)
        interval = _interval(args, arrays, opts) if args.interval else None
    measure = "entropy" if args.estimate_command == "entropy" else "mutual_information"
    result = {
        "measure": measure,
        "columns": labels,
        "method": opts["method"],
        "unit": unit(measure, None if args.base is None else base_text(args.base)),
        "samples": int(arrays[0].shape[0]),
        "estimate": float(estimate),
        "std": None if std is None else float(std),
        "interval": interval,
    }
    if args.json:
        _print_json(result, out)
    else:
        _print_text(result, args.method, out)
    return 0


def _print_json(result: dict[str, Any], out: Any) -> None:
    payload = {k: v for k, v in result.items() if k != "std"}
    payload["estimate"] = json_number(result["estimate"])
    if result["std"] is not None:
        payload["std"] = json_number(result["std"])
    interval = result["interval"]
    if interval is not None:
        interval = interval | {"low": json_number(interval["low"])}
        interval["high"] = json_number(interval["high"])
    payload["interval"] = interval
    out.write(json.dumps(payload) + "\n")


def _print_text(result: dict[str, Any], given: str, out: Any) -> None:
    labels = result["columns"]
    if result["measure"] == "entropy":
        what = f"entropy of {labels[0]}"
    else:
        what = f"mutual information of {labels[0]} and {labels[1]}"
    method = result["method"] if given == result["method"] else f"{result['method']} ({given})"
    out.write(f"{what} ({result['unit']}), method {method}, ")
    out.write(f"{result['samples']} samples\n")
    out.write(f"estimate: {fmt(result['estimate'])}\n")
    if result["std"] is not None:
        out.write(f"posterior sd: {fmt(result['std'])}\n")
    interval = result["interval"]
    if interval is not None:
        out.write(
            f"{100 * interval['confidence']:.6g}% interval ({interval['kind']}, "
            f"{interval['resamples']} resamples, seed {interval['seed']}): "
            f"{fmt(interval['low'])} {fmt(interval['high'])}\n"
        )
