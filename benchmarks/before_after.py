"""The compiled kernels against the numba ones they replaced, side by side in one process.

The numba kernels are read from git as of ``NUMBA_COMMIT`` (the last commit that had them)
into a temporary folder and imported as ``infoloss._backends.numba`` beside the installed
package (they import its ``infoloss._kernels`` switch and named results, unchanged since);
numba itself must be installed (``pip install numba``; it is no dependency of infoloss).

Usage::

    python benchmarks/before_after.py --family softmax
    python benchmarks/before_after.py --family softmax --quick   # small shapes only
    python benchmarks/before_after.py --family measures

``softmax``: ``xent_forward``, ``xent_fused`` (into a preallocated buffer) and
``xent_backward`` of :mod:`infoloss._kernels.softmax` (C) and of
the numba ``softmax`` module, on the same float32 and float64 logits with labels,
at a large vocabulary, many short rows, and small batches (where the per-call overhead
shows: each timed sample there repeats the call enough times to last a few milliseconds).
Each round calls every method once in turn (``_common.rounds``), after a warm-up call each
(the numba kernels compile on their first call); the table gives medians per call and the
median per-round ratio C / numba.  The last line compares the C forward on float32 logits
at 4096×32000 with NumPy's ``x.sum()`` on the same array.

``measures``: ``measure_rows`` (entropy, cross-entropy, KL, JS) and ``joint_rows`` (joint
and conditional entropy, mutual information) of :mod:`infoloss._kernels.info` (C) and of
the numba ``info`` / ``joint`` modules, every kind in every form (probabilities,
log-probabilities, logits; ``normalize=False``), float32 and float64, at a large vocabulary,
many rows of 1000, a few rows of 262144, many short rows and (4096, 31, 31) tables.  Under
each float32 pair measure of probabilities, the C kernel's time over that of
``(p.sum(), q.sum())`` on the same two arrays.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import statistics
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from _common import ROOT, git_show, machine, ratio, repeated, rounds

NUMBA_COMMIT = "b03e312"
NUMBA_PATH = "src/infoloss/_backends/numba"


@functools.cache
def numba_backend() -> Any:
    """The numba kernels of ``NUMBA_COMMIT`` as the package ``infoloss._backends.numba``."""
    names = subprocess.run(
        ["git", "ls-tree", "--name-only", f"{NUMBA_COMMIT}:{NUMBA_PATH}"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    folder = Path(tempfile.mkdtemp()) / "_backends"
    (folder / "numba").mkdir(parents=True)
    for name in names:
        if name.endswith(".py"):
            (folder / "numba" / name).write_text(git_show(NUMBA_COMMIT, f"{NUMBA_PATH}/{name}"))
    import infoloss

    package = types.ModuleType("infoloss._backends")
    package.__path__ = [str(folder)]
    sys.modules["infoloss._backends"] = package
    infoloss._backends = package  # type: ignore[attr-defined]
    return importlib.import_module("infoloss._backends.numba")


SOFTMAX_SHAPES = [(4096, 32000), (65536, 1000), (64, 10), (256, 10), (1797, 10)]
SOFTMAX_QUICK = [(512, 4000), (64, 10), (256, 10), (1797, 10)]


def _reps(f: Callable[[], Any], target: float = 0.005) -> int:
    """Calls of ``f`` that together last about ``target`` seconds."""
    f()
    t0 = time.perf_counter()
    f()
    once = max(time.perf_counter() - t0, 1e-7)
    return max(1, int(target / once))


def softmax(repeats: int, quick: bool, shapes: list[tuple[int, ...]] | None = None) -> None:
    """xent_forward / xent_fused / xent_backward: C against numba."""
    print(f"softmax cross-entropy kernels, labels, no options; {machine()}")
    print(f"{'shape':>12} {'dtype':>8} {'kernel':>8} {'C':>11} {'numba':>11} {'C/numba':>8}")
    for n, c in shapes or (SOFTMAX_QUICK if quick else SOFTMAX_SHAPES):
        for dtype in (np.float32, np.float64):
            _softmax_case(n, c, dtype, repeats)


def _softmax_case(n: int, c: int, dtype: Any, repeats: int) -> None:
    from infoloss._kernels import softmax as ck

    nb = importlib.import_module(f"{numba_backend().__name__}.softmax")

    rng = np.random.default_rng(0)
    z = (rng.standard_normal((n, c), dtype=np.float32) * 3).astype(dtype, copy=False)
    y = rng.integers(0, c, n)
    g = np.empty_like(z)
    lse, up = ck.xent_forward(z, y, None, 0.0, None).lse, np.ones(n)
    methods: dict[str, Callable[[], Any]] = {}
    for name, mod in (("C", ck), ("numba", nb)):
        methods[f"fwd {name}"] = lambda m=mod: m.xent_forward(z, y, None, 0.0, None)
        methods[f"fused {name}"] = lambda m=mod: m.xent_fused(z, y, None, 0.0, None, g, 1.0)
        methods[f"bwd {name}"] = lambda m=mod: m.xent_backward(z, y, None, 0.0, None, lse, up, g)
    for f in methods.values():
        f()  # numba compiles on its first call
    reps = {k: _reps(f) for k, f in methods.items()}
    for kernel in ("fwd", "fused", "bwd"):
        a, b = f"{kernel} C", f"{kernel} numba"
        per = min(reps[a], reps[b])  # the same number of calls on both sides
        times = rounds({k: repeated(methods[k], per) for k in (a, b)}, repeats)
        ta = statistics.median(times[a]) / per
        tb = statistics.median(times[b]) / per
        print(
            f"{n:>6}x{c:<5} {np.dtype(dtype).name:>8} {kernel:>8} "
            f"{_fmt(ta):>11} {_fmt(tb):>11} {ratio(times, a, b):>8.2f}",
            flush=True,
        )
    if (n, c) == (4096, 32000) and dtype == np.float32:
        fwd = methods["fwd C"]
        t = rounds({"fwd": fwd, "sum": z.sum}, repeats)
        print(f"  C forward / x.sum() at 4096x32000 float32: {ratio(t, 'fwd', 'sum'):.2f}")


def _fmt(seconds: float) -> str:
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} us"


MEASURE_SHAPES = [(2048, 32000), (65536, 1000), (256, 262144), (65536, 31), (4096, 31, 31)]
MEASURE_QUICK = [(256, 4000), (4096, 31), (512, 31, 31)]
FORMS = ("probs", "log_probs", "logits")


def _measure_data(shape: tuple[int, ...], dtype: Any, seed: int) -> dict[str, np.ndarray]:
    """Probabilities, log-probabilities and logits of one set of rows (tables: normalised
    over their last two axes together)."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal(shape, dtype=np.float32) * 3
    axes = (-2, -1) if len(shape) == 3 else (-1,)
    z -= z.max(axis=axes, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=axes, keepdims=True)
    lp = np.log(p)
    return {f: a.astype(dtype, copy=False) for f, a in zip(FORMS, (p, lp, z), strict=True)}


def measures(repeats: int, quick: bool, shapes: list[tuple[int, ...]] | None = None) -> None:
    """measure_rows / joint_rows, every kind and form: C against numba."""
    from infoloss._kernels import info as ck

    nb_info = importlib.import_module(f"{numba_backend().__name__}.info")
    nb_joint = importlib.import_module(f"{numba_backend().__name__}.joint")

    print(f"measure kernels (default normalize=False); {machine()}")
    print(
        f"{'shape':>16} {'dtype':>8} {'kind':>20} {'form':>9} {'C':>11} {'numba':>11} {'C/numba':>8}"
    )
    for shape in shapes or (MEASURE_QUICK if quick else MEASURE_SHAPES):
        for dtype in (np.float32, np.float64):
            a = _measure_data(shape, dtype, 1)
            if len(shape) == 3:
                cases = [
                    (kind, form, {"C": lambda k=kind, f=form, t=a[form]: ck.joint_rows(k, t, f, False),
                                  "numba": lambda k=kind, f=form, t=a[form]: nb_joint.joint_rows(k, t, f, False)})
                    for kind in ("joint_entropy", "conditional_entropy", "mutual_information")
                    for form in FORMS
                ]  # fmt: skip
                b = None
            else:
                b = _measure_data(shape, dtype, 2)
                cases = []
                for kind in ("entropy", "cross_entropy", "kl", "js"):
                    for form in FORMS:
                        xs = (a[form],) if kind == "entropy" else (a[form], b[form])
                        fs = (form,) * len(xs)
                        cases.append((kind, form, {
                            "C": lambda k=kind, x=xs, f=fs: ck.measure_rows(k, x, f, False),
                            "numba": lambda k=kind, x=xs, f=fs: nb_info.measure_rows(k, x, f, False),
                        }))  # fmt: skip
            for kind, form, methods in cases:
                reps = min(_reps(methods["C"]), _reps(methods["numba"]))
                times = rounds({k: repeated(f, reps) for k, f in methods.items()}, repeats)
                ta = statistics.median(times["C"]) / reps
                tb = statistics.median(times["numba"]) / reps
                shp = "x".join(map(str, shape))
                print(
                    f"{shp:>16} {np.dtype(dtype).name:>8} {kind:>20} {form:>9} "
                    f"{_fmt(ta):>11} {_fmt(tb):>11} {ratio(times, 'C', 'numba'):>8.2f}",
                    flush=True,
                )
                if b is not None and form == "probs" and kind != "entropy" and dtype == np.float32:
                    p, q = a["probs"], b["probs"]
                    t = rounds(
                        {"C": methods["C"], "sums": lambda p=p, q=q: (p.sum(), q.sum())}, repeats
                    )
                    print(
                        f"{'':>16} {'':>8} {'C / (p.sum(), q.sum())':>31} {ratio(t, 'C', 'sums'):>8.2f}"
                    )
            del a, b


FAMILIES = {"softmax": softmax, "measures": measures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--family", choices=sorted(FAMILIES), default="softmax")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="small shapes only")
    parser.add_argument(
        "--shapes", nargs="+", metavar="NxC", help="these shapes only, e.g. 65536x31 4096x31x31"
    )
    args = parser.parse_args()
    shapes = [tuple(map(int, s.split("x"))) for s in args.shapes] if args.shapes else None
    FAMILIES[args.family](args.rounds, args.quick, shapes)


if __name__ == "__main__":
    main()
