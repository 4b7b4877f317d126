r"""Classification losses on logits, each with its analytic gradient.

Every loss takes raw scores (logits) and targets.  ``value_and_grad(loss)(logits,
targets, ...)`` returns a :class:`LossAndGrad` (``loss, grad``): the loss and its gradient
with respect to the logits, in closed form and, for the softmax cross-entropy on NumPy, in
the same fused pass.  (The older spelling ``loss(..., return_grad=True)`` returns the same
pair and is kept.)  Softmax losses read integer class labels or probability distributions as
targets; sigmoid losses read per-element probabilities.  All of them share one set of
options with one meaning:

* ``weight`` -- class weights (softmax) or element weights (sigmoid);
* ``label_smoothing`` ε -- the target moves towards the uniform distribution;
* ``ignore_index`` -- targets to drop;
* ``reduction`` -- ``"mean"`` (weighted mean over the kept samples), ``"sum"`` or ``"none"``.

The semantics are written out in ``docs/losses.md``; in short, for a target distribution
:math:`t_i` (one-hot for a label), ignored class :math:`k` and class weights :math:`w`,

.. math::

    \mathrm{keep}_i = 1 - t_{ik}, \quad
    u_i = t_i \text{ with column } k \text{ zeroed}, \quad
    \tilde p_i = (1-ε)\,u_i + ε\,\mathrm{keep}_i / C, \quad
    s_i = \textstyle\sum_c w_c u_{ic},

and ``"mean"`` divides the summed loss by :math:`\sum_i s_i` (0 when that sum is 0).

Each loss is a forward (per-sample values and what the backward needs) and a backward
(:mod:`infoloss.losses._compose`), split by family: :mod:`~infoloss.losses.softmax`,
:mod:`~infoloss.losses.sigmoid`, with targets in :mod:`~infoloss.losses._targets`.  The
array-API code runs on NumPy, PyTorch, array-api-strict, Dask, JAX and CuPy, the result on
the input's library and device; the softmax cross-entropy on large NumPy arrays runs in
the compiled kernels, which take the same parsed arguments, and on PyTorch and JAX arrays
through the route their adapter registers (:mod:`~infoloss.losses._routes`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from ._compose import LossAndGrad
from .linear import LinearLossAndGrads, linear_cross_entropy
from .sigmoid import sigmoid_binary_cross_entropy, sigmoid_squared_error
from .softmax import logit_squared_error, softmax_cross_entropy, softmax_squared_error

__all__ = [
    "LinearLossAndGrads",
    "LossAndGrad",
    "linear_cross_entropy",
    "logit_squared_error",
    "sigmoid_binary_cross_entropy",
    "sigmoid_squared_error",
    "softmax_cross_entropy",
    "softmax_squared_error",
    "value_and_grad",
]

_LOSSES = (
    logit_squared_error,
    sigmoid_binary_cross_entropy,
    sigmoid_squared_error,
    softmax_cross_entropy,
    softmax_squared_error,
)


def value_and_grad(loss: Callable[..., Any], /) -> Callable[..., LossAndGrad]:
    """The function that returns ``loss``'s value and its gradient with respect to the
    logits, as a :class:`LossAndGrad` named tuple.

    ``loss`` is one of this module's losses; the returned function takes the same
    arguments.  The gradient is the analytic one, of the reduced loss (for
    ``reduction="none"``, the per-sample gradients, i.e. the gradient of the sum).

    Examples
    --------
    >>> import numpy as np
    >>> from infoloss.losses import softmax_cross_entropy, value_and_grad
    >>> z, y = np.array([[2.0, 0.5, -1.0]]), np.array([0])
    >>> loss, grad = value_and_grad(softmax_cross_entropy)(z, y)
    >>> q = np.exp(z) / np.exp(z).sum()
    >>> bool(np.allclose(grad, q - [1.0, 0.0, 0.0]))
    True
    """
    if loss not in _LOSSES:
        raise ValueError(f"`loss` must be one of infoloss.losses' losses; got {loss!r}")

    @functools.wraps(loss)
    def both(*args: Any, **kwargs: Any) -> LossAndGrad:
        if "return_grad" in kwargs:
            raise ValueError("`return_grad` is implied by value_and_grad")
        result: LossAndGrad = loss(*args, return_grad=True, **kwargs)
        return result

    return both
