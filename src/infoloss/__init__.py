"""infoloss: exact information measures and the classification losses built from them.

>>> import infoloss as il
>>> float(il.entropy([0.5, 0.5], base=2))
1.0
"""

# installs the loader that imports a framework's adapter when its first array arrives
from . import _frameworks  # noqa: F401
from .losses import (
    LinearLossAndGrads,
    LossAndGrad,
    linear_cross_entropy,
    logit_squared_error,
    sigmoid_binary_cross_entropy,
    sigmoid_squared_error,
    softmax_cross_entropy,
    softmax_squared_error,
    value_and_grad,
)
from .measures import (
    conditional_entropy,
    cross_entropy,
    entropy,
    joint_entropy,
    js_divergence,
    kl_divergence,
    mutual_information,
    perplexity,
    self_information,
)

__all__ = [
    "LinearLossAndGrads",
    "LossAndGrad",
    "__version__",
    "conditional_entropy",
    "cross_entropy",
    "entropy",
    "joint_entropy",
    "js_divergence",
    "kl_divergence",
    "linear_cross_entropy",
    "logit_squared_error",
    "mutual_information",
    "perplexity",
    "self_information",
    "sigmoid_binary_cross_entropy",
    "sigmoid_squared_error",
    "softmax_cross_entropy",
    "softmax_squared_error",
    "value_and_grad",
]

__version__ = "0.3.0.dev0"
