"""Short rows and small tables: the numba backend at a git commit against the working tree.

Rows shorter than the vector loops' step (64 float32 / 32 float64 entries) and tables of
31×31 cells (the joint measures' tables at the 65536×1000 benchmark shape) are where the
kernels' scalar remainders dominated.  The backend package as of ``--base`` is read from
git into a temporary package (compiled without numba's cache); both run in one process on
the same arrays, interleaved, with a 2-thread read of the same inputs (both rows of a pair
measure) beside them.

    python benchmarks/short_rows.py --base 3c1e0f2          # the commit before a change
    python benchmarks/short_rows.py --base HEAD --rounds 9

Prints a markdown table of medians (ms) and the ratio of the two.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from _common import ROOT, git_show, read_floor, rounds

PACKAGE = "src/infoloss/_backends/numba"
ROWS = [(2_000_000, 10), (640_000, 31)]
TABLES = [(65536, 31, 31), (2048, 178, 178)]
MEASURES = [
    ("entropy", ("probs",)),
    ("entropy", ("logits",)),
    ("cross_entropy", ("probs", "logits")),
    ("kl", ("probs", "probs")),
    ("kl", ("logits", "logits")),
    ("js", ("probs", "probs")),
]
JOINT = [(k, f) for k in ("conditional_entropy", "mutual_information") for f in ("probs", "logits")]


def _base_package(commit: str) -> tuple[Any, Any]:
    """(measure_rows, joint_rows) of the backend as of ``commit``, from a temporary copy."""
    name = "_base_kernels"
    folder = Path(tempfile.mkdtemp()) / name
    folder.mkdir()
    files = subprocess.run(
        ["git", "ls-tree", "--name-only", f"{commit}:{PACKAGE}"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    for f in files:
        if not f.endswith(".py") or f == "__init__.py":
            continue
        src = git_show(commit, f"{PACKAGE}/{f}")
        (folder / f).write_text(src.replace("cache=True", "cache=False"))
    # The package's __init__ holds the switches and the cache check; the kernels only
    # need the latter, which has nothing to check without a cache.
    (folder / "__init__.py").write_text("def fresh_caches():\n    pass\n")
    sys.path.insert(0, str(folder.parent))
    info = importlib.import_module(f"{name}.info")
    joint = importlib.import_module(f"{name}.joint")
    return info.measure_rows, joint.joint_rows


def _probs(z: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    p = np.exp(z.astype(np.float64) - z.max(axis=axes, keepdims=True))
    return (p / p.sum(axis=axes, keepdims=True)).astype(z.dtype)


def _cases(dtype: Any, rng: np.random.Generator) -> list[tuple[str, tuple[np.ndarray, ...], Any]]:
    """(label, inputs, call(measure_rows, joint_rows)) for every measure and shape."""
    cases: list[tuple[str, tuple[np.ndarray, ...], Any]] = []
    for shape in ROWS:
        z = rng.standard_normal(shape).astype(dtype)
        z2 = rng.standard_normal(shape).astype(dtype)
        data = {"probs": (_probs(z, (1,)), _probs(z2, (1,))), "logits": (z, z2)}
        for kind, forms in MEASURES:
            xs = tuple(data[f][i] for i, f in enumerate(forms))
            label = f"{kind} {'+'.join(forms)}"
            cases.append((label, xs, lambda m, j, k=kind, xs=xs, f=forms: m(k, xs, f, False)))
    for shape in TABLES:
        z = (2 * rng.standard_normal(shape)).astype(dtype)
        data = {"probs": _probs(z, (1, 2)), "logits": z}
        for kind, form in JOINT:
            x = data[form]
            call = lambda m, j, k=kind, x=x, f=form: j(k, x, f, False)  # noqa: E731
            cases.append((f"{kind} {form}", (x,), call))
    return cases


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base", required=True, help="git commit of the backend to compare with")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--dtypes", default="float32,float64")
    args = ap.parse_args()
    base = _base_package(args.base)
    from infoloss._kernels import joint_rows, measure_rows

    now = (measure_rows, joint_rows)
    read = read_floor()
    rng = np.random.default_rng(0)
    print(f"| task | dtype | shape | read ms | {args.base} ms | now ms | now / base |")
    print("|---|---|---|---:|---:|---:|---:|")
    for dtype in args.dtypes.split(","):
        for label, xs, call in _cases(np.dtype(dtype), rng):
            fns = {
                "read": lambda xs=xs: sum(read(x) for x in xs),
                "base": lambda c=call: c(*base),
                "now": lambda c=call: c(*now),
            }
            t = {k: 1e3 * statistics.median(v) for k, v in rounds(fns, args.rounds).items()}
            dims = "×".join(map(str, xs[0].shape))
            print(
                f"| {label} | {dtype} | {dims} | {t['read']:.1f} | {t['base']:.1f} "
                f"| {t['now']:.1f} | {t['now'] / t['base']:.2f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
