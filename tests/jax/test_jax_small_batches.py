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


def _rows(c: int, dtype: Any, confident: bool) -> tuple[np.ndarray, np.ndarray]:
    """Logits with ties at the maximum, a ``-inf`` entry and (``confident``) a row whose
    loss on its label is about 1e-24 (1e-21 under a soft cap of 100), the rest random: 40 rows of ``c`` classes."""
    rng = np.random.default_rng(c)
    z = (2 * rng.standard_normal((40, c))).astype(dtype)
    z[0, 2] = -np.inf
    z[1, :] = 0.5  # every entry at the maximum
    z[2, :3] = z[2].max() + 1  # three
    y = rng.integers(0, c, 40)
    if confident:
        z[3, 4] = 60.0
        y[3] = 4
    return z, y


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("c", [10, 300])  # the counted and the branched forms
@pytest.mark.parametrize("confident", [False, True])
def test_jax_lean_lse_forms_equal_numpy(dtype: Any, c: int, confident: bool) -> None:
    # Above FEW_CLASSES the plain sum serves a batch without a confident row, and the
    # branch that sums the rest apart serves one with it: both to a few ulps of NumPy,
    # values and gradients.
    assert (c <= _lean.FEW_CLASSES) == (c == 10)
    z, y = _rows(c, dtype, confident)
    eps = float(np.finfo(dtype).eps)
    per_row = jax.jit(lambda a, b: ilj.softmax_cross_entropy(a, b, reduction="none"))
    got = per_row(jnp.asarray(z), jnp.asarray(y))
    ref = il.softmax_cross_entropy(z, y, reduction="none")
    np.testing.assert_allclose(np.asarray(got), ref, rtol=8 * eps, atol=0)
    if confident:
        assert 0 < float(got[3]) < 1e-20  # the tiny loss keeps its relative accuracy
    # With the logits computed inside the jitted function, XLA may fold the producer's
    # last product into each consumer and contract it with the subtraction of the
    # maximum (an FMA): z_y − m at the maximum is then a rounding error of m, not 0.
    capped = jax.jit(
        lambda a, b: ilj.softmax_cross_entropy(100 * jnp.tanh(a / 100), b, reduction="none")
    )(jnp.asarray(z), jnp.asarray(y))
    ref = il.softmax_cross_entropy(np.tanh(z / 100) * 100, y, reduction="none")
    np.testing.assert_allclose(np.asarray(capped), ref, rtol=8 * eps, atol=100 * eps)
    grad = jax.jit(jax.grad(lambda a: ilj.softmax_cross_entropy(a, jnp.asarray(y))))(jnp.asarray(z))
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(40), y] -= 1
    np.testing.assert_allclose(np.asarray(grad), p / 40, rtol=64 * eps, atol=16 * eps / 40)


@pytest.mark.parametrize("c", [10, 300])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_jax_lean_bad_row_makes_the_loss_nan_even_when_ignored(c: int, reduction: str) -> None:
    # The checks fold into the rows' losses; a bad row that the loss ignores (its
    # label is ignore_index, so its own term is 0) still makes the result NaN.
    z, y = _rows(c, np.float32, confident=False)
    z[5, 1] = np.nan
    y[5] = -1
    f = jax.jit(lambda a, b: ilj.softmax_cross_entropy(a, b, ignore_index=-1, reduction=reduction))
    assert np.all(np.isnan(np.asarray(f(jnp.asarray(z), jnp.asarray(y)))))
    z[5, 1] = 0.0
    assert not np.any(np.isnan(np.asarray(f(jnp.asarray(z), jnp.asarray(y)))))


def test_jax_lean_forward_writes_no_array_of_the_logits_shape() -> None:
    # The forward reads the logits in reductions only (as optax's does): no (N, C)
    # intermediate such as a mask or exp(z − m) is written, which cost the earlier lean
    # path about 1.5-2x optax's time at 256x1000.
    if jax.default_backend() != "cpu":
        pytest.skip("the fusion decisions checked are the CPU backend's")
    z = jnp.zeros((256, 1000), jnp.float32)
    y = jnp.zeros(256, jnp.int32)
    hlo = jax.jit(ilj.softmax_cross_entropy).lower(z, y).compile().as_text()
    entry = hlo[hlo.index("\nENTRY") :]
    written = [
        ln for ln in entry.splitlines()[1:] if "= f32[256,1000]" in ln and "parameter(" not in ln
    ]
    assert written == []


def _entry_arrays(f: Any, n: int, c: int) -> list[str]:
    """The instructions of the optimized HLO's entry that write an (n, c) float32 array."""
    z = jnp.zeros((n, c), jnp.float32)
    y = jnp.zeros(n, jnp.int32)
    hlo = jax.jit(f).lower(z, y).compile().as_text()
    entry = hlo[hlo.index("\nENTRY") :]
    lines = entry.splitlines()[1:]
    return [ln for ln in lines if f"= f32[{n},{c}]" in ln and "parameter(" not in ln]


def test_jax_lean_short_rows_write_one_array_and_scatter_nothing() -> None:
    # Short rows sum exp(z − m) less the label's entry: the forward writes one (N, C)
    # array (the masked z − m, whose exp XLA sums in its reduction), where the count of
    # the entries at the maximum wrote two; forward+grad writes the masked exp and the
    # gradient, and puts the label's term back in that pass, where the count's form
    # wrote four and scattered the label's term as optax does (1.2-1.3x optax at 1797x10).
    if jax.default_backend() != "cpu":
        pytest.skip("the fusion decisions checked are the CPU backend's")
    n, c = 1797, 10
    assert c <= _lean.FEW_CLASSES
    assert len(_entry_arrays(ilj.softmax_cross_entropy, n, c)) == 1
    grad = _entry_arrays(jax.value_and_grad(ilj.softmax_cross_entropy), n, c)
    assert len(grad) == 2
    assert not any("scatter" in ln for ln in grad)


def _label_rows(c: int, dtype: Any) -> tuple[np.ndarray, np.ndarray]:
    """Rows that test the label-masked sum: the label at a maximum shared with one or
    with every other entry, the label alone at a dominant maximum (a loss of about
    1e-24), the label below a dominant maximum, the label's logit -inf, and a -inf beside
    the label's maximum; random rows after them."""
    rng = np.random.default_rng(c + 7)
    z = (2 * rng.standard_normal((12, c))).astype(dtype)
    y = rng.integers(0, c, 12)
    z[0, :] = 0.0
    z[0, [1, 4]] = 2.0
    y[0] = 4
    z[1, :] = -1.5
    y[1] = c - 1
    z[2, 3] = 60.0
    y[2] = 3
    z[3, 5] = 60.0
    y[3] = 0
    z[4, 2] = -np.inf
    y[4] = 2
    z[5, 6] = 40.0
    z[5, 0] = -np.inf
    y[5] = 6
    return z, y


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("c", [10, 100])
def test_jax_lean_label_masked_sum_equals_numpy(dtype: Any, c: int) -> None:
    # The forward alone and the forward of the gradient (two forms of the masked sum)
    # give NumPy's per-row losses to a few ulps, tiny and infinite ones included.
    assert c <= _lean.FEW_CLASSES
    z, y = _label_rows(c, dtype)
    eps = float(np.finfo(dtype).eps)
    ref = il.softmax_cross_entropy(z, y, reduction="none")
    assert np.isinf(ref[4])
    assert 0 < ref[2] < 1e-20
    assert 0 < ref[5] < 1e-12

    def rows(a: Any, b: Any) -> Any:
        return ilj.softmax_cross_entropy(a, b, reduction="none")

    got = jax.jit(rows)(jnp.asarray(z), jnp.asarray(y))
    via_vjp, _ = jax.jit(lambda a, b: jax.vjp(lambda t: rows(t, b), a))(
        jnp.asarray(z), jnp.asarray(y)
    )
    for out in (got, via_vjp):
        np.testing.assert_allclose(np.asarray(out), ref, rtol=8 * eps, atol=0)
    # The gradient of the finite rows' mean: softmax less the label's one-hot row.
    zf, yf = np.delete(z, 4, axis=0), np.delete(y, 4)
    grad = jax.jit(jax.grad(lambda a: ilj.softmax_cross_entropy(a, jnp.asarray(yf))))(
        jnp.asarray(zf)
    )
    with np.errstate(over="ignore", invalid="ignore"):
        p = np.exp(zf - zf.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(yf)), yf] -= 1
    k = len(yf)
    np.testing.assert_allclose(np.asarray(grad), p / k, rtol=64 * eps, atol=16 * eps / k)
