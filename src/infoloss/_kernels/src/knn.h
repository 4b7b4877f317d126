/* knn.h: nearest-neighbour searches for the continuous estimators (see knn.c). */
#ifndef INFOLOSS_KNN_H
#define INFOLOSS_KNN_H

#include <stdint.h>

enum { IL_MAX_NORM = 0, IL_EUCLIDEAN = 1 };

/* A k-d tree: pts (n, d) C order in tree order, idx[r] the caller's index of row r, and
 * per node the rows [start, end), children (left, right; -1 for a leaf) and bounding box
 * lo, hi (d each). */
typedef struct {
    const double *pts;
    const int64_t *idx, *start, *end, *left, *right;
    const double *lo, *hi;
    int64_t n, d;
} il_tree;

/* Mean of psi(counts[i] + offset). */
double il_digamma_mean(const int64_t *counts, int64_t n, int64_t offset);

/* out (b, n): distance from each value of the sorted rows xs (b, n) to its k-th nearest
 * other value. */
void il_knn_sorted(const double *xs, int64_t b, int64_t n, int64_t k, double *out);

/* One sweep of the 1-D range count: out[p] = the first index of the sorted xs where the
 * bound of side 0 (the run's start) or 1 (its end) holds, queries visited in queue order. */
void il_sweep(const double *xs, int64_t n, const double *radii, int strict, int side,
              const int64_t *queue, int64_t *out);

/* The kth smallest of a (reordered in place). */
double il_select(double *a, int64_t size, int64_t kth);

/* Build the tree of points (n, d) into the arrays given (cap nodes of room); the number of
 * nodes, or -1 without memory. */
int64_t il_tree_build(const double *points, int64_t n, int64_t d, int64_t leaf, int64_t cap,
                      double *pts, int64_t *idx, int64_t *start, int64_t *end, int64_t *left,
                      int64_t *right, double *lo, double *hi);

/* dist (n,) the distance of each point (caller's order) to its k-th nearest other point,
 * nbr (n, k) the tree rows of its k nearest, nearest first.  0, or -1 without memory. */
int il_knn_tree(const il_tree *tr, int64_t k, int metric, double *dist, int64_t *nbr);

/* out[i] = how many tree points other than the query lie within radii[i] of queries[i]
 * (max-norm; strict: < radius, else <=); the queries are the tree's own points. */
void il_count_tree(const il_tree *tr, const double *queries, const double *radii, int64_t nq,
                   int strict, int64_t *out);

/* KSG 2's per-point radii in the first split coordinates (ex) and the rest (ey). */
void il_marginal_radii(const il_tree *tr, const int64_t *where, const int64_t *nbr, int64_t k,
                       int64_t split, double *ex, double *ey);

/* eps[i]: the max-norm distance from point i of the plane (x[i], y[i]) to its k-th nearest
 * other point; ox, oy sort x and y.  The points sorted by x are cut into slabs of `width`,
 * each sorted by y.  0; 1 when the search reads more than `budget` rows per point (eps then
 * incomplete: x is too concentrated for slabs); -1 without memory. */
int il_knn_plane(const double *x, const double *y, int64_t n, const int64_t *ox,
                 const int64_t *oy, int64_t k, int64_t width, int64_t budget, double *eps);

/* out[i] = how many values other than v[i] lie within radii[i] of it (strict: < radius,
 * else <=); order sorts v.  0, or -1 without memory. */
int il_count_ranked(const double *v, const int64_t *order, int64_t n, const double *radii,
                    int strict, int64_t *out);

#endif
