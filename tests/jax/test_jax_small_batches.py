"""The JAX drop-in on small batches: the kernels through the compiled FFI targets at
every size, against the NumPy path (values, gradients, bad data, tiny losses).  The
PyTorch drop-in's short paths: ``tests/torch/test_torch_small_batches.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import infoloss as il

jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402

import infoloss.jax as ilj  # noqa: E402
from infoloss import _kernels as nb  # noqa: E402
from infoloss.jax import _ops  # noqa: E402
from infoloss.jax._calls import _Extra  # noqa: E402
from tests._helpers import SMALL_BATCH_OPTIONS as OPTIONS  # noqa: E402


def _jax_args(opts: dict[str, Any], c: int, dtype: Any) -> dict[str, Any]:
    out = dict(opts)
    if out.get("weight") == "w":
        out["weight"] = jnp.asarray(np.linspace(0.0, 2.0, c), dtype)
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("opts", OPTIONS)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("c", [10, 70])  # rows across the vector lanes, and per row
def test_jax_small_batch_equals_numpy(
    calls: list[str], dtype: Any, opts: dict[str, Any], reduction: str, c: int
) -> None:
    rng = np.random.default_rng(1)
    n = 64
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
        return out if reduction != "none" else jnp.sum(out * jnp.arange(1, n + 1))

    value, grad = jax.jit(jax.value_and_grad(f))(jnp.asarray(zn), jnp.asarray(yn))
    per = jax.jit(lambda z, y: ilj.softmax_cross_entropy(z, y, reduction="none", **kw))
    rows = per(jnp.asarray(zn), jnp.asarray(yn))
    assert calls, "the kernels ran"
    rtol = 2e-5 if dtype == np.float32 else 1e-12
    ref = il.softmax_cross_entropy(zn, yn, reduction="none", **np_kw)
    np.testing.assert_allclose(np.asarray(rows), ref, rtol=rtol, atol=0)
    assert float(rows[6]) > 0  # the tiny loss keeps its relative accuracy
    up = np.arange(1, n + 1, dtype=dtype) if reduction == "none" else None
    ref_v, ref_g = il.softmax_cross_entropy(zn, yn, reduction=reduction, return_grad=True, **np_kw)
    if up is not None:
        ref_v = np.sum(ref_v * up)
        ref_g = ref_g * up[:, None]
    np.testing.assert_allclose(float(value), float(ref_v), rtol=rtol)
    scale = float(np.max(np.abs(ref_g)))
    np.testing.assert_allclose(np.asarray(grad), ref_g, rtol=rtol, atol=rtol * scale)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("c", [1, 2, 5, 10, 16, 31, 32])
@pytest.mark.parametrize("eps", [0.0, 0.1])
@pytest.mark.parametrize("ignore", [None, 2])
def test_fused_rows_across_lanes_equal_the_general_kernel(
    dtype: Any, c: int, eps: float, ignore: int | None
) -> None:
    # Rows of at most 32 classes take the fused pass of rows across the vector lanes; the
    # NumPy path's fused kernel is the general one.  Bad rows included: a -inf, a row of
    # -inf alone (no mass), NaN, +inf, a huge logit, labels out of range, ignored rows.
    rng = np.random.default_rng(c)
    n = 300
    z = (3 * rng.standard_normal((n, c))).astype(dtype)
    z[5, 0] = -np.inf
    z[7, :] = -np.inf
    z[9, c - 1] = np.nan
    z[11, 0] = np.inf
    z[13, 0] = 1e30
    y = rng.integers(0, c, n)
    y[20], y[21] = c + 3, -1
    if ignore is not None:
        y[30:40] = ignore
        y[7] = ignore
    g_ref = np.empty_like(z)
    ref = nb.xent_fused(z, y, None, eps, ignore, g_ref, 0.37)
    loss, g, hi, lo, bad, total = _ops._fused(
        jnp.asarray(z),
        jnp.asarray(y),
        np.ones(c, dtype),
        jnp.asarray(dtype(0.37)),
        eps,
        ignore,
        _Extra(),
    )
    g = np.asarray(g)
    assert np.array_equal(np.isnan(g), np.isnan(g_ref))
    ulp = float(np.finfo(dtype).eps)
    fin = np.isfinite(g_ref)
    np.testing.assert_allclose(g[fin], g_ref[fin], rtol=0, atol=2 * ulp)
    np.testing.assert_allclose(np.asarray(loss), ref.loss.astype(dtype), rtol=8 * ulp)
    assert int(bad[0]) == ref.nbad
    assert int(bad[1]) == 0
    lse = np.asarray(hi).astype(np.float64) + np.asarray(lo)
    ok = np.isfinite(ref.lse)
    np.testing.assert_allclose(lse[ok], ref.lse[ok], rtol=4 * ulp)
    assert np.isnan(float(total)) == np.isnan(np.sum(ref.loss))


def test_jax_small_batch_bad_data_and_edges() -> None:
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
@pytest.mark.parametrize("c", [10, 300])  # rows across the lanes, and per row
@pytest.mark.parametrize("confident", [False, True])
def test_jax_small_batch_lse_equals_numpy(dtype: Any, c: int, confident: bool) -> None:
    # Values and gradients to a few ulps of NumPy, with ties, -inf and (confident) a tiny
    # loss.
    z, y = _rows(c, dtype, confident)
    eps = float(np.finfo(dtype).eps)
    per_row = jax.jit(lambda a, b: ilj.softmax_cross_entropy(a, b, reduction="none"))
    got = per_row(jnp.asarray(z), jnp.asarray(y))
    ref = il.softmax_cross_entropy(z, y, reduction="none")
    np.testing.assert_allclose(np.asarray(got), ref, rtol=8 * eps, atol=0)
    if confident:
        assert 0 < float(got[3]) < 1e-20  # the tiny loss keeps its relative accuracy
    # The logits computed inside the jitted function: the kernels read them once.
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
def test_jax_bad_row_makes_the_loss_nan_even_when_ignored(c: int, reduction: str) -> None:
    # A bad row that the loss ignores (its label is ignore_index, so its own term is 0)
    # still makes the result NaN: the kernels count its bad logits.
    z, y = _rows(c, np.float32, confident=False)
    z[5, 1] = np.nan
    y[5] = -1
    f = jax.jit(lambda a, b: ilj.softmax_cross_entropy(a, b, ignore_index=-1, reduction=reduction))
    assert np.all(np.isnan(np.asarray(f(jnp.asarray(z), jnp.asarray(y)))))
    z[5, 1] = 0.0
    assert not np.any(np.isnan(np.asarray(f(jnp.asarray(z), jnp.asarray(y)))))


def _entry_lines(f: Any, n: int, c: int) -> list[str]:
    """The instructions of the optimized HLO's entry (float32 (n, c) logits, labels)."""
    z = jnp.zeros((n, c), jnp.float32)
    y = jnp.zeros(n, jnp.int32)
    hlo = jax.jit(f).lower(z, y).compile().as_text()
    entry = hlo[hlo.index("\nENTRY") :]
    return entry.splitlines()[1:]


def test_jax_loss_is_one_kernel_call_and_one_scalar_step() -> None:
    # The mean loss of labels is the forward target (which sums the losses and counts the
    # bad logits) and one step that scales the sum and makes it NaN on bad data: no pass
    # over the labels for their range (a kept label out of range makes its row's loss,
    # and so the sum, NaN in the kernel) and no (N, C) array written.  At 1797x10 each
    # XLA step costs a few microseconds, the whole call about 40.
    if jax.default_backend() != "cpu":
        pytest.skip("the fusion decisions checked are the CPU backend's")
    n, c = 1797, 10
    lines = _entry_lines(ilj.softmax_cross_entropy, n, c)
    steps = [ln for ln in lines if " fusion(" in ln or " custom-call(" in ln]
    assert sum("custom-call(" in ln for ln in steps) == 1
    assert len(steps) <= 3, steps
    assert not [ln for ln in lines if f"= f32[{n},{c}]" in ln and "parameter(" not in ln]
    grad = _entry_lines(jax.value_and_grad(ilj.softmax_cross_entropy), n, c)
    written = [ln for ln in grad if f"= f32[{n},{c}]" in ln and "parameter(" not in ln]
    assert written
    assert all("custom-call(" in ln or "get-tuple-element(" in ln for ln in written), written


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
def test_jax_label_rows_equal_numpy(dtype: Any, c: int) -> None:
    # The forward alone and the forward of the gradient give NumPy's per-row losses to a
    # few ulps, tiny and infinite ones included.
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
