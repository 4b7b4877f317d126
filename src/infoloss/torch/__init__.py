"""PyTorch: the fused softmax cross-entropy kernels as autograd operators.

Importing this package imports torch (``import infoloss`` does not).  It provides

* two operators, ``torch.ops.infoloss.softmax_xent_forward`` and
  ``torch.ops.infoloss.softmax_xent_backward``, the compiled kernels' ``xent_forward`` and
  ``xent_backward`` registered with :func:`torch.library.custom_op`, a fake (meta)
  implementation and :func:`torch.library.register_autograd`, so that autograd,
  ``torch.compile(fullgraph=True)``, :func:`torch.library.opcheck` and
  :func:`torch.autograd.gradcheck` see ordinary operators;
* :func:`cross_entropy` and :class:`CrossEntropyLoss`, drop-ins for
  :func:`torch.nn.functional.cross_entropy` and :class:`torch.nn.CrossEntropyLoss`
  (class axis 1), whose differences are listed in ``docs/torch.md``;
* :func:`linear_cross_entropy`, the linear layer and the cross-entropy in chunks of rows,
  on the operators ``torch.ops.infoloss.linear_xent`` and ``linear_xent_backward``;
* :func:`softmax_cross_entropy_route`, the route (see :mod:`infoloss.losses._routes`)
  through which :func:`infoloss.softmax_cross_entropy` sends CPU tensors to the same
  operators; importing this package registers it.

The operators run on CPU float32/float64 tensors viewed as NumPy arrays without a copy
(``tensor.detach().numpy()``); a copy is made only where no small set of (N, C) views
covers the memory.  They read the caller's tensors and never write into them: the
gradient is fresh memory.  The forward returns, besides the per-sample losses, what the
backward needs (each row's log-sum-exp) and the counts of bad entries that the validator
reads, so bad data costs no second pass on the good path.

Both operators, the drop-ins and the linear cross-entropy take the two options
large-vocabulary training uses beyond PyTorch's signature: the z-loss
(``lse_square_scale``) and logit soft-capping (``softcap``), with the meaning of
:func:`infoloss.softmax_cross_entropy`.

The modules: ``_views`` (NumPy views of tensors, the kernels' arguments per block of
rows), ``_ops`` (the softmax operators), ``_route`` (the route and the reductions),
``_eager`` (the drop-in's short path for small batches), ``_dropin`` (the drop-ins),
``_linear`` (the linear cross-entropy).
"""

from __future__ import annotations

from ..losses._routes import register_route
from ._dropin import CrossEntropyLoss, cross_entropy
from ._linear import linear_cross_entropy, linear_xent, linear_xent_backward
from ._ops import softmax_xent_backward, softmax_xent_forward, softmax_xent_fused
from ._route import softmax_cross_entropy_route

__all__ = [
    "CrossEntropyLoss",
    "cross_entropy",
    "linear_cross_entropy",
    "linear_xent",
    "linear_xent_backward",
    "softmax_cross_entropy_route",
    "softmax_xent_backward",
    "softmax_xent_forward",
    "softmax_xent_fused",
]

register_route("torch", softmax_cross_entropy_route)
