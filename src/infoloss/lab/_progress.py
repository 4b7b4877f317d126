"""What a long lab run shows while it works.

On a terminal, a progress bar whose total is known before the first fit; when stderr is
redirected to a file or a pipe, one plain line per finished stage, because a bar's carriage
returns would fill a log with hundreds of half-lines.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from ._format import fmt

__all__ = ["Progress"]


class Progress:
    """Counts finished runs (the ``Ticker`` the experiments update) and times named stages.

    Parameters
    ----------
    desc
        What runs, as the first word of the bar or of each line.
    total
        How many runs the whole job will report through :meth:`update`.
    stages
        How many :meth:`stage` blocks the job has.
    enabled
        False shows nothing (the stages are still timed).
    stream
        Where to write; by default ``sys.stderr`` at the time of the call.
    """

    def __init__(
        self,
        desc: str,
        total: int,
        stages: int,
        *,
        enabled: bool = True,
        stream: TextIO | None = None,
    ) -> None:
        self.desc, self.stages, self.done = desc, stages, 0
        self.stream = sys.stderr if stream is None else stream
        self.timing: dict[str, float] = {}
        isatty = getattr(self.stream, "isatty", None)
        self.lines = enabled and not (callable(isatty) and isatty())
        self.bar: Any = None
        if enabled and not self.lines:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc=desc, unit="run", file=self.stream)

    def update(self, n: int = 1) -> None:
        """``n`` more runs are finished."""
        if self.bar is not None:
            self.bar.update(n)

    @contextmanager
    def stage(self, label: str, key: str) -> Iterator[None]:
        """Time the block as ``timing[key]``; in line mode, report it when it ends."""
        if self.bar is not None:
            self.bar.set_postfix_str(label)
        start = time.perf_counter()
        yield
        seconds = time.perf_counter() - start
        self.timing[key] = seconds
        self.done += 1
        if self.lines:
            line = f"{self.desc}: [{self.done}/{self.stages}] {label} in {fmt(seconds, 's')} s"
            print(line, file=self.stream, flush=True)

    def close(self) -> None:
        """Close the bar (nothing to do in line mode)."""
        if self.bar is not None:
            self.bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
