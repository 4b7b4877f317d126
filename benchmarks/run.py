"""Speed and memory of infoloss beside PyTorch, SciPy and NumPy, as ratios to ``x.sum()``.

Usage::

    python benchmarks/run.py                  # the full shapes (~8 GB RAM, several minutes)
    python benchmarks/run.py --quick          # small shapes, a smoke test
    python benchmarks/run.py --via kernel     # time the backend's measure_rows/joint_rows
    python benchmarks/run.py --tasks measures --dtypes float32   # every measure × form

By default infoloss is timed through its public functions (``infoloss.entropy``,
``infoloss.losses.softmax_cross_entropy``), argument checks included.  Every method runs
on the same arrays in one process.  Timing is interleaved: each round calls every method
once, in turn, after one warm-up call each, so that a load from other processes that
comes and goes affects all methods alike; a method's ratio is the median over the rounds
of its time divided by the time of ``x.sum()`` (NumPy's single-threaded sum, i.e. one
read of the array) in the same round, and the spread is the lowest and highest of those
per-round ratios.  Beside ``x.sum()`` every task also times "read floor (2 threads)": a
parallel OpenMP sum over the same input arrays, the true read floor on 2 cores
(the measure kernels' target is ≤ 2× that).  "extra MB" is the peak of NumPy/Python allocations during one call
(tracemalloc, inputs allocated before; it cannot see PyTorch's allocator: "n/a").  The
load average before and after each task is recorded.  Results are written to
benchmarks/results/ as Markdown and JSON, and the speed targets are checked at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from _common import machine, read_floor, rounds

FULL = [(4096, 32000), (65536, 1000), (256, 256000)]
QUICK = [(512, 4000), (4096, 250), (16, 64000)]


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
    from infoloss.losses import softmax_cross_entropy

    out: dict[str, Callable[[], Any]] = {"x.sum()": x.sum}
    out["read floor (2 threads)"] = lambda: _sum2(x)
    rows = np.arange(x.shape[0])
    if task in ("ce", "ce+grad"):
        grad = task == "ce+grad"
        out["infoloss"] = lambda: softmax_cross_entropy(x, y, return_grad=grad)
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
            out["infoloss"] = lambda: _kernel("entropy", (p,), ("probs",))
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


_FORMS = ("probs", "log_probs", "logits")


def measure_tasks() -> list[str]:
    """Every measure × form: ``m:<kind>:<form>[+<form>][:norm]`` and ``j:<kind>:<form>``
    tasks (``--tasks measures`` expands to all of them)."""
    tasks = [f"m:entropy:{f}" for f in _FORMS] + ["m:entropy:probs:norm"]
    for kind in ("cross_entropy", "kl", "js"):
        tasks += [f"m:{kind}:{f}+{f}" for f in _FORMS]
        tasks += [f"m:{kind}:probs+logits", f"m:{kind}:probs+probs:norm"]
    tasks += [
        f"j:{k}:{f}"
        for k in ("joint_entropy", "conditional_entropy", "mutual_information")
        for f in ("probs", "logits")
    ]
    return tasks


def _sum2(x: np.ndarray) -> float:
    """A 2-thread parallel read of x (see benchmarks/_common.py)."""
    return read_floor()(x)


def _kernel(
    kind: str, xs: tuple[np.ndarray, ...], forms: tuple[str, ...], norm: bool = False
) -> Any:
    from infoloss._kernels import joint_rows, measure_rows

    if kind.startswith(("joint", "conditional", "mutual")):
        return joint_rows(kind, xs[0], forms[0], norm)
    return measure_rows(kind, xs, forms, norm, rows=False)


def _measure_methods(
    task: str, xs: tuple[np.ndarray, ...], via: str
) -> dict[str, Callable[[], Any]]:
    """Methods of an ``m:``/``j:`` task: infoloss (public or kernel), x.sum() and the
    2-thread read floor over the same input arrays."""
    import infoloss as il

    parts = task.split(":")
    kind, forms = parts[1], tuple(parts[2].split("+"))
    norm = len(parts) > 3
    out: dict[str, Callable[[], Any]] = {
        "x.sum()": lambda: sum(a.sum() for a in xs),
        "read floor (2 threads)": lambda: sum(_sum2(a.reshape(-1, a.shape[-1])) for a in xs),
    }
    if via == "kernel":
        out["infoloss"] = lambda: _kernel(kind, xs, forms, norm)
        return out
    public = {
        "entropy": il.entropy,
        "cross_entropy": il.cross_entropy,
        "kl": il.kl_divergence,
        "js": il.js_divergence,
        "joint_entropy": il.joint_entropy,
        "conditional_entropy": il.conditional_entropy,
        "mutual_information": il.mutual_information,
    }[kind]
    form = forms if len(forms) > 1 else forms[0]
    out["infoloss"] = lambda: public(*xs, form=form, normalize=norm)
    return out


def _measure_data(task: str, shape: tuple[int, int], dtype: Any, rng: np.random.Generator) -> Any:
    parts = task.split(":")
    forms = parts[2].split("+")
    if task.startswith("j:"):
        n, c = shape
        side = max(int(np.sqrt(c)), 1)
        shape = (n * c // (side * side), side, side)
    xs = []
    for f in forms:
        z = rng.standard_normal(shape, dtype=np.float32).astype(dtype, copy=False) * 2
        if f != "logits":
            axes = (-2, -1) if task.startswith("j:") else (-1,)
            z -= np.log(np.exp(z).sum(axis=axes, keepdims=True, dtype=np.float64)).astype(dtype)
            if f == "probs":
                np.exp(z, out=z)
        xs.append(z)
    return tuple(xs)


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
    ap.add_argument("--via", choices=("kernel", "public"), default="public")
    ap.add_argument("--repeats", type=int, default=7, help="interleaved rounds (≥ 5)")
    ap.add_argument(
        "--tasks",
        default="ce,ce+grad,entropy",
        help="comma-separated; 'measures' expands to every measure × form (m:/j: tasks)",
    )
    ap.add_argument("--dtypes", default="float32,float64")
    ap.add_argument(
        "--methods", default="", help="comma-separated subset (x.sum() is always timed)"
    )
    ap.add_argument("--shapes", default="", help="e.g. 2048x32000,65536x1000 (overrides)")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = ap.parse_args()
    shapes = QUICK if args.quick else FULL
    if args.shapes:
        shapes = [tuple(int(v) for v in sh.split("x")) for sh in args.shapes.split(",")]  # type: ignore[misc]
    rng = np.random.default_rng(0)
    records = []
    tasks: list[str] = []
    for t in args.tasks.split(","):
        tasks += measure_tasks() if t == "measures" else [t]
    for task in tasks:
        for dtname in args.dtypes.split(","):
            dtype = np.dtype(dtname)
            for shape in shapes:
                if task.startswith(("m:", "j:")):
                    x = _measure_data(task, shape, dtype, rng)
                    y = None
                    methods = _measure_methods(task, x, args.via)
                else:
                    x, y = _data(task, shape, dtype, rng)
                    methods = _methods(task, x, y, args.via)
                if args.methods:
                    keep = {"x.sum()", "read floor (2 threads)", *args.methods.split(",")}
                    methods = {k: f for k, f in methods.items() if k in keep}
                load0 = _load()
                times = rounds(methods, args.repeats)
                load1 = _load()
                base = times["x.sum()"]
                for name, ts in times.items():
                    ratios = [t / b for t, b in zip(ts, base, strict=True)]
                    ms = statistics.median(ts) * 1e3
                    ratio = statistics.median(ratios)
                    floor = times["read floor (2 threads)"]
                    fl = statistics.median(t / b for t, b in zip(ts, floor, strict=True))
                    mb = None if name == "torch" else _peak_mb(methods[name])
                    rec = {
                        "task": task,
                        "dtype": dtname,
                        "shape": list(shape),
                        "method": name,
                        "ms": round(ms, 2),
                        "ratio": round(ratio, 2),
                        "ratio_min": round(min(ratios), 2),
                        "ratio_max": round(max(ratios), 2),
                        "floor_ratio": round(fl, 2),
                        "extra_MB": None if mb is None else round(mb, 1),
                        "load": [load0, load1],
                    }
                    records.append(rec)
                    mbs = "n/a" if mb is None else f"{mb:.1f}"
                    print(
                        f"{task:8} {dtname:7} {shape!s:15} {name:20} {ms:9.1f} ms "
                        f"{ratio:6.2f}x ({min(ratios):.2f}-{max(ratios):.2f}) "
                        f"{fl:5.2f}x floor {mbs:>8} MB"
                        f"  load {load0:.2f}/{load1:.2f}",
                        flush=True,
                    )
                del x, y, methods
    if any(t.startswith(("m:", "j:")) for t in tasks):
        _measure_verdicts(records)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tag = "quick" if args.quick else "full"
    meta = {"machine": _machine(), "via": args.via, "repeats": args.repeats}
    verdicts = _targets(records)
    (out / f"bench-{tag}.json").write_text(
        json.dumps({"meta": meta, "rows": records, "targets": verdicts}, indent=1)
    )
    lines = [
        f"Machine: {meta['machine']}; {args.repeats} interleaved rounds; via {args.via}.",
        "",
        "| task | dtype | shape | method | ms | ÷ x.sum() | spread | ÷ 2-thread read | extra MB |",
        "|---|---|---|---|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r['task']} | {r['dtype']} | {r['shape'][0]}×{r['shape'][1]} | {r['method']} | "
        f"{r['ms']} | {r['ratio']} | {r['ratio_min']}–{r['ratio_max']} | {r['floor_ratio']} | "
        f"{'n/a' if r['extra_MB'] is None else r['extra_MB']} |"
        for r in records
    ]
    lines += ["", "| target | measured (median ratios) | met? |", "|---|---|---|"]
    lines += [f"| {v['target']} | {v['measured']} | {v['met']} |" for v in verdicts]
    (out / f"bench-{tag}.md").write_text("\n".join(lines) + "\n")
    for v in verdicts:
        print(f"{v['target']}: {v['measured']} -> {v['met']}")
    print(f"wrote {out / f'bench-{tag}.md'}")


_TARGETS = [
    ("ce", 1.5, "CE forward (labels)"),
    ("ce+grad", 3.0, "CE forward + gradient"),
    ("entropy", 2.0, "entropy of probability rows"),
]


def _targets(records: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The speed targets, checked against the infoloss rows of the full shapes."""
    out = []
    full = [list(sh) for sh in FULL]
    mine = [r for r in records if r["method"] == "infoloss" and r["shape"] in full]
    for task, limit, label in _TARGETS:
        rows = [r for r in mine if r["task"] == task]
        if not rows:
            continue
        worst = max(rows, key=lambda r: r["ratio"])
        ratios = ", ".join(
            f"{r['dtype']} {r['shape'][0]}×{r['shape'][1]} {r['ratio']}" for r in rows
        )
        out.append(
            {
                "target": f"{label} ≤ {limit}× x.sum()",
                "measured": f"{ratios} (worst {worst['ratio']}×)",
                "met": "yes" if worst["ratio"] <= limit else "no",
            }
        )
    for r in mine:
        if (r["task"], r["dtype"], r["shape"]) != ("ce", "float32", [4096, 32000]):
            continue
        torch = [
            t
            for t in records
            if t["method"] == "torch"
            and t["task"] == "ce"
            and t["dtype"] == "float32"
            and t["shape"] == [4096, 32000]
        ]
        if torch:
            speedup = torch[0]["ms"] / r["ms"]
            out.append(
                {
                    "target": "≥ 5× faster than PyTorch F.cross_entropy, 4096×32000 float32",
                    "measured": f"{speedup:.1f}× ({r['ms']} ms vs {torch[0]['ms']} ms)",
                    "met": "yes" if speedup >= 5 else "no",
                }
            )
    return out


def _measure_verdicts(records: list[dict[str, Any]]) -> None:
    """Print the measure tasks' infoloss time ÷ the 2-thread read floor (target ≤ 2)."""
    rows = [r for r in records if r["method"] == "infoloss" and r["task"][:2] in ("m:", "j:")]
    bad = [r for r in rows if r["floor_ratio"] > 2.0]
    print(f"measures: {len(rows) - len(bad)}/{len(rows)} within 2x the 2-thread read floor")
    for r in bad:
        print(f"  over: {r['task']} {r['dtype']} {r['shape']} {r['floor_ratio']}x")


def _load() -> float:
    try:
        return float(os.getloadavg()[0])
    except OSError:
        return float("nan")


def _machine() -> str:
    return f"{machine()}, numpy {np.__version__}, OpenMP threads {_threads()}"


def _threads() -> str:
    return os.environ.get("OMP_NUM_THREADS", f"{os.cpu_count()} (default)")


if __name__ == "__main__":
    main()
