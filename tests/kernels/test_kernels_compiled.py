"""The compiled kernels as a user meets them: no JIT compiler at run time, and a clear,
single warning (or, where required, an error) when the extension was not built."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import infoloss as il
from infoloss import _kernels
from tests._helpers import ROOT

BENCH = ROOT / "benchmarks"

# Run first in a fresh process: a finder that refuses infoloss's compiled extensions, as
# an install without a C compiler would leave it.
_HIDE_EXTENSIONS = textwrap.dedent(
    """
    import importlib.machinery, sys

    class _NoExtensions:
        def find_spec(self, name, path=None, target=None):
            if not name.startswith("infoloss._kernels."):
                return None
            spec = importlib.machinery.PathFinder.find_spec(name, path)
            suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
            if spec is not None and str(spec.origin).endswith(suffixes):
                raise ImportError(f"{name} hidden by the test")
            return None

    sys.meta_path.insert(0, _NoExtensions())
    """
)


def _run(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("INFOLOSS_")}
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-c", _HIDE_EXTENSIONS + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=environ,
        check=False,
    )


def test_kernels_are_built_here() -> None:
    assert _kernels.available()
    assert _kernels.enabled()


def test_without_the_extension_the_array_api_path_runs_with_one_warning() -> None:
    out = _run(
        """
        import warnings
        import numpy as np
        import infoloss as il
        from infoloss import _kernels
        x = np.random.default_rng(0).random((512, 64))
        x /= x.sum(axis=1, keepdims=True)
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            h1 = il.entropy(x)
            h2 = il.kl_divergence(x, x[::-1])
            loss = il.softmax_cross_entropy(np.log(x), np.zeros(512, dtype=int))
        assert not _kernels.enabled()
        msgs = [str(w.message) for w in seen if issubclass(w.category, RuntimeWarning)]
        print(len(msgs))
        print(msgs[0])
        ref = -(x * np.log(x)).sum(axis=1)
        print(bool(np.allclose(h1, ref, rtol=1e-12)), bool(np.isfinite(h2).all()), float(loss))
        """
    )
    assert out.returncode == 0, out.stderr
    count, message, checks = out.stdout.strip().splitlines()
    assert count == "1"
    assert "compiled kernels are not built" in message
    assert "array-API path" in message
    assert checks.startswith("True True ")


def test_required_kernels_raise_when_missing() -> None:
    out = _run(
        """
        import numpy as np
        import infoloss as il
        il.entropy(np.full((512, 64), 1 / 64))
        """,
        INFOLOSS_REQUIRE_KERNELS="1",
    )
    assert out.returncode != 0
    assert "ImportError" in out.stderr
    assert "INFOLOSS_REQUIRE_KERNELS=1" in out.stderr


def test_import_is_light() -> None:
    """``import infoloss`` imports neither an extension, nor a JIT, nor a framework."""
    code = (
        "import sys, importlib.machinery as im, infoloss\n"
        "heavy = ('numba', 'llvmlite', 'torch', 'jax', 'scipy', 'dask', 'matplotlib', 'sklearn')\n"
        "ext = tuple(im.EXTENSION_SUFFIXES)\n"
        "print(sorted(m for m, mod in sys.modules.items() if m.split('.')[0] in heavy"
        " or (m.startswith('infoloss.') and str(getattr(mod, '__file__', '')).endswith(ext))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_entry_point_runs_without_a_jit_compiler() -> None:
    """Every public measure, loss, value_and_grad, linear_cross_entropy and estimator of
    benchmarks/first_call.py called once in one fresh process: neither numba nor llvmlite
    is imported (the kernels were compiled at install)."""
    spec = importlib.util.spec_from_file_location("first_call", BENCH / "first_call.py")
    assert spec is not None
    assert spec.loader is not None
    first_call = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(first_call)
    assert len(first_call.CASES) >= 25
    assert first_call.check_no_jit() == []


def test_kernel_path_is_taken_for_large_numpy_rows() -> None:
    """The measures of large float32 rows run in the compiled kernels: the result matches
    the contract function called directly, bit for bit."""
    x = np.random.default_rng(1).random((300, 100)).astype(np.float32)
    x /= x.sum(axis=1, keepdims=True)
    direct = _kernels.measure_rows("entropy", (x,), ("probs",), False).value
    np.testing.assert_array_equal(il.entropy(x), direct.astype(np.float32))


@pytest.mark.parametrize("order", ["torch first", "infoloss first"])
def test_kernels_leave_torchs_thread_settings_alone(order: str) -> None:
    pytest.importorskip("torch")
    imports = ["import torch", "import infoloss as il"]
    if order == "infoloss first":
        imports.reverse()
    code = "\n".join(imports) + textwrap.dedent(
        """
        import numpy as np
        import infoloss.torch as ilt
        torch.set_num_threads(2)
        before = (torch.get_num_threads(), torch.get_num_interop_threads())
        x = np.random.default_rng(0).random((4096, 64), dtype=np.float32)
        x /= x.sum(axis=1, keepdims=True)
        il.entropy(x)
        il.kl_divergence(x, x[::-1].copy())
        z = torch.randn(4096, 64, requires_grad=True)
        ilt.cross_entropy(z, torch.randint(0, 64, (4096,))).backward()
        assert il._kernels.available()
        print(before == (torch.get_num_threads(), torch.get_num_interop_threads()), before)
        """
    )
    for env in ({}, {"NUMBA_NUM_THREADS": "1"}, {"OMP_NUM_THREADS": "1"}):
        environ = {**os.environ, **env}
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=environ, check=True
        )
        assert out.stdout.startswith("True"), (env, out.stdout)
