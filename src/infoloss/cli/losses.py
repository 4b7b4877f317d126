"""``infoloss loss NAME``: a classification loss of logits and targets, with its gradient."""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np

import infoloss as il

from ._common import InputError, fmt, json_number
from .measures import emit
from .reading import distribution_arg, parse_numbers

__all__ = ["add_parser", "run"]

#: The library function, whether the logits are rows of classes, and the loss in words.
_LOSSES: dict[str, tuple[str, bool, str]] = {
    "softmax-ce": ("softmax_cross_entropy", True, "softmax cross-entropy"),
    "softmax-se": ("softmax_squared_error", True, "squared error on softmax probabilities"),
    "logit-se": ("logit_squared_error", True, "squared error on logits"),
    "sigmoid-bce": ("sigmoid_binary_cross_entropy", False, "sigmoid binary cross-entropy"),
    "sigmoid-se": ("sigmoid_squared_error", False, "squared error on sigmoid probabilities"),
}


def add_parser(sub: Any) -> None:
    """The ``loss`` subcommand."""
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
    loss.set_defaults(handler=run)


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


def _inputs(args: argparse.Namespace, rows: bool) -> tuple[np.ndarray, np.ndarray]:
    if args.logits == "-" and args.targets == "-":
        raise InputError("only one of --logits and --targets can be - (standard input)")
    logits = distribution_arg(args.logits, args.format, "--logits")
    raw = distribution_arg(args.targets, args.format, "--targets")
    if rows and logits.ndim == 1:
        # Inline logits are one sample's row of class scores.
        logits = logits[np.newaxis, :]
        if raw.ndim == 1 and raw.shape[0] == logits.shape[1] and raw.shape[0] > 1:
            raw = raw[np.newaxis, :]
    return logits, _targets(raw, logits, rows)


def run(args: argparse.Namespace, out: Any) -> int:
    """Compute the loss (and its gradient) and print them."""
    name, rows, label = _LOSSES[args.loss]
    logits, targets = _inputs(args, rows)
    opts: dict[str, Any] = {"reduction": args.reduction, "return_grad": True}
    if args.label_smoothing:
        opts["label_smoothing"] = args.label_smoothing
    if args.ignore_index is not None:
        opts["ignore_index"] = args.ignore_index
    if args.weight is not None:
        opts["weight"] = parse_numbers(args.weight, "--weight")
    value, grad = getattr(il, name)(logits, targets, **opts)
    value = np.asarray(value, dtype=np.float64)
    grad = np.asarray(grad, dtype=np.float64)
    # Cross-entropy is information (natural log); a squared error has no unit.
    unit = "nats" if args.loss.endswith(("-ce", "-bce")) else "unitless"
    if args.json:
        _print_json(args, value, grad, unit, out)
        return 0
    emit(
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
            out.write("  " + " ".join(fmt(float(v)) for v in row) + "\n")
    return 0


def _print_json(
    args: argparse.Namespace, value: np.ndarray, grad: np.ndarray, unit: str, out: Any
) -> None:
    payload: dict[str, Any] = {
        "loss": args.loss,
        "reduction": args.reduction,
        "unit": unit,
        "shape": list(value.shape),
        "values": [json_number(float(v)) for v in np.atleast_1d(value).ravel()],
    }
    if args.grad:
        payload["grad_shape"] = list(grad.shape)
        payload["grad"] = [json_number(float(v)) for v in grad.ravel()]
    out.write(json.dumps(payload) + "\n")
