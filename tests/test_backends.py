"""Every measure on every installed array library: same answers, result on that library."""

from __future__ import annotations

import numpy as np
import pytest

import infoloss as il
from conftest import to_numpy

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
    with pytest.raises(ValueError, match="`q` contains negative"):
        il.kl_divergence(xp.asarray(P), xp.asarray(-Q))


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
