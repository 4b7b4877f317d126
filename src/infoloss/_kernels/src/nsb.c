/* nsb.c: the Nemenman-Shafee-Bialek entropy estimator's kernel (infoloss.estimators._nsb
 * states the mathematics).
 *
 * Why it is shaped this way:
 *
 * - Everything is written in the Dirichlet concentration kappa = K alpha and integrated
 *   over u = log kappa; K = inf is the limit of an unknown (unbounded) alphabet, in which
 *   the symmetric Dirichlet prior becomes a Dirichlet process of concentration kappa.
 * - Each row is first reduced to its count fingerprint (the distinct non-zero counts and
 *   how many categories have each), so one evaluation of the posterior costs O(distinct
 *   counts), whatever K and N are.
 * - The integration window is fitted to the posterior of each row (its mode, its width,
 *   ends where the density has fallen by e^-50) and the trapezoid rule runs on it; one row
 *   is a few thousand evaluations, so rows are shared among threads (one row per task,
 *   dynamically: rows differ in cost by orders of magnitude).
 * - Scalar libm (exp, log, log1p, lgamma_r) throughout: the loops are sequential
 *   searches and one weighted running mean, nothing to vectorise, and the special
 *   functions need more than vmath.h's exp and log.
 *
 * - No contraction of a*b + c into fused multiply-adds (the build's -march=native allows
 *   them): the posterior variance is a difference of two small positive numbers, and
 *   with contraction the standard deviations moved by up to 2e-13 relative from the
 *   uncontracted arithmetic the tests and earlier releases share (2 ulps without).
 *
 * The C never raises; infoloss/_kernels/nsb.py checks the arguments.
 */
#pragma GCC optimize("fp-contract=off")
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nsb.h"
#include "digamma.h"

/* How far below its maximum the log posterior of u = log kappa is when the integration
 * window ends: e^-50 ~ 2e-22, and the tails decay at least like e^-|u| beyond it. */
#define IL_DROP 50.0
/* The grid is no coarser than a quarter of the half-width at e^-1/2 of the peak, and never
 * coarser than 1/2 (the integrands are analytic in a strip of half-width pi around the
 * real u axis: the trapezoid rule's error there is about exp(-2 pi^2 / h), below 1e-17 at
 * h = 1/2). */
#define IL_WIDTH_STEPS 4.0
#define IL_MAX_STEP 0.5
#define IL_MAX_NODES 200000
#define IL_INF ((double)INFINITY)

/* psi_1(x) - 1/x for x > 0, without cancellation: every term of the recurrence
 * psi_1(x) - 1/x = 1/(x^2 (x + 1)) + [psi_1(x + 1) - 1/(x + 1)] is positive, and the
 * asymptotic series starts at 1/(2x^2). */
static double il_trigamma_tail(double x)
{
    double acc = 0.0;
    while (x < 10.0) {
        acc += 1.0 / (x * x * (x + 1.0));
        x += 1.0;
    }
    double r = 1.0 / x;
    double r2 = r * r;
    /* sum B_2k / x^(2k+1), k = 1..8, after the leading 1/(2x^2) */
    double series =
        r * r2 *
        (1.0 / 6.0 +
         r2 * (-1.0 / 30.0 +
               r2 * (1.0 / 42.0 +
                     r2 * (-1.0 / 30.0 +
                           r2 * (5.0 / 66.0 +
                                 r2 * (-691.0 / 2730.0 +
                                       r2 * (7.0 / 6.0 - r2 * 3617.0 / 510.0)))))));
    return acc + 0.5 * r2 + series;
}

/* log Gamma(x) - [(x - 1/2) log x - x + log(2 pi)/2] for x >= 10 (error below 1e-17). */
static double il_stirling_tail(double x)
{
    double r = 1.0 / x;
    double r2 = r * r;
    return r * (1.0 / 12.0 +
                r2 * (-1.0 / 360.0 +
                      r2 * (1.0 / 1260.0 +
                            r2 * (-1.0 / 1680.0 +
                                  r2 * (1.0 / 1188.0 +
                                        r2 * (-691.0 / 360360.0 +
                                              r2 * (1.0 / 156.0 - r2 * 3617.0 / 122400.0)))))));
}

static double il_lgamma(double x)
{
    int sign;
    return lgamma_r(x, &sign);
}

/* log Gamma(x + n) - log Gamma(x) for x > 0, n >= 0.  For x >= 10 from Stirling's series,
 * written so that the two x log x sized terms never meet (kappa up to e^60 occurs in the
 * tails, where a difference of two lgamma values would lose every digit). */
static double il_lgamma_ratio(double x, double n)
{
    if (n == 0.0)
        return 0.0;
    if (x < 10.0)
        return il_lgamma(x + n) - il_lgamma(x);
    double y = x + n;
    return (x - 0.5) * log1p(n / x) + n * log(y) - n + il_stirling_tail(y) -
           il_stirling_tail(x);
}

typedef struct {
    const double *vals; /* distinct non-zero counts, ascending */
    const double *mult; /* how many categories have each */
    int64_t d;          /* how many distinct counts */
    double n, k_obs, k; /* samples, observed categories, alphabet (any when !finite) */
    int finite;
} il_row;

/* log d xi / d kappa, xi(kappa) = psi(kappa + 1) - psi(kappa/K + 1) the prior mean entropy
 * of Dir(kappa/K).  d xi/d kappa = psi_1(kappa + 1) - psi_1(alpha + 1)/K; written with
 * psi_1(y) = 1/y + tail(y), the two 1/y parts combine exactly into
 * (K - 1)/((kappa + 1)(kappa + K)), and what is left of the tails cancels at most half. */
static double il_log_prior(double kappa, double alpha, const il_row *r)
{
    if (!r->finite)
        return log(1.0 / (kappa + 1.0) + il_trigamma_tail(kappa + 1.0));
    double main = (r->k - 1.0) / ((kappa + 1.0) * (kappa + r->k));
    return log(main + il_trigamma_tail(kappa + 1.0) - il_trigamma_tail(alpha + 1.0) / r->k);
}

/* log of the posterior density of u = log kappa, up to a constant: the prior, kappa (the
 * Jacobian of u) and the Dirichlet-multinomial evidence
 * Gamma(kappa)/Gamma(N + kappa) prod_i Gamma(n_i + alpha)/Gamma(alpha), with
 * Gamma(n + alpha)/Gamma(alpha) = alpha Gamma(n + alpha)/Gamma(alpha + 1) for the observed
 * categories (the alpha^K_obs gives the (1 + K_obs) u below; the rest is 1 at K = inf). */
static double il_log_post(double u, const il_row *r)
{
    double kappa = exp(u);
    double alpha = r->finite ? kappa / r->k : 0.0;
    double lp = il_log_prior(kappa, alpha, r) + (1.0 + r->k_obs) * u;
    lp -= il_lgamma_ratio(kappa, r->n);
    if (r->finite)
        for (int64_t j = 0; j < r->d; j++)
            lp += r->mult[j] * il_lgamma_ratio(alpha + 1.0, r->vals[j] - 1.0);
    return lp;
}

/* E[H | kappa, n] and Var[H | kappa, n] under the posterior Dirichlet (Wolpert & Wolf 1995),
 * rearranged so that nothing large cancels (see _nsb.py); psi is scratch of r->d. */
static void il_moments(double u, const il_row *r, double *psi, double *mean_out,
                       double *var_out)
{
    double kappa = exp(u), alpha, c0;
    if (r->finite) {
        alpha = kappa / r->k;
        c0 = (r->k - r->k_obs) * alpha;
    } else {
        alpha = 0.0;
        c0 = kappa;
    }
    double a = r->n + kappa;
    double psi0 = il_digamma(alpha + 1.0);
    double s = c0 * psi0;
    for (int64_t j = 0; j < r->d; j++) {
        psi[j] = il_digamma(r->vals[j] + alpha + 1.0);
        s += r->mult[j] * (r->vals[j] + alpha) * psi[j];
    }
    double m = s / a;
    double spread = c0 * (psi0 - m) * (psi0 - m);
    double tails = c0 * (alpha + 1.0) * il_trigamma_tail(alpha + 1.0);
    for (int64_t j = 0; j < r->d; j++) {
        double nj = r->vals[j] + alpha;
        spread += r->mult[j] * nj * (psi[j] - m) * (psi[j] - m);
        tails += r->mult[j] * nj * (nj + 1.0) * il_trigamma_tail(nj + 1.0);
    }
    double var = spread / (a * (a + 1.0)) + tails / (a * (a + 1.0)) - il_trigamma_tail(a + 1.0);
    *mean_out = il_digamma(a + 1.0) - m;
    *var_out = var > 0.0 ? var : 0.0;
}

static int il_cmp_double(const void *p, const void *q)
{
    double a = *(const double *)p, b = *(const double *)q;
    return (a > b) - (a < b);
}

/* The fingerprint of a row (n entries, stride s): distinct non-zero counts ascending into
 * vals, multiplicities into mult (both of room n); their number, or -1 without memory. */
static int64_t il_fingerprint(const double *row, int64_t n, int64_t s, double *vals,
                              double *mult)
{
    int64_t nnz = 0;
    double top = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double c = row[i * s];
        if (c > 0.0) {
            nnz++;
            if (c > top)
                top = c;
        }
    }
    if (nnz == 0)
        return 0;
    int64_t d = 0;
    if (top <= 8.0 * (double)nnz + 1024.0) {
        int64_t size = (int64_t)top + 1;
        int64_t *hist = calloc((size_t)size, sizeof(int64_t));
        if (hist == NULL)
            return -1;
        for (int64_t i = 0; i < n; i++) {
            double c = row[i * s];
            if (c > 0.0)
                hist[(int64_t)c]++;
        }
        for (int64_t v = 0; v < size; v++)
            if (hist[v] > 0) {
                vals[d] = (double)v;
                mult[d] = (double)hist[v];
                d++;
            }
        free(hist);
        return d;
    }
    int64_t t = 0;
    for (int64_t i = 0; i < n; i++) {
        double c = row[i * s];
        if (c > 0.0)
            mult[t++] = c; /* scratch: the non-zero counts */
    }
    qsort(mult, (size_t)nnz, sizeof(double), il_cmp_double);
    for (int64_t i = 0; i < nnz; i++) {
        if (d == 0 || mult[i] != vals[d - 1])
            vals[d++] = mult[i];
    }
    /* multiplicities: walk the sorted counts again (mult is overwritten behind the walk) */
    int64_t j = 0;
    double run = 0.0, cur = mult[0];
    for (int64_t i = 0; i < nnz; i++) {
        double c = mult[i];
        if (c != cur) {
            mult[j++] = run;
            run = 0.0;
            cur = c;
        }
        run += 1.0;
    }
    mult[j] = run;
    return d;
}

/* Bisection for the u between lo and hi where the log posterior crosses level (above it
 * at lo, below at hi), to 2^-36 of the starting bracket. */
static double il_crossing(double lo, double hi, double level, const il_row *r)
{
    for (int i = 0; i < 36; i++) {
        double mid = 0.5 * (lo + hi);
        if (mid == lo || mid == hi)
            break;
        if (il_log_post(mid, r) >= level)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

/* Walk from u by doubling (signed) steps until the log posterior is below level. */
static double il_beyond(double u, double step, double level, const il_row *r)
{
    while (il_log_post(u, r) >= level) {
        u += step;
        step *= 2.0;
    }
    return u;
}

/* The mode u* of the log posterior and its value: a walk on a grid of step 1 from u = 0
 * until the log posterior has fallen IL_DROP below the best point on each side, then
 * golden-section search between the best point's neighbours (the posterior of u is
 * unimodal). */
static void il_peak(const il_row *r, double *u_out, double *top_out)
{
    double best_u = 0.0, best = il_log_post(0.0, r);
    for (int side = 0; side < 2; side++) {
        double direction = side == 0 ? 1.0 : -1.0, u = 0.0;
        for (;;) {
            u += direction;
            double lp = il_log_post(u, r);
            if (lp > best) {
                best = lp;
                best_u = u;
            } else if (lp < best - IL_DROP) {
                break;
            }
        }
    }
    double lo = best_u - 1.0, hi = best_u + 1.0;
    double g = 0.5 * (sqrt(5.0) - 1.0);
    double x1 = hi - g * (hi - lo), x2 = lo + g * (hi - lo);
    double f1 = il_log_post(x1, r), f2 = il_log_post(x2, r);
    for (int i = 0; i < 80; i++) {
        if (hi - lo < 1e-8)
            break;
        if (f1 >= f2) {
            hi = x2;
            x2 = x1;
            f2 = f1;
            x1 = hi - g * (hi - lo);
            f1 = il_log_post(x1, r);
        } else {
            lo = x1;
            x1 = x2;
            f1 = f2;
            x2 = lo + g * (hi - lo);
            f2 = il_log_post(x2, r);
        }
    }
    if (f1 >= f2 && f1 >= best) {
        *u_out = x1;
        *top_out = f1;
    } else if (f2 >= best) {
        *u_out = x2;
        *top_out = f2;
    } else {
        *u_out = best_u;
        *top_out = best;
    }
}

/* Posterior mean and standard deviation of H for one fingerprint; psi scratch of r->d. */
static void il_nsb_one(const il_row *r, double *psi, double *mean_out, double *sd_out)
{
    if (r->finite && r->k == 1.0) {
        *mean_out = 0.0;
        *sd_out = 0.0;
        return;
    }
    if (!r->finite && r->n == r->k_obs) {
        /* No coincidence: with an unbounded alphabet the posterior of kappa is improper;
         * the plug-in log N, flagged by an infinite SD. */
        *mean_out = log(r->n);
        *sd_out = IL_INF;
        return;
    }
    double u0, top;
    il_peak(r, &u0, &top);
    double half = top - 0.5;
    /* the half-widths at e^-1/2 of the peak (sigma for a Gaussian), then the window's ends */
    double left = il_crossing(u0, il_beyond(u0 - 1.0, -1.0, half, r), half, r);
    double right = il_crossing(u0, il_beyond(u0 + 1.0, 1.0, half, r), half, r);
    double floor_ = top - IL_DROP;
    double lo = il_crossing(u0, il_beyond(left, -(u0 - left), floor_, r), floor_, r);
    double hi = il_crossing(u0, il_beyond(right, right - u0, floor_, r), floor_, r);
    double width = u0 - left < right - u0 ? u0 - left : right - u0;
    double step = width / IL_WIDTH_STEPS;
    if (step > IL_MAX_STEP)
        step = IL_MAX_STEP;
    double span = ceil((hi - lo) / step) + 1.0;
    int64_t nodes = span > IL_MAX_NODES ? IL_MAX_NODES : (int64_t)span;
    if (nodes < 33)
        nodes = 33;
    step = (hi - lo) / (double)(nodes - 1);
    /* Trapezoid rule; the weighted mean and spread of E[H | kappa] by West's (1979) update,
     * so the law of total variance needs no second pass. */
    double total = 0.0, mean = 0.0, spread = 0.0, within = 0.0;
    for (int64_t i = 0; i < nodes; i++) {
        double u = lo + (double)i * step;
        double w = exp(il_log_post(u, r) - top);
        if (i == 0 || i == nodes - 1)
            w *= 0.5;
        if (w == 0.0)
            continue;
        double h, v;
        il_moments(u, r, psi, &h, &v);
        total += w;
        double delta = h - mean;
        mean += (w / total) * delta;
        spread += w * delta * (h - mean);
        within += w * v;
    }
    double var = (spread + within) / total;
    *mean_out = mean;
    *sd_out = sqrt(var > 0.0 ? var : 0.0);
}

double il_nsb_digamma(double x) { return il_digamma(x); }
double il_nsb_trigamma_tail(double x) { return il_trigamma_tail(x); }

int il_nsb_rows(const double *counts, int64_t b, int64_t n, int64_t s0, int64_t s1, double k,
                int finite, double *mean, double *sd)
{
    int failed = 0;
    int64_t i;
#pragma omp parallel for schedule(dynamic, 1) if (b >= 16) reduction(| : failed)
    for (i = 0; i < b; i++) {
        /* vals, mult, psi: n each at most */
        double *scratch = malloc((size_t)(3 * (n > 0 ? n : 1)) * sizeof(double));
        if (scratch == NULL) {
            failed = 1;
            continue;
        }
        double *vals = scratch, *mult = scratch + n, *psi = scratch + 2 * n;
        int64_t d = il_fingerprint(counts + i * s0, n, s1, vals, mult);
        if (d < 0) {
            failed = 1;
        } else {
            il_row r = {vals, mult, d, 0.0, 0.0, k, finite};
            for (int64_t j = 0; j < d; j++) {
                r.n += vals[j] * mult[j];
                r.k_obs += mult[j];
            }
            il_nsb_one(&r, psi, mean + i, sd + i);
        }
        free(scratch);
    }
    return failed ? -1 : 0;
}
