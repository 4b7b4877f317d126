"""The explorer: one self-contained HTML page of live widgets for the information measures.

:func:`build_page` returns the page as a string and :func:`write_page` writes it; the
command ``infoloss explore`` calls the latter.  By default the page shows the results of
``infoloss demo`` (:func:`find_results` says which file).  The page computes every number it shows in
its own JavaScript (``assets/explorer.js``); the test-suite checks those numbers against the
library's.  The page loads nothing: styles and script are inlined, and a Content Security
Policy forbids any request, so it works offline from a ``file://`` address.
"""

from ._page import (
    DEMO_RESULTS,
    PAGE_LIMIT_BYTES,
    build_page,
    find_results,
    lab_summary,
    write_page,
)

__all__ = [
    "DEMO_RESULTS",
    "PAGE_LIMIT_BYTES",
    "build_page",
    "find_results",
    "lab_summary",
    "write_page",
]
