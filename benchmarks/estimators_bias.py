"""Monte-Carlo bias and RMSE of every discrete entropy estimator, with run times beside
infomeasure and SciPy.

For each true distribution P (Dirichlet draws and the Zipf law over K categories), each K
and each sample size N, R count vectors are drawn at once with ``rng.multinomial`` (one
(R, K) array) and every estimator of :func:`infoloss.estimators.entropy` is applied to
all R rows in one call.  Bias is the mean of estimate − H(P), RMSE the root of the mean of
(estimate − H(P))², both in nats; H(P) is computed with mpmath at 30 digits from the
float64 probabilities that are sampled.  Any NaN or infinite estimate on the grid is
reported and makes the command exit with status 1.

    python benchmarks/estimators_bias.py                   # full grid, R = 200
    python benchmarks/estimators_bias.py --reps 1000 --write-docs

``--write-docs`` replaces the generated part of docs/estimators-bias.md (between its
BEGIN/END GENERATED markers); the JSON goes to benchmarks/results/estimators_bias.json.
The run-time part times, at one grid point, each estimator on the R rows from counts and
on one replicate's samples, beside infomeasure (per replicate, from samples) and
``scipy.stats.entropy`` (the plug-in, from counts); ``--no-timing`` skips it.  The
infomeasure NSB survey runs infomeasure's NSB (K given) on the first replicates of every
grid point and counts its NaNs.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import math
import platform
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from _common import ratio, rounds
from infoloss.estimators import entropy

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "estimators-bias.md"
RESULTS = ROOT / "benchmarks" / "results" / "estimators_bias.json"
BEGIN, END = "<!-- BEGIN GENERATED -->", "<!-- END GENERATED -->"

KS: tuple[int, ...] = (10, 100, 1000)
NS: tuple[int, ...] = (10, 100, 1000, 10_000, 100_000)
# (label, method, alphabet size given)
ESTIMATORS: tuple[tuple[str, str, bool], ...] = (
    ("plugin", "plugin", False),
    ("miller_madow", "miller_madow", False),
    ("grassberger", "grassberger", False),
    ("chao_shen", "chao_shen", False),
    ("chao_wang_jost", "chao_wang_jost", False),
    ("jackknife", "jackknife", False),
    ("james_stein", "james_stein", False),
    ("james_stein, K given", "james_stein", True),
    ("zhang", "zhang", False),
    ("nsb", "nsb", False),
    ("nsb, K given", "nsb", True),
)
# infomeasure's name for each estimator it has, with the keyword that passes K.
INFOMEASURE: dict[str, tuple[str, bool]] = {
    "plugin": ("discrete", False),
    "miller_madow": ("miller_madow", False),
    "grassberger": ("grassberger", False),
    "chao_shen": ("chao_shen", False),
    "chao_wang_jost": ("chao_wang_jost", False),
    "james_stein": ("shrink", False),
    "zhang": ("zhang", False),
    "nsb, K given": ("nsb", True),
}
TIMING_POINT = ("zipf", 1000, 10_000)


def distributions() -> dict[str, Callable[[int, np.random.Generator], np.ndarray]]:
    """The true distributions by name: a function of K and a generator giving P (float64)."""

    def zipf(k: int, rng: np.random.Generator) -> np.ndarray:
        w = 1.0 / np.arange(1, k + 1)
        p: np.ndarray = w / w.sum()
        return p

    def dirichlet(alpha: float) -> Callable[[int, np.random.Generator], np.ndarray]:
        def draw(k: int, rng: np.random.Generator) -> np.ndarray:
            p: np.ndarray = rng.dirichlet(np.full(k, alpha))
            return p

        return draw

    return {"dirichlet(1)": dirichlet(1.0), "dirichlet(0.1)": dirichlet(0.1), "zipf": zipf}


def exact_entropy(p: np.ndarray) -> float:
    """H(P) in nats for the float64 probabilities ``p`` (normalised exactly), via mpmath."""
    import mpmath

    with mpmath.workdps(30):
        q = [mpmath.mpf(float(x)) for x in p if x > 0]
        total = mpmath.fsum(q)
        return float(-mpmath.fsum(x / total * mpmath.log(x / total) for x in q))


def _seed(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng([seed, *key])


def run_grid(
    *,
    dists: Sequence[str] | None = None,
    ks: Sequence[int] = KS,
    ns: Sequence[int] = NS,
    reps: int = 200,
    seed: int = 1,
) -> list[dict[str, Any]]:
    """Bias, RMSE, SD and the number of non-finite estimates for every estimator at every
    grid point.  One P per (distribution, K), the same for every N; one (R, K) multinomial
    draw per point, each from its own seeded generator (a point's numbers do not depend on
    which other points are run)."""
    table = distributions()
    names = list(table) if dists is None else list(dists)
    points: list[dict[str, Any]] = []
    for d, name in enumerate(names):
        for k in ks:
            p = table[name](k, _seed(seed, d, k))
            h = exact_entropy(p)
            for n in ns:
                counts = _seed(seed, d, k, n).multinomial(n, p, size=reps)
                point: dict[str, Any] = {
                    "distribution": name,
                    "K": k,
                    "N": n,
                    "R": reps,
                    "entropy": h,
                    "estimators": {},
                }
                for label, method, given in ESTIMATORS:
                    est = np.asarray(
                        entropy(counts=counts, method=method, alphabet_size=k if given else None),
                        dtype=np.float64,
                    )
                    bad = ~np.isfinite(est)
                    err = est[~bad] - h
                    row: dict[str, Any] = {
                        "bias": float(err.mean()) if err.size else math.nan,
                        "rmse": float(np.sqrt(np.mean(err**2))) if err.size else math.nan,
                        "sd": float(est[~bad].std(ddof=1)) if err.size > 1 else math.nan,
                        "nonfinite": int(bad.sum()),
                    }
                    if bad.any():
                        i = int(np.flatnonzero(bad)[0])
                        row["nonfinite_example"] = {
                            "counts": counts[i].tolist(),
                            "alphabet_size": k if given else None,
                            "value": repr(float(est[i])),
                        }
                    point["estimators"][label] = row
                points.append(point)
    return points


def _cell(bias: float, rmse: float, best: bool) -> str:
    r = f"{rmse:.2g}"
    return f"{bias:+.2g} / {'**' + r + '**' if best else r}"


def markdown_tables(points: Sequence[dict[str, Any]]) -> str:
    """One table per (distribution, K): a row per estimator, a column per N, cells
    "bias / RMSE" in nats, the smallest RMSE of each column in bold."""
    blocks: list[str] = []
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for pt in points:
        groups.setdefault((pt["distribution"], pt["K"]), []).append(pt)
    for (name, k), pts in groups.items():
        lines = [
            f"#### {name}, K = {k} (H = {pts[0]['entropy']:.4f} nats, R = {pts[0]['R']})",
            "",
            "| estimator | " + " | ".join(f"N = {pt['N']:,}" for pt in pts) + " |",
            "|---|" + "---|" * len(pts),
        ]
        best = [min(row["rmse"] for row in pt["estimators"].values()) for pt in pts]
        for label, _, _ in ESTIMATORS:
            cells = []
            for pt, b in zip(pts, best, strict=True):
                row = pt["estimators"][label]
                cell = _cell(row["bias"], row["rmse"], row["rmse"] == b)
                if row["nonfinite"]:
                    cell += f" ({row['nonfinite']} non-finite)"
                cells.append(cell)
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def summary_table(points: Sequence[dict[str, Any]]) -> str:
    """Per estimator, RMSE ÷ the smallest RMSE at the same grid point: the worst and the
    median over the grid, and at how many points it is the smallest; once among all
    estimators, once among those that are not given K."""
    unknown = [label for label, _, given in ESTIMATORS if not given]
    ratios: dict[str, tuple[list[float], list[float]]] = {
        label: ([], []) for label, _, _ in ESTIMATORS
    }
    for pt in points:
        rmse = {label: row["rmse"] for label, row in pt["estimators"].items()}
        best_all = min(rmse.values())
        best_unknown = min(rmse[label] for label in unknown)
        for label, r in rmse.items():
            ratios[label][0].append(r / best_all)
            if label in unknown:
                ratios[label][1].append(r / best_unknown)
    total = sum(row["nonfinite"] for pt in points for row in pt["estimators"].values())
    reps = sorted({pt["R"] for pt in points})
    lines = [
        f"{len(points)} grid points × {len(ESTIMATORS)} estimators × R = "
        f"{', '.join(map(str, reps))} count vectors; non-finite estimates: {total}.",
        "",
        "RMSE ÷ the smallest RMSE at the same point (worst and median over the grid; "
        "# best: points where it is the smallest, ties included):",
        "",
        "| estimator | all: worst | median | # best | K unknown: worst | median | # best |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, (rel_all, rel_unknown) in ratios.items():
        cells = [f"{max(rel_all):.2f}", f"{np.median(rel_all):.2f}", str(rel_all.count(1.0))]
        if rel_unknown:
            cells += [
                f"{max(rel_unknown):.2f}",
                f"{np.median(rel_unknown):.2f}",
                str(rel_unknown.count(1.0)),
            ]
        else:
            cells += ["—", "—", "—"]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def nonfinite(points: Sequence[dict[str, Any]]) -> list[str]:
    """One line per (point, estimator) with a NaN or infinite estimate, with the counts of
    the first offending row."""
    out = []
    for pt in points:
        for label, row in pt["estimators"].items():
            if row["nonfinite"]:
                ex = row["nonfinite_example"]
                out.append(
                    f"{label} at {pt['distribution']} K={pt['K']} N={pt['N']}: "
                    f"{row['nonfinite']} of {pt['R']} non-finite; first: {ex['value']} for "
                    f"alphabet_size={ex['alphabet_size']} counts={ex['counts']}"
                )
    return out


def _quiet_infomeasure() -> Any:
    import infomeasure

    logging.getLogger("infomeasure").setLevel(logging.CRITICAL)
    return infomeasure


def _infomeasure_call(im: Any, label: str, k: int) -> Callable[[np.ndarray], float]:
    approach, given = INFOMEASURE[label]
    kwargs: dict[str, Any] = {"approach": approach, "base": "e"}
    if given:
        kwargs["K"] = k

    def call(samples: np.ndarray) -> float:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return float(im.entropy(samples, **kwargs))

    return call


def _samples(counts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each row's samples (the category indices, shuffled): shape (R, N)."""
    k = counts.shape[1]
    rows = [rng.permutation(np.repeat(np.arange(k), c)) for c in counts]
    return np.stack(rows)


def _each(f: Callable[[np.ndarray], Any], rows: np.ndarray) -> list[Any]:
    return [f(row) for row in rows]


def timing(
    *, reps: int, seed: int, timing_reps: int, repeats: int, with_infomeasure: bool = True
) -> list[dict[str, Any]]:
    """At TIMING_POINT: per estimator, the time for the R rows from counts and from samples,
    the time per replicate on one replicate's samples for infoloss and infomeasure
    (interleaved rounds over the same ``timing_reps`` replicates), and SciPy's plug-in on
    the R rows of counts; ratios are medians over the rounds."""
    name, k, n = TIMING_POINT
    d = list(distributions()).index(name)
    p = distributions()[name](k, _seed(seed, d, k))
    counts = _seed(seed, d, k, n).multinomial(n, p, size=reps)
    samples = _samples(counts, _seed(seed, 99))
    few = samples[:timing_reps]
    im = _quiet_infomeasure() if with_infomeasure else None
    out = []
    for label, method, given in ESTIMATORS:
        a = k if given else None
        ours = functools.partial(entropy, method=method, alphabet_size=a)
        fns: dict[str, Callable[[], Any]] = {
            "counts": functools.partial(ours, counts=counts),
            "samples": functools.partial(ours, samples),
            "one": functools.partial(_each, ours, few),
        }
        if im is not None and label in INFOMEASURE:
            fns["infomeasure"] = functools.partial(_each, _infomeasure_call(im, label, k), few)
        if label == "plugin":
            from scipy.stats import entropy as scipy_entropy

            fns["scipy"] = functools.partial(scipy_entropy, counts, axis=-1)
        t = rounds(fns, repeats)
        row: dict[str, Any] = {
            "estimator": label,
            "counts_rows_s": float(np.median(t["counts"])),
            "samples_rows_s": float(np.median(t["samples"])),
            "one_replicate_s": float(np.median(t["one"])) / len(few),
        }
        if "infomeasure" in t:
            mine = np.array(_each(ours, few), dtype=np.float64)
            theirs = np.array(_each(_infomeasure_call(im, label, k), few), dtype=np.float64)
            row["infomeasure_s"] = float(np.median(t["infomeasure"])) / len(few)
            row["infomeasure_ratio"] = ratio(t, "infomeasure", "one")
            row["infomeasure_nan"] = int(np.isnan(theirs).sum())
            ok = ~np.isnan(theirs)
            row["infomeasure_max_abs_diff"] = (
                float(np.max(np.abs(theirs[ok] - mine[ok]))) if ok.any() else math.nan
            )
        if "scipy" in t:
            row["scipy_s"] = float(np.median(t["scipy"]))
            row["scipy_ratio"] = ratio(t, "scipy", "counts")
        out.append(row)
    return out


def infomeasure_nsb_survey(
    *, ks: Sequence[int], ns: Sequence[int], reps: int, seed: int, im_reps: int
) -> list[dict[str, Any]]:
    """infomeasure's NSB with K given on the first ``im_reps`` replicates of every grid
    point: its NaN count, and its largest difference from infoloss's NSB (K given) where
    it is not NaN."""
    im = _quiet_infomeasure()
    table = distributions()
    out = []
    for d, name in enumerate(table):
        for k in ks:
            p = table[name](k, _seed(seed, d, k))
            for n in ns:
                counts = _seed(seed, d, k, n).multinomial(n, p, size=reps)[:im_reps]
                samples = _samples(counts, _seed(seed, 99))
                call = _infomeasure_call(im, "nsb, K given", k)
                theirs = np.array([call(s) for s in samples])
                ours = np.asarray(entropy(counts=counts, method="nsb", alphabet_size=k))
                ok = ~np.isnan(theirs)
                out.append(
                    {
                        "distribution": name,
                        "K": k,
                        "N": n,
                        "replicates": len(theirs),
                        "nan": int((~ok).sum()),
                        "max_abs_diff": float(np.max(np.abs(theirs[ok] - ours[ok])))
                        if ok.any()
                        else math.nan,
                    }
                )
    return out


def _ms(s: float) -> str:
    return f"{s * 1e3:.3g}"


def timing_table(rows: Sequence[dict[str, Any]], reps: int, timing_reps: int) -> str:
    name, k, n = TIMING_POINT
    lines = [
        f"#### Run time at {name}, K = {k}, N = {n:,} (ms)",
        "",
        f"Columns: the {reps} rows from counts in one call; the same rows from samples (an "
        f"({reps}, {n}) array) in one call; one replicate's samples per call (mean of "
        f"{timing_reps}); infomeasure on the same replicates' samples, per call; infomeasure ÷ "
        "infoloss per replicate (median over rounds); the largest |difference| of the "
        "estimates (NaN: infomeasure's NaN count).",
        "",
        "| estimator | R rows, counts | R rows, samples | one replicate | infomeasure, one "
        "replicate | infomeasure ÷ infoloss | max \\|Δ\\| (nats) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "infomeasure_s" in r:
            diff = f"{r['infomeasure_max_abs_diff']:.2g}"
            if r["infomeasure_nan"]:
                diff = f"NaN in {r['infomeasure_nan']} of {timing_reps}" + (
                    "" if math.isnan(r["infomeasure_max_abs_diff"]) else f"; else {diff}"
                )
            im = [_ms(r["infomeasure_s"]), f"{r['infomeasure_ratio']:.3g}", diff]
        else:
            im = ["—", "—", "—"]
        lines.append(
            f"| {r['estimator']} | {_ms(r['counts_rows_s'])} | {_ms(r['samples_rows_s'])} | "
            f"{_ms(r['one_replicate_s'])} | " + " | ".join(im) + " |"
        )
    for r in rows:
        if "scipy_s" in r:
            lines += [
                "",
                f"`scipy.stats.entropy(counts, axis=-1)` on the same {reps} rows of counts: "
                f"{_ms(r['scipy_s'])} ms, {r['scipy_ratio']:.3g} × the time of "
                '`entropy(counts=counts, method="plugin")` (median over rounds).',
            ]
    return "\n".join(lines)


def survey_table(rows: Sequence[dict[str, Any]]) -> str:
    ns = sorted({r["N"] for r in rows})
    lines = [
        "#### infomeasure's NSB (K given) on the same counts",
        "",
        "Cells: NaN results out of the replicates tried; in brackets, the largest |difference| "
        "from infoloss's `nsb` with K given where infomeasure's is not NaN (nats).",
        "",
        "| distribution, K | " + " | ".join(f"N = {n:,}" for n in ns) + " |",
        "|---|" + "---|" * len(ns),
    ]
    groups: dict[tuple[str, int], dict[int, dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["distribution"], r["K"]), {})[r["N"]] = r
    for (name, k), by_n in groups.items():
        cells = []
        for n in ns:
            r = by_n[n]
            d = "" if math.isnan(r["max_abs_diff"]) else f" ({r['max_abs_diff']:.2g})"
            cells.append(f"{r['nan']}/{r['replicates']}{d}")
        lines.append(f"| {name}, {k} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_docs(generated: str, path: Path = DOCS) -> None:
    text = path.read_text(encoding="utf-8")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{BEGIN}\n{generated}\n{END}{tail}", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=200, help="replicates R per grid point")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--ks", default=",".join(map(str, KS)), help="alphabet sizes K")
    parser.add_argument("--ns", default=",".join(map(str, NS)), help="sample sizes N")
    parser.add_argument("--no-timing", action="store_true", help="skip the run-time part")
    parser.add_argument("--timing-reps", type=int, default=10, help="replicates timed one by one")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved timing rounds")
    parser.add_argument(
        "--im-nsb-reps", type=int, default=20, help="replicates per point for infomeasure's NSB"
    )
    parser.add_argument("--write-docs", action="store_true", help=f"update {DOCS.name}")
    parser.add_argument("--json", type=Path, default=RESULTS, help="where to write the JSON")
    args = parser.parse_args(argv)
    ks = [int(x) for x in args.ks.split(",")]
    ns = [int(x) for x in args.ns.split(",")]

    t0 = time.perf_counter()
    points = run_grid(ks=ks, ns=ns, reps=args.reps, seed=args.seed)
    grid_s = time.perf_counter() - t0
    parts = [summary_table(points), markdown_tables(points)]
    result: dict[str, Any] = {
        "command": "python benchmarks/estimators_bias.py "
        + " ".join(sys.argv[1:] if argv is None else argv),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "grid_seconds": grid_s,
        "points": points,
    }
    print("\n\n".join(parts), flush=True)
    if not args.no_timing:
        import infomeasure

        rows = timing(
            reps=args.reps, seed=args.seed, timing_reps=args.timing_reps, repeats=args.repeats
        )
        survey = infomeasure_nsb_survey(
            ks=ks, ns=ns, reps=args.reps, seed=args.seed, im_reps=args.im_nsb_reps
        )
        result |= {"infomeasure": infomeasure.__version__, "timing": rows, "im_nsb": survey}
        parts += [timing_table(rows, args.reps, args.timing_reps), survey_table(survey)]
        print("\n\n" + "\n\n".join(parts[2:]), flush=True)
    bad = nonfinite(points)
    result["nonfinite"] = bad
    print(f"\ngrid: {len(points)} points x {len(ESTIMATORS)} estimators in {grid_s:.1f} s")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1), encoding="utf-8")
    if args.write_docs:
        write_docs("\n\n".join(parts))
    for line in bad:
        print("NON-FINITE:", line, file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
