"""Shared fixtures: the array backends and the deterministic hypothesis profile.

Plain helper functions shared by several test modules are in ``_helpers.py``."""

from __future__ import annotations

import importlib
import os

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
