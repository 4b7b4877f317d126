"""infoloss.jax: the fused kernels as a JAX operation, against the NumPy path and optax."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")

from jax.test_util import check_grads  # noqa: E402

import infoloss as il  # noqa: E402
import infoloss.jax as ilj  # noqa: E402
from infoloss._kernels import use_kernels  # noqa: E402

N, C = 48, 512  # N·C above the kernels' MIN_SIZE


def _data(dtype, kind, seed=0):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    z = (3 * rng.standard_normal((N, C))).astype(dtype)
    if kind == "labels":
        return z, rng.integers(0, C, N)
    t = rng.random((N, C)) ** 4
    return z, (t / t.sum(axis=-1, keepdims=True)).astype(dtype)


def _tol(dtype):  # type: ignore[no-untyped-def]
    return {"rtol": 2e-5, "atol": 1e-7} if dtype == np.float32 else {"rtol": 1e-12, "atol": 1e-15}


OPTIONS = [
    {},
    {"weight": "w"},
    {"label_smoothing": 0.1},
    {"weight": "w", "label_smoothing": 0.2},
    {"ignore_index": -100},
    {"ignore_index": 3, "weight": "w", "label_smoothing": 0.1},
]


CASES = [
    (np.float64, kind, options, reduction)
    for kind in ("labels", "probs")
    for options in OPTIONS
    for reduction in ("mean", "none")
] + [
    (np.float32, kind, options, reduction)
    for kind in ("labels", "probs")
    for options in (OPTIONS[0], OPTIONS[-1])
    for reduction in ("mean", "sum", "none")
]


@pytest.mark.parametrize(("dtype", "kind", "options", "reduction"), CASES)
def test_value_and_gradient_equal_the_numpy_path(dtype, kind, options, reduction, calls):  # type: ignore[no-untyped-def]
    z, t = _data(dtype, kind)
    opts = dict(options, reduction=reduction)
    if "weight" in opts:
        opts["weight"] = np.random.default_rng(1).random(C).astype(dtype)
    if kind == "labels" and "ignore_index" in opts:
        t[::5] = opts["ignore_index"]
    if kind == "probs" and opts.get("ignore_index") == -100:
        pytest.skip("probability targets take a class index as ignore_index")
    up = np.random.default_rng(2).random(N).astype(dtype)  # a per-sample upstream for "none"
    ref, ref_grad = il.softmax_cross_entropy(z, t, return_grad=True, **opts)
    if reduction == "none":
        ref_grad = up[:, None] * ref_grad
    jopts = {k: jnp.asarray(v) if k == "weight" else v for k, v in opts.items()}

    def loss(a):  # type: ignore[no-untyped-def]
        value = ilj.softmax_cross_entropy(a, jnp.asarray(t), **jopts)
        return jnp.sum(value * jnp.asarray(up)) if reduction == "none" else value

    value = ilj.softmax_cross_entropy(jnp.asarray(z), jnp.asarray(t), **jopts)
    assert value.dtype == dtype
    np.testing.assert_allclose(np.asarray(value), ref, **_tol(dtype))
    grad = jax.jit(jax.grad(loss))(jnp.asarray(z))
    assert grad.dtype == dtype
    np.testing.assert_allclose(np.asarray(grad), ref_grad, **_tol(dtype))
    if kind == "probs" and "ignore_index" in opts:
        assert not calls  # the array-API code runs there, as for NumPy
    else:
        assert "infoloss_xent_forward" in calls or "infoloss_xent_fused" in calls


@pytest.mark.parametrize("kind", ["labels", "probs"])
def test_return_grad_under_jit_equals_jax_grad(kind, calls):  # type: ignore[no-untyped-def]
    z, t = _data(np.float64, kind)
    zj, tj = jnp.asarray(z), jnp.asarray(t)
    value, grad = jax.jit(lambda a: il.softmax_cross_entropy(a, tj, return_grad=True))(zj)
    np.testing.assert_allclose(np.asarray(value), il.softmax_cross_entropy(z, t), rtol=1e-13)
    auto = jax.grad(lambda a: il.softmax_cross_entropy(a, tj))(zj)
    np.testing.assert_allclose(np.asarray(grad), np.asarray(auto), rtol=1e-12, atol=1e-16)
    assert "infoloss_xent_fused" in calls


def test_check_grads_logits_targets_and_weights():  # type: ignore[no-untyped-def]
    z, p = _data(np.float64, "probs")
    _, y = _data(np.float64, "labels")
    w = jnp.asarray(np.random.default_rng(3).random(C) + 0.5)
    zj, pj, yj = jnp.asarray(z), jnp.asarray(p), jnp.asarray(y)
    # validate=False: finite differences step off the simplex and below zero weight.
    for reduction in ("mean", "none"):

        def by_label(a, b, r=reduction):  # type: ignore[no-untyped-def]
            a, b = jnp.asarray(a), jnp.asarray(b)  # check_grads' finite differences use NumPy
            out = ilj.softmax_cross_entropy(
                a, yj, weight=b, label_smoothing=0.1, reduction=r, validate=False
            )
            return jnp.sum(out * jnp.linspace(0.5, 1.5, N)) if r == "none" else out

        def by_probs(a, b, c, r=reduction):  # type: ignore[no-untyped-def]
            a, b, c = jnp.asarray(a), jnp.asarray(b), jnp.asarray(c)
            out = ilj.softmax_cross_entropy(
                a, b, weight=c, label_smoothing=0.1, reduction=r, validate=False
            )
            return jnp.sum(out * jnp.linspace(0.5, 1.5, N)) if r == "none" else out

        check_grads(by_label, (zj, w), order=1, modes=("rev",))
        check_grads(by_probs, (zj, pj, w), order=1, modes=("rev",))


def test_check_grads_float32_logits():  # type: ignore[no-untyped-def]
    z, y = _data(np.float32, "labels")
    check_grads(
        lambda a: ilj.softmax_cross_entropy(jnp.asarray(a), jnp.asarray(y)),
        (jnp.asarray(z),),
        order=1,
        modes=("rev",),
        atol=1e-2,
        rtol=1e-2,
    )


def test_vmap_equals_a_loop(calls):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(4)
    zs = rng.standard_normal((3, N, C))
    ys = rng.integers(0, C, (3, N))
    w = jnp.asarray(rng.random(C))

    def f(a, b):  # type: ignore[no-untyped-def]
        return ilj.softmax_cross_entropy(a, b, weight=w, label_smoothing=0.05)

    batched = jax.jit(jax.vmap(jax.value_and_grad(f)))(jnp.asarray(zs), jnp.asarray(ys))
    for i in range(3):
        ref, ref_grad = il.softmax_cross_entropy(
            zs[i], ys[i], weight=np.asarray(w), label_smoothing=0.05, return_grad=True
        )
        np.testing.assert_allclose(np.asarray(batched[0][i]), ref, rtol=1e-13)
        np.testing.assert_allclose(np.asarray(batched[1][i]), ref_grad, rtol=1e-12, atol=1e-16)
    # Labels shared across the batch, per-sample losses.
    per = jax.vmap(lambda a: ilj.softmax_cross_entropy(a, jnp.asarray(ys[0]), reduction="none"))
    out = per(jnp.asarray(zs))
    for i in range(3):
        ref = il.softmax_cross_entropy(zs[i], ys[0], reduction="none")
        np.testing.assert_allclose(np.asarray(out[i]), ref, rtol=1e-13)
    assert calls


def test_matches_optax():  # type: ignore[no-untyped-def]
    optax = pytest.importorskip("optax")
    z, y = _data(np.float32, "labels")
    _, p = _data(np.float32, "probs")
    zj = jnp.asarray(z)
    ours = ilj.softmax_cross_entropy(zj, jnp.asarray(y), reduction="none")
    theirs = optax.softmax_cross_entropy_with_integer_labels(zj, jnp.asarray(y))
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-5)
    ours = ilj.softmax_cross_entropy(zj, jnp.asarray(p), reduction="none")
    np.testing.assert_allclose(
        np.asarray(ours), np.asarray(optax.softmax_cross_entropy(zj, jnp.asarray(p))), rtol=1e-5
    )
    onehot = jax.nn.one_hot(jnp.asarray(y), C, dtype=jnp.float32)
    smoothed = optax.smooth_labels(onehot, 0.1)
    ours = ilj.softmax_cross_entropy(zj, jnp.asarray(y), label_smoothing=0.1, reduction="none")
    np.testing.assert_allclose(
        np.asarray(ours), np.asarray(optax.softmax_cross_entropy(zj, smoothed)), rtol=1e-5
    )
    grad = jax.grad(lambda a: ilj.softmax_cross_entropy(a, jnp.asarray(y)))(zj)
    ref = jax.grad(
        lambda a: optax.softmax_cross_entropy_with_integer_labels(a, jnp.asarray(y)).mean()
    )(zj)
    np.testing.assert_allclose(np.asarray(grad), np.asarray(ref), rtol=1e-4, atol=1e-9)


def test_minus_inf_logits_and_class_axis():  # type: ignore[no-untyped-def]
    z, y = _data(np.float64, "labels")
    z[:, 7] = -np.inf  # probability 0, legal; the labels avoid class 7
    y[y == 7] = 8
    zt = np.ascontiguousarray(z.T)  # classes along axis 0
    ref, ref_grad = il.softmax_cross_entropy(zt, y, axis=0, return_grad=True)
    loss = lambda a: ilj.softmax_cross_entropy(a, jnp.asarray(y), axis=0)  # noqa: E731
    value, grad = jax.jit(jax.value_and_grad(loss))(jnp.asarray(zt))
    np.testing.assert_allclose(np.asarray(value), ref, rtol=1e-13)
    assert np.all(np.isfinite(np.asarray(grad)))
    np.testing.assert_allclose(np.asarray(grad), ref_grad, rtol=1e-12, atol=1e-16)


def _bad_cases():  # type: ignore[no-untyped-def]
    z, y = _data(np.float64, "labels")
    _, p = _data(np.float64, "probs")
    nan = z.copy()
    nan[5, 9] = np.nan
    inf = z.copy()
    inf[2, 3] = np.inf
    out = y.copy()
    out[4] = C
    neg = p.copy()
    neg[1, :2] = [-0.1, neg[1, 0] + neg[1, 1] + 0.1]
    w = np.ones(C)
    w[6] = -1.0
    return {
        "nan logits": (nan, y, {}),
        "+inf logits": (inf, y, {}),
        "label out of range": (z, out, {}),
        "negative weight": (z, y, {"weight": w}),
        "rows not summing to 1": (z, p * 1.01, {}),
        "negative probabilities": (z, neg, {}),
    }


@pytest.mark.parametrize("case", list(_bad_cases()))
def test_bad_input_raises_the_numpy_error_eagerly_and_gives_nan_under_jit(case):  # type: ignore[no-untyped-def]
    z, t, opts = _bad_cases()[case]
    with pytest.raises(ValueError, match="`") as from_numpy:
        il.softmax_cross_entropy(z, t, **opts)
    jopts = {k: jnp.asarray(v) for k, v in opts.items()}
    with pytest.raises(ValueError, match="`") as from_jax:
        ilj.softmax_cross_entropy(jnp.asarray(z), jnp.asarray(t), **jopts)
    assert str(from_jax.value) == str(from_numpy.value)
    jitted = jax.jit(lambda a, b, kw: ilj.softmax_cross_entropy(a, b, **kw))
    assert np.isnan(np.asarray(jitted(jnp.asarray(z), jnp.asarray(t), jopts)))
    unchecked = jax.jit(lambda a, b, kw: ilj.softmax_cross_entropy(a, b, validate=False, **kw))
    unchecked(jnp.asarray(z), jnp.asarray(t), jopts).block_until_ready()  # runs, no error


def test_route_steps_aside_where_the_kernels_do_not_apply(calls):  # type: ignore[no-untyped-def]
    z, y = _data(np.float64, "labels")
    ref = il.softmax_cross_entropy(z, y)
    with use_kernels(False):
        got = ilj.softmax_cross_entropy(jnp.asarray(z), jnp.asarray(y))
    half = z[:4, :16].astype(np.float16)  # a dtype the kernels do not take
    small = ilj.softmax_cross_entropy(jnp.asarray(half), jnp.asarray(y[:4] % 16))
    np.testing.assert_allclose(np.asarray(got), ref, rtol=1e-13)
    ref_half = il.softmax_cross_entropy(half, y[:4] % 16)
    np.testing.assert_allclose(np.asarray(small, np.float32), ref_half, rtol=2e-3)
    assert not calls
    # Any other size takes them: a batch of one row of two classes.
    ilj.softmax_cross_entropy(jnp.asarray(z[:1, :2]), jnp.asarray(y[:1] % 2))
    assert calls


def test_import_infoloss_does_not_import_jax():  # type: ignore[no-untyped-def]
    code = "import sys, infoloss; assert 'jax' not in sys.modules, 'jax imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_docstring_example():  # type: ignore[no-untyped-def]
    import doctest

    failures, tried = doctest.testmod(ilj, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert tried > 0
    assert failures == 0


def _vm_flags(address: int) -> list[str]:
    """The VmFlags of the mapping that holds ``address`` (Linux /proc/self/smaps)."""
    inside = False
    with open("/proc/self/smaps") as f:
        for line in f:
            head = line.split()[0]
            if "-" in head and not head.endswith(":"):
                lo, hi = (int(v, 16) for v in head.split("-"))
                inside = lo <= address < hi
            elif inside and head == "VmFlags:":
                return line.split()[1:]
    raise AssertionError(f"no mapping holds {address:#x}")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="madvise and smaps are Linux")
def test_gradient_buffers_are_advised_huge_pages():  # type: ignore[no-untyped-def]
    # XLA hands the handlers a fresh gradient buffer every call; faulting it in 4 KiB pages
    # cost 3x the kernel's pass at (4096, 32000), so the handler asks for huge pages.
    import mmap

    from infoloss._kernels import _xla_gate

    def _advise_huge(a: np.ndarray) -> None:
        _xla_gate.advise_huge(a.ctypes.data, a.nbytes)

    size = 16 << 20
    region = mmap.mmap(-1, size)  # a fresh anonymous mapping, as a large malloc gives
    a = np.frombuffer(region, np.float32)
    middle = a.ctypes.data + size // 2
    assert "hg" not in _vm_flags(middle)
    _advise_huge(a)
    assert "hg" in _vm_flags(middle)
    small = np.frombuffer(mmap.mmap(-1, 1 << 20), np.float32)  # too small to bother
    _advise_huge(small)
    assert "hg" not in _vm_flags(small.ctypes.data)
    del a, small
