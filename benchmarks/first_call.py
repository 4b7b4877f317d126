"""Each public entry point in a fresh process: its first call against its steady state.

A user meets the library in a new process, not in a warm benchmark loop.  For every case
below a new Python process imports infoloss (timed), builds its arrays (not timed), times
the first call, then the median of ``--repeats`` further calls; the table gives both and
their difference.  The target: ``import infoloss`` ≤ 0.3 s and every first call within
50 ms of its steady state (no JIT compiler at run time).

    python benchmarks/first_call.py                  # every case, a table in markdown
    python benchmarks/first_call.py --only kl        # cases whose name contains "kl"
    python benchmarks/first_call.py --check-no-jit   # one process calls every case, then
                                                     # fails if numba or llvmlite was imported

Arrays are large enough for the compiled kernels: (2000, 1000) float32 rows for the
measures and losses, as a user's batch of logits or distributions would be.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import statistics
import subprocess
import sys
from typing import Any

# name -> (set-up code, the call).  The set-up runs after `import infoloss as il` and
# `import numpy as np`, with `rng = np.random.default_rng(0)`.
_ROWS = "z = rng.standard_normal((2000, 1000)).astype(np.float32); p = il_softmax(z)"
_PAIR = _ROWS + "; z2 = rng.standard_normal((2000, 1000)).astype(np.float32); q = il_softmax(z2)"
_TABLES = "t = il_softmax(rng.standard_normal((2000, 31 * 31))).reshape(2000, 31, 31)"
_LABELS = _ROWS + "; y = rng.integers(0, 1000, 2000)"
_SAMPLES = "x = rng.integers(0, 50, 100_000); w = (x + rng.integers(0, 5, 100_000)) % 50"
_REALS = "a = rng.standard_normal(5000); b = a + rng.standard_normal(5000)"
_LABELS_DASK = (
    "import dask.array as da; z = rng.standard_normal((65536, 100)).astype(np.float32);"
    " y = rng.integers(0, 100, 65536);"
    " zd = da.from_array(z, chunks=(8192, 100)).persist();"
    " yd = da.from_array(y, chunks=8192).persist()"
)
CASES: dict[str, tuple[str, str]] = {
    "self_information": (_ROWS, "il.self_information(p)"),
    "entropy (probs)": (_ROWS, "il.entropy(p)"),
    "entropy (logits)": (_ROWS, "il.entropy(z, form='logits')"),
    "perplexity (logits)": (_ROWS, "il.perplexity(z, form='logits')"),
    "cross_entropy (probs)": (_PAIR, "il.cross_entropy(p, q)"),
    "cross_entropy (logits)": (_PAIR, "il.cross_entropy(z, z2, form='logits')"),
    "kl_divergence (probs)": (_PAIR, "il.kl_divergence(p, q)"),
    "kl_divergence (logits)": (_PAIR, "il.kl_divergence(z, z2, form='logits')"),
    "js_divergence (probs)": (_PAIR, "il.js_divergence(p, q)"),
    "js_divergence (logits, float64)": (
        _PAIR + "; z, z2 = z.astype(np.float64), z2.astype(np.float64)",
        "il.js_divergence(z, z2, form='logits')",
    ),
    "joint_entropy": (_TABLES, "il.joint_entropy(t)"),
    "conditional_entropy": (_TABLES, "il.conditional_entropy(t)"),
    "mutual_information": (_TABLES, "il.mutual_information(t)"),
    "softmax_cross_entropy (labels)": (_LABELS, "il.softmax_cross_entropy(z, y)"),
    "softmax_cross_entropy (probs)": (_PAIR, "il.softmax_cross_entropy(z, q)"),
    "value_and_grad(softmax_cross_entropy)": (
        _LABELS,
        "il.value_and_grad(il.softmax_cross_entropy)(z, y, label_smoothing=0.1)",
    ),
    "softmax_squared_error": (_LABELS, "il.softmax_squared_error(z, y)"),
    "logit_squared_error": (_LABELS, "il.logit_squared_error(z, y)"),
    "sigmoid_binary_cross_entropy": (_ROWS, "il.sigmoid_binary_cross_entropy(z, p)"),
    "sigmoid_squared_error": (_ROWS, "il.sigmoid_squared_error(z, p)"),
    "linear_cross_entropy": (
        "h = rng.standard_normal((2048, 256)).astype(np.float32);"
        " w = rng.standard_normal((4000, 256)).astype(np.float32) * 0.05;"
        " y = rng.integers(0, 4000, 2048)",
        "il.linear_cross_entropy(h, w, y, return_grad=True)",
    ),
    # Not infoloss: NumPy writing as much new memory as linear_cross_entropy's call above
    # touches for the first time (its two chunk buffers of logits and gradients), the
    # machine's own first-touch cost beside it.
    "reference: NumPy fills 64 MiB of new memory": (
        "",
        "a = np.empty((2, 2048, 4000), np.float32); a.fill(1.0); del a",
    ),
    "estimators.entropy (auto)": (_SAMPLES, "E.entropy(x)"),
    "estimators.entropy (miller_madow)": (_SAMPLES, "E.entropy(x, method='miller_madow')"),
    "estimators.entropy_nsb": (_SAMPLES, "E.entropy_nsb(x, alphabet_size=60)"),
    "estimators.mutual_information": (_SAMPLES, "E.mutual_information(x, w)"),
    "estimators.conditional_entropy": (_SAMPLES, "E.conditional_entropy(w, x)"),
    "estimators.differential_entropy (kozachenko_leonenko)": (
        _REALS,
        "E.differential_entropy(a, method='kozachenko_leonenko')",
    ),
    "estimators.differential_entropy (vasicek)": (
        _REALS,
        "E.differential_entropy(a, method='vasicek')",
    ),
    "estimators.continuous_mutual_information": (_REALS, "E.continuous_mutual_information(a, b)"),
    # Dask (extra `dask`; skipped without it): the persisted blocks are in memory before the
    # clock starts, and the call includes `compute()` on Dask's threaded scheduler.
    "softmax_cross_entropy (Dask logits)": (
        _LABELS_DASK,
        "float(il.softmax_cross_entropy(zd, yd).compute(scheduler='threads'))",
    ),
}
#: The cases that need Dask.
NEEDS_DASK = ("Dask",)

_PRELUDE = """
import time
t0 = time.perf_counter()
import infoloss as il
t_import = time.perf_counter() - t0
import infoloss.estimators as E
import numpy as np
rng = np.random.default_rng(0)
def il_softmax(v):
    e = np.exp(v - v.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
"""

_TIME_ONE = """
{setup}
t0 = time.perf_counter(); {call}; first = time.perf_counter() - t0
steady = []
for _ in range({repeats}):
    t0 = time.perf_counter(); {call}; steady.append(time.perf_counter() - t0)
import json, statistics
print(json.dumps({{"import": t_import, "first": first, "steady": statistics.median(steady)}}))
"""


def run_case(name: str, repeats: int) -> dict[str, float]:
    setup, call = CASES[name]
    code = _PRELUDE + _TIME_ONE.format(setup=setup, call=call, repeats=repeats)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _runnable(only: str = "") -> list[str]:
    """The cases whose name contains ``only``, less those needing a library not installed."""
    has_dask = importlib.util.find_spec("dask") is not None
    return [
        name
        for name in CASES
        if only in name and (has_dask or not any(k in name for k in NEEDS_DASK))
    ]


def check_no_jit() -> list[str]:
    """Call every case in one process; the JIT compilers' modules it imported.

    Dask's array module imports pydata/sparse where that is installed, and sparse imports
    numba (an environment with the ``bench`` extra has both): Dask is imported first, and
    what it brings counts as the baseline, not as infoloss's."""
    runnable = _runnable()
    body = "\n".join(f"{CASES[name][0]}\n{CASES[name][1]}" for name in runnable)
    dask_first = "import dask.array\n" if any(k in n for n in runnable for k in NEEDS_DASK) else ""
    jit = "sorted(m for m in sys.modules if m.split('.')[0] in ('numba', 'llvmlite'))"
    code = (
        f"import sys\n{dask_first}base = set({jit})\n"
        + _PRELUDE
        + body
        + f"\nprint([m for m in {jit} if m not in base])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return list(eval(out.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="", help="run the cases whose name contains this")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--check-no-jit", action="store_true")
    args = parser.parse_args(argv)
    if args.check_no_jit:
        jit = check_no_jit()
        print("JIT modules imported:", jit or "none")
        return 1 if jit else 0
    print(f"Machine: {platform.processor() or platform.machine()}, {_cpu_name()}")
    print("\n| entry point | import (s) | first call (ms) | steady (ms) | first − steady (ms) |")
    print("|---|---:|---:|---:|---:|")
    worst: list[Any] = []
    for name in _runnable(args.only):
        r = run_case(name, args.repeats)
        extra = (r["first"] - r["steady"]) * 1e3
        worst.append((extra, name))
        print(
            f"| {name} | {r['import']:.3f} | {r['first'] * 1e3:.1f} | "
            f"{r['steady'] * 1e3:.1f} | {extra:.1f} |",
            flush=True,
        )
    if worst:
        extra, name = max(worst)
        print(
            f"\nLargest first-call excess: {extra:.1f} ms ({name}); median "
            f"{statistics.median(w for w, _ in worst):.1f} ms"
        )
    return 0


def _cpu_name() -> str:
    try:
        for line in open("/proc/cpuinfo"):  # noqa: SIM115 (a short read)
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


if __name__ == "__main__":
    sys.exit(main())
