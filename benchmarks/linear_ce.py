"""Linear cross-entropy: infoloss's chunked forward+backward against PyTorch's.

Usage::

    python benchmarks/linear_ce.py              # N=8192, D=1024, V=65536 float32
    python benchmarks/linear_ce.py --small      # N=2048, a quick run
    python benchmarks/linear_ce.py --skip "torch unfused" --chunk 256

Methods, on the same float32 hidden (N, D), weight (V, D) and int64 labels, mean
reduction, no options, forward and the gradients for hidden and weight:

* ``infoloss numpy``: ``infoloss.linear_cross_entropy(h, w, y, return_grad=True)``;
* ``infoloss torch``: ``infoloss.torch.linear_cross_entropy`` and ``loss.backward()``;
* ``torch unfused``: ``F.cross_entropy(F.linear(h, w), y)`` and ``loss.backward()``
  (the N×V logits materialised);
* ``torch chunked``: ``F.linear_cross_entropy(..., options=LinearCrossEntropyOptions())``
  where this torch has it.

Each method runs in its own process (so that one's freed memory cannot hide another's
peak), once to warm up at a tiny size, then once at the full size; ``--rounds`` repeats
this over all methods in turn, and the table gives each method's median time and the
median of its per-round ratios to the unfused time.  Peak
extra memory is the process's peak resident set (``ru_maxrss``) above its resident set
just before the timed call (data allocated, warmed up), gradients included; beside it the
peak of the anonymous resident set (``RssAnon``, polled every 2 ms) above its value before
the call, which leaves out the code pages of libraries first touched at the full size;
for NumPy also ``tracemalloc``'s peak of NumPy's allocations in the call.  The gradients of every method
are written to a temporary folder and compared with the unfused ones (largest absolute
difference over the largest absolute reference entry).  The unfused method is skipped if
MemAvailable is below its estimated need (about 6 GiB at the full size) plus 2 GiB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

METHODS = ["infoloss numpy", "infoloss torch", "torch unfused", "torch chunked"]
MiB = 1 << 20


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def rss_anon() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    return 0


class Sampler:
    """The largest anonymous resident set seen while running (polled every 2 ms)."""

    def __enter__(self) -> Sampler:
        import threading

        self.peak = rss_anon()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.poll, daemon=True)
        self.thread.start()
        return self

    def poll(self) -> None:
        while not self.stop.wait(0.002):
            self.peak = max(self.peak, rss_anon())

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()
        self.peak = max(self.peak, rss_anon())


def mem_available() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 0


def make_data(n: int, d: int, v: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    h = rng.standard_normal((n, d), dtype=np.float32)
    w = rng.standard_normal((v, d), dtype=np.float32)
    w *= 1 / np.sqrt(d)  # logits of order 1
    y = rng.integers(0, v, n)
    return h, w, y


def runner(method: str, chunk: int | None):
    """(h, w, y) -> (grad_hidden, grad_weight) as NumPy arrays, for ``method``."""
    if method == "infoloss numpy":
        import infoloss

        def run(h, w, y):
            out = infoloss.linear_cross_entropy(h, w, y, chunk_size=chunk, return_grad=True)
            return out.grad_hidden, out.grad_weight

        return run
    import torch

    functional = torch.nn.functional
    if method == "infoloss torch":
        import infoloss.torch as ilt

        def loss_fn(th, tw, ty):
            return ilt.linear_cross_entropy(th, tw, ty, chunk_size=chunk)
    elif method == "torch unfused":

        def loss_fn(th, tw, ty):
            return functional.cross_entropy(functional.linear(th, tw), ty)
    else:
        options = torch.nn.LinearCrossEntropyOptions()

        def loss_fn(th, tw, ty):
            return functional.linear_cross_entropy(th, tw, ty, options=options)

    def run(h, w, y):
        th = torch.from_numpy(h).requires_grad_()
        tw = torch.from_numpy(w).requires_grad_()
        loss = loss_fn(th, tw, torch.from_numpy(y))
        loss.backward()
        return th.grad.numpy(), tw.grad.numpy()

    return run


def one(args: argparse.Namespace) -> None:
    """Child process: time one method, measure its memory, save its gradients."""
    import tracemalloc

    run = runner(args.one, args.chunk)
    run(*make_data(16, 8, 32))  # warm-up: compile / load the kernels, start the pools
    h, w, y = make_data(args.n, args.d, args.v)
    times, peaks, anon, traced = [], [], [], []
    before, peak_before, anon_before = rss(), peak_rss(), rss_anon()
    if args.one == "infoloss numpy":
        tracemalloc.start()
    with Sampler() as sampler:
        t0 = time.perf_counter()
        grads = run(h, w, y)
        times.append(time.perf_counter() - t0)
    if args.one == "infoloss numpy":
        traced.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    after = peak_rss()
    # Only a call that set a new process peak is measured by ru_maxrss.
    peaks.append(after - before if after > peak_before else None)
    anon.append(sampler.peak - anon_before)
    np.save(Path(args.out) / "gh.npy", grads[0])
    np.save(Path(args.out) / "gw.npy", grads[1])
    print(json.dumps({"times": times, "peaks": peaks, "anon": anon, "traced": traced}))


def compare(out: Path, ref: Path) -> float:
    worst = 0.0
    for name in ("gh.npy", "gw.npy"):
        a = np.load(out / name, mmap_mode="r")
        b = np.load(ref / name, mmap_mode="r")
        scale = float(np.max(np.abs(b)))
        worst = max(worst, float(np.max(np.abs(a - b))) / scale)
    return worst


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--small", action="store_true", help="N=2048")
    ap.add_argument("--n", type=int, default=8192)
    ap.add_argument("--d", type=int, default=1024)
    ap.add_argument("--v", type=int, default=65536)
    ap.add_argument("--rounds", type=int, default=1, help="rounds over all methods")
    ap.add_argument("--chunk", type=int, default=None, help="infoloss chunk_size")
    ap.add_argument("--skip", action="append", default=[], help="leave out a method")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.small:
        args.n = 2048
    if args.one:
        one(args)
        return
    import torch

    methods = [m for m in METHODS if m not in args.skip]
    if not hasattr(torch.nn.functional, "linear_cross_entropy"):
        print("this torch has no F.linear_cross_entropy: skipping 'torch chunked'")
        methods = [m for m in methods if m != "torch chunked"]
    logits = args.n * args.v * 4
    need = 3 * logits + 2 * args.v * args.d * 4
    if "torch unfused" in methods and mem_available() < need + (2 << 30):
        print(
            f"MemAvailable {mem_available() / 2**30:.1f} GiB < {need / 2**30 + 2:.1f} GiB: "
            "skipping 'torch unfused'"
        )
        methods.remove("torch unfused")
    print(
        f"N={args.n} D={args.d} V={args.v} float32, mean; logits {logits / MiB:.0f} MiB; "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    )
    results: dict[str, dict] = {
        m: {"times": [], "peaks": [], "anon": [], "traced": []} for m in methods
    }
    with tempfile.TemporaryDirectory() as tmp:
        # Rounds interleave the methods (one process per method per round), so that load
        # from other processes on a shared machine falls on all of them alike.
        for rnd in range(args.rounds):
            for m in methods:
                out = Path(tmp) / m.replace(" ", "_")
                out.mkdir(exist_ok=True)
                cmd = [sys.executable, __file__, "--one", m, "--out", str(out)]
                cmd += ["--n", str(args.n), "--d", str(args.d), "--v", str(args.v)]
                if args.chunk:
                    cmd += ["--chunk", str(args.chunk)]
                proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
                if proc.returncode:
                    print(f"{m}: failed\n{proc.stderr[-2000:]}")
                    continue
                got = json.loads(proc.stdout.strip().splitlines()[-1])
                for key in ("times", "peaks", "anon", "traced"):
                    results[m][key] += got[key]
                results[m]["dir"] = out
                print(f"  round {rnd + 1}, {m}: {got['times'][0]:.2f} s", flush=True)
        results = {m: r for m, r in results.items() if r["times"]}
        report(results, args.rounds)


def report(results: dict[str, dict], rounds: int) -> None:
    ref = results.get("torch unfused", {}).get("dir")
    base = results["torch unfused"]["times"] if ref else None
    print()
    print(
        "| method | forward+backward (s, median) | vs unfused (median of per-round ratios) "
        "| peak extra RSS (MiB) | peak extra anonymous RSS (MiB) "
        "| max grad error vs unfused |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for m, r in results.items():
        t = float(np.median(r["times"]))
        ratio = "–"
        if base is not None and len(base) == len(r["times"]):
            ratio = f"{np.median(np.array(r['times']) / np.array(base)):.2f}×"
        peaks = [p for p in r["peaks"] if p is not None]
        peak = f"{max(peaks) / MiB:.0f}" if peaks else "n/a"
        if r["traced"]:
            peak += f" (tracemalloc {max(r['traced']) / MiB:.0f})"
        err = f"{compare(r['dir'], ref):.1e}" if ref and m != "torch unfused" else "–"
        anon = f"{max(r['anon']) / MiB:.0f}"
        print(f"| {m} | {t:.2f} | {ratio} | {peak} | {anon} | {err} |")
    print(
        f"\n{rounds} round(s); times of each round: "
        + "; ".join(
            f"{m}: " + ", ".join(f"{t:.1f}" for t in r["times"]) for m, r in results.items()
        )
    )


if __name__ == "__main__":
    main()
