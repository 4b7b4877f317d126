"""The softmax cross-entropy of Dask logits runs each block of rows through the NumPy loss
(the compiled kernels), with the eager call's values, gradients and errors."""

from __future__ import annotations

import numpy as np
import pytest

import infoloss as il
from infoloss import _kernels
from infoloss._dask import BLOCKS

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

N, C = 3000, 37
RNG = np.random.default_rng(7)
Z = RNG.standard_normal((N, C))
Y = RNG.integers(0, C, N)
W = RNG.random(C) + 0.1
P = RNG.dirichlet(np.ones(C), N)

OPTIONS = [
    {},
    {"reduction": "sum"},
    {"reduction": "none"},
    {"weight": W},
    {"label_smoothing": 0.2, "ignore_index": 3},
    {"lse_square_scale": 1e-3, "softcap": 5.0},
]


def _lazy(options: dict, chunks: int) -> dict:
    return {k: da.from_array(v) if k == "weight" else v for k, v in options.items()}


def _task_names(x) -> set[str]:  # type: ignore[no-untyped-def]
    return {str(k[0] if isinstance(k, tuple) else k) for k in dict(x.__dask_graph__())}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(o) or "plain")
def test_labels_equal_the_numpy_loss_and_gradient(dtype, options):
    z = Z.astype(dtype)
    y = np.where(np.arange(N) % 11 == 0, 3, Y) if "ignore_index" in options else Y
    lz, ly = da.from_array(z, chunks=(700, 20)), da.from_array(y, chunks=900)
    lazy = il.softmax_cross_entropy(lz, ly, **_lazy(options, 700))
    assert any(BLOCKS in name for name in _task_names(lazy)), "not the blockwise route"
    want = il.softmax_cross_entropy(z, y, **options)
    rtol = 1e-6 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(lazy.compute(), want, rtol=rtol)
    assert lazy.dtype == want.dtype
    loss, grad = il.softmax_cross_entropy(lz, ly, return_grad=True, **_lazy(options, 700))
    want_loss, want_grad = il.softmax_cross_entropy(z, y, return_grad=True, **options)
    got_loss, got_grad = dask.compute(loss, grad)
    np.testing.assert_allclose(got_loss, want_loss, rtol=rtol)
    np.testing.assert_allclose(got_grad, want_grad, rtol=rtol, atol=1e-7 if rtol > 1e-9 else 1e-18)


def test_probability_targets_and_the_class_axis_first():
    lz, lp = da.from_array(Z, chunks=(500, C)), da.from_array(P, chunks=(800, C))
    got = il.softmax_cross_entropy(lz, lp, label_smoothing=0.1).compute()
    assert got == pytest.approx(il.softmax_cross_entropy(Z, P, label_smoothing=0.1), rel=1e-13)
    _, grad = il.softmax_cross_entropy(lz.T, lp.T, axis=0, return_grad=True)
    want = il.softmax_cross_entropy(Z.T, P.T, axis=0, return_grad=True)
    np.testing.assert_allclose(grad.compute(), want.grad, rtol=1e-13, atol=1e-18)
    assert grad.shape == (C, N)


def test_mean_over_nothing_is_zero_with_a_zero_gradient():
    y = np.full(N, 5)
    loss, grad = il.softmax_cross_entropy(
        da.from_array(Z, chunks=(1000, C)),
        da.from_array(y, chunks=1000),
        ignore_index=5,
        return_grad=True,
    )
    assert float(loss.compute()) == 0.0
    assert not np.any(grad.compute())


def test_a_bad_block_raises_the_eager_error_with_its_row_in_the_whole_array():
    z = Z.copy()
    z[2345, 6] = np.nan
    lazy = il.softmax_cross_entropy(da.from_array(z, chunks=(1000, C)), da.from_array(Y))
    with pytest.raises(ValueError, match="`logits` contains NaN") as eager:
        il.softmax_cross_entropy(z, Y)
    with pytest.raises(ValueError, match="`logits` contains NaN") as deferred:
        lazy.compute()
    assert str(deferred.value) == str(eager.value)
    assert "(2345, 6)" in str(eager.value)
    p = P.copy()
    p[1500] *= 1.5
    with pytest.raises(ValueError, match="`targets` has rows that do not sum to 1"):
        il.softmax_cross_entropy(da.from_array(Z, chunks=(1000, C)), da.from_array(p)).compute()
    assert il.softmax_cross_entropy(
        da.from_array(z, chunks=(1000, C)), da.from_array(Y), validate=False
    ).compute() != il.softmax_cross_entropy(Z, Y)  # no check: the NaN flows through


def test_a_label_out_of_range_anywhere_raises():
    y = Y.copy()
    y[2999] = C
    lazy = il.softmax_cross_entropy(da.from_array(Z, chunks=(1000, C)), da.from_array(y))
    with pytest.raises(ValueError, match=f"`targets` contains label {C} outside") as deferred:
        lazy.compute()
    with pytest.raises(ValueError, match="outside") as eager:
        il.softmax_cross_entropy(Z, y)
    assert str(deferred.value) == str(eager.value)
    assert "(2999,)" in str(eager.value)


def test_other_shapes_and_kernels_off_take_the_array_api_code():
    z3 = da.from_array(Z.reshape(30, 100, C), chunks=(10, 50, C))
    lazy = il.softmax_cross_entropy(z3, da.from_array(Y.reshape(30, 100)))
    assert not any(BLOCKS in name for name in _task_names(lazy))
    assert lazy.compute() == pytest.approx(il.softmax_cross_entropy(Z, Y), rel=1e-13)
    with _kernels.use_kernels(False):
        lazy = il.softmax_cross_entropy(da.from_array(Z, chunks=(1000, C)), da.from_array(Y))
    assert not any(BLOCKS in name for name in _task_names(lazy))
    assert lazy.compute() == pytest.approx(il.softmax_cross_entropy(Z, Y), rel=1e-13)
