"""The shared helpers can fail: the kernel spy sees a kernel only where one ran."""

from __future__ import annotations

import numpy as np
import pytest

import infoloss as il
from infoloss._kernels import _layout, use_kernels
from tests._helpers import kernel_calls, kernels_on_and_off


def test_kernel_calls_records_the_kernels_that_ran(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_layout, "MIN_SIZE", 1)
    p = np.full((3, 4), 0.25)
    with kernel_calls() as calls, use_kernels(True):
        il.entropy(p)
        il.mutual_information(p / 3)
        il.softmax_cross_entropy(np.zeros((3, 4)), np.array([0, 1, 2]))
    assert calls[:2] == ["measure_rows", "joint_rows"]
    assert len(calls) == 3, calls
    assert calls[2].startswith("xent_"), calls
    with kernel_calls() as calls, use_kernels(False):
        il.entropy(p)
    assert calls == []


def test_on_and_off_fails_where_no_kernel_ran() -> None:
    half = np.full((2, 2), 0.5, dtype=np.float16)  # no kernel: the array-API code, on or off
    with pytest.raises(AssertionError, match="took no compiled kernel"):
        kernels_on_and_off(il.entropy, half)


def test_on_and_off_returns_both_results(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_layout, "MIN_SIZE", 1)
    p = np.array([[0.5, 0.25, 0.25]])
    on, off = kernels_on_and_off(il.entropy, p)
    np.testing.assert_allclose(on, 1.5 * np.log(2), rtol=1e-15)
    np.testing.assert_allclose(off, 1.5 * np.log(2), rtol=1e-15)
