/* sigmoid_elems.h: the sigmoid losses' kernels for one floating type, included by
 * sigmoid.c once per type with REAL, SFX, IL_SIMDLEN, EXP_LOW and LOG1P defined.  See
 * sigmoid.c for why they are shaped so. */

#define IL_CAT2(a, b) a##b
#define IL_CAT(a, b) IL_CAT2(a, b)
#define F(name) IL_CAT(name, SFX)

typedef struct {
    REAL onem, half;            /* y = onem·t + half */
    REAL ign;                   /* the ignored target, where has_ign */
    REAL scale;
    int has_ign;
} F(il_sig_k);

/* One contiguous chunk of n entries: acc += (Σ w·loss, Σ w, the five bad counts); w·loss
 * into lo where ``sl``, scale·w·dloss/dz into g where ``sg``.  ``kind``, ``sl`` and ``sg``
 * are constants at every call, so each variant's loop is vectorised on its own. */
IL_INLINE void F(sig_chunk)(int kind, int sl, int sg, int64_t n, const REAL *restrict z,
                            const REAL *restrict t, const REAL *restrict w,
                            const REAL *restrict pw, const F(il_sig_k) *k,
                            REAL *restrict lo, REAL *restrict g, double *restrict acc) {
    const REAL onem = k->onem, half = k->half, ign = k->ign, sc = k->scale;
    const int has_ign = k->has_ign;
    const REAL inf = (REAL)INFINITY, zero = 0, one = 1;
    REAL tot = 0, ws = 0;
    REAL cn = 0, ci = 0, ct = 0, cw = 0, cp = 0;
#pragma omp simd simdlen(IL_SIMDLEN) reduction(+ : tot, ws, cn, ci, ct, cw, cp)
    for (int64_t j = 0; j < n; j++) {
        REAL zv = z[j], tv = t[j], wv = w[j], pv = pw[j];
        cn += zv != zv ? one : zero;
        ci += zv == inf ? one : zero;
        int kept = has_ign ? tv != ign : 1;
        ct += (kept && !(tv >= zero && tv <= one)) ? one : zero;
        cw += (wv >= zero && wv < inf) ? zero : one;
        cp += (pv >= zero && pv < inf) ? zero : one;
        REAL y = kept ? onem * tv + half : zero;
        REAL wk = kept ? wv : zero;
        REAL e = EXP_LOW(zv < zero ? zv : -zv);
        REAL inv = one / (one + e);
        REAL small = e * inv;
        int nonneg = zv >= zero;
        REAL sig = nonneg ? inv : small, om = nonneg ? small : inv;
        REAL lw, d;
        if (kind == IL_SIG_BCE) {
            REAL l = LOG1P(e);
            REAL spp = (zv > zero ? zv : zero) + l; /* softplus(z) */
            REAL spn = (zv < zero ? -zv : zero) + l; /* softplus(-z) */
            REAL pos = y * pv, neg = one - y;
            REAL loss = pos * (pos != zero ? spn : zero) + neg * (neg != zero ? spp : zero);
            lw = wk * (wk != zero ? loss : zero);
            d = neg * sig - pos * om;
        } else {
            REAL diff = (one - y) * sig - y * om;
            lw = wk * ((REAL)0.5 * (diff * diff));
            d = diff * sig * om;
        }
        tot += lw;
        ws += wk;
        if (sl) lo[j] = lw;
        if (sg) g[j] = (sc * wk) * d;
    }
    acc[0] += (double)tot;
    acc[1] += (double)ws;
    acc[2] += (double)cn;
    acc[3] += (double)ci;
    acc[4] += (double)ct;
    acc[5] += (double)cw;
    acc[6] += (double)cp;
}

/* Row r's entries j0 .. j0 + m of an operand: a pointer into it when they are contiguous,
 * else gathered into buf. */
IL_INLINE const REAL *F(sig_read)(const void *x, int64_t s0, int64_t s1, int64_t r,
                                  int64_t j0, int64_t m, REAL *restrict buf) {
    const REAL *p = (const REAL *)x + r * s0 + j0 * s1;
    if (s1 == 1) return p;
    for (int64_t j = 0; j < m; j++) buf[j] = p[j * s1];
    return buf;
}

IL_INLINE void F(sig_write)(void *x, int64_t s0, int64_t s1, int64_t r, int64_t j0,
                            int64_t m, const REAL *restrict buf) {
    REAL *p = (REAL *)x + r * s0 + j0 * s1;
    for (int64_t j = 0; j < m; j++) p[j * s1] = buf[j];
}

/* Chunks i0 .. i1 (nch per row) into acc. */
static void F(sig_items)(const il_sig_in *in, int kind, const il_sig_out *out,
                         const F(il_sig_k) *k, int64_t i0, int64_t i1, int64_t nch,
                         double *acc) {
    REAL bz[IL_SIG_CHUNK], bt[IL_SIG_CHUNK], bw[IL_SIG_CHUNK], bp[IL_SIG_CHUNK];
    REAL bl[IL_SIG_CHUNK], bg[IL_SIG_CHUNK], ones[IL_SIG_CHUNK];
    int64_t c = in->c;
    for (int64_t j = 0; j < IL_SIG_CHUNK; j++) ones[j] = 1;
    int sl = out->loss != NULL, sg = out->g != NULL;
    for (int64_t i = i0; i < i1; i++) {
        int64_t r = i / nch, j0 = (i % nch) * IL_SIG_CHUNK;
        int64_t m = c - j0 < IL_SIG_CHUNK ? c - j0 : IL_SIG_CHUNK;
        const REAL *zp = F(sig_read)(in->z, in->zs0, in->zs1, r, j0, m, bz);
        const REAL *tp = F(sig_read)(in->t, in->ts0, in->ts1, r, j0, m, bt);
        const REAL *wp = in->w ? F(sig_read)(in->w, in->ws0, in->ws1, r, j0, m, bw) : ones;
        const REAL *pp = in->pw ? F(sig_read)(in->pw, in->ps0, in->ps1, r, j0, m, bp) : ones;
        int lc = sl && out->ls1 == 1, gc = sg && out->gs1 == 1;
        REAL *lp = !sl ? NULL : (lc ? (REAL *)out->loss + r * out->ls0 + j0 : bl);
        REAL *gp = !sg ? NULL : (gc ? (REAL *)out->g + r * out->gs0 + j0 : bg);
        int mode = (kind == IL_SIG_BCE ? 0 : 4) + (sl ? 2 : 0) + (sg ? 1 : 0);
        switch (mode) {
        case 0: F(sig_chunk)(IL_SIG_BCE, 0, 0, m, zp, tp, wp, pp, k, lp, gp, acc); break;
        case 1: F(sig_chunk)(IL_SIG_BCE, 0, 1, m, zp, tp, wp, pp, k, lp, gp, acc); break;
        case 2: F(sig_chunk)(IL_SIG_BCE, 1, 0, m, zp, tp, wp, pp, k, lp, gp, acc); break;
        case 3: F(sig_chunk)(IL_SIG_BCE, 1, 1, m, zp, tp, wp, pp, k, lp, gp, acc); break;
        case 4: F(sig_chunk)(IL_SIG_SE, 0, 0, m, zp, tp, wp, pp, k, lp, gp, acc); break;
        case 5: F(sig_chunk)(IL_SIG_SE, 0, 1, m, zp, tp, wp, pp, k, lp, gp, acc); break;
        case 6: F(sig_chunk)(IL_SIG_SE, 1, 0, m, zp, tp, wp, pp, k, lp, gp, acc); break;
        default: F(sig_chunk)(IL_SIG_SE, 1, 1, m, zp, tp, wp, pp, k, lp, gp, acc); break;
        }
        if (sl && !lc) F(sig_write)(out->loss, out->ls0, out->ls1, r, j0, m, bl);
        if (sg && !gc) F(sig_write)(out->g, out->gs0, out->gs1, r, j0, m, bg);
    }
}

int F(il_sigmoid)(const il_sig_in *in, int kind, il_sig_out *out) {
    F(il_sig_k) k;
    k.onem = (REAL)(1.0 - in->eps);
    k.half = (REAL)(in->eps / 2.0);
    k.has_ign = in->has_ignore;
    k.ign = (REAL)in->ignore;
    k.scale = (REAL)out->scale;
    int64_t nch = (in->c + IL_SIG_CHUNK - 1) / IL_SIG_CHUNK;
    int64_t items = in->n * nch;
    int64_t nblk = items < IL_SIG_BLOCKS ? items : IL_SIG_BLOCKS;
    double part[IL_SIG_BLOCKS][7] = {{0}};
    int par = in->n * in->c >= IL_SIG_PARALLEL_MIN;
#pragma omp parallel for schedule(static) if (par)
    for (int64_t b = 0; b < nblk; b++) {
        F(sig_items)(in, kind, out, &k, items * b / nblk, items * (b + 1) / nblk, nch, part[b]);
    }
    out->total = out->wsum = 0.0;
    for (int q = 0; q < 5; q++) out->nbad[q] = 0;
    for (int64_t b = 0; b < nblk; b++) {
        out->total += part[b][0];
        out->wsum += part[b][1];
        for (int q = 0; q < 5; q++) out->nbad[q] += (int64_t)part[b][2 + q];
    }
    return 0;
}
