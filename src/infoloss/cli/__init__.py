"""The ``infoloss`` command line.

Thin commands over the library: read distributions (numbers on the command line, or rows of
a CSV, ``.npy`` or JSON file, or standard input), call one function, print a table or JSON.
Bad input prints one line to standard error and exits with status 2; Ctrl-C prints one
line and exits 130; a closed output pipe (``| head -1``) exits 141 and prints nothing.

Each command family lives in its own module and adds its own subcommands: ``measures``
(entropy, kl, ...), ``losses`` (``loss``), ``estimate``, ``explore`` and ``lab`` (``demo``,
``lab train``); ``reading`` reads numbers and files for all of them, and ``lazy`` reads
files with Dask for ``--dask`` and ``--scheduler``.

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
    infoloss estimate mi --file big.parquet --x a --y b --dask
    infoloss entropy --file rows.npy --scheduler tcp://host:8786
    infoloss explore --open
    infoloss demo
    infoloss lab train --dataset digits --model mlp --losses ce,mse
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from . import estimate, explore, lab, losses, measures
from ._common import EXIT_BAD_INPUT, EXIT_BROKEN_PIPE, EXIT_INTERRUPTED, Parser, os_message

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command; each sets ``handler``, the function that runs it."""
    import infoloss as il

    parser = Parser(
        prog="infoloss",
        description="Exact information measures, classification losses and the loss lab.",
    )
    parser.add_argument("--version", action="version", version=f"infoloss {il.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    measures.add_parsers(sub)
    losses.add_parser(sub)
    estimate.add_parser(sub)
    explore.add_parser(sub)
    lab.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None, *, out: Any = None) -> int:
    """Run the command line; returns the exit status."""
    out = sys.stdout if out is None else out
    try:
        status = _main(argv, out)
        # Written now, not at exit, where a closed pipe could no longer be caught.
        out.flush()
        return status
    except BrokenPipeError:
        # The reader went away (``infoloss ... | head -1``): it asked for no more, so
        # nothing to say; only the status tells, as for a process SIGPIPE ends. Python
        # must not fail again when it flushes standard output at exit.
        _silence_stdout()
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
    if args.command is None:
        parser.print_help(out)
        return EXIT_BAD_INPUT
    try:
        status: int = args.handler(args, out)
        return status
    except BrokenPipeError:
        raise
    except UnicodeDecodeError as exc:
        byte = exc.object[exc.start]
        sys.stderr.write(
            f"infoloss: error: the input is not UTF-8 text (byte 0x{byte:02x} at offset "
            f"{exc.start})\n"
        )
        return EXIT_BAD_INPUT
    except OSError as exc:
        sys.stderr.write(f"infoloss: error: {os_message(exc)}\n")
        return EXIT_BAD_INPUT
    except ValueError as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        sys.stderr.write(f"infoloss: error: {message}\n")
        return EXIT_BAD_INPUT
