"""Estimators of entropy and mutual information from samples or counts.

The measures in :mod:`infoloss` take distributions.  What most people hold is data: a column
of labels, a sequence of symbols, two columns whose dependence they want to know.  This
package estimates the same quantities from samples (or from counts), with the bias
corrections people use, batched along an axis, on NumPy and on Dask.
"""

from . import _continuous, _discrete, _ranking
from ._continuous import *  # noqa: F403
from ._discrete import *  # noqa: F403
from ._ranking import *  # noqa: F403

__all__: list[str] = []
__all__ += _discrete.__all__
__all__ += _continuous.__all__
__all__ += _ranking.__all__
