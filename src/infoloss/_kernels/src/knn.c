/* knn.c: nearest-neighbour searches for the continuous estimators (KSG mutual information,
 * Kozachenko-Leonenko entropy).
 *
 * Why they are shaped this way:
 *
 * - 1-D samples are sorted once (by the caller).  The k-th neighbour of a point is found by
 *   walking left and right from its place (O(k) per point); the number of points within a
 *   radius by a galloping search from the previous query's answer, the queries visited in
 *   the order of the bound they look for, so each search starts next to its answer:
 *   O(n) for a sweep, with sequential memory access, however long the runs.
 * - d-dimensional samples go into a k-d tree: median splits on the widest coordinate,
 *   bounding boxes per node, leaves of at most `leaf` points; a node of coincident points
 *   is a leaf of any size.  The tree is built one level at a time (the nodes of a level
 *   own disjoint rows, so they are split in parallel); the points move with their indices,
 *   so every pass over a node reads memory in order.  The median comes from a quickselect
 *   with Hoare's partition around the median of three pseudo-random entries (no input
 *   order makes it quadratic), and a three-way partition keeps equal values together.
 * - Queries run in parallel in chunks of IL_CHUNK, each chunk with its own buffers (no
 *   per-query allocation).  Range counts add whole nodes whose box lies inside the radius
 *   without visiting their points.
 * - Every comparison is made on the distance computed the way the estimator defines it,
 *   |a - b| rounded once per coordinate, so the counts of the marginals agree exactly with
 *   the radii of the joint search: a point at exactly the radius is in or out by the
 *   estimator's rule (strict for KSG 1, inclusive for KSG 2), never by rounding.  Rounded
 *   subtraction is monotone, so the box bounds are exact bounds of the rounded distances.
 *   For the same reason no a*b + c is contracted into a fused multiply-add (the Euclidean
 *   sum of squares is summed as written, coordinate by coordinate).
 *
 * The C never raises (allocation failures are returned); infoloss/_kernels/knn.py checks
 * layouts and owns every message.
 */
#pragma GCC optimize("fp-contract=off")
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "knn.h"
#include "digamma.h"

#define IL_STACK 256  /* a query stack holds at most 2 x the depth, log2(n / leaf) + 1 */
#define IL_CHUNK 2048 /* queries per parallel task */

static inline double il_max(double s, double t) { return t > s ? t : s; }
static inline double il_min(double s, double t) { return t < s ? t : s; }
static inline int il_inside(double d, double r, int strict) { return strict ? d < r : d <= r; }

double il_digamma_mean(const int64_t *counts, int64_t n, int64_t offset)
{
    double s = 0.0;
    for (int64_t i = 0; i < n; i++)
        s += il_digamma((double)(counts[i] + offset));
    return s / (double)n;
}

/* ------------------------------------------------------------------------------ 1-D */

void il_knn_sorted(const double *xs, int64_t b, int64_t n, int64_t k, double *out)
{
    int64_t r;
#pragma omp parallel for schedule(static) if (b > 1 && b * n >= 65536)
    for (r = 0; r < b; r++) {
        const double *row = xs + r * n;
        for (int64_t p = 0; p < n; p++) {
            int64_t lo = p - 1, hi = p + 1;
            double d = 0.0;
            for (int64_t t = 0; t < k; t++) {
                double dl = lo >= 0 ? row[p] - row[lo] : (double)INFINITY;
                double dh = hi < n ? row[hi] - row[p] : (double)INFINITY;
                if (dl <= dh) {
                    d = dl;
                    lo--;
                } else {
                    d = dh;
                    hi++;
                }
            }
            out[r * n + p] = d;
        }
    }
}

/* The monotone predicates whose first true index bounds the points within radius of v:
 * side 0, the first j at or right of v or inside; side 1, the first right of v and
 * outside.  True at j = n. */
static inline int il_past(const double *xs, int64_t n, int64_t j, double v, double radius,
                          int strict, int side)
{
    if (j >= n)
        return 1;
    double x = xs[j];
    if (side == 0)
        return x >= v || il_inside(v - x, radius, strict);
    return x > v && !il_inside(x - v, radius, strict);
}

/* The first index in [0, n] where il_past holds: gallop from guess, then bisect. */
static int64_t il_first_past(const double *xs, int64_t n, double v, double radius, int strict,
                             int side, int64_t guess)
{
    int64_t step = 1, lo, hi;
    if (il_past(xs, n, guess, v, radius, strict, side)) {
        hi = guess;
        lo = -1;
        while (hi - step >= 0) {
            if (!il_past(xs, n, hi - step, v, radius, strict, side)) {
                lo = hi - step;
                break;
            }
            hi -= step;
            step *= 2;
        }
    } else {
        lo = guess;
        hi = n;
        while (lo + step < n) {
            if (il_past(xs, n, lo + step, v, radius, strict, side)) {
                hi = lo + step;
                break;
            }
            lo += step;
            step *= 2;
        }
    }
    while (hi - lo > 1) {
        int64_t mid = (lo + hi) / 2;
        if (il_past(xs, n, mid, v, radius, strict, side))
            hi = mid;
        else
            lo = mid;
    }
    return hi;
}

void il_sweep(const double *xs, int64_t n, const double *radii, int strict, int side,
              const int64_t *queue, int64_t *out)
{
    int64_t guess = 0;
    for (int64_t t = 0; t < n; t++) {
        int64_t p = queue[t];
        guess = il_first_past(xs, n, xs[p], radii[p], strict, side, guess);
        out[p] = guess;
    }
}

/* ------------------------------------------------------------------------------ k-d tree */

double il_select(double *a, int64_t size, int64_t kth)
{
    int64_t lo = 0, hi = size - 1;
    uint64_t state = 0x9E3779B97F4A7C15ULL;
    while (hi > lo) {
        uint64_t span = (uint64_t)(hi - lo + 1);
        double picks[3];
        for (int t = 0; t < 3; t++) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            picks[t] = a[lo + (int64_t)(state % span)];
        }
        double x = picks[0], y = picks[1], z = picks[2];
        double pivot = il_max(il_min(x, y), il_min(il_max(x, y), z));
        int64_t i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot)
                i++;
            while (a[j] > pivot)
                j--;
            if (i <= j) {
                double tmp = a[i];
                a[i] = a[j];
                a[j] = tmp;
                i++;
                j--;
            }
        }
        if (kth <= j)
            hi = j;
        else if (kth >= i)
            lo = i;
        else
            break; /* j < kth < i: a[kth] equals the pivot */
    }
    return a[kth];
}

/* Bound the node [s, e) into lo, hi and, unless it is a leaf, partition it at the median
 * of its widest coordinate; the split index, -1 for a leaf, -2 without memory. */
static int64_t il_split(double *pts, int64_t *idx, double *tmp, int64_t *tmp_idx, int64_t d,
                        int64_t s, int64_t e, double *lo, double *hi, int64_t leaf)
{
    for (int64_t j = 0; j < d; j++) {
        lo[j] = (double)INFINITY;
        hi[j] = -(double)INFINITY;
    }
    for (int64_t t = s; t < e; t++)
        for (int64_t j = 0; j < d; j++) {
            double v = pts[t * d + j];
            lo[j] = il_min(lo[j], v);
            hi[j] = il_max(hi[j], v);
        }
    if (e - s <= leaf)
        return -1;
    int64_t dim = 0;
    double spread = -1.0;
    for (int64_t j = 0; j < d; j++)
        if (hi[j] - lo[j] > spread) {
            spread = hi[j] - lo[j];
            dim = j;
        }
    if (spread <= 0.0)
        return -1; /* all points of this node coincide: a leaf of any size */
    int64_t m = e - s;
    double *keys = malloc((size_t)m * sizeof(double));
    if (keys == NULL)
        return -2;
    for (int64_t t = 0; t < m; t++)
        keys[t] = pts[(s + t) * d + dim];
    double med = il_select(keys, m, m / 2);
    free(keys);
    /* a three-way partition around the median value (<, ==, >) keeps ties together and
     * puts the median's rank, m / 2, inside the run of equal values */
    int64_t n_less = 0, n_equal = 0;
    for (int64_t t = s; t < e; t++) {
        double v = pts[t * d + dim];
        if (v < med)
            n_less++;
        else if (v == med)
            n_equal++;
    }
    int64_t w_less = s, w_equal = s + n_less, w_more = s + n_less + n_equal;
    for (int64_t t = s; t < e; t++) {
        double v = pts[t * d + dim];
        int64_t w;
        if (v < med)
            w = w_less++;
        else if (v == med)
            w = w_equal++;
        else
            w = w_more++;
        memcpy(tmp + w * d, pts + t * d, (size_t)d * sizeof(double));
        tmp_idx[w] = idx[t];
    }
    memcpy(pts + s * d, tmp + s * d, (size_t)(m * d) * sizeof(double));
    memcpy(idx + s, tmp_idx + s, (size_t)m * sizeof(int64_t));
    return s + m / 2;
}

int64_t il_tree_build(const double *points, int64_t n, int64_t d, int64_t leaf, int64_t cap,
                      double *pts, int64_t *idx, int64_t *start, int64_t *end, int64_t *left,
                      int64_t *right, double *lo, double *hi)
{
    memcpy(pts, points, (size_t)(n * d) * sizeof(double));
    for (int64_t i = 0; i < n; i++)
        idx[i] = i;
    for (int64_t i = 0; i < cap; i++)
        left[i] = right[i] = -1;
    double *tmp = malloc((size_t)(n * d > 0 ? n * d : 1) * sizeof(double));
    int64_t *tmp_idx = malloc((size_t)(n > 0 ? n : 1) * sizeof(int64_t));
    int64_t *mids = malloc((size_t)cap * sizeof(int64_t));
    int64_t count = -1;
    if (tmp == NULL || tmp_idx == NULL || mids == NULL)
        goto done;
    start[0] = 0;
    end[0] = n;
    count = 1;
    int64_t first = 0; /* the current level is nodes [first, count) */
    while (first < count) {
        int64_t level = count - first, t;
        int failed = 0;
#pragma omp parallel for schedule(dynamic, 1) if (level > 1) reduction(| : failed)
        for (t = 0; t < level; t++) {
            int64_t nd = first + t;
            mids[t] = il_split(pts, idx, tmp, tmp_idx, d, start[nd], end[nd], lo + nd * d,
                               hi + nd * d, leaf);
            if (mids[t] == -2)
                failed = 1;
        }
        if (failed) {
            count = -1;
            goto done;
        }
        int64_t nxt = count;
        for (t = 0; t < level; t++) {
            if (mids[t] < 0)
                continue;
            int64_t nd = first + t;
            left[nd] = nxt;
            right[nd] = nxt + 1;
            start[nxt] = start[nd];
            end[nxt] = mids[t];
            start[nxt + 1] = mids[t];
            end[nxt + 1] = end[nd];
            nxt += 2;
        }
        first = count;
        count = nxt;
    }
done:
    free(tmp);
    free(tmp_idx);
    free(mids);
    return count;
}

/* Max-norm, or the *squared* Euclidean norm. */
static inline double il_dist(const double *a, const double *b, int64_t d, int metric)
{
    double s = 0.0;
    for (int64_t j = 0; j < d; j++) {
        double t = fabs(a[j] - b[j]);
        if (metric == IL_MAX_NORM)
            s = il_max(s, t);
        else
            s += t * t;
    }
    return s;
}

static inline double il_box_near(const double *q, const double *lo, const double *hi,
                                 int64_t d, int metric)
{
    double s = 0.0;
    for (int64_t j = 0; j < d; j++) {
        double t = 0.0;
        if (q[j] < lo[j])
            t = lo[j] - q[j];
        else if (q[j] > hi[j])
            t = q[j] - hi[j];
        if (metric == IL_MAX_NORM)
            s = il_max(s, t);
        else
            s += t * t;
    }
    return s;
}

static inline double il_box_far(const double *q, const double *lo, const double *hi, int64_t d)
{
    double s = 0.0;
    for (int64_t j = 0; j < d; j++)
        s = il_max(il_max(s, fabs(q[j] - lo[j])), fabs(hi[j] - q[j]));
    return s;
}

int il_knn_tree(const il_tree *tr, int64_t k, int metric, double *dist, int64_t *nbr)
{
    const int64_t n = tr->n, d = tr->d;
    const int64_t tasks = (n + IL_CHUNK - 1) / IL_CHUNK;
    int failed = 0;
    int64_t task;
#pragma omp parallel for schedule(dynamic, 1) reduction(| : failed)
    for (task = 0; task < tasks; task++) {
        double *best = malloc((size_t)k * sizeof(double));
        int64_t *who = malloc((size_t)k * sizeof(int64_t));
        int64_t stack[IL_STACK];
        if (best == NULL || who == NULL) {
            failed = 1;
            free(best);
            free(who);
            continue;
        }
        int64_t q_end = (task + 1) * IL_CHUNK < n ? (task + 1) * IL_CHUNK : n;
        for (int64_t q = task * IL_CHUNK; q < q_end; q++) {
            const double *p = tr->pts + q * d;
            for (int64_t t = 0; t < k; t++) {
                best[t] = (double)INFINITY;
                who[t] = -1;
            }
            stack[0] = 0;
            int64_t sp = 1;
            while (sp > 0) {
                int64_t nd = stack[--sp];
                if (il_box_near(p, tr->lo + nd * d, tr->hi + nd * d, d, metric) >= best[k - 1])
                    continue;
                int64_t a = tr->left[nd];
                if (a < 0) {
                    for (int64_t j = tr->start[nd]; j < tr->end[nd]; j++) {
                        if (j == q)
                            continue;
                        double dj = il_dist(p, tr->pts + j * d, d, metric);
                        if (dj < best[k - 1]) {
                            int64_t t = k - 1;
                            while (t > 0 && best[t - 1] > dj) {
                                best[t] = best[t - 1];
                                who[t] = who[t - 1];
                                t--;
                            }
                            best[t] = dj;
                            who[t] = j;
                            if (best[k - 1] == 0.0)
                                break; /* nothing is nearer: a leaf of coincident points ends */
                        }
                    }
                    continue;
                }
                int64_t c = tr->right[nd];
                double da = il_box_near(p, tr->lo + a * d, tr->hi + a * d, d, metric);
                double dc = il_box_near(p, tr->lo + c * d, tr->hi + c * d, d, metric);
                if (da <= dc) { /* the nearer child is popped first */
                    stack[sp] = c;
                    stack[sp + 1] = a;
                } else {
                    stack[sp] = a;
                    stack[sp + 1] = c;
                }
                sp += 2;
            }
            int64_t i = tr->idx[q]; /* results in the caller's order */
            dist[i] = metric == IL_MAX_NORM ? best[k - 1] : sqrt(best[k - 1]);
            for (int64_t t = 0; t < k; t++)
                nbr[i * k + t] = who[t];
        }
        free(best);
        free(who);
    }
    return failed ? -1 : 0;
}

void il_count_tree(const il_tree *tr, const double *queries, const double *radii, int64_t nq,
                   int strict, int64_t *out)
{
    const int64_t d = tr->d;
    const int64_t tasks = (nq + IL_CHUNK - 1) / IL_CHUNK;
    int64_t task;
#pragma omp parallel for schedule(dynamic, 1)
    for (task = 0; task < tasks; task++) {
        int64_t stack[IL_STACK];
        int64_t i_end = (task + 1) * IL_CHUNK < nq ? (task + 1) * IL_CHUNK : nq;
        for (int64_t i = task * IL_CHUNK; i < i_end; i++) {
            const double *p = queries + i * d;
            double r = radii[i];
            int64_t c = 0;
            stack[0] = 0;
            int64_t sp = 1;
            while (sp > 0) {
                int64_t nd = stack[--sp];
                const double *lo = tr->lo + nd * d, *hi = tr->hi + nd * d;
                if (!il_inside(il_box_near(p, lo, hi, d, IL_MAX_NORM), r, strict))
                    continue;
                if (il_inside(il_box_far(p, lo, hi, d), r, strict)) {
                    c += tr->end[nd] - tr->start[nd];
                    continue;
                }
                if (tr->left[nd] < 0) {
                    for (int64_t j = tr->start[nd]; j < tr->end[nd]; j++)
                        if (il_inside(il_dist(p, tr->pts + j * d, d, IL_MAX_NORM), r, strict))
                            c++;
                    continue;
                }
                stack[sp] = tr->left[nd];
                stack[sp + 1] = tr->right[nd];
                sp += 2;
            }
            out[i] = il_inside(0.0, r, strict) ? c - 1 : c;
        }
    }
}

void il_marginal_radii(const il_tree *tr, const int64_t *where, const int64_t *nbr, int64_t k,
                       int64_t split, double *ex, double *ey)
{
    const int64_t n = tr->n, d = tr->d;
    for (int64_t q = 0; q < n; q++) {
        const double *p = tr->pts + where[q] * d;
        double x = 0.0, y = 0.0;
        for (int64_t t = 0; t < k; t++) {
            const double *o = tr->pts + nbr[q * k + t] * d;
            for (int64_t j = 0; j < d; j++) {
                double v = fabs(p[j] - o[j]);
                if (j < split)
                    x = il_max(x, v);
                else
                    y = il_max(y, v);
            }
        }
        ex[q] = x;
        ey[q] = y;
    }
}
