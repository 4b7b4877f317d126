"""Nearest-neighbour kernels (``src/knn.c``): thin typed wrappers.  Arrays are checked and
laid out (C-contiguous, the right dtypes) by :mod:`infoloss._kernels.knn` and arrive as
data addresses and sizes."""

from libc.stdint cimport int64_t

cdef extern from "knn.h" nogil:
    ctypedef struct il_tree:
        const double *pts
        const int64_t *idx
        const int64_t *start
        const int64_t *end
        const int64_t *left
        const int64_t *right
        const double *lo
        const double *hi
        int64_t n, d
    double il_digamma_mean(const int64_t *counts, int64_t n, int64_t offset)
    void il_knn_sorted(const double *xs, int64_t b, int64_t n, int64_t k, double *out)
    void il_sweep(const double *xs, int64_t n, const double *radii, int strict, int side,
                  const int64_t *queue, int64_t *out)
    double il_select(double *a, int64_t size, int64_t kth)
    int64_t il_tree_build(const double *points, int64_t n, int64_t d, int64_t leaf,
                          int64_t cap, double *pts, int64_t *idx, int64_t *start, int64_t *end,
                          int64_t *left, int64_t *right, double *lo, double *hi)
    int il_knn_tree(const il_tree *tr, int64_t k, int metric, double *dist, int64_t *nbr)
    void il_count_tree(const il_tree *tr, const double *queries, const double *radii,
                       int64_t nq, int strict, int64_t *out)
    void il_marginal_radii(const il_tree *tr, const int64_t *where, const int64_t *nbr,
                           int64_t k, int64_t split, double *ex, double *ey)
    int il_knn_plane(const double *x, const double *y, int64_t n, const int64_t *ox,
                     const int64_t *oy, int64_t k, int64_t width, int64_t budget,
                     double *eps)
    int il_count_ranked(const double *v, const int64_t *order, int64_t n, const double *radii,
                        int strict, int64_t *out)


cdef il_tree _tree(tuple t):
    """(pts, idx, start, end, left, right, lo, hi, n, d) addresses and sizes -> il_tree."""
    cdef il_tree tr
    tr.pts = <const double *><size_t>t[0]
    tr.idx = <const int64_t *><size_t>t[1]
    tr.start = <const int64_t *><size_t>t[2]
    tr.end = <const int64_t *><size_t>t[3]
    tr.left = <const int64_t *><size_t>t[4]
    tr.right = <const int64_t *><size_t>t[5]
    tr.lo = <const double *><size_t>t[6]
    tr.hi = <const double *><size_t>t[7]
    tr.n = t[8]
    tr.d = t[9]
    return tr


def digamma_mean(size_t counts, int64_t n, int64_t offset):
    cdef double out
    with nogil:
        out = il_digamma_mean(<const int64_t *>counts, n, offset)
    return out


def knn_sorted(size_t xs, int64_t b, int64_t n, int64_t k, size_t out):
    with nogil:
        il_knn_sorted(<const double *>xs, b, n, k, <double *>out)


def sweep(size_t xs, int64_t n, size_t radii, bint strict, int side, size_t queue, size_t out):
    with nogil:
        il_sweep(<const double *>xs, n, <const double *>radii, strict, side,
                 <const int64_t *>queue, <int64_t *>out)


def select(size_t a, int64_t size, int64_t kth):
    cdef double out
    with nogil:
        out = il_select(<double *>a, size, kth)
    return out


def tree_build(size_t points, int64_t n, int64_t d, int64_t leaf, int64_t cap, size_t pts,
               size_t idx, size_t start, size_t end, size_t left, size_t right, size_t lo,
               size_t hi):
    cdef int64_t count
    with nogil:
        count = il_tree_build(<const double *>points, n, d, leaf, cap, <double *>pts,
                              <int64_t *>idx, <int64_t *>start, <int64_t *>end,
                              <int64_t *>left, <int64_t *>right, <double *>lo, <double *>hi)
    return count


def knn_tree(tuple tree, int64_t k, int metric, size_t dist, size_t nbr):
    cdef il_tree tr = _tree(tree)
    cdef int status
    with nogil:
        status = il_knn_tree(&tr, k, metric, <double *>dist, <int64_t *>nbr)
    return status


def count_tree(tuple tree, size_t queries, size_t radii, int64_t nq, bint strict, size_t out):
    cdef il_tree tr = _tree(tree)
    with nogil:
        il_count_tree(&tr, <const double *>queries, <const double *>radii, nq, strict,
                      <int64_t *>out)


def marginal_radii(tuple tree, size_t where, size_t nbr, int64_t k, int64_t split, size_t ex,
                   size_t ey):
    cdef il_tree tr = _tree(tree)
    with nogil:
        il_marginal_radii(&tr, <const int64_t *>where, <const int64_t *>nbr, k, split,
                          <double *>ex, <double *>ey)


def knn_plane(size_t x, size_t y, int64_t n, size_t ox, size_t oy, int64_t k, int64_t width,
              int64_t budget, size_t eps):
    cdef int status
    with nogil:
        status = il_knn_plane(<const double *>x, <const double *>y, n, <const int64_t *>ox,
                              <const int64_t *>oy, k, width, budget, <double *>eps)
    return status


def count_ranked(size_t v, size_t order, int64_t n, size_t radii, bint strict, size_t out):
    cdef int status
    with nogil:
        status = il_count_ranked(<const double *>v, <const int64_t *>order, n,
                                 <const double *>radii, strict, <int64_t *>out)
    return status
