"""The short path of the JAX drop-in for small batches gives what the general paths give.

The lean ``jax.numpy`` path under ``jax.jit`` (below ``LEAN_MAX``) against the kernels'
route (``LEAN_MAX = 0``) and the NumPy path.  The PyTorch drop-in's short paths:
``tests/torch/test_torch_small_batches.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import infoloss as il

jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402

import infoloss.jax as ilj  # noqa: E402
from infoloss.jax import _lean  # noqa: E402
from tests._helpers import SMALL_BATCH_OPTIONS as OPTIONS  # noqa: E402


def _jax_args(opts: dict[str, Any], c: int, dtype: Any) -> dict[str, Any]:
    out = dict(opts)
    if out.get("weight") == "w":
        out["weight"] = jnp.asarray(np.linspace(0.0, 2.0, c), dtype)
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("opts", OPTIONS)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_jax_lean_path_equals_kernel_route_and_numpy(
    monkeypatch: pytest.MonkeyPatch, dtype: Any, opts: dict[str, Any], reduction: str
) -> None:
    rng = np.random.default_rng(1)
    n, c = 300, 70  # 21000 logits: above the kernels' MIN_SIZE, below LEAN_MAX
    zn = (3 * rng.standard_normal((n, c))).astype(dtype)
    zn[0, 2] = -np.inf
    zn[5, :] = 0.0  # ties at the maximum
    zn[6, 4] = 60.0  # a dominant logit: a loss of about 1e-24 on its label
    yn = rng.integers(0, c, n)
    yn[0], yn[3], yn[6] = 0, 1, 4
    kw = _jax_args(opts, c, dtype)
    np_kw = {k: (np.asarray(v) if k == "weight" else v) for k, v in kw.items()}

    def f(z: Any, y: Any) -> Any:
        out = ilj.softmax_cross_entropy(z, y, reduction=reduction, **kw)
        return out if reduction != "none" else jnp.sum(out * jnp.arange(n))

    lean = jax.jit(jax.value_and_grad(f))(jnp.asarray(zn), jnp.asarray(yn))
    per = jax.jit(lambda z, y: ilj.softmax_cross_entropy(z, y, reduction="none", **kw))
    lean_rows = per(jnp.asarray(zn), jnp.asarray(yn))
    with monkeypatch.context() as m:
        m.setattr(_lean, "LEAN_MAX", 0)
        kern = jax.jit(jax.value_and_grad(f))(jnp.asarray(zn), jnp.asarray(yn))
    rtol = 2e-5 if dtype == np.float32 else 1e-12
    for a, b in zip(lean, kern, strict=True):
        scale = float(np.max(np.abs(np.asarray(b))))
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=rtol * scale)
    ref = il.softmax_cross_entropy(zn, yn, reduction="none", **np_kw)
    np.testing.assert_allclose(np.asarray(lean_rows), ref, rtol=rtol, atol=0)
    assert float(lean_rows[6]) > 0  # the tiny loss keeps its relative accuracy


def test_jax_lean_path_bad_data_and_edges() -> None:
    f = jax.jit(ilj.softmax_cross_entropy)
    z = np.random.default_rng(2).standard_normal((20, 5)).astype(np.float32)
    y = np.arange(20) % 5
    bad = z.copy()
    bad[3, 1] = np.nan
    assert np.isnan(float(f(jnp.asarray(bad), jnp.asarray(y))))
    assert np.isnan(float(f(jnp.asarray(z), jnp.asarray(np.where(y == 2, 9, y)))))
    # Every sample ignored: 0 with a zero gradient.
    g = jax.jit(jax.value_and_grad(lambda a, b: ilj.softmax_cross_entropy(a, b, ignore_index=-1)))
    value, grad = g(jnp.asarray(z), jnp.full(20, -1))
    assert float(value) == 0.0
    assert not np.any(np.asarray(grad))
    # Concrete (not traced) arrays still raise.
    with pytest.raises(ValueError, match="NaN"):
        ilj.softmax_cross_entropy(jnp.asarray(bad), jnp.asarray(y))
