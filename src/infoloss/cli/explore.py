"""``infoloss explore``: write the interactive explorer page."""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> None:
    """The ``explore`` subcommand."""
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
        help="the lab's results.json to show (default: a results.json beside --out, else "
        "report/results.json, where 'infoloss demo' writes it)",
    )
    explore.add_argument("--open", action="store_true", help="open it in a web browser")
    explore.set_defaults(handler=run)


def run(args: argparse.Namespace, out: Any) -> int:
    """Write the page, say which lab results it shows, and open it when asked."""
    from ..explorer import find_results, write_page

    results = args.results if args.results is not None else find_results(args.out)
    path = write_page(args.out, results=results)
    size = path.stat().st_size
    out.write(f"explorer written to {path} ({size / 1000:.0f} kB)\n")
    if results is None:
        out.write(
            "no lab results found: run 'infoloss demo' first, or name a results.json "
            "with --results\n"
        )
    else:
        out.write(f"lab results from {results}\n")
    if args.open:
        import webbrowser

        if not webbrowser.open(path.resolve().as_uri()):
            sys.stderr.write(f"infoloss: could not open a browser; open {path} yourself\n")
    return 0
