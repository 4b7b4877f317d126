"""infoloss.jax: a stored gradient used more than once.

The fused forward stores ``scale · ∂ℓ/∂z`` and the backward multiplies it by the upstream
in place (an FFI call whose output aliases its input).  JAX arrays are immutable, so a
pullback called several times, eagerly or under ``jax.jit``, must give independent
results: each the gradient for its own upstream.  Oracle: the NumPy path's
``return_grad=True``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")

import infoloss as il  # noqa: E402
import infoloss.jax as ilj  # noqa: E402
from infoloss._kernels import _layout  # noqa: E402

N, C = 48, 512
assert N * C >= _layout.MIN_SIZE  # the kernels' path


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pullback_called_three_times(calls: list[str], dtype: Any, reduction: str) -> None:
    seen = calls
    rng = np.random.default_rng(0)
    zn = (3 * rng.standard_normal((N, C))).astype(dtype)
    yn = rng.integers(0, C, N)
    _, ref = il.softmax_cross_entropy(zn, yn, reduction=reduction, return_grad=True)
    tol = {"rtol": 2e-5, "atol": 1e-7} if dtype == np.float32 else {"rtol": 1e-12, "atol": 1e-15}
    z, y = jnp.asarray(zn), jnp.asarray(yn)

    def loss(x: Any) -> Any:
        return ilj.softmax_cross_entropy(x, y, reduction=reduction)

    def three(x: Any) -> Any:
        _, pullback = jax.vjp(loss, x)
        return [pullback(jnp.asarray(u, dtype))[0] for u in (1.0, 3.0, 1.0)]

    for fn in (three, jax.jit(three)):
        g1, g3, g1_again = fn(z)
        np.testing.assert_allclose(g1, ref, **tol)
        np.testing.assert_allclose(g3, 3 * ref, **tol)
        np.testing.assert_allclose(g1_again, ref, **tol)
    assert "infoloss_xent_fused" in seen
    assert "infoloss_scale" in seen
