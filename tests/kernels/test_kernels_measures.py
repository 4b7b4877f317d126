"""The compiled measure kernels (measure_rows, joint_rows of ``infoloss._kernels.info``)
against the array-API implementation and mpmath, on edge inputs, through the public
functions and directly.

``_layout.MIN_SIZE`` is lowered to 1 so that small inputs take the kernel path; every case
runs once with the kernels and once without, and both are compared to a 50-digit mpmath
reference.  Tolerances: float64 a few ulp times the row length, float32 the same in
float32 ulp.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import infoloss as il
from tests._helpers import kernel_calls, kernels_on_and_off, raise_later_chunk_maxima

mpmath = pytest.importorskip("mpmath")

from infoloss._kernels import _info, _layout, use_kernels  # noqa: E402
from infoloss._kernels.info import joint_rows, measure_rows  # noqa: E402

CHUNK = _info.CHUNK  # entries of a row summed together; longer rows go chunk by chunk
MIN_SIZE = _layout.MIN_SIZE  # before the fixture below lowers it

mp = mpmath.mp
mp.dps = 400


@pytest.fixture(autouse=True)
def _mp_digits():  # type: ignore[no-untyped-def]
    """400 digits in every test here, whatever other test modules set globally."""
    with mp.workdps(400):
        yield


@pytest.fixture(autouse=True)
def _small_inputs_use_kernels(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_layout, "MIN_SIZE", 1)


def close(got, want, dtype, n, ulps=8.0):  # type: ignore[no-untyped-def]
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    eps = float(np.finfo(dtype).eps)
    tol = ulps * max(n, 1) * eps
    ok = np.isclose(got, want, rtol=tol, atol=0) | (got == want)
    assert ok.all(), f"got {got}, want {want} (rtol {tol:.2g})"


# ----------------------------------------------------------------- mpmath references


def _mp_rows(x, form):  # type: ignore[no-untyped-def]
    # The references run at 400 digits (see mp.dps below the imports for the 50-digit
    # default): a subnormal tail next to 1 must not vanish in 1 + ε.
    rows = []
    for r in np.atleast_2d(np.asarray(x, dtype=np.float64)):
        if form == "probs":
            v = [mpmath.mpf(float(t)) for t in r]
        else:
            v = [mpmath.exp(mpmath.mpf(float(t))) if t > -np.inf else mpmath.mpf(0) for t in r]
        s = mpmath.fsum(v)
        rows.append([t / s for t in v])
    return rows


def mp_entropy(x, form):  # type: ignore[no-untyped-def]
    return [float(-mpmath.fsum(p * mpmath.log(p) for p in r if p > 0)) for r in _mp_rows(x, form)]


def _mp_pair_sums(x, y, form, term):  # type: ignore[no-untyped-def]
    """Σ term(p, q) over the outcomes with p > 0, row by row; +inf where p > 0 = q."""
    out = []
    for p, q in zip(_mp_rows(x, form), _mp_rows(y, form), strict=True):
        if any(a > 0 and b == 0 for a, b in zip(p, q, strict=True)):
            out.append(np.inf)
            continue
        out.append(float(mpmath.fsum(term(a, b) for a, b in zip(p, q, strict=True) if a > 0)))
    return out


def mp_kl(x, y, form):  # type: ignore[no-untyped-def]
    return _mp_pair_sums(x, y, form, lambda a, b: a * mpmath.log(a / b))


def mp_ce(x, y, form):  # type: ignore[no-untyped-def]
    return _mp_pair_sums(x, y, form, lambda a, b: -a * mpmath.log(b))


def mp_js(x, y, form):  # type: ignore[no-untyped-def]
    out = []
    for p, q in zip(_mp_rows(x, form), _mp_rows(y, form), strict=True):
        m = [(a + b) / 2 for a, b in zip(p, q, strict=True)]
        t = mpmath.fsum(a * mpmath.log(a / c) for a, c in zip(p, m, strict=False) if a > 0)
        t += mpmath.fsum(b * mpmath.log(b / c) for b, c in zip(q, m, strict=False) if b > 0)
        out.append(float(t / 2))
    return out


# ------------------------------------------------------------------- the edge rules


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_entropy_of_logits_with_a_subnormal_tail(dtype) -> None:  # type: ignore[no-untyped-def]
    gap = 708.0 if dtype == np.float64 else 80.0
    z = np.array([[0.0, -gap]], dtype=dtype)
    got, ref = kernels_on_and_off(il.entropy, z, form="logits")
    want = mp_entropy(z, "logits")
    assert want[0] > 0
    close(got, want, dtype, 2)
    close(ref, want, dtype, 2)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_normalize_subnormal_and_overflowing_rows(dtype) -> None:  # type: ignore[no-untyped-def]
    tiny = float(np.finfo(dtype).smallest_subnormal)
    huge = float(np.finfo(dtype).max)
    p = np.array([[tiny, 3 * tiny, 0.0], [huge, huge / 3, huge]], dtype=dtype)
    got, ref = kernels_on_and_off(il.entropy, p, normalize=True)
    want = mp_entropy(p, "probs")
    close(got, want, dtype, 3)
    close(ref, want, dtype, 3)
    lp = np.array([[-1000.0, -1000.0]], dtype=dtype)
    got, ref = kernels_on_and_off(il.entropy, lp, form="log_probs", normalize=True)
    close(got, [np.log(2)], dtype, 2)
    close(ref, [np.log(2)], dtype, 2)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_zeros_point_masses_and_infinities(dtype) -> None:  # type: ignore[no-untyped-def]
    p = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]], dtype=dtype)
    q = np.array([[0.0, 0.5, 0.5], [0.5, 0.5, 0.0]], dtype=dtype)
    h, _ = kernels_on_and_off(il.entropy, p)
    assert h[0] == 0
    assert not np.isnan(h).any()
    for f in (il.cross_entropy, il.kl_divergence):
        got, ref = kernels_on_and_off(f, p, q)
        assert got[0] == np.inf
        assert ref[0] == np.inf
        assert np.isfinite(got[1])
    got, ref = kernels_on_and_off(il.js_divergence, p, q)
    close(got, ref, dtype, 3)
    close(got, mp_js(p, q, "probs"), dtype, 3)
    with np.errstate(divide="ignore"):
        z = np.log(p)  # -inf logits: probability 0
        zq = np.log(q)
    got, ref = kernels_on_and_off(il.kl_divergence, z, zq, form="logits")
    assert got[0] == np.inf
    assert got[1] == 0
    got, ref = kernels_on_and_off(il.entropy, z, form="logits")
    close(got, ref, dtype, 3)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cross_entropy_of_logits_at_its_edges(dtype) -> None:  # type: ignore[no-untyped-def]
    """The short rows' two-loop form ls_q + (1/s_p) sum e (my - y): +inf where P has mass
    (however little: an exp that underflows still counts) and Q none, finite where both
    have none, and mpmath's value at a dominant logit and on ordinary rows."""
    inf = np.inf
    under = -200.0 if dtype == np.float32 else -1000.0  # exp(under - max) is 0 in dtype
    z = np.array(
        [
            [0.0, 1.0, 2.0, 3.0],
            [0.0, 1.0, 2.0, 3.0],
            [0.0, -inf, 2.0, 3.0],
            [0.0, under, 2.0, 3.0],
            [30.0, 0.0, 0.0, 0.0],
            [-inf, -inf, 5.0, -inf],
        ],
        dtype,
    )
    zq = np.array(
        [
            [3.0, 2.0, 1.0, 0.0],
            [0.0, -inf, 2.0, 3.0],
            [0.0, -inf, 2.0, 3.0],
            [0.0, -inf, 2.0, 3.0],
            [30.0, 0.0, 0.0, 0.0],
            [-inf, 1.0, 5.0, -inf],
        ],
        dtype,
    )
    got, ref = kernels_on_and_off(il.cross_entropy, z, zq, form="logits")
    assert got[[1, 3]].tolist() == [inf, inf]
    assert ref[[1, 3]].tolist() == [inf, inf]
    fin = [0, 2, 4, 5]
    want = mp_ce(z[fin], zq[fin], "logits")
    close(got[fin], want, dtype, 4)
    close(ref[fin], want, dtype, 4)
    # many rows, both layouts (the strided rows are gathered): mpmath on each
    rng = np.random.default_rng(5)
    zz = (3 * rng.standard_normal((40, 31))).astype(dtype)
    qq = (3 * rng.standard_normal((40, 31))).astype(dtype)
    want = mp_ce(zz, qq, "logits")
    close(il.cross_entropy(zz, qq, form="logits"), want, dtype, 31)
    zt, qt = np.asfortranarray(zz), np.asfortranarray(qq)
    close(il.cross_entropy(zt, qt, form="logits"), want, dtype, 31)


@pytest.mark.parametrize("form", ["probs", "log_probs", "logits"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_divergences_of_equal_rows_are_exactly_zero(form, dtype) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    z = rng.standard_normal((5, 37))
    lp = z - np.log(np.exp(z).sum(-1, keepdims=True))
    x = {"probs": np.exp(lp), "log_probs": lp, "logits": z}[form].astype(dtype)
    for f in (il.js_divergence, il.kl_divergence):
        got, ref = kernels_on_and_off(f, x, x, form=form, normalize=form != "logits")
        assert (got == 0).all(), (f.__name__, got)
        assert (ref == 0).all()


@pytest.mark.parametrize("form", ["probs", "logits"])
def test_nearly_equal_rows(form) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(1)
    z = rng.standard_normal((4, 50))
    z2 = z + 1e-7 * rng.standard_normal(z.shape)
    if form == "probs":
        x = np.exp(z) / np.exp(z).sum(-1, keepdims=True)
        y = np.exp(z2) / np.exp(z2).sum(-1, keepdims=True)
        # exactly normalised in mpmath's eyes only up to rounding: compare to the
        # normalised reference with normalize=True
        kw = {"normalize": True}
    else:
        x, y, kw = z, z2, {}
    js_k, js_a = kernels_on_and_off(il.js_divergence, x, y, form=form, **kw)
    kl_k, kl_a = kernels_on_and_off(il.kl_divergence, x, y, form=form, **kw)
    js_m = mp_js(x, y, form)
    kl_m = mp_kl(x, y, form)
    assert (js_k > 0).all()
    assert (kl_k > 0).all()
    # ~1e-15 values: a relative accuracy of 1e-5 needs the per-entry forms
    np.testing.assert_allclose(js_k, js_m, rtol=2e-5)
    np.testing.assert_allclose(kl_k, kl_m, rtol=2e-5)
    np.testing.assert_allclose(js_k, js_a, rtol=2e-5)
    np.testing.assert_allclose(kl_k, kl_a, rtol=2e-5)


@pytest.mark.parametrize("form", ["probs", "logits"])
def test_conditional_entropy_of_nearly_deterministic_rows(form) -> None:  # type: ignore[no-untyped-def]
    t = np.array([[[0.5, 1e-30, 0.0], [0.25, 0.25 - 1e-30, 1e-30]]])
    with np.errstate(divide="ignore"):
        x = t if form == "probs" else np.log(t)
        got, ref = kernels_on_and_off(
            il.conditional_entropy, x, form=form, normalize=form == "probs"
        )
    rows = [[mpmath.mpf(v) for v in r] for r in t[0]]
    tot = mpmath.fsum(mpmath.fsum(r) for r in rows)
    h = mpmath.mpf(0)
    for r in rows:
        px = mpmath.fsum(r)
        h += mpmath.fsum(v / tot * mpmath.log(px / v) for v in r if v > 0)
    close(got, [float(h)], np.float64, 6)
    close(ref, [float(h)], np.float64, 6)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_layouts_and_axes(dtype) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(2)
    z = rng.standard_normal((30, 7)).astype(dtype)
    zq = rng.standard_normal((30, 7)).astype(dtype)
    # outcome axis 0, a transposed (non-contiguous) view, and a strided slice
    for f in (il.entropy, il.kl_divergence, il.js_divergence, il.cross_entropy):
        args = (z,) if f is il.entropy else (z, zq)
        got, ref = kernels_on_and_off(f, *args, form="logits", axis=0)
        close(got, ref, dtype, 30)
        targs = tuple(a.T for a in args)
        got, ref = kernels_on_and_off(f, *targs, form="logits")
        close(got, ref, dtype, 30)
        sargs = tuple(a[::2, ::2] for a in args)
        got, ref = kernels_on_and_off(f, *sargs, form="logits")
        close(got, ref, dtype, 30)
    t = rng.random((4, 5, 6)).astype(dtype)
    t /= t.sum(axis=(1, 2), keepdims=True)
    for f in (il.joint_entropy, il.conditional_entropy, il.mutual_information):
        got, ref = kernels_on_and_off(f, t, axes=(2, 1))
        close(got, ref, dtype, 30)
        got, ref = kernels_on_and_off(f, np.moveaxis(t, 0, -1), axes=(0, 1))
        close(got, ref, dtype, 30)


FORMS = ["probs", "log_probs", "logits"]


def _dist(form, shape, dtype, seed):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    z = 3 * rng.standard_normal(shape)
    z[..., 0] = -np.inf  # a zero-probability outcome in every row
    lp = z - np.log(np.exp(z).sum(-1, keepdims=True))
    return {"probs": np.exp(lp), "log_probs": lp, "logits": z}[form].astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("fp", "fq"), list(itertools.product(FORMS, FORMS)))
def test_every_form_pair_agrees(fp, fq, dtype) -> None:  # type: ignore[no-untyped-def]
    p = _dist(fp, (6, 40), dtype, 3)
    q = _dist(fq, (6, 40), dtype, 4)
    for f in (il.cross_entropy, il.kl_divergence, il.js_divergence):
        got, ref = kernels_on_and_off(f, p, q, form=(fp, fq))
        close(got, ref, dtype, 40)
    if fp == fq:
        got, ref = kernels_on_and_off(il.entropy, p, form=fp)
        close(got, ref, dtype, 40)
        close(got, mp_entropy(p, fp), dtype, 40)
        got, ref = kernels_on_and_off(il.perplexity, p, form=fp)
        close(got, ref, dtype, 400)
        t = p.reshape(6, 5, 8)
        norm = fp != "logits"
        for f in (il.joint_entropy, il.conditional_entropy, il.mutual_information):
            got, ref = kernels_on_and_off(f, t, form=fp, normalize=norm)
            close(got, ref, dtype, 40)


def test_bad_input_is_reported_by_the_kernel_path() -> None:
    p = np.array([[0.5, np.nan], [0.5, 0.5]])
    with use_kernels(True), pytest.raises(ValueError, match="NaN"):
        il.entropy(p)
    with use_kernels(True), pytest.raises(ValueError, match="sum to 1"):
        il.entropy(np.array([[0.5, 0.6]]))
    with use_kernels(True), pytest.raises(ValueError, match="no mass"):
        il.entropy(np.zeros((2, 3)), normalize=True)
    with use_kernels(True), pytest.raises(ValueError, match="-inf"):
        il.entropy(np.full((2, 3), -np.inf), form="logits")


def test_kernel_results_directly() -> None:
    z = np.array([[0.0, -708.0], [np.nan, 0.0], [-np.inf, -np.inf]])
    r = measure_rows("entropy", (z,), ("logits",), False)
    assert r.value[0] > 0
    assert np.isnan(r.value[1:]).all()
    assert r.stats[0].nbad == 2
    assert np.isfinite(r.stats[0].log_mass[0])
    assert np.isnan(r.stats[0].log_mass[1])
    r = joint_rows("mutual_information", np.full((1, 2, 2), 0.25), "probs", False)
    assert r.value[0] == 0
    assert r.stats[0].nbad == 0


def _ref_log_rows(z):  # type: ignore[no-untyped-def]
    """(log p, p, entropy) of finite logit rows in float64, with log s = log1p((k − 1) +
    rest) (k maximal entries, rest the others' sum): accurate where the maximum dominates."""
    z = np.asarray(z, np.float64)
    m = z.max(axis=1, keepdims=True)
    d = z - m
    e = np.exp(d)
    top = d == 0
    k = top.sum(axis=1, keepdims=True)
    rest = np.where(top, 0.0, e).sum(axis=1, keepdims=True)
    s = k + rest
    ls = np.log1p((k - 1.0) + rest)
    return d - ls, e / s, (ls - (e * d).sum(axis=1, keepdims=True) / s)[:, 0]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_later_chunk_maxima_of_long_rows(dtype) -> None:  # type: ignore[no-untyped-def]
    """Rows longer than a chunk whose later chunks raise the running maximum: by little
    (their sums against the old maximum are taken over, rescaled), by much, beyond the
    exp's domain or to a dominant entry (summed again), with ties at the new maximum.
    Entropy (row_lse_t) and KL (row_lse_store) of logits within the kernels' accuracy
    (observed: 1e-15 / 4e-8 relative), tight enough that a 1e-4 error in a rescaled
    sum fails."""
    c = 3 * max(CHUNK, 2048) + 100  # the geometry raise_later_chunk_maxima assumes
    rng = np.random.default_rng(5)
    # Rows 0, 1 are taken over; 2 (dominant), 3 (beyond the exp), 4 and, for entropy, 5
    # (rises > 1) summed again.
    z = raise_later_chunk_maxima(rng.standard_normal((8, c)), CHUNK)
    z[6, CHUNK:] += 0.5  # every later chunk higher by 0.5 (taken over)
    z[7, ::-1].sort()  # increasing: every chunk raises the maximum
    zq = (0.7 * z + 0.3 * rng.standard_normal(z.shape))[::-1].copy()
    z = z.astype(dtype)
    zq = zq.astype(dtype)
    lp, p, h = _ref_log_rows(z)
    lq, _, _ = _ref_log_rows(zq)
    kl = (p * (lp - lq)).sum(axis=1)
    rtol = 1e-13 if dtype == np.float64 else 1e-6
    got = measure_rows("entropy", (z,), ("logits",), False).value
    np.testing.assert_allclose(got, h, rtol=rtol)
    got = measure_rows("kl", (z, zq), ("logits", "logits"), False).value
    np.testing.assert_allclose(got, kl, rtol=rtol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_maxima_at_the_ends_of_chunks(dtype) -> None:  # type: ignore[no-untyped-def]
    """A chunk's loop takes the maximum of the chunk after it, a shorter last chunk read
    ending at the row's end (so from entries of the chunk before it): rows of one to two
    chunks and a few entries more, whose maximum sits at the first or last entry of a
    chunk, in the entries read twice, or after chunks of -inf; entropy and KL of logits
    against a float64 reference."""
    rng = np.random.default_rng(11)
    for c in (CHUNK + 1, CHUNK + 5, 2 * CHUNK - 1, 2 * CHUNK + 3):
        last = (c - 1) // CHUNK * CHUNK  # the first entry of the last chunk
        spots = (0, c - 1, last, last - 1, last - (c - last), CHUNK - 1)
        z = rng.standard_normal((len(spots) + 2, c))
        for i, j in enumerate(spots):
            z[i, j] = 6.0
        z[-2, :last] = -np.inf  # only the last chunk is live
        z[-1, last - 2 :] = 4.0  # ties across the last boundary
        zq = rng.standard_normal(z.shape)
        z, zq = z.astype(dtype), zq.astype(dtype)
        lp, p, h = _ref_log_rows(np.where(np.isinf(z), -1e300, z.astype(np.float64)))
        lq, _, _ = _ref_log_rows(zq)
        kl = np.where(p > 0, p * (lp - lq), 0.0).sum(axis=1)
        rtol = 1e-13 if dtype == np.float64 else 1e-6
        got = measure_rows("entropy", (z,), ("logits",), False).value
        np.testing.assert_allclose(got, h, rtol=rtol, err_msg=f"entropy, {c} entries")
        got = measure_rows("kl", (z, zq), ("logits", "logits"), False).value
        np.testing.assert_allclose(got, kl, rtol=rtol, err_msg=f"kl, {c} entries")
        ce = np.where(p > 0, -p * lq, 0.0).sum(axis=1)
        got = measure_rows("cross_entropy", (z, zq), ("logits", "logits"), False).value
        np.testing.assert_allclose(got, ce, rtol=rtol, err_msg=f"cross-entropy, {c} entries")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_of_long_logit_rows_at_its_edges(dtype) -> None:  # type: ignore[no-untyped-def]
    """Rows longer than a chunk take the cross-entropy in two passes, nothing stored (Q's
    log-sum-exp, then P's sums beside sum e (m_q - y), rescaled as P's running maximum
    rises): +inf where P has mass and Q none (an exp that underflows included), finite
    where only Q has it, NaN and the bad counts for NaN or +inf entries, and the log-masses,
    against a float64 reference."""
    c = 2 * CHUNK + 7
    rng = np.random.default_rng(5)
    z, zq = rng.standard_normal((2, 6, c))
    z[0, :CHUNK] -= 30.0  # P's maximum rises in a later chunk: the sums rescale
    z[1, 3] = -np.inf  # Q has mass where P has none: finite
    zq[2, c - 1] = -np.inf  # P has mass where Q has none: +inf
    z[3, :] = -np.inf
    z[3, CHUNK + 1] = 0.0
    zq[3, CHUNK + 1] = -np.inf  # P's one outcome is impossible under Q: +inf
    z[4, 10] = np.nan  # bad P
    zq[5, CHUNK] = np.inf  # bad Q
    z, zq = z.astype(dtype), zq.astype(dtype)
    res = measure_rows("cross_entropy", (z, zq), ("logits", "logits"), False)
    zf, qf = z.astype(np.float64), zq.astype(np.float64)
    rtol = 1e-13 if dtype == np.float64 else 1e-6
    for i in (0, 1):
        _, p, _ = _ref_log_rows(np.where(np.isinf(zf[i : i + 1]), -1e300, zf[i : i + 1]))
        lq, _, _ = _ref_log_rows(qf[i : i + 1])
        np.testing.assert_allclose(res.value[i], (-p * lq).sum(), rtol=rtol)
    np.testing.assert_array_equal(res.value[2:4], [np.inf, np.inf])
    assert np.isnan(res.value[4:]).all()
    assert [arg.nbad for arg in res.stats] == [1, 1]
    for arg, a, bad in ((res.stats[0], zf, 4), (res.stats[1], qf, 5)):
        good = [i for i in range(6) if i != bad]
        want = np.logaddexp.reduce(a[good], axis=1)
        np.testing.assert_allclose(arg.log_mass[good], want, rtol=rtol)
        assert np.isnan(arg.log_mass[bad])


def _mixed_rows(form, dtype):  # type: ignore[no-untyped-def]
    """Rows of every kind, good and bad, repeated in a shuffled order (so each block of a
    kernel holds several rows with varied neighbours)."""
    fi = np.finfo(dtype)
    tiny, huge = float(fi.smallest_subnormal), float(fi.max)
    rng = np.random.default_rng(3)
    good = rng.random(5) + 0.1
    if form == "probs":
        kinds = [good, [np.nan, 1, 1, 1, 1], np.zeros(5), [np.inf, 1, 1, 1, 1],
                 [-1.0, 1, 1, 1, 1], [tiny, 3 * tiny, 0, 0, tiny], [huge, huge / 3, huge, 0, 1],
                 good[::-1], [-0.0, 0.0, 1, 0, 0], [-np.nan, 1, 2, 3, 4]]  # fmt: skip
    else:
        ninf = -np.inf
        kinds = [np.log(good), [np.nan, 0, 0, 0, 0], [ninf] * 5, [np.inf, 0, 0, 0, 0],
                 [ninf, 0, 1, ninf, 2], [1e30, 1e30, 0, -1e30, 5], [-800.0, -800, -801, ninf, -900],
                 np.log(good[::-1]), [-0.0, 0.0, -1, -2, -3], [-np.nan, 1, 2, 3, 4]]  # fmt: skip
    rows = np.array(kinds * 6, dtype=dtype)
    return rows[rng.permutation(len(rows))]


@pytest.mark.parametrize("form", ["probs", "logits"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_rows_of_one_chunk_do_not_depend_on_their_neighbours(form, dtype) -> None:  # type: ignore[no-untyped-def]
    """Rows of one chunk are summed in the loop that takes the next row's maximum: each row
    of a block mixing good and bad rows (NaN of either sign, ±inf, zeros, subnormal and
    huge maxima, signed zeros) gives the value, log-mass and bad count it gives alone."""
    p = _mixed_rows(form, dtype)
    q = p[::-1].copy()
    normalize = form == "probs"
    cases = [("kl", (p, q)), ("js", (p, q)), ("cross_entropy", (p, q))]
    if form == "logits":
        cases.append(("entropy", (p,)))
    for kind, xs in cases:
        forms = (form,) * len(xs)
        whole = measure_rows(kind, xs, forms, normalize)
        alone = [measure_rows(kind, tuple(x[i : i + 1] for x in xs), forms, normalize)
                 for i in range(len(p))]  # fmt: skip
        np.testing.assert_array_equal(whole.value, [r.value[0] for r in alone], err_msg=kind)
        for a, stat in enumerate(whole.stats):
            lm = [r.stats[a].log_mass[0] for r in alone]
            np.testing.assert_array_equal(stat.log_mass, lm, err_msg=kind)
            assert stat.nbad == sum(r.stats[a].nbad for r in alone), kind
        assert np.isfinite(whole.value).any(), kind
        assert np.isnan(whole.value).any(), kind


@pytest.mark.parametrize(
    "forms", [("probs", "probs"), ("log_probs", "log_probs"), ("probs", "log_probs")]
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_rows_as_given_do_not_depend_on_their_neighbours(forms, dtype) -> None:  # type: ignore[no-untyped-def]
    """Short rows read as given are taken a vector's worth at a time, a row a lane: each
    row of a batch mixing good and bad rows gives the value, log-mass and bad count it
    gives alone, or in a batch of any length, bit for bit, in any layout."""
    rows = {f: _mixed_rows("probs" if f == "probs" else "logits", dtype) for f in set(forms)}
    p, q = rows[forms[0]], rows[forms[1]][::-1].copy()
    n = len(p)
    for kind in ("kl", "js", "cross_entropy"):
        whole = measure_rows(kind, (p, q), forms, False)
        alone = [measure_rows(kind, (p[i : i + 1], q[i : i + 1]), forms, False) for i in range(n)]
        np.testing.assert_array_equal(whole.value, [r.value[0] for r in alone], err_msg=kind)
        for a, stat in enumerate(whole.stats):
            lm = [r.stats[a].log_mass[0] for r in alone]
            np.testing.assert_array_equal(stat.log_mass, lm, err_msg=kind)
            assert stat.nbad == sum(r.stats[a].nbad for r in alone), kind
        for k in (5, 17, 33):
            part = measure_rows(kind, (p[:k], q[:k]), forms, False)
            np.testing.assert_array_equal(part.value, whole.value[:k], err_msg=kind)
        # reversed rows, every other column, overlapping rows: as their contiguous copies
        wide_p, wide_q = np.repeat(p, 2, axis=1), np.repeat(q, 2, axis=1)
        for view in (lambda a: a[::-1], lambda a: a[:, ::2] if a.shape[1] > 5 else a[:, ::1]):
            for a, b in ((p, q), (wide_p, wide_q)):
                got = measure_rows(kind, (view(a), view(b)), forms, False)
                want = measure_rows(
                    kind,
                    (np.ascontiguousarray(view(a)), np.ascontiguousarray(view(b))),
                    forms,
                    False,
                )
                np.testing.assert_array_equal(got.value, want.value, err_msg=kind)
                for g, w in zip(got.stats, want.stats, strict=True):
                    np.testing.assert_array_equal(g.log_mass, w.log_mass, err_msg=kind)
                    assert g.nbad == w.nbad, kind
        assert np.isfinite(whole.value).any(), kind
        assert np.isnan(whole.value).any(), kind


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_mass_check_from_the_kernels_log_masses(dtype) -> None:  # type: ignore[no-untyped-def]
    """The kernels' log-masses decide the rows-sum-to-1 check: a row off by 3x the tolerance
    is reported with its index and deviation, one off by a quarter of it passes; with
    normalize=True only a row with no mass fails."""
    from infoloss._validate import sum_tolerance

    tol = sum_tolerance(np, dtype, 31)
    p = np.full((40, 31), 1 / 31, dtype)
    q = p[::-1].copy()
    assert float(il.kl_divergence(p, q).max()) < 1e-5
    near, far = p.copy(), p.copy()
    near[17] *= 1 + tol / 4
    far[17] *= 1 + 3 * tol
    assert np.isfinite(il.kl_divergence(near, q)).all()
    with pytest.raises(ValueError, match="`p` has rows that do not sum to 1") as err:
        il.kl_divergence(far, q)
    assert "first at index (17" in str(err.value)
    assert f"largest deviation {3 * tol:.3g}"[:-1] in str(err.value)
    # rows that pass take one kernel call (the totals); a failing one a second (its rows)
    with kernel_calls() as calls:
        il.kl_divergence(near, q)
    assert calls == ["measure_rows"]
    with kernel_calls() as calls, pytest.raises(ValueError, match="do not sum to 1"):
        il.kl_divergence(far, q)
    assert calls == ["measure_rows", "measure_rows"]
    empty = p.copy()
    empty[5] = 0
    with pytest.raises(ValueError, match="`p` has a distribution with no mass"):
        il.kl_divergence(empty, q, normalize=True)
    assert np.isfinite(il.kl_divergence(far, q, normalize=True)).all()


def _totals(stat):  # type: ignore[no-untyped-def]
    """(bad entries, least, largest log-mass) from an ArgStats with per-row log-masses."""
    lm = stat.log_mass
    if np.isnan(lm).any():
        return stat.nbad, np.nan, np.nan
    return (
        stat.nbad,
        (float(lm.min()) if lm.size else np.inf),
        (float(lm.max()) if lm.size else -np.inf),
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_totals_only_give_the_rows_values_and_their_totals(dtype, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """``rows=False``: the same values, bit for bit, and each argument's bad entries and
    least and largest log-mass as those of the per-row results (NaN where a row's is NaN;
    the rows across the lanes give them moved one ulp of the dtype outward),
    on every route (rows across the lanes, one row at a time, rows chained, entropy), bad
    and overflowing rows included, in one block and in several (the scratch reused)."""
    from infoloss._kernels import info

    rng = np.random.default_rng(5)
    huge = float(np.finfo(dtype).max)
    for blocks in (1 << 16, 7):
        monkeypatch.setattr(info, "_BLOCK", blocks)
        for c in (5, 31, 300):
            p = rng.random((41, c))
            q = rng.random((41, c))
            p, q = (
                (p / p.sum(1, keepdims=True)).astype(dtype),
                (q / q.sum(1, keepdims=True)).astype(dtype),
            )
            cases = {"good": (p, q)}
            off = p.copy()
            off[3] *= 2
            cases["off"] = (off, q)
            bad = p.copy()
            bad[9, 1] = np.nan
            bad[30, 0] = -0.5
            cases["bad"] = (q, bad)
            big = p.copy()
            big[11, :2] = huge
            cases["big"] = (big, q)
            zero = p.copy()
            zero[20] = 0
            cases["zero"] = (zero, q)
            for name, (a, b) in cases.items():
                with np.errstate(all="ignore"):
                    la, lb = np.log(a), np.log(b)
                for kind, forms, xs in (
                    ("kl", ("probs", "probs"), (a, b)),
                    ("js", ("probs", "probs"), (a, b)),
                    ("cross_entropy", ("probs", "probs"), (a, b)),
                    ("kl", ("probs", "logits"), (a, lb)),
                    ("cross_entropy", ("log_probs", "log_probs"), (la, lb)),
                    ("entropy", ("probs",), (a,)),
                    ("entropy", ("logits",), (la,)),
                ):
                    for normalize in (False, True):
                        full = measure_rows(kind, xs, forms, normalize)
                        lean = measure_rows(kind, xs, forms, normalize, rows=False)
                        where = f"{kind} {forms} {name} c={c} normalize={normalize} blocks={blocks}"
                        np.testing.assert_array_equal(lean.value, full.value, err_msg=where)
                        for f, g in zip(full.stats, lean.stats, strict=True):
                            assert g.log_mass is None, where
                            nbad, least, most = _totals(f)
                            assert g.nbad == nbad, where
                            # the extremes, or one ulp of the dtype outside them
                            out = (-np.inf, np.inf)
                            for got, want, side in (
                                (g.least, least, out[0]),
                                (g.most, most, out[1]),
                            ):
                                ulp = float(np.nextafter(dtype(want), dtype(side)))
                                ok = got in (want, ulp) or (np.isnan(got) and np.isnan(want))
                                assert ok, (where, got, want)


@pytest.mark.parametrize("c", [5, 31, 300])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_negative_zeros_are_zeros(c, dtype) -> None:  # type: ignore[no-untyped-def]
    """A -0 in probability rows read as given is a zero, not a bad entry: the same values,
    bad counts and masses as with +0 (the rows across the lanes see its sign bit first and
    count the row's entries to find it good)."""
    rng = np.random.default_rng(c)
    p = rng.random((37, c))
    q = rng.random((37, c))
    p[rng.random(p.shape) < 0.2] = 0.0
    q[rng.random(q.shape) < 0.2] = 0.0
    p[:, 0] = q[:, 0] = 1.0
    p = (p / p.sum(1, keepdims=True)).astype(dtype)
    q = (q / q.sum(1, keepdims=True)).astype(dtype)
    pn, qn = np.where(p == 0, -0.0, p).astype(dtype), np.where(q == 0, -0.0, q).astype(dtype)
    assert np.signbit(pn).any()
    assert np.signbit(qn).any()
    for kind in ("kl", "js", "cross_entropy"):
        for rows in (True, False):
            want = measure_rows(kind, (p, q), ("probs", "probs"), False, rows=rows)
            got = measure_rows(kind, (pn, qn), ("probs", "probs"), False, rows=rows)
            np.testing.assert_array_equal(got.value, want.value, err_msg=kind)
            for g, w in zip(got.stats, want.stats, strict=True):
                assert g.nbad == w.nbad == 0, kind
                if rows:
                    np.testing.assert_array_equal(g.log_mass, w.log_mass, err_msg=kind)
    for f in (il.kl_divergence, il.js_divergence, il.cross_entropy):
        np.testing.assert_array_equal(f(pn, qn), f(p, q))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_totals_of_no_rows(dtype) -> None:  # type: ignore[no-untyped-def]
    p = np.empty((0, 4), dtype)
    got = measure_rows("kl", (p, p), ("probs", "probs"), False, rows=False)
    assert got.value.shape == (0,)
    assert [(s.nbad, s.least, s.most) for s in got.stats] == [(0, np.inf, -np.inf)] * 2


@pytest.mark.parametrize("c", [3, 30, 60])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_log_mass_of_an_overflowing_sum_is_inf(c, dtype) -> None:  # type: ignore[no-untyped-def]
    """Rows read as given whose sum overflows have no bad entry and a log-mass of +inf (not
    the log of the largest float), in batches of short rows and one row at a time."""
    huge = float(np.finfo(dtype).max)
    p = np.full((20, c), 1.0 / c, dtype)
    p[::3, :2] = huge
    q = p[::-1].copy()
    for kind, xs in (("entropy", (p,)), ("kl", (p, q)), ("js", (p, q))):
        for rows in (slice(None), slice(0, 1)):
            xr = tuple(x[rows] for x in xs)
            got = measure_rows(kind, xr, ("probs",) * len(xr), False)
            for stat, x in zip(got.stats, xr, strict=True):
                big = (x == huge).any(axis=1)
                assert stat.nbad == 0, kind
                np.testing.assert_array_equal(stat.log_mass[big], np.inf, err_msg=kind)
                assert np.isfinite(stat.log_mass[~big]).all(), kind


@pytest.mark.parametrize("c", [2, 5, 16, 17, 31, 40, 41])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_many_short_rows_as_given_against_mpmath(c, dtype) -> None:  # type: ignore[no-untyped-def]
    """Batches of short probability rows read as given (taken many rows at a time) against
    mpmath: 37 rows, so the last batch of rows is a part one; zeros give +inf terms."""
    rng = np.random.default_rng(c)
    p = rng.random((37, c))
    q = rng.random((37, c))
    p[rng.random(p.shape) < 0.1] = 0.0
    q[rng.random(q.shape) < 0.05] = 0.0
    p[0] = q[0] = 1.0  # some rows with no zeros whatever the draw
    p = (p / p.sum(1, keepdims=True)).astype(dtype)
    q = (q / q.sum(1, keepdims=True)).astype(dtype)
    for kind, ref in (("kl", mp_kl), ("js", mp_js), ("cross_entropy", mp_ce)):
        got = measure_rows(kind, (p, q), ("probs", "probs"), False)
        want = ref(p, q, "probs")
        eps = float(np.finfo(dtype).eps)
        np.testing.assert_allclose(
            got.value, want, rtol=8 * c * eps, atol=8 * c * eps, err_msg=kind
        )
        for stat, a in zip(got.stats, (p, q), strict=True):
            mass = np.log(a.astype(np.float64).sum(1))
            np.testing.assert_allclose(stat.log_mass, mass, rtol=0, atol=4 * c * eps, err_msg=kind)
            assert stat.nbad == 0


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_short_and_long_rows_agree(dtype) -> None:  # type: ignore[no-untyped-def]
    """Rows on both sides of every vector step (1 to 65 entries) and of a chunk against the
    array-API implementation, every measure and form, and tables of both kinds.  Random
    pairs can be nearly equal (a divergence of 1e-8 between 3-outcome rows), where the
    forms' own roundings set the error: hence an absolute floor as well."""
    eps = float(np.finfo(dtype).eps)

    def agree(got, ref, n):  # type: ignore[no-untyped-def]
        np.testing.assert_allclose(got, ref, rtol=8 * n * eps, atol=8 * n * eps)

    pairs = [("probs", "probs"), ("log_probs", "probs"), ("logits", "logits"), ("probs", "logits")]
    lengths = (1, 2, 3, 7, 8, 9, 10, 15, 16, 17, 31, 33, 63, 64, 65, 130)
    for c in (*lengths, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK + 3):
        for fp, fq in pairs:
            if c == 1:  # the one outcome of every row has all the mass
                p = np.full((9, 1), 0.0 if fp == "log_probs" else 1.0, dtype)
                q = np.full((9, 1), 0.0 if fq == "log_probs" else 1.0, dtype)
            else:
                p = _dist(fp, (9, c), dtype, c)
                q = _dist(fq, (9, c), dtype, c + 1)
            for f in (il.cross_entropy, il.kl_divergence, il.js_divergence):
                got, ref = kernels_on_and_off(f, p, q, form=(fp, fq))
                agree(got, ref, c)
            if fp == fq:
                got, ref = kernels_on_and_off(il.entropy, p, form=fp)
                agree(got, ref, c)
        if c > 130:
            continue
        for form in ("probs", "logits"):
            if c == 1:
                t = np.full((5, 4, 1), 0.25 if form == "probs" else 0.0, dtype)
            else:
                t = _dist(form, (5, 4, c), dtype, 2 * c)
            norm = form != "logits"
            for f in (il.joint_entropy, il.conditional_entropy, il.mutual_information):
                got, ref = kernels_on_and_off(f, t, form=form, normalize=norm)
                agree(got, ref, 4 * c)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_any_strides_of_the_row_views(dtype) -> None:  # type: ignore[no-untyped-def]
    """The kernels take (N, C) views with any strides (column strides other than 1,
    negative strides, rows that overlap) and (N, X, Y) tables likewise: each gives what its
    contiguous copy gives, bit for bit."""
    rng = np.random.default_rng(11)
    z = rng.standard_normal((40, 3 * 37)).astype(dtype)
    zq = rng.standard_normal((40, 3 * 37)).astype(dtype)
    p = np.exp(z) / np.exp(z).sum(-1, keepdims=True)
    q = np.exp(zq) / np.exp(zq).sum(-1, keepdims=True)
    views = [
        lambda a: a[:, ::3],
        lambda a: a[::-2, ::-1],
        lambda a: a.T.copy().T,  # column-major
        lambda a: np.lib.stride_tricks.as_strided(a, (30, 37), (a.strides[1], a.strides[1])),
    ]
    for view in views:
        for kind in ("entropy", "cross_entropy", "kl", "js"):
            for form, (a, b) in (("probs", (p, q)), ("logits", (z, zq))):
                xs = (view(a),) if kind == "entropy" else (view(a), view(b))
                forms = (form,) * len(xs)
                got = measure_rows(kind, xs, forms, True)
                want = measure_rows(kind, tuple(np.ascontiguousarray(x) for x in xs), forms, True)
                np.testing.assert_array_equal(got.value, want.value)
                for g, w in zip(got.stats, want.stats, strict=True):
                    np.testing.assert_array_equal(g.log_mass, w.log_mass)
    t = p[:, :36].reshape(40, 6, 6)
    for tv in (t[:, ::2, ::-1], np.moveaxis(t, 1, 2), t[::-3]):
        for kind in ("joint_entropy", "conditional_entropy", "mutual_information"):
            for form, x in (("probs", tv), ("logits", np.log(tv))):
                got = joint_rows(kind, x, form, True)
                want = joint_rows(kind, np.ascontiguousarray(x), form, True)
                np.testing.assert_array_equal(got.value, want.value)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_long_rows_and_huge_logits(dtype) -> None:  # type: ignore[no-untyped-def]
    """Rows of 1e5 outcomes and logits of +-1e4 against the array-API path."""
    rng = np.random.default_rng(12)
    c = 100_000
    z = (4 * rng.standard_normal((3, c))).astype(dtype)
    zq = (4 * rng.standard_normal((3, c))).astype(dtype)
    z[1] += 1e4
    zq[2] -= 1e4
    z[2, 7] = 1e4  # one dominant entry
    eps = float(np.finfo(dtype).eps)
    for f in (il.cross_entropy, il.kl_divergence, il.js_divergence):
        got, ref = kernels_on_and_off(f, z, zq, form="logits")
        np.testing.assert_allclose(got, ref, rtol=200 * eps)
    got, ref = kernels_on_and_off(il.entropy, z, form="logits")
    np.testing.assert_allclose(got, ref, rtol=200 * eps)
    p = np.exp(z - z.max(-1, keepdims=True))
    got, ref = kernels_on_and_off(il.entropy, p, normalize=True)
    np.testing.assert_allclose(got, ref, rtol=200 * eps)


# ------------------------------------------------ promises the numba kernels broke


def test_js_of_logits_with_an_entry_of_no_mass_on_both_sides() -> None:
    """Jensen-Shannon of logit rows where one outcome has probability 0 on one side
    (a -inf logit) and underflows to 0 on the other, in a batch large enough for the
    kernels: finite, the array-API value (it was NaN: 0/0 in d = (p - q)/(p + q))."""
    z = np.array([1e4, 1e4 - 1, -np.inf])
    zq = np.array([1e4, 1e4 - 30, -1e4])
    n = MIN_SIZE // 3 + 1  # a batch that takes the kernels at their real threshold
    zs = np.tile(z, (n, 1))
    zqs = np.tile(zq, (n, 1))
    with use_kernels(True):
        got = il.js_divergence(zs, zqs, form="logits")
    with use_kernels(False):
        ref = il.js_divergence(z, zq, form="logits")
    direct = measure_rows("js", (zs, zqs), ("logits", "logits"), False).value
    want = mp_js(z[None], zq[None], "logits")[0]
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, ref, rtol=1e-14)
    np.testing.assert_allclose(direct, want, rtol=1e-14)


def _mp_table(t, form="probs"):  # type: ignore[no-untyped-def]
    rows = [[mpmath.mpf(float(v)) for v in r] for r in t]
    if form != "probs":
        rows = [[mpmath.exp(v) if v > -np.inf else mpmath.mpf(0) for v in r] for r in rows]
    tot = mpmath.fsum(mpmath.fsum(r) for r in rows)
    return [[v / tot for v in r] for r in rows]


def mp_conditional(t, form="probs"):  # type: ignore[no-untyped-def]
    h = mpmath.mpf(0)
    for r in _mp_table(t, form):
        px = mpmath.fsum(r)
        h += mpmath.fsum(v * mpmath.log(px / v) for v in r if v > 0)
    return float(h)


def mp_joint(t):  # type: ignore[no-untyped-def]
    return float(-mpmath.fsum(v * mpmath.log(v) for r in _mp_table(t) for v in r if v > 0))


def mp_mutual(t):  # type: ignore[no-untyped-def]
    rows = _mp_table(t)
    px = [mpmath.fsum(r) for r in rows]
    py = [mpmath.fsum(c) for c in zip(*rows, strict=True)]
    return float(
        mpmath.fsum(
            v * mpmath.log(v / (px[a] * py[b]))
            for a, r in enumerate(rows)
            for b, v in enumerate(r)
            if v > 0
        )
    )


@pytest.mark.parametrize("form", ["probs", "logits"])
def test_conditional_entropy_of_nearly_deterministic_tables(form) -> None:  # type: ignore[no-untyped-def]
    """H(Y|X) of tables whose every row has one dominant entry, values down to 1e-200,
    keeps the relative accuracy of the entropy against mpmath: a few ulps for
    probabilities; for logits a few ulps of the largest |z - max z| of a row (the rounding
    of z - max z, which every log-sum-exp carries into e^(z - max z))."""
    rng = np.random.default_rng(13)
    for tiny in (1e-20, 1e-60, 1e-109, 1e-200):
        t = rng.random((4, 3, 5))
        t[:, :, 1:] *= tiny
        t /= t.sum(axis=(1, 2), keepdims=True)
        x = t if form == "probs" else np.log(t)
        got = joint_rows("conditional_entropy", x, form, form == "probs").value
        want = [mp_conditional(tab, form) for tab in x]
        spread = 1.0 if form == "probs" else float(np.max(x.max(-1, keepdims=True) - x))
        close(got, want, np.float64, 5, ulps=spread)
        got = measure_rows("entropy", (x[:, 0],), (form,), True).value
        want = [mp_entropy(r[None], form)[0] for r in x[:, 0]]
        close(got, want, np.float64, 5, ulps=spread)


def test_mutual_information_is_never_negative_and_exact_for_independence() -> None:
    """I(X; Y) of exactly independent tables given as probabilities (outer products) is
    never negative (it came out -1.8e-17), on both paths; H(X, Y) = H(X) + H(Y|X) holds to
    a few ulps, each measure to a few ulps of mpmath."""
    rng = np.random.default_rng(14)
    for nx, ny in ((2, 2), (2, 3), (3, 3), (3, 7), (5, 4)):
        a = rng.random((64, nx, 1))
        b = rng.random((64, 1, ny))
        a /= a.sum(axis=1, keepdims=True)
        b /= b.sum(axis=2, keepdims=True)
        t = a * b
        for normalize in (False, True):
            got, ref = kernels_on_and_off(il.mutual_information, t, normalize=normalize)
            assert (got >= 0).all(), got.min()
            assert (ref >= 0).all(), ref.min()
            assert np.max(got) < 1e-30
            assert np.max(ref) < 1e-30
        tg = rng.random((16, nx, ny)) ** 3
        tg /= tg.sum(axis=(1, 2), keepdims=True)
        for use in (True, False):
            with use_kernels(use):
                hxy = il.joint_entropy(tg)
                hx = il.entropy(tg.sum(axis=2), normalize=True)
                hyx = il.conditional_entropy(tg)
                mi = il.mutual_information(tg)
            eps = np.finfo(np.float64).eps
            want_c = [mp_conditional(x) for x in tg]
            want_j = [mp_joint(x) for x in tg]
            want_m = [mp_mutual(x) for x in tg]
            close(hxy, want_j, np.float64, 1, ulps=4)
            close(hyx, want_c, np.float64, 1, ulps=4)
            np.testing.assert_allclose(mi, want_m, rtol=64 * eps * nx * ny, atol=0)
            np.testing.assert_allclose(hx + hyx, hxy, rtol=8 * eps, atol=0)


# ----------------------------------------------------------------- property tests

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra.numpy import arrays  # noqa: E402

_logits = arrays(
    np.float64,
    st.tuples(st.integers(1, 4), st.integers(1, 12)),
    elements=st.one_of(
        st.floats(-50, 50, allow_nan=False), st.just(-np.inf), st.sampled_from([0.0, 1e-9])
    ),
)


@given(_logits, st.integers(0, 2**31 - 1))
def test_divergences_from_logits_are_never_negative(z, seed) -> None:  # type: ignore[no-untyped-def]
    z = z.copy()
    z[:, 0] = 0.0  # no row without mass
    rng = np.random.default_rng(seed)
    zq = z + rng.standard_normal(z.shape) * rng.choice([0.0, 1e-12, 1e-6, 1.0])
    zq[:, 0] = 0.0
    with use_kernels(True):
        kl = il.kl_divergence(z, zq, form="logits")
        js = il.js_divergence(z, zq, form="logits")
        mi = il.mutual_information(z.reshape(z.shape[0], 1, -1), form="logits")
        mi2 = il.mutual_information(np.stack([z, zq], axis=1), form="logits")
    assert (kl >= 0).all()
    assert (js >= 0).all()
    assert (js <= np.log(2) * (1 + 1e-12)).all()
    assert (mi >= 0).all()
    assert (mi2 >= 0).all()
    assert (il.js_divergence(z, z, form="logits") == 0).all()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_leading_chunks_of_minus_inf(dtype) -> None:  # type: ignore[no-untyped-def]
    """Rows whose first chunks are all -inf (probability 0), then live entries: every
    measure and table kind as the array-API path (those entries tie at a maximum of -inf
    but carry no mass)."""
    c = 2 * CHUNK + 40
    rng = np.random.default_rng(15)
    z = np.full((4, c), -np.inf)
    z[0, 2 * CHUNK :] = 0.0
    z[1, CHUNK + 7 :] = rng.standard_normal(c - CHUNK - 7)
    z[2, -1] = 5.0
    z[3, :] = rng.standard_normal(c)
    z = z.astype(dtype)
    zq = np.where(np.isfinite(z), z + 0.5 * rng.standard_normal(z.shape), -np.inf)
    zq = zq.astype(dtype)
    eps = float(np.finfo(dtype).eps)
    got, ref = kernels_on_and_off(il.entropy, z, form="logits")
    np.testing.assert_allclose(got, ref, rtol=64 * eps, atol=64 * eps)
    for f in (il.cross_entropy, il.kl_divergence, il.js_divergence):
        got, ref = kernels_on_and_off(f, z, zq, form="logits")
        np.testing.assert_allclose(got, ref, rtol=64 * eps, atol=64 * eps)
    t = z.reshape(4, 2, c // 2)
    for f in (il.joint_entropy, il.conditional_entropy, il.mutual_information):
        got, ref = kernels_on_and_off(f, t, form="logits")
        np.testing.assert_allclose(got, ref, rtol=64 * eps, atol=64 * eps)
