"""The compiled kernels against NumPy/mpmath references, and the public functions with
the kernels on and off.  No timings here: see benchmarks/."""

from __future__ import annotations

import math
import os
import subprocess
import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose as _close

import infoloss as il
from infoloss import _kernels as K
from infoloss._kernels import _layout
from infoloss.losses import softmax_cross_entropy
from tests._helpers import kernels_on_and_off

DTYPES = [np.float32, np.float64]
RTOL = {np.float32: 1e-6, np.float64: 1e-13}


def _rng() -> np.random.Generator:
    return np.random.default_rng(20240601)


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z.astype(np.float64)
    m = z.max(axis=-1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))


def _softmax(z: np.ndarray) -> np.ndarray:
    return np.exp(_log_softmax(z))


def _xlogy(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    out = np.zeros(np.broadcast(x, y).shape)
    pos = x > 0
    out[pos] = x[pos] * np.log(y[pos]) if np.all(y[pos] > 0) else _xlogy_inf(x, y, pos)
    return out


def _xlogy_inf(x: np.ndarray, y: np.ndarray, pos: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return x[pos] * np.log(y[pos])


# --- import hygiene and switches ---------------------------------------------------------


def test_import_does_not_import_numba() -> None:
    code = (
        "import sys, numpy as np, infoloss, infoloss._kernels._layout, infoloss._kernels.info; "
        "infoloss.entropy(np.full((64, 512), 1 / 512)); "
        "assert 'numba' not in sys.modules, 'numba imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_use_kernels_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    assert K.enabled()
    with K.use_kernels(False):
        assert not K.enabled()
        assert _layout.row_blocks(np.full((200, 100), 0.01)) is None
    assert K.enabled()
    monkeypatch.setattr(K, "_ENV_ON", False)  # INFOLOSS_DISABLE_KERNELS=1 at import
    assert not K.enabled()
    with K.use_kernels(True):
        assert K.enabled()


def test_environment_switch_turns_the_kernels_off() -> None:
    code = (
        "import infoloss._kernels as K, infoloss._kernels._layout as L, numpy as np\n"
        "assert not K.enabled()\n"
        "assert L.row_blocks(np.full((200, 100), 0.01)) is None\n"
        "with K.use_kernels(True):\n"
        "    assert K.enabled()\n"
    )
    env = {**os.environ, "INFOLOSS_DISABLE_KERNELS": "1"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


def test_small_inputs_fall_back() -> None:
    assert _layout.row_blocks(np.full((4, 4), 0.25)) is None
    assert _layout.row_blocks([[0.5, 0.5]] * 10000) is None  # not a NumPy array
    assert _layout.row_blocks(np.full((200, 100), 1, dtype=np.int64)) is None
    assert _layout.row_blocks(np.full((200, 100), 0.01)) is not None


# --- the public functions, kernels on and off -----------------------------------------------


def _probs_3d(dtype: type) -> tuple[np.ndarray, np.ndarray]:
    rng = _rng()
    p = _softmax(np.moveaxis(rng.standard_normal((16, 9, 400)) * 2, -1, 1))
    q = _softmax(np.moveaxis(rng.standard_normal((16, 9, 400)) * 2, -1, 1))
    return np.moveaxis(p, -1, 1).astype(dtype), np.moveaxis(q, -1, 1).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["entropy", "cross_entropy", "kl_divergence", "js_divergence"])
def test_public_measures_fast_equals_slow(dtype: type, name: str) -> None:
    p, q = _probs_3d(dtype)  # the outcome axis is axis 1
    f = getattr(il, name)
    args = (p,) if name == "entropy" else (p, q)
    for kwargs in ({"axis": 1}, {"axis": 1, "base": 2}, {"axis": 1, "normalize": True}):
        fast, slow = kernels_on_and_off(
            f, *(a * 2 if kwargs.get("normalize") else a for a in args), **kwargs
        )
        assert fast.dtype == slow.dtype == dtype
        assert fast.shape == slow.shape
        _close(fast, slow, {np.float32: 2e-5, np.float64: 1e-12}[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_public_logit_measures_fast_equals_slow(dtype: type) -> None:
    rng = _rng()
    z = (rng.standard_normal((50, 700)) * 3).astype(dtype)
    z[:, :3] = -np.inf
    zq = (rng.standard_normal((50, 700)) * 3).astype(dtype)
    tol = {np.float32: 2e-5, np.float64: 1e-12}[dtype]
    _close(*kernels_on_and_off(il.entropy, z, form="logits"), tol)
    _close(*kernels_on_and_off(il.kl_divergence, z, zq, form="logits"), tol)


def test_public_measures_raise_the_same_errors() -> None:
    p, _ = _probs_3d(np.float64)
    for bad_value in (np.nan, -0.1, np.inf):
        bad = p.copy()
        bad[3, 5, 2] = bad_value
        msgs = []
        for flag in (True, False):
            with K.use_kernels(flag), pytest.raises(ValueError, match="`p`") as info:
                il.entropy(bad, axis=1)
            msgs.append(str(info.value))
        assert msgs[0] == msgs[1]
    off = p.copy()
    off[1, :, 1] *= 1.5
    msgs = []
    for flag in (True, False):
        with K.use_kernels(flag), pytest.raises(ValueError, match="`q`") as info:
            il.kl_divergence(p, off, axis=1)
        msgs.append(str(info.value))
    assert msgs[0] == msgs[1]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "options",
    [
        {},
        {"reduction": "sum", "label_smoothing": 0.1},
        {"reduction": "none", "weight": "w", "ignore_index": -100},
        {"weight": "w", "label_smoothing": 0.2, "ignore_index": -100},
    ],
)
def test_public_softmax_cross_entropy_fast_equals_slow(dtype, options) -> None:  # type: ignore[no-untyped-def]
    rng = _rng()
    z = (rng.standard_normal((32, 500, 3)) * 3).astype(dtype)  # classes on axis 1
    y = rng.integers(0, 500, (32, 3))
    opts = dict(options)
    if "weight" in opts:
        opts["weight"] = rng.uniform(0.5, 2, 500).astype(dtype)
    if "ignore_index" in opts:
        y[::5] = -100
    tol = {np.float32: 2e-5, np.float64: 1e-12}[dtype]
    (lf, gf), (ls, gs) = kernels_on_and_off(
        softmax_cross_entropy, z, y, axis=1, return_grad=True, **opts
    )
    _close(lf, ls, tol)
    _close(gf, gs, tol, atol=tol * 1e-3)
    assert gf.shape == gs.shape == z.shape
    t = np.moveaxis(np.eye(500, dtype=dtype)[np.clip(y, 0, None)], -1, 1)
    if "ignore_index" in opts:
        opts["ignore_index"] = 4
    (lf, gf), (ls, gs) = kernels_on_and_off(
        softmax_cross_entropy, z, t, axis=1, return_grad=True, **opts
    )
    _close(lf, ls, tol)
    _close(gf, gs, tol, atol=tol * 1e-3)
    out = np.empty_like(z)
    opts["ignore_index"] = options.get("ignore_index")
    with K.use_kernels(True):
        lo, g_out = softmax_cross_entropy(z, y, axis=1, return_grad=True, grad_out=out, **opts)
    assert g_out is out
    _close(lo, ls if "ignore_index" not in options else lo, tol)


def test_public_softmax_cross_entropy_all_ignored() -> None:
    z = _rng().standard_normal((100, 300))
    y = np.full(100, -100)
    fast, slow = kernels_on_and_off(
        softmax_cross_entropy, z, y, ignore_index=-100, return_grad=True
    )
    assert fast[0] == slow[0] == 0
    np.testing.assert_array_equal(fast[1], slow[1])


# --- nearly deterministic rows and online-maximum edges -------------------------------------


def _mp_lse_parts(z: np.ndarray):  # type: ignore[no-untyped-def]
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 50
    zs = [mpmath.mpf(float(v)) for v in z if np.isfinite(v)]
    lse = mpmath.log(mpmath.fsum(mpmath.exp(v) for v in zs))
    return mpmath, zs, lse


def test_dominant_logit_keeps_relative_accuracy() -> None:
    # One logit far above the rest: H ≈ Σ rest ≈ 1e-4, the loss at the maximum ≈ 1e-5.
    # log(1 + rest) rounds away rest's low bits; log1p(rest) does not.
    rng = _rng()
    z = rng.normal(0, 20, size=(2, 100_000))
    z[1, 5000] = z[1].max() + 1.0  # the maximum arrives after the first chunk
    y = z.argmax(axis=1)
    t = np.zeros_like(z)
    t[np.arange(2), y] = 1.0
    ref_h, ref_l = [], []
    for i in range(2):
        mpmath, zs, lse = _mp_lse_parts(z[i])
        ref_h.append(float(-mpmath.fsum(mpmath.exp(v - lse) * (v - lse) for v in zs)))
        ref_l.append(float(lse - mpmath.mpf(float(z[i, y[i]]))))
    for h, loss, lp in zip(
        kernels_on_and_off(il.entropy, z, form="logits"),
        kernels_on_and_off(softmax_cross_entropy, z, y, reduction="none"),
        kernels_on_and_off(softmax_cross_entropy, z, t, reduction="none"),
        strict=True,
    ):
        _close(h, np.array(ref_h), 1e-13)
        _close(loss, np.array(ref_l), 1e-13)
        _close(lp, loss, 1e-13)


@pytest.mark.parametrize("dtype", DTYPES)
def test_ties_and_leading_minus_inf_chunks(dtype: type) -> None:
    z = np.full((4, 5000), -np.inf, dtype=dtype)
    z[0, 4000:] = 0.0  # 1000 ties at the maximum, after two chunks of −inf
    z[1, ::2] = 3.0  # ties spread over every chunk
    z[1, 1::2] = 2.0
    z[2, :] = 1.0
    z[2, 4999] = 1.5  # the maximum rises in the last chunk
    z[3, 10] = np.nan  # NaN inside a chunk whose maximum is −inf
    z[3, 4500] = 0.0
    for flag in (True, False):
        with (
            K.use_kernels(flag),
            pytest.raises(ValueError, match=r"NaN \(first at index \(3, 10\)"),
        ):
            il.entropy(z, form="logits")
    ref = [math.log(1000), 0.0, 0.0]
    a = math.exp(-1.0)
    s1 = 2500 * (1 + a)
    ref[1] = math.log(s1) - 2500 * a * (-1.0) / s1
    s2 = 1 + 4999 * math.exp(-0.5)
    ref[2] = math.log(s2) - 4999 * math.exp(-0.5) * (-0.5) / s2
    z = np.concatenate([z[:3]] * 2)  # 30000 entries: the kernels apply
    y = np.array([4000, 0, 4999] * 2)
    for h in kernels_on_and_off(il.entropy, z, form="logits"):
        _close(h, np.array(ref * 2), RTOL[dtype])
    for loss in kernels_on_and_off(softmax_cross_entropy, z, y, reduction="none"):
        _close(loss, np.array([math.log(1000), math.log(s1), math.log(s2)] * 2), RTOL[dtype])


def test_float32_logit_rows_within_a_few_ulp_of_mpmath() -> None:
    # Long float32 rows: both implementations within a few ulp of mpmath.
    rng = _rng()
    eps32 = float(np.finfo(np.float32).eps)
    z = (rng.standard_normal((2, 20_000)) * np.array([[2.0], [20.0]])).astype(np.float32)
    y = z.argmax(axis=1)
    ref_h, ref_l = [], []
    for i in range(2):
        mpmath, zs, lse = _mp_lse_parts(z[i])
        ref_h.append(float(-mpmath.fsum(mpmath.exp(v - lse) * (v - lse) for v in zs)))
        ref_l.append(float(lse - mpmath.mpf(float(z[i, y[i]]))))
    for h, loss in zip(
        kernels_on_and_off(il.entropy, z, form="logits"),
        kernels_on_and_off(softmax_cross_entropy, z, y, reduction="none"),
        strict=True,
    ):
        _close(h, np.array(ref_h), 4 * eps32)
        _close(loss, np.array(ref_l), 4 * eps32)


def _edge_rows(dtype: type) -> tuple[np.ndarray, np.ndarray]:
    """Probability rows with exact zeros, subnormal and tiny entries, and point masses."""
    rng = _rng()
    n, c = 64, 512
    p = rng.dirichlet(np.full(c, 0.3), size=n)
    q = rng.dirichlet(np.full(c, 0.3), size=n)
    p[:, :50] = 0.0  # zeros in P (terms are 0 even where Q = 0)
    q[:, 40:45] = 0.0  # Q = 0 under P > 0 in some rows: +inf for H(P,Q) and D
    q[:, 10:20] = 0.0
    tiny = np.finfo(dtype).smallest_subnormal
    p[::3, 60:70] = tiny * 7  # subnormal probabilities
    p[5] = 0.0
    p[5, 100] = 1.0  # a point mass
    p /= p.sum(axis=1, keepdims=True)
    q /= q.sum(axis=1, keepdims=True)
    return p.astype(dtype), q.astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["entropy", "cross_entropy", "kl_divergence", "js_divergence"])
def test_public_edge_rows_fast_equals_slow(dtype: type, name: str) -> None:
    p, q = _edge_rows(dtype)
    f = getattr(il, name)
    args = (p,) if name == "entropy" else (p, q)
    assert p.size >= _layout.MIN_SIZE  # the fast path applies
    fast, slow = kernels_on_and_off(f, *args)
    np.testing.assert_array_equal(np.isinf(fast), np.isinf(slow))
    assert not np.any(np.isnan(fast))
    finite = np.isfinite(slow)
    _close(fast[finite], slow[finite], {np.float32: 2e-5, np.float64: 1e-12}[dtype])
    if name == "entropy":
        assert fast[5] == 0.0
    if name == "js_divergence":
        assert np.all(np.isfinite(fast))


@pytest.mark.parametrize("name", ["entropy", "entropy-logits", "softmax_cross_entropy"])
def test_public_256k_classes_fast_equals_slow_float32(name: str) -> None:
    rng = _rng()
    z = (rng.standard_normal((3, 256_000)) * 4).astype(np.float32)
    z[1, :1000] = -np.inf
    if name == "entropy":
        p = _softmax(z.astype(np.float64)).astype(np.float32)
        fast, slow = kernels_on_and_off(il.entropy, p, normalize=True)
        exact = il.entropy(p.astype(np.float64), normalize=True)
    elif name == "entropy-logits":
        fast, slow = kernels_on_and_off(il.entropy, z, form="logits")
        exact = il.entropy(z.astype(np.float64), form="logits")
    else:
        y = np.array([0, 5000, 255_999])
        fast, slow = kernels_on_and_off(softmax_cross_entropy, z, y, reduction="none")
        exact = softmax_cross_entropy(z.astype(np.float64), y, reduction="none")
    _close(fast, exact, 1e-6)
    _close(slow, exact, 1e-6)


def test_contract_lookup_waits_for_a_module_being_imported() -> None:
    """``infoloss._kernels.xent_forward`` while another thread is still importing
    ``infoloss._kernels.softmax`` (in ``sys.modules``, its body not yet run) goes through
    the import system, which waits for that import, instead of reading the half-made
    module (the threads of Dask's scheduler, making their first calls together, failed with
    "cannot import name" about once in 25 processes).  Deterministic: a stand-in for the
    module under way, and an ``import_module`` that finishes the import as the waiting one
    would."""
    code = (
        "import importlib, importlib.util, sys\n"
        "import infoloss._kernels as K\n"
        "name = 'infoloss._kernels.softmax'\n"
        "assert name not in sys.modules\n"
        "spec = importlib.util.find_spec(name)\n"
        "half = importlib.util.module_from_spec(spec)\n"
        "spec._initializing = True\n"
        "sys.modules[name] = half\n"
        "real = importlib.import_module\n"
        "waited = []\n"
        "def import_module(n, package=None):\n"
        "    waited.append(n)\n"
        "    if sys.modules.get(name) is half:\n"
        "        del sys.modules[name]\n"
        "    return real(n, package)\n"
        "importlib.import_module = import_module\n"
        "f = K.xent_forward\n"
        "assert waited == ['.softmax'], waited\n"
        "assert f is sys.modules[name].xent_forward\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
