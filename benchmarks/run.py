"""Speed and memory of infoloss's kernels beside PyTorch, SciPy and NumPy, as ratios.

Usage::

    python benchmarks/run.py            # the full shapes (needs ~8 GB RAM, a few minutes)
    python benchmarks/run.py --quick    # small shapes, a smoke test
    python benchmarks/run.py --via public   # time the public functions, not dispatch

Every method runs on the same arrays in one process; each time is the median of several
repeats after a warm-up, and each ratio is to ``x.sum()`` over the same array (the cost
of reading it once).  "extra MB" is the peak of NumPy/Python allocations during one call
(tracemalloc; it sees NumPy and numba-allocated NumPy arrays, not PyTorch's allocator),
minus nothing: inputs are allocated before tracing starts.  Results are written to
benchmarks/results/ as Markdown and JSON.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

FULL = [(4096, 32000), (65536, 1000), (256, 256000)]
QUICK = [(512, 4000), (4096, 250), (16, 64000)]


def _timeit(f: Callable[[], Any], repeats: int) -> float:
    f()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def _peak_mb(f: Callable[[], Any]) -> float:
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    f()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return (peak - base) / 2**20


def _methods(task: str, x: np.ndarray, y: np.ndarray, via: str) -> dict[str, Callable[[], Any]]:
    import scipy.special as sp
    import scipy.stats as st

    import infoloss as il
    from infoloss._kernels import dispatch
    from infoloss.losses import softmax_cross_entropy

    out: dict[str, Callable[[], Any]] = {"x.sum()": x.sum}
    rows = np.arange(x.shape[0])
    if task in ("ce", "ce+grad"):
        grad = task == "ce+grad"
        if via == "public":
            out["infoloss"] = lambda: softmax_cross_entropy(x, y, return_grad=grad)
        else:
            out["infoloss"] = lambda: dispatch.softmax_cross_entropy(x, y, return_grad=grad)
        if not grad:
            out["scipy log_softmax"] = lambda: -sp.log_softmax(x, axis=1)[rows, y].mean()

            def numpy_ce() -> Any:
                m = x.max(axis=1, keepdims=True)
                lse = np.log(np.exp(x - m).sum(axis=1)) + m[:, 0]
                return (lse - x[rows, y]).mean()

            out["numpy"] = numpy_ce
        else:

            def numpy_grad() -> Any:
                m = x.max(axis=1, keepdims=True)
                e = np.exp(x - m)
                s = e.sum(axis=1, keepdims=True)
                loss = (np.log(s[:, 0]) + m[:, 0] - x[rows, y]).mean()
                g = e / s
                g[rows, y] -= 1
                g /= x.shape[0]
                return loss, g

            out["numpy"] = numpy_grad
        try:
            import torch
            import torch.nn.functional as F

            torch.set_num_threads(2)
            tx, ty = torch.from_numpy(x), torch.from_numpy(y)
            if grad:

                def torch_grad() -> Any:
                    t = tx.detach().requires_grad_(True)
                    loss = F.cross_entropy(t, ty)
                    loss.backward()
                    return t.grad

                out["torch"] = torch_grad
            else:

                def torch_fwd() -> Any:
                    with torch.no_grad():
                        return F.cross_entropy(tx, ty)

                out["torch"] = torch_fwd
        except ImportError:
            pass
    elif task == "entropy":
        p = x
        if via == "public":
            out["infoloss"] = lambda: il.entropy(p)
        else:
            out["infoloss"] = lambda: dispatch.entropy(p)
        out["scipy.stats.entropy"] = lambda: st.entropy(p, axis=1)
        out["numpy"] = lambda: -(sp.xlogy(p, p)).sum(axis=1)
        try:
            import torch

            torch.set_num_threads(2)
            tp = torch.from_numpy(p)
            out["torch"] = lambda: -torch.special.xlogy(tp, tp).sum(dim=1)
        except ImportError:
            pass
    return out


def _data(task: str, shape: tuple[int, int], dtype: Any, rng: np.random.Generator) -> Any:
    x = rng.standard_normal(shape, dtype=np.float32).astype(dtype, copy=False) * 2
    y = rng.integers(0, shape[1], shape[0])
    if task == "entropy":
        # Probability rows without an N×C temporary beyond x itself.
        np.exp(x, out=x)
        x /= x.sum(axis=1, keepdims=True, dtype=np.float64).astype(dtype)
    return x, y


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small shapes (smoke test)")
    ap.add_argument("--via", choices=("dispatch", "public"), default="dispatch")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--tasks", default="ce,ce+grad,entropy")
    ap.add_argument("--dtypes", default="float32,float64")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = ap.parse_args()
    shapes = QUICK if args.quick else FULL
    rng = np.random.default_rng(0)
    records = []
    for task in args.tasks.split(","):
        for dtname in args.dtypes.split(","):
            dtype = np.dtype(dtname)
            for shape in shapes:
                x, y = _data(task, shape, dtype, rng)
                methods = _methods(task, x, y, args.via)
                base = None
                for name, f in methods.items():
                    t = _timeit(f, args.repeats)
                    if base is None:
                        base = t
                    mb = _peak_mb(f)
                    rec = {
                        "task": task,
                        "dtype": dtname,
                        "shape": list(shape),
                        "method": name,
                        "ms": round(t * 1e3, 2),
                        "ratio": round(t / base, 2),
                        "extra_MB": round(mb, 1),
                    }
                    records.append(rec)
                    print(
                        f"{task:8} {dtname:7} {shape!s:15} {name:20} {t * 1e3:9.1f} ms "
                        f"{t / base:6.2f}x  {mb:8.1f} MB",
                        flush=True,
                    )
                del x, y, methods
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tag = "quick" if args.quick else "full"
    meta = {"machine": _machine(), "via": args.via, "repeats": args.repeats}
    (out / f"bench-{tag}.json").write_text(json.dumps({"meta": meta, "rows": records}, indent=1))
    lines = [
        f"Machine: {meta['machine']}; timings: median of {args.repeats}; via {args.via}.",
        "",
        "| task | dtype | shape | method | ms | ÷ x.sum() | extra MB |",
        "|---|---|---|---|---:|---:|---:|",
    ]
    lines += [
        f"| {r['task']} | {r['dtype']} | {r['shape'][0]}×{r['shape'][1]} | {r['method']} | "
        f"{r['ms']} | {r['ratio']} | {r['extra_MB']} |"
        for r in records
    ]
    (out / f"bench-{tag}.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {out / f'bench-{tag}.md'}")


def _machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in subprocess.run(
            ["lscpu"], check=False, capture_output=True, text=True
        ).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    import os

    return f"{model}, {os.cpu_count()} CPUs, numpy {np.__version__}"


if __name__ == "__main__":
    main()
