r"""JAX: the fused softmax cross-entropy kernels as a differentiable JAX operation.

``import infoloss.jax`` (it imports JAX; ``import infoloss`` does not) gives:

* :func:`softmax_cross_entropy`, a functional loss for jitted training steps (and the
  same computation ``infoloss.softmax_cross_entropy`` runs for JAX arrays);
* :func:`softmax_cross_entropy_route`, the route (see :mod:`infoloss.losses._routes`)
  through which :func:`infoloss.losses.softmax_cross_entropy` sends CPU JAX arrays to the
  kernels; importing this package registers it.

How it runs.  The compiled kernels (``xent_forward``, ``xent_backward``, ``xent_fused`` of
:mod:`infoloss._kernels`) are registered with XLA as CPU FFI targets
(``jax.ffi.ffi_call``): XLA hands the handler its input and output buffers, and the
kernels read the logits and write the gradient in place, with no copy in either direction.
(``jax.pure_callback`` copies its inputs and outputs; on (4096, 32000) float32 that costs
about a second per call, twenty times the kernel.)  The handlers are compiled
(``infoloss._kernels._xla_gate``, against the XLA FFI C ABI of ``xla/ffi/api/c_api.h``):
a call costs XLA a few microseconds and no Python, so the kernels serve every batch
size, from 64×10 up.  ``jax.custom_vjp`` gives the pair a gradient: the forward saves the
row log-sum-exp (as a float32 hi/lo pair when the logits are float32, since JAX without
x64 has no float64), the backward reads the logits once more and writes
``upstream_i · ∂ℓ_i/∂z_i``; under differentiation the reduced loss's forward is the fused
pass, which writes the gradient as it reads the logits.  Gradients with respect to
probability targets and class weights are formed in ``jax.numpy`` only where they are
asked for.  Batching (``jax.vmap``) uses ``vmap_method="expand_dims"``: the handler loops
over the batch.

Validation follows :mod:`infoloss._validate`: on concrete arrays the kernels' counts of
bad entries decide which checks run, and bad data raises the same ``ValueError`` as
NumPy; under ``jax.jit`` a failing check turns the loss into NaN (``validate=False`` skips
the checks).  The route returns None (so the array-API code runs) where the kernels do
not apply: kernels switched off, a backend other than the CPU, dtypes other than
float32/float64, empty logits, ``grad_out`` (JAX arrays are immutable), or probability
targets with ``ignore_index``.

The modules: ``_calls`` (the FFI targets' registration and the one function that calls
them), ``_ops`` (the ``jax.custom_vjp`` operations), ``_route`` (the route).
"""

from __future__ import annotations

from typing import Literal

from .._xp import Array
from ..losses._routes import register_route
from ..losses.softmax import softmax_cross_entropy as _loss
from ._route import softmax_cross_entropy_route

__all__ = ["softmax_cross_entropy", "softmax_cross_entropy_route"]

Reduction = Literal["mean", "sum", "none"]

register_route("jax", softmax_cross_entropy_route)
register_route("jaxlib", softmax_cross_entropy_route)


def softmax_cross_entropy(
    logits: Array,
    labels_or_probs: Array,
    /,
    *,
    axis: int = -1,
    weight: Array | None = None,
    label_smoothing: float = 0.0,
    ignore_index: int | None = None,
    reduction: Reduction = "mean",
    lse_square_scale: float = 0.0,
    softcap: float | None = None,
    validate: bool = True,
) -> Array:
    r"""Softmax cross-entropy of JAX logits, for jitted training steps.

    :func:`infoloss.losses.softmax_cross_entropy` with JAX in mind: the same loss,
    options and edge cases, differentiable with ``jax.grad`` (through the fused kernels on
    the CPU; through ``jax.numpy`` elsewhere), usable under ``jax.jit`` and ``jax.vmap``.

    Parameters
    ----------
    logits : jax.Array
        Unnormalised log-probabilities, classes along ``axis``.
    labels_or_probs : jax.Array
        Integer labels (``logits.shape`` without ``axis``) or target distributions
        (``logits.shape``).
    axis, weight, label_smoothing, ignore_index, reduction, lse_square_scale, softcap
        As in :func:`infoloss.losses.softmax_cross_entropy` (z-loss and soft-capping are
        static options: changing them retraces a jitted function).
    validate : bool
        Check the data: on concrete arrays bad data raises ``ValueError``; under
        ``jax.jit`` the loss becomes NaN where a check fails.  ``False`` skips the checks.

    Returns
    -------
    jax.Array
        A scalar, or one loss per sample for ``reduction="none"``.

    Notes
    -----
    Beside optax (``optax.softmax_cross_entropy(logits, labels)`` for distributions,
    ``optax.softmax_cross_entropy_with_integer_labels(logits, labels)`` for labels): the
    per-sample values equal optax's (``reduction="none"``); optax never reduces (this
    defaults to ``"mean"``), takes no class weights, smoothing (``optax.smooth_labels``
    is separate) or ``ignore_index`` (optax has ``where=``), does not validate, and
    its distribution form gives NaN for a ``-inf`` logit on a class with zero target
    probability, where this gives the exact value.  See ``docs/jax.md``.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from infoloss.jax import softmax_cross_entropy
    >>> z = jnp.array([[2.0, 0.5, -1.0], [0.0, 0.0, 3.0]])
    >>> y = jnp.array([0, 2])
    >>> g = jax.grad(softmax_cross_entropy)(z, y)
    >>> bool(jnp.allclose(g, (jax.nn.softmax(z) - jax.nn.one_hot(y, 3)) / 2))
    True
    """
    result: Array = _loss(
        logits,
        labels_or_probs,
        axis=axis,
        weight=weight,
        label_smoothing=label_smoothing,
        ignore_index=ignore_index,
        reduction=reduction,
        lse_square_scale=lse_square_scale,
        softcap=softcap,
        validate=validate,
    )
    return result
