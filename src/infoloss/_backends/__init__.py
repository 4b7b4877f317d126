"""Implementations the pipeline selects from: the fused numba kernels (``numba``)."""
