"""The framework adapters: which module of this package serves which array library.

:func:`infoloss.softmax_cross_entropy` hands arrays of PyTorch, JAX and Dask to the route
their adapter registers (:mod:`infoloss.losses._routes`).  A caller who passes a tensor without
having imported :mod:`infoloss.torch` still gets that route: the loader below imports the
adapter the first time an array of its library arrives.

This module is the top of the import graph for the adapters: it imports the routes'
registry (downward) and, on demand, the adapters; neither the adapters nor anything they
import imports it.  The package's ``__init__`` is the one place to import it, so that the
loader is installed before the first call.  Importing it imports no framework.
"""

from __future__ import annotations

import importlib

from .losses import _routes

__all__ = ["ADAPTERS", "load"]

# The one table: an array's top-level package -> the adapter that registers its route.
ADAPTERS = {
    "torch": "infoloss.torch",
    "jax": "infoloss.jax",
    "jaxlib": "infoloss.jax",
    "dask": "infoloss._dask",
}


def load(library: str) -> None:
    """Import the adapter of ``library`` (which registers its route), if it has one."""
    module = ADAPTERS.get(library)
    if module is not None:
        importlib.import_module(module)


_routes.set_loader(load)
