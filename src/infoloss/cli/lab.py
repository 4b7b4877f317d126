"""``infoloss demo`` and ``infoloss lab train``: the loss lab from the command line."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ._common import InputError, Parser, os_message, positive_int

__all__ = ["add_parsers"]


def add_parsers(sub: Any) -> None:
    """The ``demo`` and ``lab`` subcommands."""
    demo = sub.add_parser("demo", help="run the loss lab and write its report")
    demo.add_argument("--out", default="report", help="report folder (default: report)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    demo.add_argument("--quick", action="store_true", help="a small, fast configuration")
    demo.add_argument(
        "--no-progress", dest="progress", action="store_false", help="no progress bars"
    )
    demo.set_defaults(handler=_run_demo)

    lab = sub.add_parser("lab", help="loss-lab experiments")
    lab.set_defaults(handler=_no_lab_command)
    lab_sub = lab.add_subparsers(dest="lab_command", metavar="LAB_COMMAND", parser_class=Parser)
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
    train.add_argument("--seeds", type=positive_int, default=5, help="number of seeds")
    train.add_argument("--epochs", type=positive_int, default=None, help="training epochs")
    train.add_argument("--seed", type=int, default=0, help="first seed (default: 0)")
    train.add_argument("--json", action="store_true", help="print JSON instead of a table")
    train.add_argument(
        "--no-progress", dest="progress", action="store_false", help="no progress bars"
    )
    train.set_defaults(handler=_run_train)


def _need_lab() -> Any:
    try:
        from .. import lab
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise InputError(
            f"the lab needs its extras ({exc.name}): pip install 'infoloss[lab]'"
        ) from None
    return lab


def _no_lab_command(args: argparse.Namespace, out: Any) -> int:
    raise InputError("lab: choose a command: train (see infoloss lab --help)")


def _run_demo(args: argparse.Namespace, out: Any) -> int:
    lab = _need_lab()
    # Before the lab's minutes of training, not after: a folder that cannot be made.
    try:
        Path(args.out).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"--out: {os_message(exc)}") from None
    results = lab.run_demo(args.out, seed=args.seed, quick=args.quick, progress=args.progress)
    out.write(lab.summary_table(results) + "\n")
    out.write(f"report written to {Path(args.out) / 'index.html'}\n")
    return 0


def _run_train(args: argparse.Namespace, out: Any) -> int:
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
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
