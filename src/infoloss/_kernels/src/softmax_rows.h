/* softmax_rows.h: the softmax cross-entropy kernels for one floating type, included by
 * softmax.c once per type with REAL (float or double), SFX (_f or _d), EXP_LOW (vmath's
 * il_exp_low_f or _d) and LSE_EXACT defined.  See softmax.c for why they are shaped so. */

#define IL_CAT2(a, b) a##b
#define IL_CAT(a, b) IL_CAT2(a, b)
#define F(name) IL_CAT(name, SFX)

/* A row's sums against its maximum m: k entries equal to m, rest = the sum of exp(z - m)
 * over the others (so Σ exp(z - m) = k + rest), and the term's sums (acc): labels with
 * smoothing Σ w·(z - m), Σ w; probability targets A = Σ a, B = Σ a·(z - m), S = Σ w·u,
 * T = Σ t and the number of bad target entries.  m is -inf for a row with no finite
 * maximum. */
typedef struct {
    REAL m;
    double k, rest;
    double acc[5];
} F(il_row);

/* max(x) over a chunk; an all -inf chunk gives -inf, one holding NaN -inf or NaN (its
 * NaN reaches the exp sums in any case). */
IL_INLINE REAL F(chunk_max)(const REAL *restrict x, int64_t n) {
    REAL m = -INFINITY;
#pragma omp simd reduction(max : m)
    for (int64_t j = 0; j < n; j++) m = x[j] > m ? x[j] : m;
    return m;
}

/* The bodies of chunk_sums' loops, at entry j (see IL_SUMS_FOR). */
#define IL_PROB_BODY                                                                        \
    REAL d = x[j] - m;                                                                      \
    REAL e = EXP_LOW(d);                                                                    \
    int top = d == (REAL)0;                                                                 \
    cr += ok & !top ? e : (REAL)0;                                                          \
    ck += top & ok ? (REAL)1 : (REAL)0;                                                     \
    REAL tv = t[j];                                                                         \
    cbad += ok & !((tv >= (REAL)0) & (tv < (REAL)INFINITY)) ? (REAL)1 : (REAL)0;            \
    double t64 = (double)tv;                                                                \
    double u = j == kk ? 0.0 : t64;                                                         \
    double wj = w[j];                                                                       \
    double a = wj * (onem * u + base);                                                      \
    /* a = 0 adds nothing, even where z = -inf */                                           \
    double sbj = a != 0.0 ? a * (double)d : 0.0;                                            \
    sb += ok ? sbj : 0.0;                                                                   \
    sa += ok ? a : 0.0;                                                                     \
    ss += ok ? wj * u : 0.0;                                                                \
    st += ok ? t64 : 0.0;                                                                   \
    if (store) g[j] = e;                                                                    \
    if (pipe) nm = nx[j] > nm ? nx[j] : nm;
#define IL_LAB_BODY                                                                         \
    REAL d = x[j] - m;                                                                      \
    REAL e = EXP_LOW(d);                                                                    \
    int top = d == (REAL)0;                                                                 \
    cr += ok & !top ? e : (REAL)0;                                                          \
    ck += top & ok ? (REAL)1 : (REAL)0;                                                     \
    if (kind == IL_SMOOTH) {                                                                \
        REAL wj = wz[j];                                                                    \
        REAL sd = wj != (REAL)0 ? wj * d : (REAL)0;                                         \
        swd += ok ? sd : (REAL)0;                                                           \
        ws += ok ? wj : (REAL)0;                                                            \
    }                                                                                       \
    if (store) g[j] = e;                                                                    \
    if (pipe) nm = nx[j] > nm ? nx[j] : nm;

/* A chunk's loop over [0, n): IL_SIMDLEN lanes (two vectors, whose sums interleave) where
 * n >= 2 IL_SIMDLEN, as every chunk of a long row is but its last; one vector's lanes below.
 * With IL_SIMDLEN lanes, rows of fewer classes (10: the small batches of the drop-ins) ran
 * every exp as scalar code and still paid the reduction of 2 x IL_VW lanes, which gcc adds
 * up one after another; up to 2 IL_SIMDLEN the leftover entries after the two-vector steps
 * (up to IL_SIMDLEN - 1 of them, too few for gcc's half-width epilogue) ran as scalar code
 * too, where one vector's loop leaves fewer and vectorises more of them (1797 rows, from C:
 * float64 rows of 10 0.95 -> 0.82x the numba kernel, rows of 31 1.08 -> 0.85x).  The
 * leftover entries after the full steps then run as one more vector step over the last
 * lanes, the entries the full steps took masked out of the sums by ok (as IL_SIMD_FOR of
 * info.c does): with AVX-512, where IL_SIMDLEN float64 lanes are one vector, gcc left up to
 * 7 of them a row as scalar exps (1797 float64 rows of 31: 167 us against 66 us for rows of
 * 32, one thread).  A recomputed entry stores the same exp, and a maximum may see it twice. */
#define IL_SUMS_STEPS(L, RED, BODY)                                                         \
    do {                                                                                    \
        const int64_t il_m = n - n % (L);                                                   \
        {                                                                                   \
            const int ok = 1;                                                               \
            _Pragma(IL_STR(omp simd simdlen(L) RED)) for (int64_t j = 0; j < il_m;          \
                                                          j++) { BODY }                     \
        }                                                                                   \
        if (il_m < n) {                                                                     \
            const int64_t il_o = n - (L);                                                   \
            int64_t il_w = (L);                                                             \
            __asm__("" : "+r"(il_w)); /* a loop, not unrolled into scalar code */           \
            _Pragma(IL_STR(omp simd simdlen(L) RED)) for (int64_t il_j = 0; il_j < il_w;    \
                                                          il_j++) {                         \
                const int64_t j = il_o + il_j;                                              \
                const int ok = j >= il_m;                                                   \
                BODY                                                                        \
            }                                                                               \
        }                                                                                   \
    } while (0)
/* A store loop over [0, n) (each entry written from its own inputs only, ok unused):
 * IL_SUMS_STEPS with no sums, its last step storing the same values again over the entries
 * the full steps took; rows shorter than a vector run as one loop.  gcc left a row's
 * leftover entries to scalar code (1797 float64 rows of 31, the backward: 1.20x the numba
 * kernel). */
#define IL_STORE_FOR(L, BODY)                                                               \
    do {                                                                                    \
        if (n >= (L)) {                                                                     \
            IL_SUMS_STEPS(L, , (void)ok; BODY);                                             \
        } else {                                                                            \
            _Pragma("omp simd") for (int64_t j = 0; j < n; j++) { BODY }                    \
        }                                                                                   \
    } while (0)

#define IL_SUMS_FOR(RED, BODY)                                                              \
    do {                                                                                    \
        if (n >= 2 * IL_SIMDLEN) {                                                          \
            IL_SUMS_STEPS(IL_SIMDLEN, RED, BODY);                                           \
        } else if (n >= IL_VW) {                                                            \
            IL_SUMS_STEPS(IL_VW, RED, BODY);                                                \
        } else {                                                                            \
            const int ok = 1;                                                               \
            _Pragma(IL_STR(omp simd simdlen(IL_VW) RED)) for (int64_t j = 0; j < n;         \
                                                              j++) { BODY }                 \
        }                                                                                   \
    } while (0)

/* The one log-sum-exp loop over a chunk against m: out += (Σ e below m, number equal to m,
 * the term's sums), e = exp(z - m), each e into g where ``store``.  With ``pipe`` the same
 * loop also takes the maximum of nx[0..n) (the chunk to be summed next) into *nmax, so that
 * its loads from memory overlap this chunk's exp arithmetic and each chunk is read from
 * memory once.  Sums of the logits' type within the chunk (at most IL_CHUNK terms over the
 * vector lanes: IL_SUMS_FOR), the target sums in double. */
IL_INLINE void F(chunk_sums)(const REAL *restrict x0, int64_t n0, REAL m, int kind, int store,
                             REAL *restrict g0, const REAL *restrict wz0,
                             const double *restrict w0, const REAL *restrict t0, int64_t kk0,
                             double onem, double base, int pipe, const REAL *restrict nx0,
                             REAL *nmax, double *restrict out) {
    REAL cr = 0, ck = 0, nm = -INFINITY;
    REAL cbad = 0, swd = 0, ws = 0;
    double sa = 0, sb = 0, ss = 0, st = 0;
    /* a piped chunk of at least two blocks in blocks (IL_SUB_BYTES, include/pieces.h),
     * each prefetching the memory ahead of its reads from memory (nx, and t) */
    const int64_t sub = IL_SUB_BYTES / (int64_t)sizeof(REAL);
    const int blocks = pipe && n0 >= 2 * sub;
#define IL_CHUNK_LOOP                                                                       \
    if (kind == IL_PROB)                                                                    \
        IL_SUMS_FOR(reduction(+ : cr, ck, cbad, sa, sb, ss, st) reduction(max : nm),        \
                    IL_PROB_BODY);                                                          \
    else                                                                                    \
        IL_SUMS_FOR(reduction(+ : cr, ck, swd, ws) reduction(max : nm), IL_LAB_BODY);
    if (!blocks) {
        /* the one loop, as a short row's (no loop over blocks around it: 1797 float32 rows
         * of 10 took 6% longer inside one) */
        const REAL *restrict x = x0, *restrict wz = wz0, *restrict t = t0, *restrict nx = nx0;
        REAL *restrict g = g0;
        const double *restrict w = w0;
        const int64_t n = n0, kk = kk0;
        IL_CHUNK_LOOP
    }
    for (int64_t b0 = 0; blocks && b0 < n0;) {
        const int64_t n = n0 - b0 >= 2 * sub ? sub : n0 - b0;
        const REAL *restrict x = x0 + b0;
        REAL *restrict g = store ? g0 + b0 : g0;
        const REAL *restrict wz = kind == IL_SMOOTH ? wz0 + b0 : wz0;
        const double *restrict w = kind == IL_PROB ? w0 + b0 : w0;
        const REAL *restrict t = kind == IL_PROB ? t0 + b0 : t0;
        const int64_t kk = kk0 - b0;
        const REAL *restrict nx = pipe ? nx0 + b0 : nx0;
        /* [b0, b0 + n) ahead: the blocks' spans follow on, into the next chunk */
        il_prefetch(nx, IL_SUB_AHEAD, (int64_t)sizeof(REAL) * n);
        if (kind == IL_PROB) il_prefetch(t, IL_SUB_AHEAD, (int64_t)sizeof(REAL) * n);
        IL_CHUNK_LOOP
        b0 += n;
    }
#undef IL_CHUNK_LOOP
    if (kind == IL_PROB) {
        out[2] += sa;
        out[3] += sb;
        out[4] += ss;
        out[5] += st;
        out[6] += (double)cbad;
    } else {
        out[2] += (double)swd;
        out[3] += (double)ws;
    }
    out[0] += (double)cr;
    out[1] += (double)ck;
    if (pipe) *nmax = nm;
}

#undef IL_PROB_BODY
#undef IL_LAB_BODY
#undef IL_SUMS_FOR

/* The one running-maximum loop over a row, chunk by chunk, each chunk's sums taken against
 * the running maximum in the loop that takes the maximum of the chunk after it (the next
 * row's first, after the last: ``next``, or NULL where there is none to take); ``first`` is
 * the maximum of this row's first chunk, *next_max gets that of the next row's.  A chunk
 * that raises the maximum first re-centres the row's sums on it (the old maxima join
 * ``rest``).  Chunks before the first finite maximum (all -inf, or NaN) are summed against
 * 0, which gives their exps as 0 and their terms as -inf (or NaN), as they are against any
 * finite centre.  ``store``: g[j] = exp(z_j - c) with c = centres[j / IL_CHUNK] (-inf, with 0
 * stored, for a chunk before the first finite maximum).  With no next row the last chunk's
 * loop takes the chunk's own maximum (unused): a row's last chunk then runs the same loop
 * whether a row follows or not (alone, strided, a block's last) and keeps its bits, where
 * gcc compiled a loop without the maximum to other roundings (float32 probability targets
 * of fewer than 16 classes differed in the last bit). */
IL_INLINE void F(row_sums)(const REAL *restrict x, int64_t c, int kind, int store,
                           REAL *restrict g, double *restrict centres, const REAL *wz,
                           const double *w, const REAL *t, int64_t kk, double onem,
                           double base, REAL first, const REAL *next, REAL *next_max,
                           F(il_row) *r) {
    REAL m = -INFINITY, cm = first;
    int started = 0;
    double k = 0.0, rest = 0.0;
    double acc[5] = {0.0, 0.0, 0.0, 0.0, 0.0};
    for (int64_t c0 = 0; c0 < c; c0 += IL_CHUNK) {
        int64_t n = c - c0 < IL_CHUNK ? c - c0 : IL_CHUNK;
        const REAL *xc = x + c0;
        /* the chunk whose maximum this chunk's loop takes (itself after a last row) */
        const REAL *nx = xc;
        int64_t nn = n;
        if (c0 + IL_CHUNK < c) {
            nx = xc + IL_CHUNK;
            nn = c - c0 - IL_CHUNK < IL_CHUNK ? c - c0 - IL_CHUNK : IL_CHUNK;
        } else if (next) {
            nx = next;
            nn = c < IL_CHUNK ? c : IL_CHUNK;
        }
        if (!started) {
            if (cm > -INFINITY) {
                m = cm;
                started = 1;
            }
        } else if (cm > m) {
            /* every old term (old maxima included) scales by e^delta; each d drops by delta */
            double delta = (double)m - (double)cm;
            rest = (rest + k) * il_exp_d(delta);
            k = 0.0;
            if (kind == IL_SMOOTH) acc[0] += delta * acc[1];
            if (kind == IL_PROB) acc[1] += delta * acc[0];
            m = cm;
        }
        REAL mm = started ? m : (REAL)0;
        double s[7] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
        REAL nm = -INFINITY;
        int64_t both = nn < n ? nn : n;
        /* this chunk's loop reads nx from memory: what follows it to L2 (include/pieces.h),
         * from the chunk's blocks where it has two (chunk_sums) */
        if (both < 2 * (int64_t)(IL_SUB_BYTES / sizeof(REAL)))
            il_prefetch(nx, (int64_t)sizeof(REAL) * nn, (int64_t)sizeof(REAL) * nn);
        if (both > 0)
            F(chunk_sums)(xc, both, mm, kind, store, store ? g + c0 : g,
                          kind == IL_SMOOTH ? wz + c0 : wz, kind == IL_PROB ? w + c0 : w,
                          kind == IL_PROB ? t + c0 : t, kk - c0, onem, base, 1, nx, &nm, s);
        if (both < n) {
            int64_t o = c0 + both;
            F(chunk_sums)(x + o, n - both, mm, kind, store, store ? g + o : g,
                          kind == IL_SMOOTH ? wz + o : wz, kind == IL_PROB ? w + o : w,
                          kind == IL_PROB ? t + o : t, kk - o, onem, base, 0, NULL, NULL, s);
        }
        if (nn > both) {
            REAL tail = F(chunk_max)(nx + both, nn - both);
            nm = tail > nm ? tail : nm;
        }
        if (store) centres[c0 / IL_CHUNK] = started ? (double)m : -INFINITY;
        rest += s[0];
        k += s[1];
        if (kind == IL_SMOOTH) {
            acc[0] += s[2];
            acc[1] += s[3];
        } else if (kind == IL_PROB) {
            for (int q = 0; q < 5; q++) acc[q] += s[2 + q];
        }
        cm = nm;
    }
    if (next_max) *next_max = cm;
    r->m = m;
    r->k = k;
    r->rest = rest;
    for (int q = 0; q < 5; q++) r->acc[q] = acc[q];
}

/* The variants the kernels call, each compiled with its flags as constants. */
#define IL_ROW_VARIANT(name, kind, store)                                                  \
    static __attribute__((noinline)) void F(name)(                                         \
        const REAL *restrict x, int64_t c, REAL *restrict g, double *restrict centres,     \
        const REAL *wz, const double *w, const REAL *t, int64_t kk, double onem,           \
        double base, REAL first, const REAL *next, REAL *next_max, F(il_row) *r) {         \
        F(row_sums)(x, c, kind, store, g, centres, wz, w, t, kk, onem, base, first, next,  \
                    next_max, r);                                                          \
    }
typedef void (*F(il_rowfn))(const REAL *restrict, int64_t, REAL *restrict, double *restrict,
                            const REAL *, const double *, const REAL *, int64_t, double,
                            double, REAL, const REAL *, REAL *, F(il_row) *);
IL_ROW_VARIANT(rows_plain, IL_PLAIN, 0)
IL_ROW_VARIANT(rows_plain_g, IL_PLAIN, 1)
IL_ROW_VARIANT(rows_smooth, IL_SMOOTH, 0)
IL_ROW_VARIANT(rows_smooth_g, IL_SMOOTH, 1)
IL_ROW_VARIANT(rows_prob, IL_PROB, 0)
IL_ROW_VARIANT(rows_prob_g, IL_PROB, 1)
#undef IL_ROW_VARIANT

/* Not ok: a row with NaN or +inf entries or no finite entry. */
IL_INLINE int F(row_ok)(const F(il_row) *r) {
    return r->k > 0.0 && isfinite(r->rest) && isfinite((double)r->m);
}

/* (ok, s, log s) of a row: s = k + rest, log s = log1p((k - 1) + rest), which keeps the
 * relative accuracy of a tiny rest (a loss at a dominant logit is about rest). */
IL_INLINE int F(lse_log)(const F(il_row) *r, double *s, double *ls) {
    int ok = F(row_ok)(r);
    *s = r->k + r->rest;
    *ls = ok ? il_log1p_d((r->k - 1.0) + r->rest) : NAN;
    return ok;
}

/* lse_log of the nb <= IL_BLK rows of a block, their logs taken together
 * (il_log1p_block_d): one log's latency per row had cost a row of 10 classes a third of its
 * time. */
static void F(block_logs)(const F(il_row) *r, int64_t nb, double *s, double *ls) {
    double lg[IL_LOG_BLOCK] __attribute__((aligned(64)));
    for (int64_t q = 0; q < nb; q++)
        lg[q] = F(row_ok)(&r[q]) ? (r[q].k - 1.0) + r[q].rest : 0.0;
    il_log1p_block_d(lg, nb);
    for (int64_t q = 0; q < nb; q++) {
        s[q] = r[q].k + r[q].rest;
        ls[q] = F(row_ok)(&r[q]) ? lg[q] : NAN;
    }
}

/* NaN and +inf entries of a row (entries s apart) whose log-sum-exp is not finite (no mass
 * counts 1). */
static int64_t F(count_bad_strided)(const REAL *x, int64_t c, int64_t s) {
    int64_t nb = 0;
    for (int64_t j = 0; j < c; j++) nb += (x[j * s] != x[j * s]) | (x[j * s] == (REAL)INFINITY);
    return nb > 0 ? nb : 1;
}
static int64_t F(count_bad)(const REAL *x, int64_t c) { return F(count_bad_strided)(x, c, 1); }

/* ---------------------------------------------------------------- row layouts */

static void F(gather)(const REAL *src, int64_t stride, int64_t c, REAL *dst) {
    for (int64_t j = 0; j < c; j++) dst[j] = src[j * stride];
}

static void F(scatter)(const REAL *src, int64_t c, REAL *dst, int64_t stride) {
    for (int64_t j = 0; j < c; j++) dst[j * stride] = src[j];
}

/* dst = cap·tanh(z / cap) (±inf give ±cap, NaN stays NaN), in double. */
static void F(cap_row)(const REAL *src, int64_t stride, int64_t c, double cap, REAL *dst) {
    double inv = 1.0 / cap;
#pragma omp simd
    for (int64_t j = 0; j < c; j++) dst[j] = (REAL)(cap * il_tanh_d((double)src[j * stride] * inv));
}

/* g ·= sech²(z / cap) = 4e / (1 + e)² with e = exp(-2|z| / cap) <= 1: no overflow, 0 at
 * ±inf, full relative accuracy where tanh rounds to ±1. */
static void F(cap_chain)(const REAL *src, int64_t stride, int64_t c, double cap, REAL *g) {
    double m2 = -2.0 / cap;
#pragma omp simd
    for (int64_t j = 0; j < c; j++) {
        double e = il_exp_d(m2 * fabs((double)src[j * stride]));
        g[j] = (REAL)((double)g[j] * (4.0 * e / ((1.0 + e) * (1.0 + e))));
    }
}

/* ---------------------------------------------------------------- gradients */

/* Labels, fused: g holds exp(z - c_j) per chunk (see row_sums); make it
 * scale·(A q - a) with a = w_c((1 - eps)·onehot + eps/C). */
static void F(lab_fix)(REAL *restrict g, int64_t c, int64_t yi, int kept, const double *w,
                       const REAL *restrict wz, double eps, double scale, double big_a,
                       double s, REAL m, const double *centres) {
    if (!kept || yi < 0 || yi >= c) {
        REAL fill = kept ? (REAL)NAN : (REAL)0;
        for (int64_t j = 0; j < c; j++) g[j] = fill;
        return;
    }
    double qa = scale * big_a / s;
    REAL cc = (REAL)(scale * eps / (double)c);
    for (int64_t c0 = 0; c0 < c; c0 += IL_CHUNK) {
        int64_t n = c - c0 < IL_CHUNK ? c - c0 : IL_CHUNK;
        REAL *restrict gx = g + c0;
        const REAL *restrict wx = wz + c0;
        double mj = centres[c0 / IL_CHUNK];
        REAL qj = mj == -INFINITY ? (REAL)0 : (REAL)(qa * il_exp_d(mj - (double)m));
        if (eps > 0.0) {
#pragma omp simd
            for (int64_t j = 0; j < n; j++) gx[j] = qj * gx[j] - cc * wx[j];
        } else {
#pragma omp simd
            for (int64_t j = 0; j < n; j++) gx[j] = qj * gx[j];
        }
    }
    g[yi] -= (REAL)(scale * (1.0 - eps) * w[yi]);
}

/* Probability targets, fused: as lab_fix with a = w_c((1 - eps)·u + base). */
static void F(prob_fix)(REAL *restrict g, const REAL *restrict t, int64_t c, int64_t kk,
                        const double *restrict w, double onem, double base, double scale,
                        double qa, REAL m, const double *centres) {
    double sc = scale * onem, sb = scale * base;
    for (int64_t c0 = 0; c0 < c; c0 += IL_CHUNK) {
        int64_t n = c - c0 < IL_CHUNK ? c - c0 : IL_CHUNK;
        REAL *restrict gx = g + c0;
        const REAL *restrict tx = t + c0;
        const double *restrict wx = w + c0;
        int64_t kc = kk - c0;
        double mj = centres[c0 / IL_CHUNK];
        REAL qj = mj == -INFINITY ? (REAL)0 : (REAL)(qa * il_exp_d(mj - (double)m));
#pragma omp simd
        for (int64_t j = 0; j < n; j++) {
            double u = j == kc ? 0.0 : (double)tx[j];
            gx[j] = qj * gx[j] - (REAL)(wx[j] * (sc * u + sb));
        }
    }
}

/* (hi, qa) with qa·exp(z - hi) = factor·exp(z - lse) for a row, from the saved float64 lse:
 * hi the nearest REAL to lse (>= the row maximum, so every z - hi <= 0) and the remainder in
 * qa.  Where |lse| >= LSE_EXACT (its float64 rounding would show in q) or lse is not finite,
 * the row's maximum and sum are recomputed from the logits. */
static void F(hi_qa)(const REAL *x, int64_t c, double lse, double factor, REAL *hi, REAL *qa) {
    if (fabs(lse) < LSE_EXACT) {
        REAL h = (REAL)lse;
        *hi = h;
        *qa = (REAL)(factor * il_exp_d(-(lse - (double)h)));
        return;
    }
    F(il_row) r;
    double s, ls;
    REAL first = F(chunk_max)(x, c < IL_CHUNK ? c : IL_CHUNK);
    F(rows_plain)(x, c, NULL, NULL, NULL, NULL, NULL, -1, 0.0, 0.0, first, NULL, NULL, &r);
    F(lse_log)(&r, &s, &ls);
    *hi = r.m;
    *qa = (REAL)(factor / s);
}

/* ---------------------------------------------------------------- entry points */

/* Row i of the logits as the loops read it: soft-capped rows from the per-thread buffer zb
 * (capped there from row s0 on), strided ones gathered into it, others in place. */
static const REAL *F(logit_row)(const il_xent_in *in, int64_t i, int64_t s0, int need_z,
                                REAL *zb) {
    const REAL *zr = (const REAL *)in->z + i * in->zs0;
    if (in->has_cap) return zb + (i - s0) * in->c;
    if (need_z) {
        F(gather)(zr, in->zs1, in->c, zb);
        return zb;
    }
    return zr;
}

/* Probability targets: row i of the targets (gathered into buf where strided) and its
 * smoothing base eps·keep/C, keep = 1 - t_ik for the ignored column k (1 for none). */
static const REAL *F(target_row)(const il_xent_in *in, int64_t i, int need_t, REAL *buf,
                                 double *base) {
    const REAL *tr = (const REAL *)in->t + i * in->ts0;
    if (need_t) {
        F(gather)(tr, in->ts1, in->c, buf);
        tr = buf;
    }
    int64_t kk = in->ignore;
    double keep = kk >= 0 ? 1.0 - (double)tr[kk] : 1.0;
    *base = in->eps * keep / (double)in->c;
    return tr;
}

typedef struct {
    double *w;    /* (c,) class weights */
    REAL *wz;     /* the same in REAL */
    double wsum;
} F(il_weights);

static int F(weights)(const il_xent_in *in, F(il_weights) *out) {
    int64_t c = in->c;
    out->w = malloc((size_t)(c > 0 ? c : 1) * sizeof(double));
    out->wz = malloc((size_t)(c > 0 ? c : 1) * sizeof(REAL));
    out->wsum = 0.0;
    if (!out->w || !out->wz) return -1;
    for (int64_t j = 0; j < c; j++) {
        double v = in->w ? in->w[j] : 1.0;
        out->w[j] = v;
        out->wz[j] = (REAL)v;
        out->wsum += v;
    }
    return 0;
}

/* Per-thread buffers: logit rows (one strided row, or ``rows`` soft-capped ones), a target
 * row (strided), a gradient row (strided), and the chunk centres. */
typedef struct {
    REAL *z, *t, *g;
    double *centres;
    int ok;
} F(il_bufs);

static void F(bufs_open)(F(il_bufs) *b, int64_t c, int64_t zrows, int need_t, int need_g) {
    size_t bytes = (size_t)(c > 0 ? c : 1) * sizeof(REAL);
    int need_z = zrows > 0;
    b->z = need_z ? malloc(bytes * (size_t)zrows) : NULL;
    b->t = need_t ? malloc(bytes) : NULL;
    b->g = need_g ? malloc(bytes) : NULL;
    b->centres = malloc((size_t)(c / IL_CHUNK + 1) * sizeof(double));
    b->ok = (!need_z || b->z) && (!need_t || b->t) && (!need_g || b->g) && b->centres;
}

static void F(bufs_close)(F(il_bufs) *b) {
    free(b->z);
    free(b->t);
    free(b->g);
    free(b->centres);
}

int F(il_xent_forward)(const il_xent_in *in, il_xent_out *out) {
    const int64_t n = in->n, c = in->c;
    const REAL *Z = (const REAL *)in->z;
    REAL *G = (REAL *)out->g;
    const int labels = in->y != NULL, fused = G != NULL, smooth = in->eps > 0.0;
    const int need_z = in->has_cap || in->zs1 != 1;
    const int need_t = !labels && in->ts1 != 1;
    const int need_g = fused && out->gs1 != 1;
    const int64_t rows = in->has_cap && in->cap_rows > 0 ? in->cap_rows : 1;
    /* rows whose logs are taken together: short rows read in place (one row otherwise) */
    const int64_t blk = !need_z && !need_t && !need_g && c <= IL_BLK_MAXC ? IL_BLK : 1;
    const double eps = in->eps, onem = 1.0 - in->eps, zl = in->zl, scale = out->scale;
    F(il_weights) wt;
    if (F(weights)(in, &wt) != 0) {
        free(wt.w);
        free(wt.wz);
        return -1;
    }
    const double *w = wt.w;
    const REAL *wz = wt.wz;
    int64_t nbad = 0, tbad = 0;
    int failed = 0;
#pragma omp parallel if (n > 1 && n * (c + IL_ROW_COST) >= IL_PARALLEL_MIN) reduction(+ : nbad, tbad)
    {
        F(il_bufs) b;
        F(bufs_open)(&b, c, need_z ? rows : 0, need_t, need_g);
        if (!b.ok) {
#pragma omp atomic write
            failed = 1;
        }
        /* pieces of consecutive rows (pieces.h), each soft-capped ``rows`` at a time */
        const int64_t np = il_pieces(n, c, IL_ROW_COST, omp_get_num_threads());
#pragma omp for schedule(dynamic, 1)
        for (int64_t p = 0; p < np; p++) {
            const int64_t r0 = il_piece_at(n, p, np), r1 = il_piece_at(n, p + 1, np);
            REAL fm = 0; /* the maximum of the first chunk of row i, once have_fm */
            int have_fm = 0;
            const int64_t step = in->has_cap ? rows : blk;
            for (int64_t s0 = r0; s0 < r1 && b.ok; s0 += step) {
                const int64_t s1 = r1 - s0 > step ? s0 + step : r1;
                if (in->has_cap)
                    for (int64_t i = s0; i < s1; i++)
                        F(cap_row)(Z + i * in->zs0, in->zs1, c, in->cap, b.z + (i - s0) * c);
                for (int64_t b0 = s0; b0 < s1; b0 += blk) {
                    const int64_t b1 = s1 - b0 > blk ? b0 + blk : s1;
                    /* the block's rows: their sums, then their logs together, then the rest */
                    F(il_row) rr[IL_BLK];
                    const REAL *xs[IL_BLK], *trs[IL_BLK];
                    REAL *gis[IL_BLK];
                    double bases[IL_BLK], ss[IL_BLK], lss[IL_BLK], cen0[IL_BLK];
                    for (int64_t i = b0; i < b1; i++) {
                        const int64_t q = i - b0;
                        const REAL *x = F(logit_row)(in, i, s0, need_z, b.z);
                        if (!have_fm) fm = F(chunk_max)(x, c < IL_CHUNK ? c : IL_CHUNK);
                        /* the next row, whose first chunk's maximum this row's last loop takes */
                        const REAL *nxt = NULL;
                        if (in->has_cap && i + 1 < s1) nxt = b.z + (i + 1 - s0) * c;
                        else if (!need_z && i + 1 < r1) nxt = Z + (i + 1) * in->zs0;
                        have_fm = nxt != NULL;
                        REAL *gr = fused ? G + i * out->gs0 : NULL;
                        REAL *gi = need_g ? b.g : gr;
                        xs[q] = x;
                        gis[q] = gi;
                        if (labels) {
                            F(il_rowfn) rowf = smooth ? (fused ? F(rows_smooth_g) : F(rows_smooth))
                                                      : (fused ? F(rows_plain_g) : F(rows_plain));
                            rowf(x, c, gi, b.centres, wz, w, NULL, -1, 0, 0, fm, nxt, &fm, &rr[q]);
                            cen0[q] = b.centres[0];
                        } else {
                            int64_t kk = in->ignore;
                            double base;
                            const REAL *tr = F(target_row)(in, i, need_t, b.t, &base);
                            F(il_rowfn) rowf = fused ? F(rows_prob_g) : F(rows_prob);
                            rowf(x, c, gi, b.centres, wz, w, tr, kk, onem, base, fm, nxt, &fm,
                                 &rr[q]);
                            cen0[q] = b.centres[0];
                            trs[q] = tr;
                            bases[q] = base;
                        }
                    }
                    F(block_logs)(rr, b1 - b0, ss, lss);
                    for (int64_t i = b0; i < b1; i++) {
                        const int64_t q = i - b0;
                        const REAL *x = xs[q];
                        REAL *gi = gis[q];
                        const double s = ss[q], ls = lss[q];
                        const int ok = F(row_ok)(&rr[q]);
                        const F(il_row) *r = &rr[q];
                        b.centres[0] = cen0[q]; /* a row of one chunk: its centre */
                        if (labels) {
                            int64_t yi = in->y[i * in->ys];
                            int kept = !(in->has_ignore && yi == in->ignore);
                            double lse = (double)r->m + ls;
                            double li = 0.0, big_a = 0.0, swi = 0.0;
                            if (kept && (yi < 0 || yi >= c)) {
                                li = NAN;
                                big_a = NAN;
                            } else if (kept) {
                                double wy = w[yi], ay = onem * wy;
                                /* lse - z_y = log s - (z_y - m): exact where z_y dominates */
                                if (ay != 0.0) li = ay * (ls - ((double)x[yi] - (double)r->m));
                                big_a = ay;
                                if (smooth) {
                                    double ec = eps / (double)c;
                                    li += ec * (wt.wsum * ls - r->acc[0]);
                                    big_a += ec * wt.wsum;
                                }
                                if (zl > 0.0) {
                                    li += zl * wy * lse * lse;
                                    big_a += 2.0 * zl * wy * lse;
                                }
                                swi = wy;
                            }
                            out->loss[i] = li;
                            out->lse[i] = lse;
                            out->sw[i] = swi;
                            if (!ok) nbad += F(count_bad)(x, c);
                            if (fused)
                                F(lab_fix)(gi, c, yi, kept, w, wz, eps, scale, big_a, s, r->m,
                                           b.centres);
                        } else {
                            const REAL *tr = trs[q];
                            int64_t kk = in->ignore;
                            double base = bases[q];
                            double lse = (double)r->m + ls;
                            double big_a = r->acc[0], swi = r->acc[2];
                            double li = big_a * ls - r->acc[1];
                            if (zl > 0.0) { /* the z-loss, weighted by the sample weight */
                                li += zl * swi * lse * lse;
                                big_a += 2.0 * zl * swi * lse;
                            }
                            out->loss[i] = li;
                            out->lse[i] = lse;
                            out->sw[i] = swi;
                            out->log_mass[i] = log(r->acc[3]);
                            tbad += (int64_t)r->acc[4];
                            if (!ok) nbad += F(count_bad)(x, c);
                            if (fused && !ok) { /* no q to scale: a bad row's gradient is NaN */
                                for (int64_t j = 0; j < c; j++) gi[j] = (REAL)NAN;
                            } else if (fused) {
                                F(prob_fix)(gi, tr, c, kk, w, onem, base, scale, scale * big_a / s,
                                            r->m, b.centres);
                            }
                        }
                        if (fused) {
                            const REAL *zr = Z + i * in->zs0;
                            if (in->has_cap) F(cap_chain)(zr, in->zs1, c, in->cap, gi);
                            if (need_g) F(scatter)(gi, c, G + i * out->gs0, out->gs1);
                        }
                    }
                }
            }
        }
        F(bufs_close)(&b);
    }
    free(wt.w);
    free(wt.wz);
    out->nbad = nbad;
    out->tbad = tbad;
    return failed ? -1 : 0;
}

/* A row's gradient, labels: qa e^(z - hi) less the smoothing's cc w (smooth), the label's
 * own term subtracted by the caller; probability targets: less w (sc u + sb), u = t with
 * column kk zeroed.  The _w forms take 512-bit vectors where AVX-512 is on (pieces.h), for
 * rows of at least IL_BWD_WIDE_MINC classes; on the AVX-512 Xeon, old against new build:
 * 1797 float64 rows of 31 59 -> 50 us, 65536 rows of 1000 52 -> 45 ms (float32 22 -> 20
 * ms), where 1797 rows of 10 took 1.10-1.33x longer with them. */
#define IL_BWD_WIDE_MINC ((int64_t)(sizeof(REAL) == 8 ? 24 : 64))
#define IL_GRAD_LABEL(L)                                                                    \
    if (smooth)                                                                             \
        IL_STORE_FOR(L, gi[j] = qa * EXP_LOW(x[j] - hi) - cc * wz[j];);                     \
    else                                                                                    \
        IL_STORE_FOR(L, gi[j] = qa * EXP_LOW(x[j] - hi););
#define IL_GRAD_PROB(L)                                                                     \
    IL_STORE_FOR(L, {                                                                       \
        double u = j == kk ? 0.0 : (double)tr[j];                                           \
        gi[j] = qa * EXP_LOW(x[j] - hi) - (REAL)(w[j] * (sc * u + sb));                     \
    });
/* (the _w forms' steps are IL_SIMDLEN lanes: one 512-bit vector there) */
IL_INLINE void F(grad_label_row)(const REAL *restrict x, int64_t n, REAL hi, REAL qa, REAL cc,
                                 const REAL *restrict wz, int smooth, REAL *restrict gi) {
    IL_GRAD_LABEL(IL_VW)
}
static __attribute__((noinline)) IL_WIDE void F(grad_label_row_w)(
    const REAL *restrict x, int64_t n, REAL hi, REAL qa, REAL cc, const REAL *restrict wz,
    int smooth, REAL *restrict gi) {
    IL_GRAD_LABEL(IL_SIMDLEN)
}
IL_INLINE void F(grad_prob_row)(const REAL *restrict x, int64_t n, REAL hi, REAL qa,
                                const REAL *restrict tr, int64_t kk, const double *restrict w,
                                double sc, double sb, REAL *restrict gi) {
    IL_GRAD_PROB(IL_VW)
}
static __attribute__((noinline)) IL_WIDE void F(grad_prob_row_w)(
    const REAL *restrict x, int64_t n, REAL hi, REAL qa, const REAL *restrict tr, int64_t kk,
    const double *restrict w, double sc, double sb, REAL *restrict gi) {
    IL_GRAD_PROB(IL_SIMDLEN)
}
#undef IL_GRAD_LABEL
#undef IL_GRAD_PROB

int F(il_xent_backward)(const il_xent_in *in, const double *lse, const double *upstream,
                        void *g, int64_t gs0, int64_t gs1) {
    const int64_t n = in->n, c = in->c;
    const REAL *Z = (const REAL *)in->z;
    REAL *G = (REAL *)g;
    const int labels = in->y != NULL;
    const int need_z = in->has_cap || in->zs1 != 1;
    const int need_t = !labels && in->ts1 != 1;
    const int need_g = gs1 != 1;
    const int64_t rows = in->has_cap && in->cap_rows > 0 ? in->cap_rows : 1;
    const double eps = in->eps, onem = 1.0 - in->eps, zl = in->zl;
    F(il_weights) wt;
    if (F(weights)(in, &wt) != 0) {
        free(wt.w);
        free(wt.wz);
        return -1;
    }
    const double *w = wt.w;
    const REAL *wz = wt.wz;
    int failed = 0;
#pragma omp parallel if (n > 1 && n * (c + IL_ROW_COST) >= IL_PARALLEL_MIN)
    {
        F(il_bufs) b;
        F(bufs_open)(&b, c, need_z ? rows : 0, need_t, need_g);
        if (!b.ok) {
#pragma omp atomic write
            failed = 1;
        }
        /* pieces of consecutive rows (pieces.h), each soft-capped ``rows`` at a time */
        const int64_t np = il_pieces(n, c, IL_ROW_COST, omp_get_num_threads());
#pragma omp for schedule(dynamic, 1)
        for (int64_t p = 0; p < np; p++) {
            const int64_t r0 = il_piece_at(n, p, np), r1 = il_piece_at(n, p + 1, np);
            for (int64_t s0 = r0; s0 < r1 && b.ok; s0 += rows) {
                const int64_t s1 = r1 - s0 > rows ? s0 + rows : r1;
                if (in->has_cap)
                    for (int64_t i = s0; i < s1; i++)
                        F(cap_row)(Z + i * in->zs0, in->zs1, c, in->cap, b.z + (i - s0) * c);
                for (int64_t i = s0; i < s1; i++) {
                    const REAL *zr = Z + i * in->zs0;
                    const REAL *x = F(logit_row)(in, i, s0, need_z, b.z);
                    REAL *gr = G + i * gs0;
                    REAL *restrict gi = need_g ? b.g : gr;
                    double up = upstream[i];
                    REAL hi, qa;
                    if (labels) {
                        int64_t yi = in->y[i * in->ys];
                        int kept = !(in->has_ignore && yi == in->ignore);
                        if (!kept || yi < 0 || yi >= c) {
                            REAL fill = kept ? (REAL)NAN : (REAL)0;
                            for (int64_t j = 0; j < c; j++) gi[j] = fill;
                        } else {
                            double big_a = onem * w[yi] + (eps / (double)c) * wt.wsum;
                            if (zl > 0.0) big_a += 2.0 * zl * w[yi] * lse[i];
                            F(hi_qa)(x, c, lse[i], up * big_a, &hi, &qa);
                            REAL cc = (REAL)(up * eps / (double)c);
                            if (c >= IL_BWD_WIDE_MINC)
                                F(grad_label_row_w)(x, c, hi, qa, cc, wz, eps > 0.0, gi);
                            else
                                F(grad_label_row)(x, c, hi, qa, cc, wz, eps > 0.0, gi);
                            gi[yi] -= (REAL)(up * onem * w[yi]);
                        }
                    } else {
                        int64_t kk = in->ignore;
                        double base;
                        const REAL *tr = F(target_row)(in, i, need_t, b.t, &base);
                        /* A = Σ a (one read of the target row, which the gradient loop
                         * re-reads) */
                        double big_a = 0.0, swi = 0.0;
#pragma omp simd reduction(+ : big_a, swi)
                        for (int64_t j = 0; j < c; j++) {
                            double u = j == kk ? 0.0 : (double)tr[j];
                            big_a += w[j] * (onem * u + base);
                            swi += w[j] * u;
                        }
                        if (zl > 0.0) big_a += 2.0 * zl * swi * lse[i];
                        F(hi_qa)(x, c, lse[i], up * big_a, &hi, &qa);
                        double sc = up * onem, sb = up * base;
                        if (c >= IL_BWD_WIDE_MINC)
                            F(grad_prob_row_w)(x, c, hi, qa, tr, kk, w, sc, sb, gi);
                        else
                            F(grad_prob_row)(x, c, hi, qa, tr, kk, w, sc, sb, gi);
                    }
                    if (in->has_cap) F(cap_chain)(zr, in->zs1, c, in->cap, gi);
                    if (need_g) F(scatter)(gi, c, gr, gs1);
                }
            }
        }
        F(bufs_close)(&b);
    }
    free(wt.w);
    free(wt.wz);
    return failed ? -1 : 0;
}

/* ---------------------------------------------------------------- squared errors */

/* One row's target for the squared errors: p̂_j = a·u_j + b for probabilities (u = t with
 * column kk zeroed), b + a·[j == y] for a label (t NULL); s the sample weight. */
typedef struct {
    const REAL *t;
    int64_t y, kk;
    double a, b, s;
} F(il_sq_target);

/* The row's target (its stats into *log_mass and *tbad for probabilities): 0 for a label
 * out of range that is not ignored, whose loss and gradient are NaN. */
static int F(sq_target)(const il_xent_in *in, int64_t i, REAL *tbuf, F(il_sq_target) *tg,
                        double *log_mass, int64_t *tbad) {
    const int64_t c = in->c;
    const double onem = 1.0 - in->eps;
    tg->b = in->eps / (double)c;
    tg->kk = -1;
    if (in->y) {
        int64_t yi = in->y[i * in->ys];
        int kept = !(in->has_ignore && yi == in->ignore);
        tg->t = NULL;
        tg->y = yi;
        tg->a = onem;
        tg->s = 0.0;
        if (kept && (yi < 0 || yi >= c)) return 0;
        if (kept) tg->s = in->w ? in->w[yi] : 1.0;
        return 1;
    }
    const REAL *tr = (const REAL *)in->t + i * in->ts0;
    if (in->ts1 != 1) {
        F(gather)(tr, in->ts1, c, tbuf);
        tr = tbuf;
    }
    const int64_t kk = in->ignore;
    const double *w = in->w;
    /* keep and s as the array-API path forms them: 1 - t_k in the targets' type, and
     * Σ w·u with class weights, keep without */
    double keep = kk >= 0 ? (double)((REAL)1 - tr[kk]) : 1.0;
    double mass = 0.0, ws = 0.0, bad = 0.0;
#pragma omp simd reduction(+ : mass, ws, bad)
    for (int64_t j = 0; j < c; j++) {
        REAL tv = tr[j];
        bad += (tv >= (REAL)0 && tv < (REAL)INFINITY) ? 0.0 : 1.0;
        mass += (double)tv;
        ws += (w && j != kk) ? w[j] * (double)tv : 0.0;
    }
    *log_mass = log(mass);
    *tbad += (int64_t)bad;
    tg->t = tr;
    tg->y = -1;
    tg->kk = kk;
    tg->a = onem / (keep > 0.0 ? keep : 1.0);
    tg->s = w ? ws : keep;
    return 1;
}

/* The factor f of each chunk's stored exps, q = f·e: exp(centre - m) / s. */
IL_INLINE double F(chunk_q)(const double *centres, int64_t c0, REAL m, double s) {
    double mj = centres[c0 / IL_CHUNK];
    return mj == -INFINITY ? 0.0 : il_exp_d(mj - (double)m) / s;
}

/* ev (the stored exps) becomes fac·q ⊙ (g − ⟨q, g⟩), g = q − p̂: the softmax squared
 * error's gradient.  In double: at a dominant class (q near 1, its exp exactly 1) g − ⟨q, g⟩
 * cancels, and only q's double keeps the bits that survive. */
static void F(se_grad)(REAL *restrict ev, int64_t c, const F(il_sq_target) *tg,
                       const double *centres, REAL m, double s, double fac, double qg) {
    const double a = tg->a, b = tg->b;
    for (int64_t c0 = 0; c0 < c; c0 += IL_CHUNK) {
        int64_t n = c - c0 < IL_CHUNK ? c - c0 : IL_CHUNK;
        double f = F(chunk_q)(centres, c0, m, s);
        REAL *restrict gx = ev + c0;
        if (tg->t) {
            const REAL *restrict tx = tg->t + c0;
            const int64_t kc = tg->kk - c0;
#pragma omp simd
            for (int64_t j = 0; j < n; j++) {
                double q = (double)gx[j] * f;
                double p = (j == kc ? 0.0 : a * (double)tx[j]) + b;
                gx[j] = (REAL)(fac * q * ((q - p) - qg));
            }
        } else {
            const int64_t yc = tg->y - c0;
#pragma omp simd
            for (int64_t j = 0; j < n; j++) {
                double q = (double)gx[j] * f;
                double p = j == yc ? a + b : b;
                gx[j] = (REAL)(fac * q * ((q - p) - qg));
            }
        }
    }
}

/* ½‖q − p̂‖² of one contiguous row (not yet weighted by s), q = softmax(x): the exps are
 * stored into ev as row_sums sums them (``first`` the maximum of the row's first chunk,
 * the next row's into *next_max, as the cross-entropy's driver takes them), then read
 * again from cache, scaled per chunk (no log: the loss needs none).  With ``grad``, ev
 * then becomes fac·q ⊙ (g − ⟨q, g⟩), g = q − p̂.  *ok is 0 for a row whose log-sum-exp is
 * not finite (NaN returned, ev not a gradient). */
static double F(se_row)(const REAL *x, int64_t c, const F(il_sq_target) *tg, REAL *restrict ev,
                        double *centres, REAL first, const REAL *next, REAL *next_max,
                        int grad, double fac, int *ok) {
    F(il_row) r;
    F(rows_plain_g)(x, c, ev, centres, NULL, NULL, NULL, -1, 0.0, 0.0, first, next, next_max, &r);
    *ok = F(row_ok)(&r);
    if (!*ok) return NAN;
    const double s = r.k + r.rest;
    const double a = tg->a, b = tg->b;
    double sq = 0.0, qg = 0.0;
    for (int64_t c0 = 0; c0 < c; c0 += IL_CHUNK) {
        int64_t n = c - c0 < IL_CHUNK ? c - c0 : IL_CHUNK;
        double f = F(chunk_q)(centres, c0, r.m, s);
        const REAL *restrict ex = ev + c0;
        if (tg->t) {
            const REAL *restrict tx = tg->t + c0;
            const int64_t kc = tg->kk - c0;
#pragma omp simd reduction(+ : sq, qg)
            for (int64_t j = 0; j < n; j++) {
                double q = (double)ex[j] * f;
                double g = q - ((j == kc ? 0.0 : a * (double)tx[j]) + b);
                sq += g * g;
                qg += q * g;
            }
        } else {
            const int64_t yc = tg->y - c0;
#pragma omp simd reduction(+ : sq, qg)
            for (int64_t j = 0; j < n; j++) {
                double q = (double)ex[j] * f;
                double g = q - (j == yc ? a + b : b);
                sq += g * g;
                qg += q * g;
            }
        }
    }
    if (grad) F(se_grad)(ev, c, tg, centres, r.m, s, fac, qg);
    return 0.5 * sq;
}

/* Σ_j (1 + (k − 1) p̂_j)(x_j − M p̂_j)² of one contiguous row (not yet weighted by s / C),
 * and with ``store`` fac·(1 + (k − 1) p̂_j)(x_j − M p̂_j) into g; one pass, the flags
 * compile-time constants in each variant. */
IL_INLINE double F(lse_sums)(const REAL *restrict x, int64_t c, const F(il_sq_target) *tg,
                             double km1, double big_m, REAL *restrict g, double fac,
                             int labels, int store) {
    const REAL *restrict t = tg->t;
    const int64_t y = tg->y, kk = tg->kk;
    const double a = tg->a, b = tg->b;
    double acc = 0.0;
#pragma omp simd reduction(+ : acc)
    for (int64_t j = 0; j < c; j++) {
        double p = labels ? (j == y ? a + b : b) : (j == kk ? 0.0 : a * (double)t[j]) + b;
        double coef = 1.0 + km1 * p;
        double d = (double)x[j] - big_m * p;
        acc += coef * d * d;
        if (store) g[j] = (REAL)(fac * coef * d);
    }
    return acc;
}

#define IL_LSE_VARIANT(name, labels, store)                                                 \
    static __attribute__((noinline)) double F(name)(                                       \
        const REAL *restrict x, int64_t c, const F(il_sq_target) *tg, double km1,          \
        double big_m, REAL *restrict g, double fac) {                                       \
        return F(lse_sums)(x, c, tg, km1, big_m, g, fac, labels, store);                   \
    }
IL_LSE_VARIANT(lse_probs, 0, 0)
IL_LSE_VARIANT(lse_probs_g, 0, 1)
IL_LSE_VARIANT(lse_labels, 1, 0)
IL_LSE_VARIANT(lse_labels_g, 1, 1)
#undef IL_LSE_VARIANT

/* The bad entries of a row as the cross-entropy counts them: NaN and +inf, or 1 for a row
 * with no entry above -inf. */
static int64_t F(count_bad_any)(const REAL *x, int64_t c) {
    int64_t nb = 0, ninf = 0;
    for (int64_t j = 0; j < c; j++) {
        nb += (x[j] != x[j]) | (x[j] == (REAL)INFINITY);
        ninf += x[j] == -(REAL)INFINITY;
    }
    return nb > 0 ? nb : ninf == c;
}

static void F(fill)(REAL *g, int64_t c, REAL v) {
    for (int64_t j = 0; j < c; j++) g[j] = v;
}

/* One row of the softmax squared error: its loss, the gradient into gi where fused. */
static double F(se_one)(const REAL *x, int64_t c, const F(il_sq_target) *tg, int valid,
                        REAL *gi, int fused, double scale, double *centres, REAL first,
                        const REAL *next, REAL *next_max, int64_t *nbad) {
    int ok;
    int grad = fused && valid && tg->s != 0.0;
    double li =
        F(se_row)(x, c, tg, gi, centres, first, next, next_max, grad, scale * tg->s, &ok);
    if (!ok) *nbad += F(count_bad)(x, c);
    /* an ignored (or zero-weight) row is 0, whatever its logits */
    if (fused && !(grad && ok)) F(fill)(gi, c, valid && tg->s == 0.0 ? (REAL)0 : (REAL)NAN);
    return !valid ? NAN : tg->s == 0.0 ? 0.0 : tg->s * li;
}

/* One row of the logit squared error: its loss, the gradient into gi where fused. */
static double F(lse_one)(const REAL *x, int64_t c, const F(il_sq_target) *tg, int valid,
                         REAL *gi, int fused, double scale, double km1, double big_m,
                         int64_t *nbad) {
    int live = valid && tg->s != 0.0;
    double acc = 0.0;
    if (live) {
        double fac = 2.0 * scale * tg->s / (double)c;
        double (*rowf)(const REAL *restrict, int64_t, const F(il_sq_target) *, double, double,
                       REAL *restrict, double) =
            tg->t ? (fused ? F(lse_probs_g) : F(lse_probs))
                  : (fused ? F(lse_labels_g) : F(lse_labels));
        acc = rowf(x, c, tg, km1, big_m, gi, fac);
    }
    /* a finite sum has no bad entry; -inf logits alone make it +inf */
    if (!live || !isfinite(acc)) *nbad += F(count_bad_any)(x, c);
    if (fused && !live) F(fill)(gi, c, valid ? (REAL)0 : (REAL)NAN);
    return !valid ? NAN : live ? tg->s * acc / (double)c : 0.0;
}

int F(il_sqerr_forward)(const il_xent_in *in, int kind, double k, double big_m,
                        il_xent_out *out) {
    const int64_t n = in->n, c = in->c;
    const REAL *Z = (const REAL *)in->z;
    REAL *G = (REAL *)out->g;
    const int fused = G != NULL;
    const int need_z = in->zs1 != 1;
    const int need_t = in->y == NULL && in->ts1 != 1;
    /* the softmax's q is kept in a row buffer where it has no gradient row to live in */
    const int need_g = fused ? out->gs1 != 1 : kind == IL_SQ_SOFTMAX;
    int64_t nbad = 0, tbad = 0;
    int failed = 0;
#pragma omp parallel if (n > 1 && n * (c + IL_ROW_COST) >= IL_PARALLEL_MIN) reduction(+ : nbad, tbad)
    {
        F(il_bufs) b;
        F(bufs_open)(&b, c, need_z, need_t, need_g);
        if (!b.ok) {
#pragma omp atomic write
            failed = 1;
        }
        const int64_t np = il_pieces(n, c, IL_ROW_COST, omp_get_num_threads());
#pragma omp for schedule(dynamic, 1)
        for (int64_t p = 0; p < np; p++) {
            const int64_t r1 = il_piece_at(n, p + 1, np);
            REAL fm = 0; /* the maximum of the first chunk of row i, once have_fm */
            int have_fm = 0;
            for (int64_t i = il_piece_at(n, p, np); i < r1 && b.ok; i++) {
                const REAL *x = Z + i * in->zs0;
                if (need_z) {
                    F(gather)(x, in->zs1, c, b.z);
                    x = b.z;
                }
                /* the softmax takes the next row's first maximum as the cross-entropy does */
                if (!have_fm && kind == IL_SQ_SOFTMAX)
                    fm = F(chunk_max)(x, c < IL_CHUNK ? c : IL_CHUNK);
                const REAL *nxt = !need_z && i + 1 < r1 ? Z + (i + 1) * in->zs0 : NULL;
                have_fm = nxt != NULL;
                REAL *gr = fused ? G + i * out->gs0 : NULL;
                REAL *gi = need_g ? b.g : gr;
                F(il_sq_target) tg;
                double *lm = out->log_mass ? out->log_mass + i : NULL; /* probabilities only */
                int valid = F(sq_target)(in, i, b.t, &tg, lm, &tbad);
                out->loss[i] = kind == IL_SQ_SOFTMAX
                                   ? F(se_one)(x, c, &tg, valid, gi, fused, out->scale, b.centres,
                                               fm, nxt, &fm, &nbad)
                                   : F(lse_one)(x, c, &tg, valid, gi, fused, out->scale, k - 1.0,
                                                big_m, &nbad);
                out->lse[i] = NAN; /* no backward reads it */
                out->sw[i] = tg.s;
                if (fused && need_g) F(scatter)(gi, c, gr, out->gs1);
            }
        }
        F(bufs_close)(&b);
    }
    out->nbad = nbad;
    out->tbad = tbad;
    return failed ? -1 : 0;
}

/* The forward of rows of at most IL_LANES_MAXC classes with labels (any strides), and no
 * class weights, z-loss or soft-capping (see softmax.h), the rows across
 * the vector lanes: IL_LOG_BLOCK rows at a time, copied class-major into a buffer, then
 * each loop over a class takes that class of every row of the block in vector steps (the
 * block's maxima, then its exps and sums), so that a row costs its share of a vector step
 * rather than a short vector loop with its reductions of its own (1797 rows of 10 float32
 * classes: 88 ns a row in the general kernel).  Then the block's logs in one vector loop,
 * and each row's loss as the general kernel takes it: (1 - eps) (log s - (z_y - m)) +
 * eps/C (C log s - sum (z - m)), log s = log1p((k - 1) + rest), k the entries at the
 * maximum and rest the others' exps. */
/* With out->g, the fused gradient of a block of il_xent_lanes, as the general kernel's
 * lab_fix gives it for rows without class weights: scale·A/s·exp(z_j - m) less the
 * smoothing's scale·eps/C, less scale·(1 - eps) at the label; a row kept but not live (a
 * bad row, or a label out of range) NaN, an ignored row 0.  e holds the exps (class-major),
 * q each row's scale·A/s. */
static void F(lanes_grad)(const il_xent_in *in, il_xent_out *out, int64_t b0, int64_t nb,
                          REAL e[IL_LANES_MAXC][IL_LOG_BLOCK], const REAL *q, const REAL *fill,
                          const int *live) {
    const int64_t c = in->c, gs0 = out->gs0, gs1 = out->gs1;
    const REAL cc = (REAL)(out->scale * in->eps / (double)c);
    const REAL at = (REAL)(out->scale * (1.0 - in->eps));
    REAL *G = (REAL *)out->g;
    for (int64_t j = 0; j < c; j++) {
        REAL *ej = e[j];
#pragma omp simd
        for (int64_t r = 0; r < nb; r++) ej[r] = live[r] ? q[r] * ej[r] - cc : fill[r];
    }
    for (int64_t r = 0; r < nb; r++) {
        const int64_t i = b0 + r;
        REAL *g = G + i * gs0;
        for (int64_t j = 0; j < c; j++) g[j * gs1] = e[j][r];
        if (live[r]) g[in->y[i * in->ys] * gs1] -= at;
    }
}

/* Block bi of il_xent_lanes: its rows' outputs; returns their bad entries. */
static int64_t F(lanes_block)(const il_xent_in *in, il_xent_out *out, int64_t bi) {
    const int64_t n = in->n, c = in->c, zs0 = in->zs0, zs1 = in->zs1, ys = in->ys;
    const REAL *Z = (const REAL *)in->z;
    const int64_t *Y = in->y;
    const double onem = 1.0 - in->eps, ec = in->eps / (double)c;
    const int smooth = in->eps > 0.0;
    int64_t nbad = 0;
    const int64_t b0 = bi * IL_LOG_BLOCK;
    const int64_t nb = n - b0 < IL_LOG_BLOCK ? n - b0 : IL_LOG_BLOCK;
    REAL t[IL_LANES_MAXC][IL_LOG_BLOCK] __attribute__((aligned(64)));
    REAL ms[IL_LOG_BLOCK] __attribute__((aligned(64)));
    REAL ks[IL_LOG_BLOCK] __attribute__((aligned(64)));
    REAL rs[IL_LOG_BLOCK] __attribute__((aligned(64)));
    REAL sds[IL_LOG_BLOCK] __attribute__((aligned(64)));
    double lg[IL_LOG_BLOCK] __attribute__((aligned(64)));
    const int fused = out->g != NULL;
    REAL qs[IL_LOG_BLOCK], fill[IL_LOG_BLOCK];
    int live[IL_LOG_BLOCK];
    REAL zy[IL_LOG_BLOCK]; /* each row's logit at its label (0 where out of range) */
    for (int64_t r = 0; r < nb; r++) {
        const REAL *x = Z + (b0 + r) * zs0;
        for (int64_t j = 0; j < c; j++) t[j][r] = x[j * zs1];
        const int64_t yi = Y[(b0 + r) * ys];
        zy[r] = yi >= 0 && yi < c ? x[yi * zs1] : (REAL)0;
    }
    for (int64_t r = 0; r < nb; r++) {
        ms[r] = -INFINITY;
        ks[r] = rs[r] = sds[r] = 0;
    }
    for (int64_t j = 0; j < c; j++) {
        const REAL *tj = t[j];
#pragma omp simd
        for (int64_t r = 0; r < nb; r++) ms[r] = tj[r] > ms[r] ? tj[r] : ms[r];
    }
    /* no entry is at a maximum of -inf (such entries add 0); with a gradient to write,
     * each exp is kept in place of its logit */
#define IL_LANES_SUMS(KEEP)                                                                 \
    for (int64_t j = 0; j < c; j++) {                                                       \
        REAL *tj = t[j];                                                                    \
        _Pragma("omp simd") for (int64_t r = 0; r < nb; r++) {                              \
            const REAL m = ms[r];                                                           \
            const REAL ctr = m > -INFINITY ? m : (REAL)0;                                   \
            const REAL top_at = m > -INFINITY ? m : (REAL)NAN;                              \
            const REAL v = tj[r], d = v - ctr, e = EXP_LOW(d);                              \
            const int top = v == top_at;                                                    \
            const REAL en = top ? (REAL)0 : e, kn = top ? (REAL)1 : (REAL)0;                \
            rs[r] += en;                                                                    \
            ks[r] += kn;                                                                    \
            sds[r] += d;                                                                    \
            KEEP                                                                            \
        }                                                                                   \
    }
    if (fused) {
        IL_LANES_SUMS(tj[r] = e;)
    } else {
        IL_LANES_SUMS()
    }
#undef IL_LANES_SUMS
    for (int64_t r = 0; r < nb; r++) lg[r] = ((double)ks[r] - 1.0) + (double)rs[r];
    il_log1p_block_d(lg, nb);
    for (int64_t r = 0; r < nb; r++) {
        const int64_t i = b0 + r;
        const REAL *x = Z + i * zs0;
        const double m = (double)ms[r], rest = (double)rs[r];
        const int64_t yi = Y[i * ys];
        const int kept = !(in->has_ignore && yi == in->ignore);
        double li = 0.0, swi = 0.0;
        /* as the general kernel: a bad row's log s is NaN, and so its loss where it is
         * kept (an ignored row's is 0), and its bad entries are counted either way */
        const int rok = ks[r] > 0 && isfinite(rest) && isfinite(m);
        const double ls = rok ? lg[r] : NAN;
        if (!rok) nbad += F(count_bad_strided)(x, c, zs1);
        if (kept && (yi < 0 || yi >= c)) {
            li = NAN;
        } else if (kept) {
            /* log s - (z_y - m): exact where z_y dominates */
            if (onem != 0.0) li = onem * (ls - ((double)zy[r] - m));
            if (smooth) li += ec * ((double)c * ls - (double)sds[r]);
            swi = 1.0;
        }
        out->loss[i] = li;
        out->lse[i] = m + ls;
        out->sw[i] = swi;
        if (fused) {
            /* the general kernel's q = scale·A/s, A = (1 - eps) + eps/C·C; a row of -inf
             * logits alone (no mass) takes q = 0 there, and so here */
            const int good = kept && yi >= 0 && yi < c && isfinite(rest) && (rok || m == -INFINITY);
            qs[r] = rok ? (REAL)(out->scale * (onem + ec * (double)c) / ((double)ks[r] + rest))
                        : (REAL)0;
            fill[r] = kept ? (REAL)NAN : (REAL)0;
            live[r] = good;
        }
    }
    if (fused) F(lanes_grad)(in, out, b0, nb, t, qs, fill, live);
    return nbad;
}

/* (see softmax.h) The blocks on the calling thread alone below IL_PARALLEL_MIN, where even
 * an OpenMP region of one thread costs a call of 64 rows a good part of its time. */
int F(il_xent_lanes)(const il_xent_in *in, il_xent_out *out) {
    const int64_t n = in->n, c = in->c;
    const int64_t blocks = (n + IL_LOG_BLOCK - 1) / IL_LOG_BLOCK;
    int64_t nbad = 0;
    if (n * (c + IL_ROW_COST) < IL_PARALLEL_MIN) {
        for (int64_t bi = 0; bi < blocks; bi++) nbad += F(lanes_block)(in, out, bi);
    } else {
#pragma omp parallel for schedule(static) reduction(+ : nbad)
        for (int64_t bi = 0; bi < blocks; bi++) nbad += F(lanes_block)(in, out, bi);
    }
    out->nbad = nbad;
    out->tbad = 0;
    return 0;
}

#undef F
#undef IL_CAT
#undef IL_CAT2
#undef IL_STORE_FOR
#undef IL_SUMS_STEPS
#undef IL_BWD_WIDE_MINC
