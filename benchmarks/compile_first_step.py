"""First-call wall time of a ``torch.compile``-d training step, each variant in a fresh process.

A small MLP (1797×64 → 64 → 10) with the loss inside the compiled step, SGD; the first call
(tracing, AOT autograd, Inductor's code generation and the step itself) timed in a
subprocess of its own, so that no cache of an earlier variant helps the next.  Inductor's
on-disk caches are pointed at a fresh temporary directory per process.

    python benchmarks/compile_first_step.py [--repeat 1] [--variants torch,infoloss]
        [--forms step,model]

``step``: ``torch.compile(step)`` of a function that runs the model, the loss and
``backward()``; ``model``: ``torch.compile`` of a module whose forward returns the loss,
``backward()`` outside.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from typing import Any

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import torch
import torch.nn.functional as F
variant, form = sys.argv[1], sys.argv[2]
if variant == "infoloss":
    import infoloss.torch as ilt
    loss_fn = ilt.cross_entropy
else:
    loss_fn = F.cross_entropy
t_import = time.perf_counter() - t0
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
x = torch.randn(1797, 64)
y = torch.randint(0, 10, (1797,))

class WithLoss(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.net = model

    def forward(self, x, y):
        return loss_fn(self.net(x), y)

if form == "step":  # the whole step compiled; backward() inside breaks the graph there
    def step(x, y):
        loss = loss_fn(model(x), y)
        loss.backward()
        return loss

    compiled = torch.compile(step)
else:  # torch.compile(model) with the loss in its forward, backward() outside
    fwd = torch.compile(WithLoss())

    def compiled(x, y):
        loss = fwd(x, y)
        loss.backward()
        return loss

t = time.perf_counter()
loss = compiled(x, y)
opt.step(); opt.zero_grad()
first = time.perf_counter() - t
t = time.perf_counter()
for _ in range(20):
    loss = compiled(x, y)
    opt.step(); opt.zero_grad()
later = (time.perf_counter() - t) / 20
print(json.dumps({"variant": variant, "form": form, "import_s": t_import, "first_s": first,
                  "later_ms": later * 1e3, "loss": float(loss)}))
"""


def run(variant: str, form: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, TORCHINDUCTOR_CACHE_DIR=cache, TRITON_CACHE_DIR=cache)
        out = subprocess.run(
            [sys.executable, "-c", CHILD, variant, form],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--variants", default="torch,infoloss")
    ap.add_argument("--forms", default="step,model")
    args = ap.parse_args()
    cases = [(v, f) for f in args.forms.split(",") for v in args.variants.split(",")]
    rows: dict[tuple[str, str], list[dict[str, Any]]] = {c: [] for c in cases}
    for _ in range(args.repeat):  # interleaved
        for c in cases:
            rows[c].append(run(*c))
            print(json.dumps(rows[c][-1]), flush=True)
    print("\n| compiled | loss | first step (s) | later steps (ms) |")
    print("|---|---|---|---|")
    for (v, f), rs in rows.items():
        firsts = sorted(r["first_s"] for r in rs)
        laters = sorted(r["later_ms"] for r in rs)
        name = "F.cross_entropy" if v == "torch" else "infoloss.torch.cross_entropy"
        what = "torch.compile(step)" if f == "step" else "torch.compile(model with loss)"
        first, later = firsts[len(firsts) // 2], laters[len(laters) // 2]
        print(f"| {what} | {name} | {first:.1f} | {later:.2f} |")


if __name__ == "__main__":
    main()
