"""The measures beside PyTorch: agreement, and the documented differences."""

from __future__ import annotations

import numpy as np
import pytest

import infoloss as il

torch = pytest.importorskip("torch")
F = torch.nn.functional

RNG = np.random.default_rng(11)


def test_entropy_agrees_with_torch_distributions():
    z = torch.tensor(RNG.normal(0, 3, size=(5, 7)))
    expected = torch.distributions.Categorical(logits=z).entropy()
    torch.testing.assert_close(il.entropy(z, form="logits"), expected, rtol=1e-13, atol=0)


def test_difference_kl_div_argument_order_and_mean():
    p = torch.tensor(RNG.dirichlet(np.ones(4), size=3))
    q = torch.tensor(RNG.dirichlet(np.ones(4), size=3))
    ours = il.kl_divergence(p, q)  # D(P||Q), one value per row
    # PyTorch: log Q first, P second.
    theirs = F.kl_div(q.log(), p, reduction="none").sum(-1)
    torch.testing.assert_close(ours, theirs, rtol=1e-13, atol=0)
    batchmean = F.kl_div(q.log(), p, reduction="batchmean")
    torch.testing.assert_close(ours.mean(), batchmean, rtol=1e-13, atol=0)
    # "mean" divides by every element, N*C, not by the number of distributions.
    with pytest.warns(UserWarning, match="batchmean"):
        mean = F.kl_div(q.log(), p, reduction="mean")
    torch.testing.assert_close(mean, ours.sum() / p.numel(), rtol=1e-13, atol=0)
    assert not torch.isclose(mean, ours.mean())


def test_result_stays_on_torch_and_keeps_dtype():
    p = torch.tensor([[0.25, 0.75]], dtype=torch.float32)
    h = il.entropy(p)
    assert isinstance(h, torch.Tensor)
    assert h.dtype == torch.float32
