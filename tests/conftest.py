"""Shared fixtures: the array backends and the deterministic hypothesis profile."""

from __future__ import annotations

import importlib
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "deterministic",
    derandomize=True,
    max_examples=60,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("thorough", max_examples=1000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))


def raise_later_chunk_maxima(z: np.ndarray, chunk: int = 2048) -> np.ndarray:
    """Rows 0–5 of z (float64, at least 3 chunks + 904 entries long, N(0, 1) entries)
    changed in place so that later chunks raise the running maximum of a row: by little
    (rows 0, 1; row 1 with a tie at the new maximum), to a dominant entry (2), beyond
    float32's domain of the kernels' exp (3), by about 30 (4), and in every chunk (5)."""
    z[0, 2500] = 3.9  # a small rise in chunk 1, another in chunk 2
    z[0, 5000] = 4.2
    z[1, [2500, 3100]] = 4.5  # two new maximal entries (a tie) in one chunk
    z[2, 4500] = 25.0  # dominates the row
    z[3, 4500] = 60.0  # beyond float32's domain of the exp
    z[4, :chunk] -= 30.0  # the first chunk far below, the second raises by about 30
    z[5, chunk:] += 2.0  # every later chunk higher by 2
    return z


def _backend(name: str):  # type: ignore[no-untyped-def]
    try:
        if name == "torch":
            return importlib.import_module("torch")
        if name == "jax":
            jax = importlib.import_module("jax")
            jax.config.update("jax_enable_x64", True)
            return importlib.import_module("jax.numpy")
        if name == "dask":
            return importlib.import_module("dask.array")
        return importlib.import_module(name)
    except ImportError:
        return None


BACKENDS = ["numpy", "array_api_strict", "torch", "dask", "jax"]


@pytest.fixture(params=BACKENDS)
def xp(request):  # type: ignore[no-untyped-def]
    """An array namespace; the test is skipped when that library is not installed."""
    mod = _backend(request.param)
    if mod is None:
        pytest.skip(f"{request.param} is not installed")
    return mod


def to_numpy(x):  # type: ignore[no-untyped-def]
    """Any backend's array as a NumPy array (for comparisons)."""
    if hasattr(x, "compute"):
        x = x.compute()
    if type(x).__module__.startswith("torch"):
        return x.detach().cpu().numpy()
    if type(x).__module__.startswith("array_api_strict"):
        return np.asarray(x._array)
    return np.asarray(x)
