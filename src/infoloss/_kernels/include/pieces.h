/* Rows shared among OpenMP threads in pieces of consecutive rows, each taken by whichever
 * thread is free (``omp for schedule(dynamic, 1)`` over the pieces).  On a shared machine a
 * thread whose core another process is using takes fewer pieces; with one fixed block a
 * thread, the whole call waited for it (a softmax cross-entropy forward of 4096x32000
 * float32 took 77 ms instead of 55 ms on two cores beside one busy process).  Every row's
 * code, and so its bits, are the same whatever its piece. */
#ifndef INFOLOSS_PIECES_H
#define INFOLOSS_PIECES_H

#include <stdint.h>

/* The least work of a piece, in entries (a row counting ``row_cost`` more): about 0.1 ms. */
#define IL_PIECE_MIN (1 << 18)

/* The pieces that n rows of c entries are cut into among nt threads: a multiple of nt, at
 * most 16 a thread, none of less than IL_PIECE_MIN entries' work (one a thread below that),
 * and no more than n.  Piece p holds rows [il_piece_at(n, p, np), il_piece_at(n, p + 1, np)). */
static inline int64_t il_pieces(int64_t n, int64_t c, int64_t row_cost, int64_t nt) {
    int64_t k = n * (c + row_cost) / (nt * (int64_t)IL_PIECE_MIN);
    k = k < 1 ? 1 : (k > 16 ? 16 : k);
    return nt * k < n ? nt * k : (n > 0 ? n : 1);
}

static inline int64_t il_piece_at(int64_t n, int64_t p, int64_t np) { return n * p / np; }

/* The rows of one piece, rounded up: the chunk of ``schedule(dynamic, chunk)`` over rows. */
static inline int64_t il_piece_rows(int64_t n, int64_t c, int64_t row_cost, int64_t nt) {
    int64_t np = il_pieces(n, c, row_cost, nt);
    return n > 0 ? (n + np - 1) / np : 1;
}

/* Software prefetch of [p + ahead, p + ahead + bytes) into L2, a cache line at a time; no
 * address is read, so a span past the end of the data is harmless.  The long rows' loops call it at the head
 * of each chunk for the memory a chunk or two ahead.  Their vector loops, with an exp or a
 * log per entry, keep too few loads in flight to cover the memory's latency on a machine
 * whose hardware prefetcher does not run far ahead: on a 2-core AVX-512 Xeon VM, a loop of
 * p log p over float32 rows of 32000 took 2.2 ns an entry from memory and 0.5 ns from L1;
 * with the next chunk prefetched into L2, 0.73 ns.  (Inside a vector loop a prefetch stops
 * gcc from vectorizing it; into L1, 0.82-0.90 ns; non-temporal, 1.1-1.2 ns.) */
#define IL_LINE 64
/* The long rows' loops in blocks of IL_SUB_BYTES, each starting with a prefetch of the block
 * IL_SUB_AHEAD bytes on (il_prefetch): the prefetches spread over the chunk instead of
 * one burst at its head, which fills the core's line-fill buffers and stalls the loop's own
 * loads behind them.  Measured on that Xeon from C, 2 threads: Σ exp over 2048×32000
 * float32 15.4 -> 13.4 ms, Σ p log(p/q) over 1024×32000 pairs 18.2 -> 13.2 ms. */
#define IL_SUB_BYTES 1024
#define IL_SUB_AHEAD 2048
static inline void il_prefetch(const void *p, int64_t ahead, int64_t bytes) {
    const uintptr_t b = (uintptr_t)p + (uintptr_t)ahead;
    for (int64_t o = 0; o < bytes; o += IL_LINE)
        __builtin_prefetch((const void *)(b + (uintptr_t)o), 0, 2);
}

/* IL_WIDE: 512-bit vectors for the long rows' drivers (info.c's entropy_each, the pair
 * kernels' long path; the floors of vmath.c) where AVX-512 is on; gcc prefers 256-bit
 * ones on most Intel cores.  Those loops are bound by their exp and log arithmetic once
 * their memory is prefetched, and 512-bit vectors took 10-30% off them (float32 JS of
 * log-probability rows of 262144: 48 -> 33 ms on one thread); with the whole build at 512
 * bits, the short rows' kernels (the mutual information of 31x31 tables, the softmax of
 * 10 classes) ran 1.2-1.9x slower. */
#if defined(__x86_64__) && defined(__AVX512F__) && defined(__GNUC__) && !defined(__clang__)
#define IL_WIDE __attribute__((target("prefer-vector-width=512")))
#else
#define IL_WIDE
#endif

#endif
