"""The loss lab: does cross-entropy really train classifiers better than squared error?

Pure-NumPy experiments on small datasets, with every loss value and gradient computed by
infoloss itself:

* :func:`run_demo` runs everything and writes a self-contained HTML report and its
  ``results.json``; :func:`summary_table` formats the findings as text.
* :func:`train` compares losses on one dataset (built-in or a ``.csv``/``.npz`` file) with
  one model; :func:`train_table` formats its results.

matplotlib, scikit-learn and tqdm (the ``lab`` extra) are imported only when a function
needs them, so importing this package stays light.
"""

from ._data import BUILTIN_DATASETS, load_dataset
from ._experiment import LR_GRID, train, train_table
from ._models import LOSSES, MODELS
from ._report import run_demo, summary_table

__all__ = [
    "BUILTIN_DATASETS",
    "LOSSES",
    "LR_GRID",
    "MODELS",
    "load_dataset",
    "run_demo",
    "summary_table",
    "train",
    "train_table",
]
