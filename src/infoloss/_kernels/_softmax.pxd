"""The C boundary of the softmax kernels, shared with the other extensions that call them
(``_torch_gate``'s forward for PyTorch tensors) without a Python call in between."""

from libc.stdint cimport int64_t

cdef extern from "softmax.h" nogil:
    ctypedef struct il_xent_in:
        int64_t n
        int64_t c
        const void *z
        int64_t zs0
        int64_t zs1
        const int64_t *y
        int64_t ys
        const void *t
        int64_t ts0
        int64_t ts1
        const double *w
        double eps
        int64_t ignore
        int has_ignore
        double zl
        int has_cap
        double cap
        int64_t cap_rows

    ctypedef struct il_xent_out:
        double *loss
        double *lse
        double *sw
        double *log_mass
        void *g
        int64_t gs0
        int64_t gs1
        double scale
        int64_t nbad
        int64_t tbad

    int il_xent_forward_f(const il_xent_in *inp, il_xent_out *out)
    int il_xent_lanes_f(const il_xent_in *inp, il_xent_out *out)
    int il_xent_lanes_d(const il_xent_in *inp, il_xent_out *out)
    int il_xent_forward_d(const il_xent_in *inp, il_xent_out *out)
    int il_xent_backward_f(const il_xent_in *inp, const double *lse, const double *upstream,
                           void *g, int64_t gs0, int64_t gs1)
    int il_xent_backward_d(const il_xent_in *inp, const double *lse, const double *upstream,
                           void *g, int64_t gs0, int64_t gs1)
    int il_sqerr_forward_f(const il_xent_in *inp, int kind, double k, double big_m,
                           il_xent_out *out)
    int il_sqerr_forward_d(const il_xent_in *inp, int kind, double k, double big_m,
                           il_xent_out *out)
    enum:
        IL_LANES_MAXC
        IL_LANES_FUSED_MAXC
    enum:
        IL_SQ_SOFTMAX
        IL_SQ_LOGIT


# The forward kernel of ``single`` (float32) or double logits (see softmax.h): that of rows
# across the lanes where it applies (labels, rows (any strides) of at most IL_LANES_MAXC classes,
# IL_LANES_FUSED_MAXC with the fused gradient, no class weights, z-loss or soft-capping),
# else the general one.
cdef int xent_forward(const il_xent_in *p, il_xent_out *o, bint single) noexcept nogil
# The backward kernel, ``upstream_i · ∂ℓ_i/∂z_i`` into g from the forward's lse (softmax.h).
cdef int xent_backward(const il_xent_in *p, const double *lse, const double *upstream,
                       void *g, int64_t gs0, int64_t gs1, bint single) noexcept nogil
