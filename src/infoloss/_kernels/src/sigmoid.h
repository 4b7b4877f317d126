/* sigmoid.h: the element-wise sigmoid losses' kernels, boundary (see sigmoid.c).
 *
 * Plain pointers, sizes and strides in elements; the caller (_sigmoid.pyx) checks every
 * layout, allocates every output and owns every message.  The kernels never fail on data:
 * bad entries are counted.  Every array is (n, c) of the logits' type, any strides (a
 * stride of 0 broadcasts); a NULL weight or pos_weight reads as ones.
 */
#ifndef INFOLOSS_SIGMOID_H
#define INFOLOSS_SIGMOID_H

#include <stdint.h>

typedef struct {
    int64_t n, c;
    const void *z;              /* logits */
    int64_t zs0, zs1;
    const void *t;              /* target probabilities */
    int64_t ts0, ts1;
    const void *w;              /* element weights, or NULL */
    int64_t ws0, ws1;
    const void *pw;             /* weights of the positive term, or NULL */
    int64_t ps0, ps1;
    double eps;                 /* label smoothing: y = (1 - eps) t + eps / 2 */
    int has_ignore;             /* targets equal to ``ignore`` are dropped */
    double ignore;
} il_sig_in;

typedef struct {
    void *loss;                 /* w·loss per element, or NULL */
    int64_t ls0, ls1;
    void *g;                    /* scale · w · dloss/dz per element, or NULL */
    int64_t gs0, gs1;
    double scale;
    double total, wsum;         /* out: Σ w·loss and Σ w, in double */
    int64_t nbad[5];            /* out: NaN logits, +inf logits, targets outside [0, 1] and
                                 * not ignored, weights and pos_weights that are negative,
                                 * infinite or NaN */
} il_sig_out;

enum { IL_SIG_BCE = 1, IL_SIG_SE = 2 };

int il_sigmoid_f(const il_sig_in *in, int kind, il_sig_out *out);
int il_sigmoid_d(const il_sig_in *in, int kind, il_sig_out *out);

#endif
