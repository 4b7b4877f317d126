"""The XLA FFI targets of ``infoloss.jax``, compiled: handlers that XLA calls with its
buffers and that run the softmax kernels on that memory, with no Python in between.

A handler written in Python (a ``ctypes`` callback) costs a GIL acquisition, the call
frame's decoding and NumPy views of every buffer on each call: about 0.1–0.4 ms on the
2-core machine, more than the whole loss of a 1797×10 batch.  These handlers decode the
frame (``src/xla_ffi.h``, the layout of ``xla/ffi/api/c_api.h``) and call the kernels as
:mod:`infoloss._kernels.softmax` does, through ``_softmax``'s C entry points:

* ``infoloss_xent_forward``: logits (…, N, C), labels (…, N) (int32 or int64) or
  probabilities (…, N, C), class weights (…, C) → per-sample losses, the row log-sum-exp
  as a high and a low part (the backward's input), the counts of bad logits and bad
  target entries (2,), and the sum of the losses (taken in double: the reductions need no
  pass of their own);
* ``infoloss_xent_backward``: the same inputs, the two parts of the log-sum-exp and the
  upstream (…, N) → the gradient (…, N, C);
* ``infoloss_xent_fused``: the forward's inputs and a scale (…) → the losses,
  ``scale · ∂ℓ_i/∂z_i`` written in the same pass, then the forward's other outputs;
* ``infoloss_scale``: a gradient (aliased to its output) times a factor (…).

Leading axes (``jax.vmap``'s ``expand_dims``: size 1 where an input is not batched) are
looped over.  The attributes are the options of :func:`infoloss.jax._calls._call`.  A
handler never raises into XLA: a bad call returns an XLA error with a message.
"""

from cpython.pycapsule cimport PyCapsule_New
from libc.stdint cimport int32_t, int64_t, uint32_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcmp, memcpy, strlen

from ._softmax cimport il_xent_in, il_xent_out, xent_backward, xent_forward

from .softmax import _CAP_BYTES

cdef extern from "xla_ffi.h" nogil:
    enum:
        IL_FFI_EXTENSION_METADATA
        IL_FFI_STAGE_EXECUTE
        IL_FFI_S32
        IL_FFI_S64
        IL_FFI_F32
        IL_FFI_F64
        IL_FFI_INVALID_ARGUMENT
        IL_FFI_INTERNAL
        IL_FFI_API_MAJOR
        IL_FFI_API_MINOR

    ctypedef struct il_ffi_ext:
        size_t struct_size
        int type

    ctypedef struct il_ffi_version:
        size_t struct_size
        il_ffi_ext *extension_start
        int major_version
        int minor_version

    ctypedef struct il_ffi_metadata:
        size_t struct_size
        il_ffi_version api_version
        uint32_t traits

    ctypedef struct il_ffi_metadata_ext:
        il_ffi_ext extension_base
        il_ffi_metadata *metadata

    ctypedef struct il_ffi_buffer:
        int dtype
        void *data
        int64_t rank
        int64_t *dims

    ctypedef struct il_ffi_list:
        int64_t size
        void **items

    ctypedef struct il_ffi_span:
        const char *ptr
        size_t len

    ctypedef struct il_ffi_scalar:
        int dtype
        void *value

    ctypedef struct il_ffi_attrs:
        int64_t size
        il_ffi_span **names
        void **attrs

    ctypedef struct il_ffi_error_args:
        size_t struct_size
        il_ffi_ext *extension_start
        const char *message
        int errc

    ctypedef void *(*il_ffi_error_create)(il_ffi_error_args *args)

    ctypedef struct il_ffi_api:
        il_ffi_error_create error_create

    ctypedef struct il_ffi_frame:
        il_ffi_ext *extension_start
        const il_ffi_api *api
        int stage
        il_ffi_list args
        il_ffi_list rets
        il_ffi_attrs attrs

cdef extern from *:
    """
    #ifdef __linux__
    #include <sys/mman.h>
    #endif
    /* Transparent huge pages for the 2 MiB-aligned middle of a large fresh output buffer,
       as NumPy asks for its own large arrays: XLA allocates every call's gradient afresh,
       and faulting it in 4 KiB pages costs more than the kernel's pass.  A refusal only
       costs speed. */
    static void il_advise_huge(void *p, size_t nbytes) {
    #if defined(__linux__) && defined(MADV_HUGEPAGE)
        const size_t huge = (size_t)1 << 21;
        if (nbytes < 4 * huge) return;
        size_t start = ((size_t)p + huge - 1) & ~(huge - 1);
        size_t end = ((size_t)p + nbytes) & ~(huge - 1);
        if (end > start) (void)madvise((void *)start, end - start, MADV_HUGEPAGE);
    #else
        (void)p; (void)nbytes;
    #endif
    }
    """
    void il_advise_huge(void *p, size_t nbytes) nogil


cdef int64_t CAP_BYTES = _CAP_BYTES
# The deepest nesting of ``jax.vmap`` a call may carry (leading axes of its buffers).
cdef enum:
    MAX_LEAD = 16
    MAX_BUFS = 12


cdef struct Options:
    double eps
    int64_t ignore
    bint has_ignore
    double cap
    double zl


cdef struct Slabs:
    # the leading (batch) axes shared by a call's buffers, and where each slab starts
    int nlead
    int64_t lead[MAX_LEAD]
    int64_t count
    int nbuf
    il_ffi_buffer *buf[MAX_BUFS]
    int core[MAX_BUFS]
    int64_t step[MAX_BUFS][MAX_LEAD]   # elements between slabs along each leading axis


cdef inline void *_fail(const il_ffi_frame *f, const char *message, int errc) noexcept nogil:
    cdef il_ffi_error_args a
    a.struct_size = sizeof(il_ffi_error_args)
    a.extension_start = NULL
    a.message = message
    a.errc = errc
    return f.api.error_create(&a)


cdef inline bint _named(const il_ffi_span *s, const char *name, size_t n) noexcept nogil:
    return s.len == n and memcmp(s.ptr, name, n) == 0


cdef bint _options(const il_ffi_attrs *attrs, Options *o) noexcept nogil:
    """Read the options (each a float64 or an int64 scalar, 8 bytes); False where one is
    missing or of another type."""
    cdef const char *names[5]
    cdef int types[5]
    cdef void *into[5]
    cdef int64_t i, has_ignore = 0
    cdef int k, seen = 0
    cdef const il_ffi_scalar *v
    names[:] = [b"smoothing", b"ignore", b"has_ignore", b"softcap", b"zloss"]
    types[:] = [IL_FFI_F64, IL_FFI_S64, IL_FFI_S64, IL_FFI_F64, IL_FFI_F64]
    into[:] = [&o.eps, &o.ignore, &has_ignore, &o.cap, &o.zl]
    for i in range(attrs.size):
        v = <const il_ffi_scalar *>attrs.attrs[i]
        for k in range(5):
            if v.dtype == types[k] and _named(attrs.names[i], names[k], strlen(names[k])):
                memcpy(into[k], v.value, 8)
                seen |= 1 << k
    o.has_ignore = has_ignore != 0
    return seen == 31


cdef inline int64_t _itemsize(int dtype) noexcept nogil:
    if dtype == IL_FFI_F32 or dtype == IL_FFI_S32:
        return 4
    if dtype == IL_FFI_F64 or dtype == IL_FFI_S64:
        return 8
    return 0


cdef bint _slabs(Slabs *sl, il_ffi_buffer **bufs, const int *core, int nbuf) noexcept nogil:
    """Lay out the leading axes of ``nbuf`` buffers whose last ``core[i]`` axes are a slab;
    False where they do not agree (every buffer must have the same number of leading
    axes, each of the call's size or 1)."""
    cdef int i, k, nl
    cdef int64_t d, size
    sl.nbuf = nbuf
    sl.nlead = <int>(bufs[0].rank - core[0])
    if sl.nlead < 0 or sl.nlead > MAX_LEAD or nbuf > MAX_BUFS:
        return False
    for k in range(sl.nlead):
        sl.lead[k] = 1
    for i in range(nbuf):
        sl.buf[i] = bufs[i]
        sl.core[i] = core[i]
        nl = <int>(bufs[i].rank - core[i])
        if nl != sl.nlead or _itemsize(bufs[i].dtype) == 0:
            return False
        for k in range(nl):
            d = bufs[i].dims[k]
            if d != 1:
                if sl.lead[k] != 1 and sl.lead[k] != d:
                    return False
                sl.lead[k] = d
    sl.count = 1
    for k in range(sl.nlead):
        sl.count *= sl.lead[k]
    for i in range(nbuf):
        size = 1
        for k in range(bufs[i].rank - 1, sl.nlead - 1, -1):
            size *= bufs[i].dims[k]
        for k in range(sl.nlead - 1, -1, -1):
            sl.step[i][k] = size if bufs[i].dims[k] != 1 else 0
            size *= bufs[i].dims[k]
    return True


cdef inline char *_at(const Slabs *sl, int i, int64_t j) noexcept nogil:
    """The start of buffer ``i``'s slab ``j`` (row-major over the leading axes)."""
    cdef int k
    cdef int64_t off = 0
    for k in range(sl.nlead - 1, -1, -1):
        off += (j % sl.lead[k]) * sl.step[i][k]
        j //= sl.lead[k]
    return <char *>sl.buf[i].data + off * _itemsize(sl.buf[i].dtype)


cdef inline double _get(const char *p, bint single, int64_t i) noexcept nogil:
    return (<const float *>p)[i] if single else (<const double *>p)[i]


cdef inline void _put(char *p, bint single, int64_t i, double v) noexcept nogil:
    if single:
        (<float *>p)[i] = <float>v
    else:
        (<double *>p)[i] = v


cdef struct Scratch:
    int64_t *labels     # int32 labels widened (n)
    double *w           # class weights as doubles (c), or NULL where every one is 1
    double *rows        # per-row doubles: 4 per row


cdef bint _scratch(Scratch *s, int64_t n, int64_t c, bint widen) noexcept nogil:
    s.labels = <int64_t *>malloc(max(n, 1) * sizeof(int64_t)) if widen else NULL
    s.w = <double *>malloc(max(c, 1) * sizeof(double))
    s.rows = <double *>malloc(4 * max(n, 1) * sizeof(double))
    return (s.labels != NULL or not widen) and s.w != NULL and s.rows != NULL


cdef void _release(Scratch *s) noexcept nogil:
    free(s.labels)
    free(s.w)
    free(s.rows)


cdef const char *_setup(il_xent_in *p, Scratch *s, const Options *o, const il_ffi_buffer *zb,
                        const il_ffi_buffer *tb, const char *z, const char *t,
                        const char *w) noexcept nogil:
    """Fill ``p`` for one slab (``z``, ``t``, ``w`` its data); the message of what is
    wrong with the call, or NULL."""
    cdef int64_t n = zb.dims[zb.rank - 2]
    cdef int64_t c = zb.dims[zb.rank - 1]
    cdef bint single = zb.dtype == IL_FFI_F32
    cdef bint ones = True
    cdef int64_t i
    p.n = n
    p.c = c
    p.z = z
    p.zs0 = c
    p.zs1 = 1
    p.eps = o.eps
    p.zl = o.zl
    p.has_cap = o.cap > 0
    p.cap = o.cap if p.has_cap else 0.0
    p.cap_rows = max(1, CAP_BYTES // max(1, c * (4 if single else 8))) if p.has_cap else 0
    if tb.rank == zb.rank - 1:
        if tb.dims[tb.rank - 1] != n:
            return b"infoloss.jax: the labels must have one entry per row of the logits"
        if tb.dtype == IL_FFI_S64:
            p.y = <const int64_t *>t
        elif tb.dtype == IL_FFI_S32:
            for i in range(n):
                s.labels[i] = (<const int32_t *>t)[i]
            p.y = s.labels
        else:
            return b"infoloss.jax: the labels must be int32 or int64"
        p.ys = 1
        p.t = NULL
        p.ts0 = p.ts1 = 0
        p.has_ignore = o.has_ignore
        p.ignore = o.ignore if o.has_ignore else 0
    else:
        if (tb.rank != zb.rank or tb.dtype != zb.dtype or tb.dims[tb.rank - 2] != n
                or tb.dims[tb.rank - 1] != c):
            return b"infoloss.jax: probability targets must have the logits' shape and dtype"
        p.y = NULL
        p.ys = 0
        p.t = t
        p.ts0 = c
        p.ts1 = 1
        p.has_ignore = 0
        p.ignore = o.ignore if (o.has_ignore and 0 <= o.ignore < c) else -1
    for i in range(c):
        s.w[i] = _get(w, single, i)
        ones = ones and s.w[i] == 1.0
    p.w = NULL if ones else s.w
    return NULL


cdef void _outputs(il_xent_out *o, const Scratch *s, int64_t n, bint labels) noexcept nogil:
    o.loss = s.rows
    o.lse = s.rows + n
    o.sw = s.rows + 2 * n
    o.log_mass = NULL if labels else s.rows + 3 * n
    o.g = NULL
    o.gs0 = o.gs1 = 0
    o.scale = 1.0
    o.nbad = o.tbad = 0


cdef void _record(const il_xent_out *o, int64_t n, bint single, bint labels, char *loss,
                  char *hi, char *lo, char *bad, char *total) noexcept nogil:
    """The forward's outputs in the logits' dtype: the log-sum-exp as hi + lo, the
    losses' sum taken in double."""
    cdef int64_t i
    cdef double h, acc = 0.0
    for i in range(n):
        acc += o.loss[i]
        _put(loss, single, i, o.loss[i])
        _put(hi, single, i, o.lse[i])
        h = _get(hi, single, i)
        _put(lo, single, i, o.lse[i] - h)
    _put(bad, single, 0, <double>o.nbad)
    _put(bad, single, 1, 0.0 if labels else <double>o.tbad)
    _put(total, single, 0, acc)


cdef il_ffi_buffer *_arg(const il_ffi_frame *f, int i) noexcept nogil:
    return <il_ffi_buffer *>f.args.items[i]


cdef il_ffi_buffer *_ret(const il_ffi_frame *f, int i) noexcept nogil:
    return <il_ffi_buffer *>f.rets.items[i]


cdef inline bint _declare(il_ffi_frame *f) noexcept nogil:
    """Answer XLA's question at registration (the API version and traits); True if asked."""
    cdef il_ffi_ext *ext = f.extension_start
    cdef il_ffi_metadata *meta
    if ext == NULL or ext.type != IL_FFI_EXTENSION_METADATA:
        return False
    meta = (<il_ffi_metadata_ext *>ext).metadata
    meta.api_version.struct_size = sizeof(il_ffi_version)
    meta.api_version.extension_start = NULL
    meta.api_version.major_version = IL_FFI_API_MAJOR
    meta.api_version.minor_version = IL_FFI_API_MINOR
    meta.traits = 0
    return True


cdef bint _logits_ok(const il_ffi_buffer *z) noexcept nogil:
    return z.rank >= 2 and (z.dtype == IL_FFI_F32 or z.dtype == IL_FFI_F64)


# ------------------------------------------------------------------ the handlers


cdef void *_forward_handler(il_ffi_frame *f) noexcept nogil:
    """Inputs z, t, w; outputs loss, hi, lo, bad, total (see the module docstring)."""
    return _forward_call(f, False)


cdef void *_fused_handler(il_ffi_frame *f) noexcept nogil:
    """Inputs z, t, w, scale; outputs loss, the gradient, hi, lo, bad, total."""
    return _forward_call(f, True)


cdef void *_close_call(il_ffi_frame *f, Scratch *s, const char *msg, int rc) noexcept nogil:
    _release(s)
    if msg != NULL:
        return _fail(f, msg, IL_FFI_INVALID_ARGUMENT)
    if rc != 0:
        return _fail(f, b"infoloss.jax: no memory for the kernel's buffers", IL_FFI_INTERNAL)
    return NULL


cdef struct Call:
    # a kernel target's call, once checked: the logits and targets, and their shape
    il_ffi_buffer *z
    il_ffi_buffer *t
    int64_t n, c
    bint labels, single


cdef void *_open_call(il_ffi_frame *f, int nin, int nout, const int *cores, int grad,
                      Options *opt, Slabs *sl, Scratch *s, Call *k) noexcept nogil:
    """Check a kernel target's call (its counts of arguments, its options, the logits'
    type), lay out its slabs (``cores``: each buffer's core axes in the target's
    probability form; labels have one fewer), advise the gradient output ``grad`` (-1:
    none) and take the scratch; NULL, or the error for XLA."""
    cdef il_ffi_buffer *bufs[MAX_BUFS]
    cdef int core[MAX_BUFS]
    cdef int i
    if f.args.size != nin or f.rets.size != nout or nin + nout > MAX_BUFS:
        return _fail(f, b"infoloss.jax: a kernel target called with the wrong arguments",
                     IL_FFI_INVALID_ARGUMENT)
    if not _options(&f.attrs, opt):
        return _fail(f, b"infoloss.jax: a kernel target called without its options",
                     IL_FFI_INVALID_ARGUMENT)
    k.z = _arg(f, 0)
    k.t = _arg(f, 1)
    if not _logits_ok(k.z):
        return _fail(f, b"infoloss.jax: the logits must be float32 or float64 (..., N, C)",
                     IL_FFI_INVALID_ARGUMENT)
    k.labels = k.t.rank == k.z.rank - 1
    k.single = k.z.dtype == IL_FFI_F32
    k.n = k.z.dims[k.z.rank - 2]
    k.c = k.z.dims[k.z.rank - 1]
    for i in range(nin + nout):
        bufs[i] = _arg(f, i) if i < nin else _ret(f, i - nin)
        core[i] = cores[i]
    if k.labels:
        core[1] = 1
    if not _slabs(sl, bufs, core, nin + nout):
        return _fail(f, b"infoloss.jax: the kernel target's batch axes do not agree",
                     IL_FFI_INVALID_ARGUMENT)
    if grad >= 0:
        il_advise_huge(_ret(f, grad).data,
                       <size_t>(sl.count * k.n * k.c * (4 if k.single else 8)))
    if not _scratch(s, k.n, k.c, k.labels and k.t.dtype == IL_FFI_S32):
        return _close_call(f, s, NULL, -1)
    return NULL


cdef void *_forward_call(il_ffi_frame *f, bint fused) noexcept nogil:
    if _declare(f) or f.stage != IL_FFI_STAGE_EXECUTE:
        return NULL
    cdef Options opt
    cdef Slabs sl
    cdef Scratch s
    cdef il_xent_in p
    cdef il_xent_out o
    cdef int nin = 4 if fused else 3
    cdef int i, rc = 0
    cdef int64_t j, n, c
    # z, t, w[, scale] | loss[, g], hi, lo, bad, total
    cdef int cores_fwd[8]
    cdef int cores_fused[10]
    cores_fwd[:] = [2, 2, 1, 1, 1, 1, 1, 0]
    cores_fused[:] = [2, 2, 1, 0, 1, 2, 1, 1, 1, 0]
    cdef const int *cores = &cores_fused[0] if fused else &cores_fwd[0]
    cdef Call k
    cdef const char *msg = NULL
    err = _open_call(f, nin, 6 if fused else 5, cores, 1 if fused else -1, &opt, &sl, &s, &k)
    if err != NULL:
        return err
    n = k.n
    c = k.c
    for j in range(sl.count):
        msg = _setup(&p, &s, &opt, k.z, k.t, _at(&sl, 0, j), _at(&sl, 1, j), _at(&sl, 2, j))
        if msg != NULL:
            break
        _outputs(&o, &s, n, k.labels)
        if fused:
            o.g = _at(&sl, nin + 1, j)
            o.gs0 = c
            o.gs1 = 1
            o.scale = _get(_at(&sl, 3, j), k.single, 0)
        if n:
            rc = xent_forward(&p, &o, k.single)
            if rc != 0:
                break
        i = nin + 1 if fused else nin  # hi, lo, bad and the total follow
        _record(&o, n, k.single, k.labels, _at(&sl, nin, j), _at(&sl, i + 1, j),
                _at(&sl, i + 2, j), _at(&sl, i + 3, j), _at(&sl, i + 4, j))
    return _close_call(f, &s, msg, rc)


cdef void *_backward_handler(il_ffi_frame *f) noexcept nogil:
    """Inputs z, t, w, hi, lo, upstream; output the gradient."""
    if _declare(f) or f.stage != IL_FFI_STAGE_EXECUTE:
        return NULL
    cdef Options opt
    cdef Slabs sl
    cdef Scratch s
    cdef il_xent_in p
    cdef int rc = 0
    cdef int64_t j, r, n, c
    cdef double *lse
    cdef double *up
    cdef int cores[7]
    cores[:] = [2, 2, 1, 1, 1, 1, 2]
    cdef Call k
    cdef const char *msg = NULL
    err = _open_call(f, 6, 1, cores, 0, &opt, &sl, &s, &k)
    if err != NULL:
        return err
    n = k.n
    c = k.c
    lse = s.rows
    up = s.rows + n
    for j in range(sl.count):
        msg = _setup(&p, &s, &opt, k.z, k.t, _at(&sl, 0, j), _at(&sl, 1, j), _at(&sl, 2, j))
        if msg != NULL:
            break
        for r in range(n):
            lse[r] = _get(_at(&sl, 3, j), k.single, r) + _get(_at(&sl, 4, j), k.single, r)
            up[r] = _get(_at(&sl, 5, j), k.single, r)
        if n:
            rc = xent_backward(&p, lse, up, _at(&sl, 6, j), c, 1, k.single)
            if rc != 0:
                break
    return _close_call(f, &s, msg, rc)


cdef void *_scale_handler(il_ffi_frame *f) noexcept nogil:
    """Inputs a gradient (aliased to the output) and a factor: the gradient times it."""
    if _declare(f) or f.stage != IL_FFI_STAGE_EXECUTE:
        return NULL
    cdef Slabs sl
    cdef il_ffi_buffer *bufs[3]
    cdef int core[3]
    cdef int64_t j, i, size = 1
    cdef double k
    cdef char *src
    cdef char *dst
    if f.args.size != 2 or f.rets.size != 1:
        return _fail(f, b"infoloss.jax: a kernel target called with the wrong arguments",
                     IL_FFI_INVALID_ARGUMENT)
    g = _arg(f, 0)
    if not _logits_ok(g):
        return _fail(f, b"infoloss.jax: the gradient must be float32 or float64 (..., N, C)",
                     IL_FFI_INVALID_ARGUMENT)
    cdef bint single = g.dtype == IL_FFI_F32
    bufs[0] = g
    bufs[1] = _arg(f, 1)
    bufs[2] = _ret(f, 0)
    core[:] = [2, 0, 2]
    if not _slabs(&sl, bufs, core, 3):
        return _fail(f, b"infoloss.jax: the kernel target's batch axes do not agree",
                     IL_FFI_INVALID_ARGUMENT)
    size = g.dims[g.rank - 2] * g.dims[g.rank - 1]
    for j in range(sl.count):
        src = _at(&sl, 0, j)
        dst = _at(&sl, 2, j)
        k = _get(_at(&sl, 1, j), single, 0)
        if src != dst:
            memcpy(dst, src, size * (4 if single else 8))
        if k == 1:  # the usual upstream of a loss is exactly 1: nothing to do
            continue
        if single:
            for i in range(size):
                (<float *>dst)[i] *= <float>k
        else:
            for i in range(size):
                (<double *>dst)[i] *= k
    return NULL


def targets():
    """The handlers as ``{target name: PyCapsule}``, for ``jax.ffi.register_ffi_target``."""
    return {
        "infoloss_xent_forward": PyCapsule_New(<void *>_forward_handler, NULL, NULL),
        "infoloss_xent_backward": PyCapsule_New(<void *>_backward_handler, NULL, NULL),
        "infoloss_xent_fused": PyCapsule_New(<void *>_fused_handler, NULL, NULL),
        "infoloss_scale": PyCapsule_New(<void *>_scale_handler, NULL, NULL),
    }


def advise_huge(size_t address, size_t nbytes):
    """What the gradient handlers do to their output buffer (``address``, ``nbytes``
    bytes), for a test to see."""
    il_advise_huge(<void *>address, nbytes)
