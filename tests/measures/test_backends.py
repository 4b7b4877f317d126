"""Every measure on every installed array library: same answers, result on that library."""

from __future__ import annotations

import math

import numpy as np
import pytest

import infoloss as il
from tests._helpers import to_numpy

RNG = np.random.default_rng(3)
P = RNG.dirichlet(np.ones(6), size=4)
Q = RNG.dirichlet(np.ones(6), size=4)
P[0, :2] = 0.0
P[0] /= P[0].sum()
Z = RNG.normal(0, 3, size=(4, 6))
Z[1, 0] = -np.inf
PXY = RNG.dirichlet(np.ones(12), size=2).reshape(2, 3, 4)

CASES = [
    ("entropy", lambda f, xp: f.entropy(xp.asarray(P), base=2)),
    ("entropy-logits", lambda f, xp: f.entropy(xp.asarray(Z), form="logits")),
    ("cross_entropy", lambda f, xp: f.cross_entropy(xp.asarray(P), xp.asarray(Q))),
    (
        "cross_entropy-mixed",
        lambda f, xp: f.cross_entropy(xp.asarray(P), xp.asarray(Z), form=("probs", "logits")),
    ),
    ("kl", lambda f, xp: f.kl_divergence(xp.asarray(P), xp.asarray(Q))),
    ("kl-logits", lambda f, xp: f.kl_divergence(xp.asarray(Z), xp.asarray(Z * 0.5), form="logits")),
    ("js", lambda f, xp: f.js_divergence(xp.asarray(P), xp.asarray(Q))),
    ("js-logits", lambda f, xp: f.js_divergence(xp.asarray(Z), xp.asarray(Z * 0.5), form="logits")),
    ("perplexity", lambda f, xp: f.perplexity(xp.asarray(P))),
    ("self_information", lambda f, xp: f.self_information(xp.asarray(P))),
    ("self_information-logits", lambda f, xp: f.self_information(xp.asarray(Z), form="logits")),
    ("joint", lambda f, xp: f.joint_entropy(xp.asarray(PXY))),
    ("conditional", lambda f, xp: f.conditional_entropy(xp.asarray(PXY))),
    ("mutual", lambda f, xp: f.mutual_information(xp.asarray(PXY))),
    ("axis0", lambda f, xp: f.entropy(xp.asarray(P.T.copy()), axis=0)),
]


@pytest.mark.parametrize(("name", "call"), CASES, ids=[c[0] for c in CASES])
def test_backend_matches_numpy(xp, name, call):
    expected = call(il, np)
    got = call(il, xp)
    if xp is not np:
        assert (
            type(got).__module__.split(".")[0] == xp.asarray(P).__class__.__module__.split(".")[0]
        )
    np.testing.assert_allclose(to_numpy(got), expected, rtol=1e-12)


def test_backend_errors_name_the_argument(xp):
    def call():  # type: ignore[no-untyped-def]
        out = il.kl_divergence(xp.asarray(P), xp.asarray(-Q))
        return out.compute() if hasattr(out, "compute") else out  # Dask: raises at compute

    with pytest.raises(ValueError, match="`q` contains negative"):
        call()


def _count_computes(da):  # type: ignore[no-untyped-def]
    from dask.callbacks import Callback

    class Count(Callback):  # type: ignore[misc]
        n = 0

        def _start(self, dsk):  # type: ignore[no-untyped-def]
            Count.n += 1

    return Count


# Each call takes ``lift`` (dask.array.from_array, or np.asarray for the reference).
DASK_CALLS = [
    lambda lift, a, b: il.entropy(a),
    lambda lift, a, b: il.entropy(a, form="logits"),
    lambda lift, a, b: il.kl_divergence(a, a[::-1]),
    lambda lift, a, b: il.js_divergence(a, b, form=("probs", "logits")),
    lambda lift, a, b: il.cross_entropy(a, 3 * a[::-1], normalize=True),
    lambda lift, a, b: il.mutual_information(a.reshape((4, 2, 3))),
    lambda lift, a, b: il.losses.softmax_cross_entropy(b, lift(np.arange(4) % 6)),
]


@pytest.mark.parametrize("call", DASK_CALLS)
def test_dask_is_computed_once_by_the_user(call):
    da = pytest.importorskip("dask.array")
    Count = _count_computes(da)
    a, b = da.from_array(P, chunks=2), da.from_array(Z, chunks=2)
    with Count():
        out = call(da.from_array, a, b)
        assert Count.n == 0, "building the result computed the graph"
        value = out.compute()
    assert Count.n == 1
    np.testing.assert_allclose(value, call(np.asarray, P, Z), rtol=1e-12)


def test_dask_bad_data_raises_at_compute_with_the_same_words():
    da = pytest.importorskip("dask.array")
    bad = P.copy()
    bad[2, 1] = np.nan
    lazy = il.entropy(da.from_array(bad, chunks=2))
    with pytest.raises(ValueError, match="`p` contains NaN"):
        lazy.compute()
    with pytest.raises(ValueError, match="`p` has rows that do not sum to 1"):
        il.entropy(da.from_array(P * 1.1, chunks=2)).compute()


def test_torch_gradient_is_finite_at_zero_probabilities():
    torch = pytest.importorskip("torch")
    z = torch.tensor([[2.0, -torch.inf, 0.5]], dtype=torch.float64, requires_grad=True)
    p = torch.tensor([[0.5, 0.0, 0.5]], dtype=torch.float64)
    h = il.cross_entropy(p, z, form=("probs", "logits"))
    h.sum().backward()
    assert torch.all(torch.isfinite(z.grad))
    q = torch.softmax(z.detach(), dim=-1)
    torch.testing.assert_close(z.grad, q - p)


def test_jax_jit_with_validate_false():
    jax = pytest.importorskip("jax")
    jnp = pytest.importorskip("jax.numpy")
    jax.config.update("jax_enable_x64", True)
    z = jnp.asarray(Z)
    p = jnp.asarray(P)
    jitted = jax.jit(lambda a, b: il.cross_entropy(a, b, form=("probs", "logits"), validate=False))
    np.testing.assert_allclose(
        np.asarray(jitted(p, z)), il.cross_entropy(P, Z, form=("probs", "logits")), rtol=1e-13
    )
    loss_grad = jax.jit(
        lambda a: il.softmax_cross_entropy(
            a, jnp.asarray([0, 1, 2, 3]), validate=False, return_grad=True
        )
    )
    _, grad = loss_grad(z)
    autodiff = jax.grad(
        lambda a: il.softmax_cross_entropy(a, jnp.asarray([0, 1, 2, 3]), validate=False)
    )(z)
    np.testing.assert_allclose(np.asarray(grad), np.asarray(autodiff), rtol=1e-12, atol=1e-15)


# --- autograd through the measures and losses: never NaN where the gradient is finite -------


def test_torch_js_gradient_with_minus_inf_logits_on_both_sides():
    torch = pytest.importorskip("torch")
    zp = torch.tensor([[0.0, -math.inf, 1.0], [2.0, -math.inf, -math.inf]], requires_grad=True)
    zq = torch.tensor([[1.0, -math.inf, 0.0], [0.0, 1.0, -math.inf]], requires_grad=True)
    js = il.js_divergence(zp, zq, form="logits").sum()
    js.backward()
    # Reference: the same JS on the finite logits only (a -inf class has probability 0).
    ap = torch.tensor([[0.0, 1.0], [2.0, -1e4]], dtype=torch.float64, requires_grad=True)
    aq = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64, requires_grad=True)

    def js_ref(a, b):  # type: ignore[no-untyped-def]
        p, q = torch.softmax(a, -1), torch.softmax(b, -1)
        m = (p + q) / 2
        return 0.5 * (p * (p / m).log()).sum() + 0.5 * (q * (q / m).log()).sum()

    assert torch.isfinite(zp.grad).all()
    assert torch.isfinite(zq.grad).all()
    ref0 = torch.autograd.grad(js_ref(ap[:1], aq[:1]), (ap,))[0]
    np.testing.assert_allclose(zp.grad[0, [0, 2]].numpy(), ref0[0].numpy(), rtol=1e-5)
    assert float(zp.grad[0, 1]) == 0.0


def test_torch_sigmoid_squared_error_gradient_at_zero():
    torch = pytest.importorskip("torch")
    z = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0.0, 1.0, 0.3], dtype=torch.float64)
    il.sigmoid_squared_error(z, y, reduction="sum").backward()
    # d/dz ½(σ(z) − y)² = (σ(z) − y) σ'(z) = (0.5 − y) / 4 at z = 0.
    np.testing.assert_allclose(z.grad.numpy(), (0.5 - y.numpy()) / 4, rtol=1e-15)


def test_torch_logit_squared_error_minus_inf_on_an_ignored_sample():
    torch = pytest.importorskip("torch")
    z = torch.tensor([[0.5, -math.inf, 1.0], [0.2, 0.1, -0.3]], requires_grad=True)
    y = torch.tensor([-100, 2])
    loss = il.logit_squared_error(z, y, ignore_index=-100)
    loss.backward()
    assert torch.isfinite(loss)
    assert torch.isfinite(z.grad).all()
    assert torch.all(z.grad[0] == 0)
    _, g = il.value_and_grad(il.logit_squared_error)(
        z.detach().numpy(), y.numpy(), ignore_index=-100
    )
    np.testing.assert_allclose(z.grad.numpy(), g, rtol=1e-6)


# --- inputs: the same answer and the same words on every path ------------------------------


def test_numpy_integer_axis_is_accepted_on_every_path():
    from infoloss._kernels import use_kernels

    p = np.full((3, 20_000), 1 / 20_000)
    for flag in (True, False):
        with use_kernels(flag):
            np.testing.assert_allclose(il.entropy(p, axis=np.int64(1)), np.log(20_000))
            np.testing.assert_allclose(il.entropy(p.T, axis=np.int32(0)), np.log(20_000))


def test_list_beside_a_float64_tensor_is_float64():
    torch = pytest.importorskip("torch")
    q = torch.tensor([1 / 3, 1 / 3, 1 / 3], dtype=torch.float64)
    p = [0.1, 0.2, 0.7]  # sums to 1 in float64, not exactly in float32
    out = il.kl_divergence(p, q)
    assert out.dtype == torch.float64
    np.testing.assert_allclose(float(out), il.kl_divergence(np.array(p), q.numpy()), rtol=1e-15)


def test_ragged_lists_and_mixed_libraries_name_the_argument():
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError, match="`p` is not a rectangular array"):
        il.entropy([[0.5, 0.5], [1.0]])
    with pytest.raises(ValueError, match="`q`"):
        il.kl_divergence(np.array([0.5, 0.5]), torch.tensor([0.5, 0.5]))
    with pytest.raises(ValueError, match="`axes`"):
        il.mutual_information(np.full((2, 2), 0.25), axes=(0, 5))
