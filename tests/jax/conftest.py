"""Every JAX test runs with 64-bit floats, and leaves the setting as it found it; the
``calls`` fixture lists the FFI targets a test's calls traced."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _x64() -> Iterator[None]:
    jax = pytest.importorskip("jax")
    old = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", old)


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the FFI targets the test's calls traced (the kernels ran through JAX)."""
    pytest.importorskip("jax")
    from infoloss.jax import _ops

    seen: list[str] = []
    real = _ops._call

    def spy(name: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(_ops, "_call", spy)
    return seen
