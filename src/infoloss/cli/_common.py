"""What every command shares: the parser class, exit statuses, option types and number
formatting."""

from __future__ import annotations

import argparse
import errno
import math
import re
from typing import Any, NoReturn

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_BROKEN_PIPE",
    "EXIT_INTERRUPTED",
    "InputError",
    "Parser",
    "base_arg",
    "base_text",
    "fmt",
    "json_number",
    "level_arg",
    "os_message",
    "positive_int",
    "unit",
]

EXIT_BAD_INPUT = 2
#: 128 + SIGINT and 128 + SIGPIPE, as a shell reports a process those signals end.
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141

#: A token that starts like a negative number (``-2``, ``-.5``, ``-1e3``, ``-inf``, ``-1,2``)
#: is a value, never an option: no option of this command line starts that way.
_NEGATIVE_NUMBER = re.compile(r"^-(?:\d|\.\d|inf|nan)", re.IGNORECASE)

#: Measures whose value is a count of outcomes, not information in some log base.
NO_BASE = ("perplexity",)


class InputError(ValueError):
    """Bad input from the command line or a file."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors exit with :data:`EXIT_BAD_INPUT`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # argparse's own pattern knows only -2 and -.5, so "-1e3" or "-inf" would be
        # taken for an unknown option.
        self._negative_number_matcher = _NEGATIVE_NUMBER

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


def base_arg(text: str) -> float | str:
    """``--base``: a number, or a unit's name."""
    if text in ("bits", "nats", "hartleys", "dits", "bans", "e"):
        return "nats" if text == "e" else text
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0 and value != 1):
        raise argparse.ArgumentTypeError(
            f"must be a positive number other than 1, 'bits' or 'nats'; got {text!r}"
        )
    return value


def level_arg(text: str) -> float:
    """``--confidence``: a number strictly between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be a number between 0 and 1; got {text!r}")
    return value


def positive_int(text: str) -> int:
    """An option that counts something: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {text!r}")
    return value


def base_text(base: float | str) -> str:
    """A base as the user would write it: ``2``, not ``2.0``."""
    text = str(base)
    return text[:-2] if text.endswith(".0") else text


def unit(command: str, base: str | None) -> str:
    """The unit a command's values are in."""
    if command in NO_BASE:
        return "outcomes"
    return {None: "nats", "2": "bits", "bits": "bits", "10": "hartleys", "nats": "nats"}.get(
        base, f"log base {base}"
    )


def json_number(v: float) -> float | str:
    """A float for JSON, which has no infinity or NaN: those as strings."""
    return v if math.isfinite(v) else ("inf" if v > 0 else "-inf" if v < 0 else "nan")


def fmt(v: float) -> str:
    """A float for a table: every digit, so the printed value is the computed one."""
    return repr(v) if math.isfinite(v) else ("inf" if v > 0 else "-inf" if v < 0 else "nan")


#: An operating system's refusal, in words, after the path it concerns.
_OS_REASONS = {
    errno.ENOENT: "no such file or directory",
    errno.EISDIR: "is a directory, not a file",
    errno.ENOTDIR: "a part of this path is a file, not a directory",
    errno.EEXIST: "exists and is not a directory",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "is on a read-only file system",
    errno.ENOSPC: "no space left on the device",
}


def os_message(exc: OSError) -> str:
    """A failed read or write as one line: the path, then what is wrong with it."""
    reason = _OS_REASONS.get(exc.errno or 0, exc.strerror or str(exc))
    if exc.filename is None:
        return reason
    sep = ":" if reason.startswith(("no ", "permission", "a part")) else ""
    return f"{exc.filename}{sep} {reason}"
