"""Right values under ``jax.jit``, where XLA may evaluate one expression twice.

XLA fuses element-wise work into each consumer, so ``3 * tanh(z / 3)`` (or GELU, or the
soft-capping inside the loss) can be computed once for the row maximum and again for the
entries, with different roundings: a log-sum-exp that looked for the maximum by
``z − max(z) == 0`` found no entry in such a row and returned ``-inf``.  These tests run
the array-API path under ``jax.jit`` with the logits produced inside the jitted function
and compare it with eager JAX and with NumPy (and with optax when it is installed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")

import infoloss as il  # noqa: E402
import infoloss.jax as ilj  # noqa: E402

DTYPES = [np.float32, np.float64]
# Below the kernels' MIN_SIZE (the array-API path); a leading axis of rows from several
# seeds keeps the number of compilations small.
SHAPES = [(3, 6, 5), (2, 16, 7), (2, 4, 33)]


def _tol(dtype: Any) -> dict[str, float]:
    return {"rtol": 1e-5, "atol": 1e-6} if dtype == np.float32 else {"rtol": 1e-12, "atol": 1e-14}


def _data(shape: tuple[int, ...], dtype: Any, seed: int) -> tuple[Any, Any]:
    rng = np.random.default_rng(seed)
    z = jnp.asarray(3 * rng.standard_normal(shape), dtype)
    y = jnp.asarray(rng.integers(0, shape[-1], shape[:-1]))
    return z, y


def _softcap3(z: Any) -> Any:
    return 3 * jnp.tanh(z / 3)


# The logits a model hands the loss, computed inside the jitted function.
ACTIVATIONS: dict[str, Callable[[Any], Any]] = {
    "identity": lambda z: z,
    "tanh": _softcap3,
    "gelu": jax.nn.gelu,
}


def _cases() -> list[tuple[tuple[int, ...], int]]:
    return [(shape, seed) for seed, shape in enumerate(SHAPES)]


@pytest.mark.parametrize("zloss", [0.0, 0.01])
@pytest.mark.parametrize("dtype", DTYPES)
def test_softcap_under_jit_equals_numpy(dtype: Any, zloss: float) -> None:
    opts = {"softcap": 3.0, "lse_square_scale": zloss}
    for shape, seed in _cases():
        z, y = _data(shape, dtype, seed)

        def per_sample(x: Any, y: Any = y) -> Any:
            return ilj.softmax_cross_entropy(x, y, reduction="none", **opts)

        def total(x: Any, y: Any = y) -> Any:
            return ilj.softmax_cross_entropy(x, y, reduction="sum", **opts)

        zn, yn = np.asarray(z), np.asarray(y)
        ref = il.softmax_cross_entropy(zn, yn, reduction="none", **opts)
        _, ref_grad = il.softmax_cross_entropy(zn, yn, reduction="sum", return_grad=True, **opts)
        got = jax.jit(per_sample)(z)
        assert got.dtype == dtype
        np.testing.assert_allclose(got, ref, **_tol(dtype))
        np.testing.assert_allclose(per_sample(z), ref, **_tol(dtype))
        np.testing.assert_allclose(jax.jit(jax.grad(total))(z), ref_grad, **_tol(dtype))
        np.testing.assert_allclose(jax.grad(jax.jit(total))(z), ref_grad, **_tol(dtype))


@pytest.mark.parametrize("act", sorted(ACTIVATIONS))
@pytest.mark.parametrize("dtype", DTYPES)
def test_logits_computed_under_jit(dtype: Any, act: str) -> None:
    f = ACTIVATIONS[act]
    for shape, seed in _cases():
        z, y = _data(shape, dtype, seed)

        def per_sample(x: Any, y: Any = y) -> Any:
            return ilj.softmax_cross_entropy(f(x), y, reduction="none")

        def mean(x: Any, y: Any = y) -> Any:
            return ilj.softmax_cross_entropy(f(x), y)

        ref = il.softmax_cross_entropy(np.asarray(f(z)), np.asarray(y), reduction="none")
        np.testing.assert_allclose(jax.jit(per_sample)(z), ref, **_tol(dtype))
        # Eager JAX runs one operation at a time (nothing is recomputed): the oracle of
        # the chain rule through the activation.
        want = jax.grad(mean)(z)
        np.testing.assert_allclose(jax.jit(jax.grad(mean))(z), want, **_tol(dtype))
        # and the eager gradient is the analytic one: (softmax − onehot) / N through f
        q = jax.nn.softmax(f(z), axis=-1)
        onehot = jax.nn.one_hot(y, shape[-1], dtype=dtype)
        _, pullback = jax.vjp(f, z)
        (analytic,) = pullback((q - onehot) / np.prod(shape[:-1]))
        np.testing.assert_allclose(want, analytic, **_tol(dtype))


@pytest.mark.parametrize("act", sorted(ACTIVATIONS))
@pytest.mark.parametrize("dtype", DTYPES)
def test_measures_of_logits_under_jit(dtype: Any, act: str) -> None:
    f = ACTIVATIONS[act]

    def measures(a: Any, b: Any) -> list[Any]:
        return [
            il.entropy(a, form="logits"),
            il.cross_entropy(a, b, form="logits"),
            il.kl_divergence(a, b, form="logits"),
            il.js_divergence(a, b, form="logits"),
        ]

    def on_logits(a: Any, b: Any) -> list[Any]:
        return measures(f(a), f(b))

    def total(a: Any, b: Any) -> Any:
        return sum(jnp.sum(v) for v in on_logits(a, b))

    for shape, seed in _cases():
        z, _ = _data(shape, dtype, seed)
        z2, _ = _data(shape, dtype, seed + 100)
        refs = measures(np.asarray(f(z)), np.asarray(f(z2)))
        for got, ref in zip(jax.jit(on_logits)(z, z2), refs, strict=True):
            assert np.all(np.isfinite(got))
            np.testing.assert_allclose(got, ref, **_tol(dtype))
        want = jax.grad(total)(z, z2)
        np.testing.assert_allclose(jax.jit(jax.grad(total))(z, z2), want, **_tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_measures_of_probabilities_under_jit(dtype: Any) -> None:
    # The probability form scales each row by its maximum: the same flaw, with
    # ``p / max(p) == 1`` as the test for the maximum.
    for shape, seed in _cases():
        z, _ = _data(shape, dtype, seed)
        z2, _ = _data(shape, dtype, seed + 100)

        def probs(x: Any) -> Any:
            return jax.nn.softmax(jax.nn.gelu(x), axis=-1)

        pairs: dict[str, Callable[[Any, Any], Any]] = {
            "entropy": lambda a, b: il.entropy(a),
            "entropy_normalized": lambda a, b: il.entropy(2 * a, normalize=True),
            "kl_divergence": lambda a, b: il.kl_divergence(a, b, normalize=True),
        }
        for name, m in pairs.items():
            ref = m(np.asarray(probs(z)), np.asarray(probs(z2)))
            got = jax.jit(lambda a, b, m=m: m(probs(a), probs(b)))(z, z2)
            np.testing.assert_allclose(got, ref, **_tol(dtype), err_msg=name)


@pytest.mark.parametrize("dtype", DTYPES)
def test_against_optax_under_jit(dtype: Any) -> None:
    optax = pytest.importorskip("optax")
    for shape, seed in _cases():
        z, y = _data(shape, dtype, seed)
        for f in ACTIVATIONS.values():

            def ours(x: Any, y: Any = y, f: Any = f) -> Any:
                return ilj.softmax_cross_entropy(f(x), y, reduction="none")

            def theirs(x: Any, y: Any = y, f: Any = f) -> Any:
                return optax.softmax_cross_entropy_with_integer_labels(f(x), y)

            np.testing.assert_allclose(jax.jit(ours)(z), jax.jit(theirs)(z), **_tol(dtype))
            grads = [jax.jit(jax.grad(lambda x, fn=fn: jnp.sum(fn(x))))(z) for fn in (ours, theirs)]
            np.testing.assert_allclose(*grads, **_tol(dtype))
