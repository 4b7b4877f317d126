"""The estimators run on the compiled kernels: no estimator imports numba."""

from __future__ import annotations

import subprocess
import sys


def test_estimators_never_import_numba():
    code = """
import sys
import numpy as np
import infoloss.estimators as est
rng = np.random.default_rng(0)
x = rng.integers(0, 9, size=(3, 500))
for method in ("plugin", "chao_wang_jost", "nsb", "grassberger", "jackknife"):
    est.entropy(x, method=method)
est.entropy_nsb(x, alphabet_size=9)
est.mutual_information(x, x[::-1], method="auto")
z = rng.standard_normal((400, 3))
est.continuous_mutual_information(z[:, :1], z[:, 1:], method="ksg2", axis=0, feature_axis=1)
est.continuous_mutual_information(z[:, 0], z[:, 1], method="ksg1")
est.differential_entropy(z, method="kozachenko_leonenko", axis=0, feature_axis=1)
est.differential_entropy(z[:, 0], method="kozachenko_leonenko")
est.differential_entropy(z[:, 0], method="correa")
print(sorted(m for m in sys.modules if m == "numba" or m.startswith("numba.")))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
    )
    assert out.stdout.strip() == "[]", out.stdout
