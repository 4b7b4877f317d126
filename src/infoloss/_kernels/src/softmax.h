/* softmax.h: the softmax cross-entropy kernels' boundary (see softmax.c).
 *
 * Plain pointers, sizes and strides in elements; the caller (_softmax.pyx) checks every
 * layout, allocates every output and owns every message.  The kernels never fail on data:
 * bad logits and targets are counted.  They return 0, or -1 where a per-thread buffer could
 * not be allocated (the outputs are then incomplete).
 */
#ifndef INFOLOSS_SOFTMAX_H
#define INFOLOSS_SOFTMAX_H

#include <stdint.h>

typedef struct {
    int64_t n, c;               /* rows (samples) and classes */
    const void *z;              /* logits (n, c), float or double */
    int64_t zs0, zs1;
    const int64_t *y;           /* labels (n,), or NULL for probability targets */
    int64_t ys;
    const void *t;              /* probability targets (n, c), the logits' type, or NULL */
    int64_t ts0, ts1;
    const double *w;            /* class weights (c,), contiguous, or NULL for ones */
    double eps;                 /* label smoothing */
    int64_t ignore;             /* labels: the ignored label (if has_ignore); */
    int has_ignore;             /*   probabilities: the ignored column, -1 for none */
    double zl;                  /* z-loss scale (used where > 0) */
    int has_cap;                /* soft-capping by cap * tanh(z / cap), of cap_rows rows */
    double cap;                 /*   at a time in a per-thread buffer */
    int64_t cap_rows;
} il_xent_in;

typedef struct {
    double *loss, *lse, *sw;    /* (n,) each, contiguous */
    double *log_mass;           /* (n,): log of each target row's sum (probabilities only) */
    void *g;                    /* the fused gradient scale * dloss_i/dz_i (n, c), or NULL */
    int64_t gs0, gs1;
    double scale;
    int64_t nbad;               /* out: NaN and +inf logits, one per row with no mass */
    int64_t tbad;               /* out: target entries that are NaN, +inf or negative */
} il_xent_out;

int il_xent_forward_f(const il_xent_in *in, il_xent_out *out);
int il_xent_forward_d(const il_xent_in *in, il_xent_out *out);
/* g (n, c) = upstream_i * dloss_i/dz_i from the forward's lse (n,) */
int il_xent_backward_f(const il_xent_in *in, const double *lse, const double *upstream,
                       void *g, int64_t gs0, int64_t gs1);
int il_xent_backward_d(const il_xent_in *in, const double *lse, const double *upstream,
                       void *g, int64_t gs0, int64_t gs1);

/* The forward for rows of at most IL_LANES_MAXC classes with labels (any strides), and no
 * class weights, z-loss or soft-capping (in->w NULL, in->zl 0, in->has_cap
 * 0), the rows across the vector lanes: out->loss, lse, sw and nbad as il_xent_forward's,
 * and with out->g (any strides), the fused gradient out->scale·dloss_i/dz_i into it.
 * The limits, measured through the drop-ins on the AVX-512 Xeon: against the general
 * kernel this one took 0.63-0.90x the time at rows of 20 and 31 (forward, and forward with
 * the gradient); at rows of 48 and 64 the forward 0.8-1.1x and the fused gradient 1.0-1.3x
 * (its rows written back one entry at a time).  IL_LANES_MAXC for the forward,
 * IL_LANES_FUSED_MAXC with out->g. */
#define IL_LANES_MAXC 64
#define IL_LANES_FUSED_MAXC 32
int il_xent_lanes_f(const il_xent_in *in, il_xent_out *out);
int il_xent_lanes_d(const il_xent_in *in, il_xent_out *out);
/* The squared errors, from the same row layouts (softcap, z-loss and cap_rows unused):
 * IL_SQ_SOFTMAX ½·s_i‖softmax(z_i) − p̂_i‖², IL_SQ_LOGIT s_i/C·Σ_c (1 + (k − 1) p̂_ic)(z_ic −
 * M p̂_ic)², p̂_i the smoothed target given that it is not ignored.  out->loss, sw,
 * log_mass, nbad and tbad as the cross-entropy's; out->lse NaN (no backward reads it);
 * with out->g, out->scale·dloss_i/dz_i into it in the same pass. */
enum { IL_SQ_SOFTMAX = 1, IL_SQ_LOGIT = 2 };
int il_sqerr_forward_f(const il_xent_in *in, int kind, double k, double big_m, il_xent_out *out);
int il_sqerr_forward_d(const il_xent_in *in, int kind, double k, double big_m, il_xent_out *out);

#endif
