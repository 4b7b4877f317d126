# mypy: ignore-errors
# (numba kernels: their types come from numba, not from annotations)
"""Row reductions shared by the kernel families: a chunked, online log-sum-exp.

A row is processed in chunks small enough to stay in L1 cache: the chunk maximum (taken
on the bit patterns as integers, see "maxima through the bits" below) and then, over the
same chunk re-read from L1, the sum of exp(z − m) over the entries *below* the running
maximum m together with the number of entries equal to it.  So each element is read from
memory once whatever the row length.  Every kernel does this in the one loop of
:func:`row_lse_for` over chunks, each summed by the one loop of :func:`lse_chunk_for`.

Keeping the maximal entries out of the sum is what keeps a nearly deterministic row
accurate: Σ exp(z − m) = k + rest with k ≥ 1 ties, and log of it is
``log1p((k − 1) + rest)``, which keeps the relative accuracy of a tiny ``rest`` (the
entropy of such a row is about ``rest``, and a loss at the maximal logit is exactly
``log1p(rest)``).  When a chunk raises the running maximum, the old maxima join ``rest``
rescaled, or, where :func:`taken_over` allows, the chunk's sums against the old maximum are
taken over instead of summed again.  float32 terms are summed in float32 only within a
chunk (≤ ``CHUNK`` terms over many SIMD accumulators), then in float64.

Rows of at most ``CHUNK`` entries are better read once: :func:`chunk_sums_next` and
:func:`chunk_store_next` sum a row against its maximum in the loop that takes the next
row's maximum, on the bit patterns as integers ("maxima through the bits" below; the
softmax loss uses the same primitives).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic, overload

from ._exp import FASTMATH, cast_like, fexp_low

__all__ = [
    "CHUNK",
    "RowTerm",
    "bits_max",
    "chunk_store_next",
    "chunk_sums_next",
    "count_bad_logits",
    "has_nan",
    "keep_sums",
    "lse_chunk_for",
    "lse_log",
    "max_bits",
    "max_from",
    "row_lse",
    "row_lse_for",
    "row_lse_store",
    "row_lse_t",
    "taken_over",
]

CHUNK = 2048
_JIT = {"fastmath": FASTMATH, "error_model": "numpy"}


@intrinsic
def _maxnum(typingctx, a, b):
    # llvm.maxnum ignores a NaN operand; a NaN entry still reaches the exp sum (NaN − m).
    def codegen(context, builder, sig, args):
        t = args[0].type
        fn = builder.module.declare_intrinsic("llvm.maxnum", [t], ir.FunctionType(t, [t, t]))
        return builder.call(fn, args)

    return a(a, b), codegen


@intrinsic
def _prefetch(typingctx, arr, idx):
    # A hint (prefetcht0: into L1) for the line holding arr[idx]; idx must be in range.
    def codegen(context, builder, sig, args):
        ary = context.make_array(sig.args[0])(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, sig.args[0], ary, [args[1]])
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fn = builder.module.declare_intrinsic(
            "llvm.prefetch", [i8p], ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        )
        args = [builder.bitcast(ptr, i8p), i32(0), i32(3), i32(1)]
        builder.call(fn, args)
        return context.get_dummy_value()

    return types.none(arr, idx), codegen


# ----------------------------------------------------------- maxima through the bits
#
# The maximum of a row is taken on the floats' bit patterns as signed integers: among
# non-negative floats integer order is float order, among negative ones it is reversed.
# So max z is the float of the largest pattern if that is ≥ 0, else of the smallest one
# (a NaN with the sign bit clear sorts above +inf and wins; one with it set never does,
# and reaches the exp sums).  LLVM vectorises these two integer reductions alongside the
# sums of another row, where it leaves a loop that mixes ``llvm.maxnum`` with sums scalar.


def _int_of(x):
    return types.int32 if x.bitwidth == 32 else types.int64


@intrinsic
def bits_of(typingctx, x):
    if not isinstance(x, types.Float):
        return None

    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.IntType(sig.args[0].bitwidth))

    return _int_of(x)(x), codegen


@intrinsic
def from_bits(typingctx, b):
    if not isinstance(b, types.Integer):
        return None
    fty = types.float32 if b.bitwidth == 32 else types.float64

    def codegen(context, builder, sig, args):
        width = sig.args[0].bitwidth
        return builder.bitcast(args[0], ir.FloatType() if width == 32 else ir.DoubleType())

    return fty(b), codegen


@intrinsic
def bits_start(typingctx, x, top):
    # The start of a maximum (the smallest integer of x's width) or, with ``top`` True,
    # of a minimum (the largest).
    if not isinstance(x, types.Float):
        return None

    def codegen(context, builder, sig, args):
        width = sig.args[0].bitwidth
        it = ir.IntType(width)
        return builder.select(args[1], it((1 << (width - 1)) - 1), it(-(1 << (width - 1))))

    return _int_of(x)(x, types.boolean), codegen


def _int_pick(op):
    """An intrinsic (a, b) -> a if ``a op b`` (signed) else b, for two integers of one type:
    a select LLVM vectorises as a min/max reduction."""

    @intrinsic
    def pick(typingctx, a, b):
        if not (isinstance(a, types.Integer) and a == b):
            return None

        def codegen(context, builder, sig, args):
            return builder.select(builder.icmp_signed(op, args[0], args[1]), args[0], args[1])

        return a(a, b), codegen

    return pick


imax = _int_pick(">")
imin = _int_pick("<")


@njit(inline="always", **_JIT)
def max_from(hi, lo):
    """max z from the largest (``hi``) and smallest (``lo``) bit patterns of a row."""
    return from_bits(hi if hi >= 0 else lo)


@njit(**_JIT)
def max_bits(x):
    """(largest, smallest) bit pattern of x, as signed integers."""
    hi = bits_start(x[0], False)
    lo = bits_start(x[0], True)
    for j in range(x.shape[0]):
        b = bits_of(x[j])
        hi = imax(hi, b)
        lo = imin(lo, b)
    return hi, lo


@njit(**_JIT)
def bits_max(x):
    """max(x) (a NaN with the sign bit clear wins)."""
    hi, lo = max_bits(x)
    return max_from(hi, lo)


def recentre_min(x):
    """The most negative δ = m − m_new for which a chunk summed against m may be taken
    over (fexp_low is exact for arguments up to about 43.6 in float32, 570 in float64)."""
    raise NotImplementedError  # only callable from numba code


@overload(recentre_min)
def _ov_recentre_min(x):
    if x.bitwidth == 32:
        return lambda x: -40.0
    return lambda x: -560.0


@njit(**_JIT)
def count_equal(x, v):
    """The number of entries of x equal to v, as a float."""
    c = 0.0
    for j in range(x.shape[0]):
        c += 1.0 if x[j] == v else 0.0
    return c


@njit(error_model="numpy", fastmath=FASTMATH, inline="always")
def count_bad_logits(row):
    """NaN and +inf entries of a row whose log-sum-exp is not finite (all −inf counts 1)."""
    nb = 0
    for j in range(row.shape[0]):
        v = row[j]
        if v != v or v == np.inf:
            nb += 1
    return nb if nb > 0 else 1


@njit(error_model="numpy", fastmath=FASTMATH, inline="always")
def prefetch_head(row):
    """Hint the memory system to bring the first chunk of ``row`` into L2."""
    n = min(row.shape[0], CHUNK)
    step = max(64 // row.itemsize, 1)
    for j in range(0, n, step):
        _prefetch(row, j)


@njit(error_model="numpy", fastmath=FASTMATH, inline="always")
def chunk_max(x):
    """max(x), ignoring NaN entries; −inf for an empty, all −inf or all NaN chunk."""
    m = cast_like(-np.inf, x[0])
    for j in range(x.shape[0]):
        m = _maxnum(m, x[j])
    return m


@njit(error_model="numpy", fastmath=FASTMATH, inline="always")
def has_nan(x):
    """Whether x holds a NaN."""
    nb = 0
    for j in range(x.shape[0]):
        nb += 1 if x[j] != x[j] else 0
    return nb > 0


# ------------------------------------------------------------ the log-sum-exp loop
#
# Every kernel that sums exp(z − m) over a chunk of one row does it in the one loop below
# (``info._ce_chunk``, two rows at once, keeps its own; see its docstring); what
# differs between them is a "term": further sums over the same entries (Σ e·d for an
# entropy, Σ w·d for label smoothing, the target sums of a probability target), given as
# a pair of jitted functions (start(m) → the initial sums, step(sums, j, d, e, aux) → the
# sums with entry j added) that LLVM inlines into the loop and vectorises with it.


@njit(inline="always", **_JIT)
def _no_sums(m):
    return ()


@njit(inline="always", **_JIT)
def _no_step(acc, j, d, e, aux):
    return acc


@njit(inline="always", **_JIT)
def _ed_sums(m):
    return (cast_like(0.0, m),)


@njit(inline="always", **_JIT)
def _ed_step(acc, j, d, e, aux):
    # e = 0 where d = −inf (0·−inf would be NaN); NaN d gives NaN in Σ e anyway.
    zero = cast_like(0.0, d)
    return (acc[0] + (e * d if e > zero else zero),)


_NO_TERM = (_no_sums, _no_step)
_ED_TERM = (_ed_sums, _ed_step)  # Σ e·d (≤ 0; the maxima add 0), for entropies


def lse_chunk_for(term, store, pipelined, inline="never"):
    """The log-sum-exp loop over a chunk x against the maximum m, as a jitted
    ``f(x, m, nx, g, aux)`` → (Σ e below m, number equal to m, the term's sums, any entry
    above m, largest and smallest bit patterns of nx), d = x − m, e = exp(d), the first
    two as float64.

    ``store``: each e into g.  ``pipelined``: the bit patterns of nx, the next row (of x's
    length), in the same loop, so its loads from memory overlap this chunk's exp arithmetic
    (a row read in two passes, maximum then sums, would wait for memory in the first); then
    "above" is not counted (False).  Otherwise the entries above m are counted rather than
    the maximum taken (LLVM does not vectorise a loop that mixes a maxnum reduction with
    sums); the sums are valid only where none is above (exp(d) of d > 0 may be garbage).
    An m that is not the chunk's finite maximum (NaN, ±inf) gives NaN or k = 0.
    ``inline``: numba's inlining of the loop into its callers (in numba's IR, before LLVM).
    """
    start, step = term

    @njit(inline=inline, **_JIT)
    def lse_chunk(x, m, nx, g, aux):
        zero = cast_like(0.0, m)
        one = cast_like(1.0, m)
        cr = zero
        ck = zero
        ca = zero
        acc = start(m)
        hi = bits_start(m, False)
        lo = bits_start(m, True)
        for j in range(x.shape[0]):
            d = x[j] - m
            e = fexp_low(d)
            top = d == zero
            cr += zero if top else e
            ck += one if top else zero
            acc = step(acc, j, d, e, aux)
            if store:
                g[j] = e
            if pipelined:
                bits = bits_of(nx[j])
                hi = imax(hi, bits)
                lo = imin(lo, bits)
            else:
                ca += one if d > zero else zero
        return float(cr), float(ck), acc, ca > zero, hi, lo

    return lse_chunk


_sums_above = lse_chunk_for(_ED_TERM, False, False, "always")
_store_above = lse_chunk_for(_NO_TERM, True, False, "always")
_sums_next = lse_chunk_for(_ED_TERM, False, True)
_store_next = lse_chunk_for(_NO_TERM, True, True)


@njit(**_JIT)
def chunk_sums_next(x, m, nx):
    """(Σ e below m, number equal to m, Σ e·d, hi, lo) of a row x of at most ``CHUNK``
    entries against its maximum m, with the bit patterns of the next row nx: see
    :func:`lse_chunk_for`."""
    cr, ck, acc, _, hi, lo = _sums_next(x, m, nx, x, x)
    return cr, ck, acc[0], hi, lo


@njit(**_JIT)
def chunk_store_next(x, m, b, nx):
    """(Σ e below m, number equal to m, hi, lo), each e = exp(x − m) stored in ``b``: see
    :func:`lse_chunk_for`."""
    cr, ck, _, _, hi, lo = _store_next(x, m, nx, b, x)
    return cr, ck, hi, lo


@njit(error_model="numpy", fastmath=FASTMATH, inline="always")
def taken_over(x, m, cm, k, rest, cr, ck, lowest):
    """(ok, rest', k') of a row re-centred on ``cm``, the new maximum of chunk x, with the
    chunk's sums (cr, ck) against the old maximum m taken over instead of summed again.

    The sums are valid where the rise cm − m is within ``fexp_low``'s domain (checked as
    δ = m − cm ≥ ``lowest``).  The chunk's exp of its k' new maximal entries (e^{-δ} each)
    leaves the rest, which costs the rest a few roundings of that term: ``ok`` only where
    the rest stays ≥ 4·k' (then it keeps its relative accuracy); else the chunk is to be
    summed again against cm."""
    delta = float(m) - float(cm)
    if delta >= lowest:
        kn = count_equal(x, cm)
        big = float(fexp_low(cm - m))  # as the chunk's loop computed it
        moved = (rest + k + ck + (cr - kn * big)) * math.exp(delta)
        if moved >= 4.0 * kn:
            return True, moved, kn
    return False, 0.0, 0.0


# ------------------------------------------------------- the running-maximum row loop
#
# A row longer than a chunk is summed chunk by chunk against a running maximum, in the one
# loop of :func:`row_lse_for`.  What a kernel sums beside exp(z − m) is again a term (as
# for :func:`lse_chunk_for`), here with the row-level hooks that carry its sums across
# chunks, given as a :class:`RowTerm` of jitted functions:
#
# * ``init(m)``: the row's sums before the first chunk (float64);
# * ``part(aux, c0, c1)``: the chunk loop's ``aux`` for columns c0..c1 of the row's;
# * ``add(acc, sums)``: the row's sums with a chunk's (summed against the row's maximum);
# * ``rescale(acc, δ, f, s)``: the row's sums after the maximum rises by −δ (f = e^δ,
#   s = Σ exp(z − m) so far, maxima included): every d = z − m drops by δ;
# * ``take(acc, sums, δ, f, s)``: as ``add`` then ``rescale`` for a chunk whose sums
#   against the old maximum are taken over (:func:`taken_over`; s includes the chunk),
#   written per term to keep its rounding;
# * ``empty(acc, x, aux)``: a chunk of a row with no finite maximum yet (all −inf or NaN);
# * ``lowest(m)``: the most negative δ for which sums may be taken over.


class RowTerm(NamedTuple):
    init: object
    part: object
    add: object
    rescale: object
    take: object
    empty: object
    lowest: object


def row_lse_for(chunk, term, store, takeover, inline="never"):
    """The running-maximum loop over a row in chunks of ``CHUNK``, as a jitted
    ``f(row, nxt, aux, buf, centres)`` → (m, k, rest, the term's sums): m = max(row) in
    the row's dtype, k the number of entries equal to it, rest = Σ exp(z − m) over the
    others (float64), so logsumexp(row) = m + log(k + rest).  A row holding NaN or +inf
    gives a NaN ``rest`` and an all −inf row k = 0: see :func:`lse_log`.

    ``chunk`` is a loop of :func:`lse_chunk_for` (not pipelined; ``store`` as it) and
    ``term`` its :class:`RowTerm`.  ``nxt`` is the row to be processed next: its first
    chunk is prefetched while this row's last chunk is summed (the first chunk of a row is
    read in two passes, the maximum and then the sums, so it would otherwise wait for
    memory with no arithmetic to overlap).  ``store``: each exp into ``buf`` as
    exp(z − c) with c = ``centres[j // CHUNK]``, the maximum its chunk was summed against
    (−inf, with 0 stored, for a chunk of a row that had no finite entry yet), so that
    exp(z − m) = buf[j]·exp(c − m).

    Once the row has a maximum, a chunk is summed against it in one loop that also counts
    the entries above it (one pass, so the loads from memory overlap the exp arithmetic).
    A chunk that raises the maximum has its maximum taken (from L1); its sums are then
    taken over (``takeover``, where :func:`taken_over` allows), else the row's sums are
    re-centred on the new maximum and the chunk is summed again against it.
    """
    init, part, add, rescale, take, empty, lowest = term

    @njit(inline=inline, **_JIT)
    def row_lse_long(row, nxt, aux, buf, centres):
        n = row.shape[0]
        m = cast_like(-np.inf, row[0])
        started = False
        k = 0.0
        rest = 0.0
        acc = init(m)
        for c0 in range(0, n, CHUNK):
            c1 = min(c0 + CHUNK, n)
            x = row[c0:c1]
            b = buf[c0:c1] if store else x
            ax = part(aux, c0, c1)
            ci = c0 // CHUNK
            if c1 >= n:
                prefetch_head(nxt)  # while the last chunk is summed
            if started:
                cr, ck, sums, above, _, _ = chunk(x, m, x, b, ax)
                if not above:
                    if store:
                        centres[ci] = m
                    rest += cr
                    k += ck
                    acc = add(acc, sums)
                    continue
                cm = bits_max(x)
                delta = float(m) - float(cm)
                f = math.exp(delta)
                if takeover:
                    ok, moved, kn = taken_over(x, m, cm, k, rest, cr, ck, lowest(m))
                    if ok:
                        if store:
                            centres[ci] = m
                        acc = take(acc, sums, delta, f, rest + k + ck + cr)
                        rest = moved
                        k = kn
                        m = cm
                        continue
                # Re-centre on the new maximum: every old term (the k old maxima
                # included) is scaled by f, and each d = z − m drops by δ.
                acc = rescale(acc, delta, f, rest + k)
                rest = (rest + k) * f
                k = 0.0
                m = cm
            else:
                m = bits_max(x)
                if not (m > -np.inf):
                    # All −inf or NaN so far: no mass, but NaN is NaN.
                    if has_nan(x):
                        rest = np.nan
                    acc = empty(acc, x, ax)
                    m = cast_like(-np.inf, m)
                    if store:
                        centres[ci] = m
                        for j in range(b.shape[0]):
                            b[j] = cast_like(0.0, m)
                    continue
                started = True
            cr, ck, sums, _, _, _ = chunk(x, m, x, b, ax)
            if store:
                centres[ci] = m
            rest += cr
            k += ck
            acc = add(acc, sums)
        return m, k, rest, acc

    return row_lse_long


@njit(inline="always", **_JIT)
def _whole(aux, c0, c1):
    return aux


@njit(inline="always", **_JIT)
def keep_sums(acc, a=None, b=None, c=None, d=None):
    """A row term's hook that leaves its sums as they are."""
    return acc


@njit(inline="always", **_JIT)
def _f64_zeros(m):
    return (0.0,)


@njit(inline="always", **_JIT)
def _no_row_sums(m):
    return ()


@njit(inline="always", **_JIT)
def _t_add(acc, sums):
    return (acc[0] + float(sums[0]),)


@njit(inline="always", **_JIT)
def _t_rescale(acc, delta, f, s):
    return (f * (acc[0] + delta * s),)


@njit(inline="always", **_JIT)
def _t_take(acc, sums, delta, f, s):
    # Every d drops by δ, so the chunk adds e^δ·(ct + δ·(cr + ck)), in which the new
    # maxima's terms cancel.
    return (f * (acc[0] + float(sums[0]) + delta * s),)


@njit(inline="always", **_JIT)
def _t_lowest(m):
    # t takes over only rises of at most 1: the cancelling terms are ≈ |δ| per maximal
    # entry, and with the rest ≥ 4 times their count an entropy t/s of the row is
    # ≥ log 5, so their roundings stay within a few ulp of it.
    return -1.0


# Σ exp(z − m)·(z − m) for entropies; nothing beside the exps for the stored rows.
_T_ROW = RowTerm(_f64_zeros, _whole, _t_add, _t_rescale, _t_take, keep_sums, _t_lowest)
_STORE_ROW = RowTerm(_no_row_sums, _whole, keep_sums, keep_sums, keep_sums, keep_sums, recentre_min)
_row_t = row_lse_for(_sums_above, _T_ROW, False, True, "always")
_row_store = row_lse_for(_store_above, _STORE_ROW, True, True, "always")


@njit(error_model="numpy", fastmath=FASTMATH, inline="always")
def row_lse_t(row, nxt):
    """(m, k, rest, t) for one row (see :func:`row_lse_for`; ``nxt`` the row processed
    next); ``t`` = Σ exp(z − m)·(z − m) (≤ 0; the maxima add 0), float64."""
    m, k, rest, acc = _row_t(row, nxt, row, row, row)
    return m, k, rest, acc[0]


@njit(error_model="numpy", fastmath=FASTMATH, inline="always")
def row_lse_store(row, nxt, buf, centres):
    """(m, k, rest) as :func:`row_lse`, and every exp kept for a second pass that then needs
    none: ``buf[j]`` = exp(row[j] − c) with c = ``centres[j // CHUNK]`` (see
    :func:`row_lse_for`)."""
    m, k, rest, _ = _row_store(row, nxt, row, buf, centres)
    return m, k, rest


@njit(error_model="numpy", fastmath=FASTMATH, inline="always")
def row_lse(row, nxt):
    """(m, k, rest) as in :func:`row_lse_t` (LLVM drops the unused ``t`` after inlining)."""
    m, k, rest, _ = row_lse_t(row, nxt)
    return m, k, rest


@njit(error_model="numpy", fastmath=FASTMATH, inline="always")
def lse_log(m, k, rest):
    """(ok, s, log s) with s = k + rest = Σ exp(z − m); ``ok`` False for a bad row (NaN or
    +inf entries, or all −inf), whose s and log s are then meaningless."""
    ok = k > 0.0 and math.isfinite(rest) and math.isfinite(float(m))
    s = k + rest
    return ok, s, math.log1p((k - 1.0) + rest) if ok else np.nan
