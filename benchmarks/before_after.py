"""Round-1 kernels against the current ones, same data, same process, interleaved rounds.

The round-1 kernel modules (``_exp``, ``_rows``, ``measures``, ``softmax_xent`` as of
commit f4c49d6) are read from git into a temporary package and compiled without numba's
cache; the current kernels are called through the backend contract
(``measure_rows`` / ``xent_forward`` / ``xent_fused``).  Also timed: ``x.sum()`` and a
2-thread read of the same array (a numba ``prange`` sum).  Only the kernels that existed
in round 1 are compared.

    python benchmarks/before_after.py            # full shapes, 7 rounds
    python benchmarks/before_after.py --quick    # small shapes

Prints a markdown table: median ms and median ratio to the 2-thread read per method.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from _common import git_show, read_floor

OLD_COMMIT = "f4c49d6"
OLD_FILES = ("_exp.py", "_rows.py", "measures.py", "softmax_xent.py")
FULL = [(2048, 32000), (65536, 1000), (256, 262144)]
QUICK = [(256, 4000), (4096, 250)]


def _old_package() -> Any:
    """The round-1 kernels as the package ``_round1_kernels`` in a temporary folder."""
    folder = Path(tempfile.mkdtemp()) / "_round1_kernels"
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    for name in OLD_FILES:
        src = git_show(OLD_COMMIT, f"src/infoloss/_backends/numba/{name}")
        (folder / name).write_text(src.replace("cache=True", "cache=False"))
    sys.path.insert(0, str(folder.parent))
    return (
        importlib.import_module("_round1_kernels.measures"),
        importlib.import_module("_round1_kernels.softmax_xent"),
    )


def _methods(task: str, x: np.ndarray, y: Any, old: Any) -> dict[str, Callable[[], Any]]:
    from infoloss._kernels import measure_rows, xent_forward, xent_fused

    om, ox = old
    read = read_floor()
    # The read floor covers the float inputs the task reads: both rows of a pair measure,
    # the one array of entropy (whose _data also returns a second array, unused).
    pair = not task.startswith("entropy") and getattr(y, "shape", None) == x.shape
    inputs = [x, y] if pair else [x]
    out: dict[str, Callable[[], Any]] = {
        "x.sum()": lambda: sum(a.sum() for a in inputs),
        "2-thread read": lambda: sum(read(a) for a in inputs),
    }
    if task == "entropy probs":
        out["round 1"] = lambda: om.entropy_probs(x)
        out["now"] = lambda: measure_rows("entropy", (x,), ("probs",), False)
    elif task == "entropy logits":
        out["round 1"] = lambda: om.entropy_logits(x)
        out["now"] = lambda: measure_rows("entropy", (x,), ("logits",), False)
    elif task in ("cross_entropy probs", "kl probs", "js probs"):
        kind = task.split()[0]
        f = {"cross_entropy": om.cross_entropy_probs, "kl": om.kl_probs, "js": om.js_probs}
        out["round 1"] = lambda: f[kind](x, y)
        out["now"] = lambda: measure_rows(kind, (x, y), ("probs", "probs"), False)
    elif task == "kl logits":
        out["round 1"] = lambda: om.kl_logits(x, y)
        out["now"] = lambda: measure_rows("kl", (x, y), ("logits", "logits"), False)
    elif task == "softmax-ce labels":
        out["round 1"] = lambda: ox.softmax_xent_labels(x, y)
        out["now"] = lambda: xent_forward(x, y, None, 0.0, None)
    elif task == "softmax-ce+grad labels":
        g = np.empty_like(x)
        out["round 1"] = lambda: ox.softmax_xent_labels(x, y, grad_out=g, grad_scale=1.0)
        out["now"] = lambda: xent_fused(x, y, None, 0.0, None, g, 1.0)
    return out


def _data(task: str, shape: tuple[int, int], dtype: Any, rng: np.random.Generator) -> Any:
    z = (rng.standard_normal(shape) * 2).astype(dtype)
    if "softmax" in task:
        return z, rng.integers(0, shape[1], shape[0])
    if "logits" in task:
        return z, (z[::-1] * 0.5).copy()
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    return p.astype(dtype), p[::-1].copy().astype(dtype)


TASKS = (
    "entropy probs",
    "entropy logits",
    "cross_entropy probs",
    "kl probs",
    "js probs",
    "kl logits",
    "softmax-ce labels",
    "softmax-ce+grad labels",
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--tasks", default=",".join(TASKS))
    ap.add_argument("--dtypes", default="float32,float64")
    args = ap.parse_args()
    old = _old_package()
    rng = np.random.default_rng(0)
    print("| task | dtype | shape | x.sum() ms | read ms | round 1 ms (÷ read) | now ms (÷ read) |")
    print("|---|---|---|---:|---:|---:|---:|")
    for task in args.tasks.split(","):
        for dtype in args.dtypes.split(","):
            for shape in QUICK if args.quick else FULL:
                x, y = _data(task, shape, np.dtype(dtype), rng)
                methods = _methods(task, x, y, old)
                for f in methods.values():
                    f()  # compile and warm
                times: dict[str, list[float]] = {k: [] for k in methods}
                for _ in range(args.rounds):
                    for k, f in methods.items():
                        t0 = time.perf_counter()
                        f()
                        times[k].append(time.perf_counter() - t0)
                med = {k: statistics.median(v) * 1e3 for k, v in times.items()}
                rd = med["2-thread read"]
                print(
                    f"| {task} | {dtype} | {shape[0]}×{shape[1]} | {med['x.sum()']:.1f} | "
                    f"{rd:.1f} | {med['round 1']:.1f} ({med['round 1'] / rd:.2f}) | "
                    f"{med['now']:.1f} ({med['now'] / rd:.2f}) |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
