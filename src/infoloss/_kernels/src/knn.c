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
 * - Two scalar coordinates (KSG of scalar x and y) need no tree: the points sorted by one
 *   coordinate are cut into slabs of about sqrt(k n), each slab sorted by the other.  A
 *   query scans its own slab outward from its place, then the neighbouring slabs in order
 *   of their gap in the first coordinate while that gap is below its k-th distance,
 *   galloping to its place in each from the place found in the slab before (neighbouring
 *   slabs hold similar values, related or not).  Queries run slab by slab, so the slabs a
 *   query reads are those its predecessor read.  The slabs are cut along the coordinate
 *   where they are wider; where most points share a strip in both (a constant plus noise
 *   beside a spread coordinate) a search reads more rows than its budget and the caller
 *   builds the tree.
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
#define IL_SLAB_COST 16 /* a slab visited, in rows read: the gallop to its place */

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

/* The points of leaf nd, other than row q, into the k nearest to row q so far. */
static void il_leaf_knn(const il_tree *tr, int64_t nd, int64_t q, int64_t k, int metric,
                        double *best, int64_t *who)
{
    const int64_t d = tr->d;
    const double *p = tr->pts + q * d;
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
                return; /* nothing is nearer: a leaf of coincident points ends */
        }
    }
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
                    il_leaf_knn(tr, nd, q, k, metric, best, who);
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

/* ------------------------------------------------------------------------------ the plane */

/* Insert d into the k smallest distances so far (best ascending, best[k - 1] the bound). */
static inline void il_keep(double *best, int64_t k, double d)
{
    int64_t t = k - 1;
    while (t > 0 && best[t - 1] > d) {
        best[t] = best[t - 1];
        t--;
    }
    best[t] = d;
}

/* Scan one slab (pairs (y, x) sorted by y) outward from row `at`, upward while y - yq and
 * downward while yq - y are below the bound (the signed gaps, so a start on the wrong
 * side of yq costs time, never a neighbour); `skip` is the query's own row (-1 when the
 * query lies in another slab). */
static int64_t il_scan_slab(const double *yx, int64_t m, int64_t at, int64_t skip, double xq,
                            double yq, double *best, int64_t k)
{
    int64_t j, i;
    for (j = at; j < m; j++) {
        double gap = yx[2 * j] - yq;
        if (gap >= best[k - 1])
            break;
        double d = il_max(fabs(gap), fabs(yx[2 * j + 1] - xq));
        if (d < best[k - 1] && j != skip)
            il_keep(best, k, d);
    }
    for (i = at - 1; i >= 0; i--) {
        double gap = yq - yx[2 * i];
        if (gap >= best[k - 1])
            break;
        double d = il_max(fabs(gap), fabs(yx[2 * i + 1] - xq));
        if (d < best[k - 1] && i != skip)
            il_keep(best, k, d);
    }
    return j - i; /* the rows read, for the work count */
}

/* The first row of the slab whose y is at or above yq, galloping from `guess` (the place
 * found in the neighbouring slab: neighbouring slabs hold similar y, related or not). */
static int64_t il_lower(const double *yx, int64_t m, double yq, int64_t guess)
{
    int64_t lo = -1, hi = m, step = 1; /* y[lo] < yq <= y[hi], lo = -1 and hi = m sentinels */
    guess = guess < m ? guess : m - 1;
    if (yx[2 * guess] < yq) {
        lo = guess;
        while (lo + step < m && yx[2 * (lo + step)] < yq) {
            lo += step;
            step *= 2;
        }
        hi = lo + step < m ? lo + step : m;
    } else {
        hi = guess;
        while (hi - step >= 0 && yx[2 * (hi - step)] >= yq) {
            hi -= step;
            step *= 2;
        }
        lo = hi - step >= 0 ? hi - step : -1;
    }
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;
        if (yx[2 * mid] < yq)
            lo = mid;
        else
            hi = mid;
    }
    return hi;
}

/* The k-th nearest distance of the point at slab row p, visiting the slabs outward from
 * its own while their x-gap is below the bound; adds the rows read and IL_SLAB_COST per
 * slab visited to *work. */
static double il_plane_query(const double *yx, const double *xs, int64_t n, int64_t width,
                             int64_t p, double *best, int64_t k, int64_t *work)
{
    const int64_t s = p / width, slabs = (n + width - 1) / width;
    const double yq = yx[2 * p], xq = yx[2 * p + 1];
    for (int64_t t = 0; t < k; t++)
        best[t] = (double)INFINITY;
    int64_t at_left = p - s * width, at_right = at_left;
    *work += il_scan_slab(yx + 2 * s * width, il_min(width, n - s * width), at_left, at_left,
                          xq, yq, best, k);
    int64_t left = s - 1, right = s + 1;
    for (;;) {
        /* the nearest x of a slab is its first (right) or last (left) in x order */
        double gl = left >= 0 ? xq - xs[(left + 1) * width - 1] : (double)INFINITY;
        double gr = right < slabs ? xs[right * width] - xq : (double)INFINITY;
        if (il_min(gl, gr) >= best[k - 1])
            break;
        int is_left = gl <= gr;
        int64_t u = is_left ? left-- : right++;
        int64_t m = il_min(width, n - u * width);
        const double *uyx = yx + 2 * u * width;
        int64_t *at = is_left ? &at_left : &at_right;
        *at = il_lower(uyx, m, yq, *at);
        *work += IL_SLAB_COST + il_scan_slab(uyx, m, *at, -1, xq, yq, best, k);
    }
    return best[k - 1];
}

int il_knn_plane(const double *x, const double *y, int64_t n, const int64_t *ox,
                 const int64_t *oy, int64_t k, int64_t width, int64_t budget, double *eps)
{
    double *xs = malloc((size_t)n * sizeof(double));
    double *yx = malloc((size_t)(2 * n) * sizeof(double));
    int64_t *row = malloc((size_t)n * sizeof(int64_t)); /* point -> its slab (row) */
    int64_t *who = malloc((size_t)n * sizeof(int64_t));  /* row -> its point */
    int64_t *fill = calloc((size_t)((n + width - 1) / width + 1), sizeof(int64_t));
    int failed = xs == NULL || yx == NULL || row == NULL || who == NULL || fill == NULL;
    if (!failed) {
        for (int64_t r = 0; r < n; r++) {
            xs[r] = x[ox[r]];
            row[ox[r]] = r / width; /* the slab, for now */
        }
        /* points in y order dealt into their slabs: each slab comes out sorted by y */
        for (int64_t t = 0; t < n; t++) {
            int64_t i = oy[t], s = row[i];
            int64_t w = s * width + fill[s]++;
            yx[2 * w] = y[i];
            yx[2 * w + 1] = x[i];
            who[w] = i;
        }
        const int64_t tasks = (n + IL_CHUNK - 1) / IL_CHUNK;
        int64_t task;
        int over = 0; /* shared: once one chunk is over its budget, the rest are skipped */
#pragma omp parallel for schedule(dynamic, 1) reduction(| : failed)
        for (task = 0; task < tasks; task++) {
            int stop;
#pragma omp atomic read
            stop = over;
            double *best = stop ? NULL : malloc((size_t)k * sizeof(double));
            if (best == NULL) {
                failed |= !stop;
                continue;
            }
            int64_t w_end = (task + 1) * IL_CHUNK < n ? (task + 1) * IL_CHUNK : n, work = 0;
            /* in row order, so the slabs a query visits are those its predecessor did */
            for (int64_t w = task * IL_CHUNK; w < w_end && work <= budget * IL_CHUNK; w++)
                eps[who[w]] = il_plane_query(yx, xs, n, width, w, best, k, &work);
            if (work > budget * IL_CHUNK) {
#pragma omp atomic write
                over = 1;
            }
            free(best);
        }
        failed = failed ? -1 : over;
    }
    free(xs);
    free(yx);
    free(row);
    free(who);
    free(fill);
    return failed < 0 ? -1 : failed;
}

/* How many points other than the one at sorted place p lie within r of it on one side
 * (dir -1 or 1): gallop outward while inside, then bisect the last doubling without
 * branches (the comparisons are unpredictable; the gallop's are not). */
static int64_t il_side_count(const double *vs, int64_t n, int64_t p, double r, int strict,
                             int64_t dir)
{
    const double v = vs[p];
    int64_t in = 0, out = 1; /* offsets known inside (0: the query) and to be tested */
    for (;;) {
        int64_t j = p + dir * out;
        if (j < 0 || j >= n || !il_inside(fabs(vs[j] - v), r, strict))
            break;
        in = out;
        out *= 2;
    }
    for (int64_t len = out - in; len > 1;) { /* out - in is a power of 2 */
        len /= 2;
        int64_t j = p + dir * (in + len);
        int64_t jj = j < 0 ? 0 : (j >= n ? n - 1 : j);
        int ok = (j >= 0) & (j < n) & il_inside(fabs(vs[jj] - v), r, strict);
        in += ok ? len : 0;
    }
    return in;
}

int il_count_ranked(const double *v, const int64_t *order, int64_t n, const double *radii,
                    int strict, int64_t *out)
{
    double *vs = malloc((size_t)(n > 0 ? n : 1) * sizeof(double));
    if (vs == NULL)
        return -1;
    for (int64_t t = 0; t < n; t++)
        vs[t] = v[order[t]];
    int64_t t;
#pragma omp parallel for schedule(static) if (n >= 65536)
    for (t = 0; t < n; t++) {
        int64_t i = order[t];
        double r = radii[i];
        out[i] = il_side_count(vs, n, t, r, strict, -1) + il_side_count(vs, n, t, r, strict, 1);
    }
    free(vs);
    return 0;
}
