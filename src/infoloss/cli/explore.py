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
        help="the lab's results.json to show (default: a results.json beside --out, if any)",
    )
    explore.add_argument("--open", action="store_true", help="open it in a web browser")
    explore.set_defaults(handler=run)


def run(args: argparse.Namespace, out: Any) -> int:
    """Write the page, and open it when asked."""
    from ..explorer import write_page

    path = write_page(args.out, results=args.results)
    size = path.stat().st_size
    out.write(f"explorer written to {path} ({size / 1000:.0f} kB)\n")
    if args.open:
        import webbrowser

        if not webbrowser.open(path.resolve().as_uri()):
            sys.stderr.write(f"infoloss: could not open a browser; open {path} yourself\n")
    return 0
