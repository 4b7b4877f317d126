"""The report page: ``assets/report.html`` filled in from the results dict alone.

Every number on the page sits in a ``<span class="num" data-key="a.b.c">`` whose key is its
path in ``results.json`` (with ``data-scale="100"`` where a fraction is shown in percent, and
``data-abs="1"`` where a difference is shown as a magnitude beside "above" or "below"), so a
test can check that the page shows exactly what the JSON holds.  The template names a number
as ``${a.b.c}`` or ``${a.b.c|kind}`` (a kind of :func:`._format.fmt`) and a piece built here
as ``${name}``.
"""

from __future__ import annotations

import html
import re
import string
from collections.abc import Iterator, Mapping
from importlib import resources
from typing import Any

from ._format import fmt, lead, plural

__all__ = ["render_html"]

#: How a verdict row's ``{name:form}`` is shown: (kind of ``fmt``, unit words, magnitude only).
_FORMS: dict[str, tuple[str, tuple[str, str] | None, bool]] = {
    "g": ("g", None, False),
    "grad": ("grad", None, False),
    "pct": ("pct", None, False),
    "epochs": ("ep", ("epoch", "epochs"), False),
    "lead": ("pp", ("point", "points"), True),
}


def _asset(name: str) -> str:
    return (
        resources.files(__package__).joinpath("assets").joinpath(name).read_text(encoding="utf-8")
    )


class _Template(string.Template):
    braceidpattern = r"[A-Za-z_][A-Za-z0-9_.|]*"


class _Page:
    """Renders numbers from the results with the key they came from."""

    def __init__(self, results: Mapping[str, Any]) -> None:
        self.results = results

    def get(self, key: str) -> Any:
        node: Any = self.results
        for part in key.split("."):
            node = node[int(part)] if isinstance(node, list) else node[part]
        return node

    def num(self, key: str, kind: str = "g", none: str = "never", form: str | None = None) -> str:
        """The value at ``key`` in a keyed span; ``form`` (a verdict form) overrides ``kind``."""
        value = self.get(key)
        if isinstance(value, str) and value not in ("inf", "-inf"):
            return html.escape(value)
        kind, unit, magnitude = _FORMS[form] if form is not None else (kind, None, False)
        attrs = ' data-scale="100"' if kind in ("pct", "pp") else ""
        text, after = fmt(value, kind, none=none), ""
        if magnitude and value is not None:
            text, direction = lead(value, kind)
            attrs += ' data-abs="1"'
            after = f" {direction}"
        if unit is not None and value is not None:
            after = f" {plural(abs(value), *unit)}{after}"
        key_attr = html.escape(key)
        return f'<span class="num" data-key="{key_attr}"{attrs}>{text}</span>{after}'

    def template(self, text: str, base: str) -> str:
        """``text`` with each ``{name}`` or ``{name:form}`` filled from ``base.name``."""

        def repl(m: re.Match[str]) -> str:
            return self.num(f"{base}.{m.group(1)}", form=m.group(2) or "g")

        return re.sub(r"\{(\w+)(?::(\w+))?\}", repl, html.escape(text, quote=False))


class _Fill(Mapping[str, str]):
    """What the template's placeholders stand for: built pieces, else numbers by key."""

    def __init__(self, page: _Page, pieces: Mapping[str, str]) -> None:
        self.page, self.pieces = page, pieces

    def __getitem__(self, name: str) -> str:
        if name in self.pieces:
            return self.pieces[name]
        key, _, kind = name.partition("|")
        return self.page.num(key, kind or "g")

    def __iter__(self) -> Iterator[str]:
        return iter(self.pieces)

    def __len__(self) -> int:
        return len(self.pieces)


def _img(b64: str, alt: str, caption: str) -> str:
    return (
        f'<figure><img src="data:image/png;base64,{b64}" alt="{html.escape(alt)}">'
        f"<figcaption>{caption}</figcaption></figure>"
    )


def _dataset_intro(pg: _Page, name: str, per_model: Mapping[str, Any]) -> str:
    first = next(iter(per_model.values()))
    ds, seeds = first["dataset"], first["seeds"]
    key0 = f"training.{name}.{next(iter(per_model))}"
    last = f"{key0}.seeds.{len(seeds) - 1}"
    which = (
        pg.num(key0 + ".seeds.0")
        if len(seeds) == 1
        else f"{pg.num(key0 + '.seeds.0')} to {pg.num(last)}"
    )
    return (
        f'<h3 id="train-{name}">{html.escape(name)}</h3>'
        f"<p>{ds['n_samples']} samples, {ds['n_features']} features, "
        f"{ds['n_classes']} classes; {ds['n_train']} for training and "
        f"{ds['n_test']} for testing in each seed's split. "
        f"{pg.num(key0 + '.epochs')} full-batch {plural(first['epochs'], 'epoch')}; "
        f"{len(seeds)} {plural(len(seeds), 'seed')} ({which}), each with its own split and "
        "initialisation. Accuracies are in %.</p>"
    )


def _results_table(pg: _Page, name: str, per_model: Mapping[str, Any]) -> str:
    out = [
        '<div class="scroll"><table><tr><th>model</th><th>loss</th><th>learning rate</th>'
        "<th>final test accuracy %</th><th>± sd</th><th>best mean accuracy %</th>"
        "<th>epochs to 95 % of best</th><th>mean ‖∂ℓ/∂z‖, last epoch</th></tr>"
    ]
    for model, res in per_model.items():
        for loss in res["losses"]:
            k = f"training.{name}.{model}.losses.{loss}"
            cells = [
                pg.num(k + ".lr"),
                pg.num(k + ".final_test_acc_mean", "pct"),
                pg.num(k + ".final_test_acc_std", "pct"),
                pg.num(k + ".best_test_acc_mean", "pct"),
                pg.num(k + ".epochs_to_95", "ep"),
                pg.num(k + f".grad_norm_mean.{res['epochs']}", "grad", none="—"),
            ]
            out.append(
                f"<tr><td>{html.escape(res['model_desc'])}</td><td>{loss}</td>"
                + "".join(f'<td class="n">{c}</td>' for c in cells)
                + "</tr>"
            )
    out.append("</table></div>")
    return "\n".join(out)


def _rate_cell(pg: _Page, key: str, row: Mapping[str, Any], chosen: float) -> str:
    cell = pg.num(key + ".val_acc_mean", "pct")
    if row["diverged"]:
        n = row["diverged"]
        cell = f"diverged ({pg.num(key + '.diverged')} {plural(n, 'seed')})"
    mark = " ✓" if row["lr"] == chosen else ""
    return f'<td class="n">{cell}{mark}</td>'


def _rate_table(pg: _Page, name: str, per_model: Mapping[str, Any]) -> str:
    rates = sorted(
        {
            row["lr"]
            for res in per_model.values()
            for v in res["losses"].values()
            for row in v["selection"]
        }
    )
    out = [
        "<details><summary>learning-rate choice (validation accuracy %, mean over seeds; "
        "✓ chosen, — not tried)</summary>",
        '<div class="scroll"><table><tr><th>model</th><th>loss</th>'
        + "".join(f"<th>lr {fmt(lr)}</th>" for lr in rates)
        + "</tr>",
    ]
    for model, res in per_model.items():
        for loss, v in res["losses"].items():
            by_rate = {row["lr"]: (i, row) for i, row in enumerate(v["selection"])}
            base = f"training.{name}.{model}.losses.{loss}.selection"
            cells = [
                _rate_cell(pg, f"{base}.{by_rate[lr][0]}", by_rate[lr][1], v["lr"])
                if lr in by_rate
                else '<td class="n">—</td>'
                for lr in rates
            ]
            out.append(f"<tr><td>{model}</td><td>{loss}</td>{''.join(cells)}</tr>")
    out.append("</table></div></details>")
    return "\n".join(out)


def _training_section(pg: _Page, figs: Mapping[str, str]) -> str:
    out: list[str] = []
    for name, per_model in pg.results["training"].items():
        out += [
            _dataset_intro(pg, name, per_model),
            _results_table(pg, name, per_model),
            _rate_table(pg, name, per_model),
            _img(
                figs[f"training_{name}"],
                f"training curves on {name}",
                "Top: test accuracy per epoch, mean over seeds with a ±1 sd band; the dotted "
                "line is 95 % of the best mean accuracy of any loss. Bottom: mean per-sample "
                "‖∂ℓ/∂z‖ on the training set (log scale).",
            ),
        ]
    return "\n".join(out)


def _saturation_cell(pg: _Page, key: str) -> str:
    rec = pg.get(key + ".epochs_to_recover_mean")
    unit = "" if rec is None else " " + plural(rec, "epoch")
    return (
        f'<td class="n">{pg.num(key + ".epochs_to_recover_mean", "ep")}{unit}<br>'
        f"lr {pg.num(key + '.lr')}, ‖∂ℓ/∂z‖₀ {pg.num(key + '.initial_grad_norm', 'grad')}<br>"
        f"final {pg.num(key + '.final_test_acc_mean', 'pct')} %</td>"
    )


def _saturation_section(pg: _Page) -> str:
    out: list[str] = []
    for kind in ("binary", "multiclass"):
        sat = pg.results["saturation"][kind]
        n = len(sat["seeds"])
        out.append(
            f"<h3>{html.escape(sat['dataset'])}: {html.escape(sat['setting'])}</h3>"
            f"<p>{n} {plural(n, 'seed')} ({', '.join(str(x) for x in sat['seeds'])}), "
            f"{sat['epochs']} full-batch {plural(sat['epochs'], 'epoch')}. Cell: mean "
            "epochs to 90 % test accuracy (never = some seed not within the budget), the "
            "learning rate that recovered fastest, the mean ‖∂ℓ/∂z‖ at the start, and the "
            "final test accuracy.</p>"
        )
        out.append('<div class="scroll"><table><tr><th>loss</th>')
        out += [f"<th>margin {fmt(m)}</th>" for m in sat["margins"]]
        out.append("</tr>")
        for loss in sat["losses"]:
            keys = [f"saturation.{kind}.runs.{loss}.{m:g}" for m in sat["margins"]]
            cells = "".join(_saturation_cell(pg, k) for k in keys)
            out.append(f"<tr><td>{loss}</td>{cells}</tr>")
        out.append("</table></div>")
    return "\n".join(out)


def _verdict_rows(pg: _Page) -> str:
    return "\n".join(
        f"<tr><td>{html.escape(row['claim'])}</td>"
        f"<td>{pg.template(row['evidence'], 'verdict.numbers')}</td>"
        f'<td class="{row["status"]}">{row["status"]}</td>'
        f"<td>{html.escape(row['literature'])}</td></tr>"
        for row in pg.results["verdict"]["rows"]
    )


def _figures(figs: Mapping[str, str]) -> dict[str, str]:
    return {
        "fig_examples": _img(
            figs["examples"],
            "sun-rise, binary entropy and KL asymmetry",
            "Left: the sun-rise distribution and the information of each outcome. Middle: "
            "binary entropy in bits. Right: the KL asymmetry example.",
        ),
        "fig_gibbs": _img(
            figs["gibbs"],
            "histogram of H(P,Q) − H(P)",
            "Distribution of H(P, Q) − H(P) over the random pairs; none falls below 0.",
        ),
        "fig_gradients": _img(
            figs["gradients"],
            "loss and gradient versus logit",
            "Loss (left, nats) and gradient with respect to the logit (right) for y = 1 (top) "
            "and y = 0 (bottom). Shaded: confidently wrong logits where the squared-error "
            "gradient is below 1 % of the cross-entropy gradient.",
        ),
        "fig_saturation": _img(
            figs["saturation"],
            "recovery from a confidently wrong start",
            "Left: test accuracy from a start wrong by the shown margin (mean ± sd over "
            "seeds). Right: epochs to 90 % test accuracy against the starting margin.",
        ),
    }


def render_html(results: Mapping[str, Any]) -> str:
    """The report page for ``results`` (figures drawn from the same dict)."""
    from ._figures import figure_set
    from ._verdict import GOLIK_SHORT, HUI_BELKIN_SHORT

    figs = figure_set(results)
    pg = _Page(results)
    meta = results["meta"]
    quick = (
        "<strong>Quick configuration:</strong> a smoke test with few seeds and epochs; its "
        "numbers are not the findings. "
    )
    pieces = {
        "css": _asset("report.css"),
        "quick_note": quick if meta["quick"] else "",
        "lr_grid": ", ".join(fmt(lr) for lr in meta["lr_grid"]),
        "training": _training_section(pg, figs),
        "saturation": _saturation_section(pg),
        "verdict_rows": _verdict_rows(pg),
        "golik": html.escape(GOLIK_SHORT),
        "hui_belkin": html.escape(HUI_BELKIN_SHORT),
        "version": html.escape(str(meta["infoloss_version"])),
        **_figures(figs),
    }
    return _Template(_asset("report.html")).substitute(_Fill(pg, pieces))
