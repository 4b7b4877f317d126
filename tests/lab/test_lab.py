"""The loss lab: training, backpropagation, the report and user data files."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("matplotlib")
pytest.importorskip("sklearn")
pytest.importorskip("tqdm")

from infoloss import lab
from infoloss.lab._data import load_dataset, split
from infoloss.lab._experiment import LR_LADDER, _choose_rate
from infoloss.lab._models import fit, init_params, mean_loss, param_grads

# --------------------------------------------------------------------------------------
# Trainer
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def iris_split():  # type: ignore[no-untyped-def]
    return split(load_dataset("iris"), seed=0)


@pytest.mark.parametrize("model", ["linear", "mlp"])
@pytest.mark.parametrize("loss", ["ce", "mse", "mse-logits"])
def test_training_decreases_the_loss(iris_split, model, loss):
    params = init_params(model, 4, 3, np.random.default_rng(0))
    hist = fit(loss, params, iris_split.X_train, iris_split.y_train, lr=0.3, epochs=30)
    assert hist.diverged_at is None
    assert len(hist.train_loss) == 31
    assert hist.train_loss[-1] < 0.8 * hist.train_loss[0]
    # The recorded loss is infoloss's mean loss at the same weights.
    assert hist.train_loss[-1] == pytest.approx(
        mean_loss(loss, params, iris_split.X_train, iris_split.y_train), rel=1e-12
    )


@pytest.mark.parametrize("loss", ["bce", "bse"])
def test_training_decreases_the_binary_losses(loss):
    part = split(load_dataset("breast_cancer"), seed=1)
    params = init_params("linear", part.X_train.shape[1], 1, np.random.default_rng(0))
    hist = fit(loss, params, part.X_train, part.y_train, lr=1.0, epochs=20)
    assert hist.train_loss[-1] < 0.8 * hist.train_loss[0]
    assert hist.train_acc[-1] > 0.9


def test_mini_batch_training(iris_split):
    params = init_params("mlp", 4, 3, np.random.default_rng(0))
    hist = fit(
        "ce",
        params,
        iris_split.X_train,
        iris_split.y_train,
        lr=0.1,
        epochs=10,
        batch_size=16,
        rng=np.random.default_rng(0),
    )
    assert hist.train_loss[-1] < 0.7 * hist.train_loss[0]


def test_divergence_is_recorded_not_raised(iris_split):
    params = init_params("linear", 4, 3, np.random.default_rng(0))
    hist = fit("mse-logits", params, iris_split.X_train, iris_split.y_train, lr=50.0, epochs=40)
    assert hist.diverged_at is not None
    assert len(hist.train_acc) == 41
    assert hist.train_acc[-1] == 0.0
    assert np.isnan(hist.train_loss[-1])


@pytest.mark.parametrize("model", ["linear", "mlp"])
@pytest.mark.parametrize("loss", ["ce", "mse", "mse-logits", "bce", "bse"])
def test_backprop_matches_central_differences(model, loss):
    rng = np.random.default_rng(42)
    n, d = 7, 3
    n_out = 1 if loss in ("bce", "bse") else 4
    X = rng.standard_normal((n, d))
    y = rng.integers(0, 2 if n_out == 1 else n_out, size=n)
    params = init_params(model, d, n_out, rng, hidden=5)
    # Larger weights than the default, so the tanh units and the softmax are not linear.
    params = {k: 1.5 * v + 0.1 * rng.standard_normal(v.shape) for k, v in params.items()}
    grads = param_grads(loss, params, X, y)
    h = 1e-6
    for key, value in params.items():
        numeric = np.zeros_like(value)
        for idx in np.ndindex(value.shape):
            orig = value[idx]
            value[idx] = orig + h
            up = mean_loss(loss, params, X, y)
            value[idx] = orig - h
            down = mean_loss(loss, params, X, y)
            value[idx] = orig
            numeric[idx] = (up - down) / (2 * h)
        np.testing.assert_allclose(grads[key], numeric, rtol=1e-6, atol=1e-9, err_msg=key)


# --------------------------------------------------------------------------------------
# train() and user data
# --------------------------------------------------------------------------------------


def _blobs(n: int = 60) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    y = np.arange(n) % 3
    X = rng.standard_normal((n, 2)) + 3.0 * np.stack([y == 1, y == 2], axis=1)
    return X, y


def test_train_on_csv_with_named_label_column(tmp_path):
    X, y = _blobs()
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    lines = ["a,class,b"] + [f"{a},{c},{b}" for (a, b), c in zip(X, names, strict=True)]
    path = tmp_path / "blobs.csv"
    path.write_text("\n".join(lines) + "\n")
    data = load_dataset(path)
    assert data.class_names == ("setosa", "versicolor", "virginica")
    np.testing.assert_array_equal(data.y, y)
    np.testing.assert_allclose(data.X, X)
    res = lab.train(str(path), losses=("ce", "mse"), seeds=2, epochs=15)
    assert set(res["losses"]) == {"ce", "mse"}
    assert res["dataset"]["n_classes"] == 3
    assert res["losses"]["ce"]["final_test_acc_mean"] > 0.8
    assert len(res["losses"]["ce"]["test_acc_mean"]) == 16
    table = lab.train_table(res)
    assert "blobs" in table
    assert "ce" in table
    assert "mse" in table


def test_train_on_csv_label_defaults_to_last_column(tmp_path):
    X, y = _blobs()
    lines = ["f1,f2,kind"] + [f"{a},{b},{c}" for (a, b), c in zip(X, y, strict=True)]
    path = tmp_path / "last.csv"
    path.write_text("\n".join(lines) + "\n")
    data = load_dataset(path)
    np.testing.assert_array_equal(data.y, y)
    assert data.X.shape == (60, 2)


def test_train_on_npz(tmp_path):
    X, y = _blobs()
    path = tmp_path / "blobs.npz"
    np.savez(path, X=X, y=y)
    res = lab.train(path, model="mlp", losses=("mse-logits",), seeds=1, epochs=10)
    assert res["dataset"]["name"] == "blobs"
    assert res["model"] == "mlp"
    v = res["losses"]["mse-logits"]
    assert v["lr"] in v["lr_grid"]
    assert set(lab.LR_GRID) <= set(v["lr_grid"])


def test_train_errors(tmp_path):
    X, y = _blobs()
    with pytest.raises(ValueError, match=r"does not exist"):
        lab.train(str(tmp_path / "missing.csv"))
    with pytest.raises(ValueError, match=r"unknown dataset 'mnist'"):
        lab.train("mnist")
    with pytest.raises(ValueError, match=r"unknown model 'cnn'"):
        lab.train("iris", model="cnn")
    with pytest.raises(ValueError, match=r"unknown loss 'hinge'"):
        lab.train("iris", losses=("ce", "hinge"))
    with pytest.raises(ValueError, match=r"`seeds` must be at least 1"):
        lab.train("iris", seeds=0)

    bad = tmp_path / "text.csv"
    bad.write_text("height,colour,label\n1.0,red,0\n2.0,blue,1\n")
    with pytest.raises(ValueError, match=r"text\.csv, line 2: feature column 'colour' holds 'red'"):
        lab.train(str(bad))

    one = tmp_path / "one.csv"
    one.write_text("label\n0\n1\n")
    with pytest.raises(ValueError, match=r"one\.csv: a CSV needs at least one feature column"):
        lab.train(str(one))

    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,b,y\n1,2,0\n1,2\n")
    with pytest.raises(ValueError, match=r"ragged\.csv, line 3: 2 fields"):
        lab.train(str(ragged))

    no_y = tmp_path / "no_y.npz"
    np.savez(no_y, X=X, labels=y)
    with pytest.raises(ValueError, match=r"no_y\.npz: .* missing \['y'\]"):
        lab.train(no_y)

    text_x = tmp_path / "text_x.npz"
    np.savez(text_x, X=np.array([["a", "b"], ["c", "d"]]), y=np.array([0, 1]))
    with pytest.raises(ValueError, match=r"text_x\.npz: 'X' must be numeric"):
        lab.train(text_x)

    single = tmp_path / "single.npz"
    np.savez(single, X=X, y=np.zeros(len(X), dtype=int))
    with pytest.raises(ValueError, match=r"at least 2 are needed"):
        lab.train(single)

    with pytest.raises(ValueError, match=r"\.csv or \.npz"):
        lab.train(str(tmp_path / "data.parquet"))


# --------------------------------------------------------------------------------------
# The demo and its report
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):  # type: ignore[no-untyped-def]
    out = tmp_path_factory.mktemp("report")
    results = lab.run_demo(out, seed=3, quick=True, progress=False)
    return out, results


class _Numbers(HTMLParser):
    """Collects every ``<span data-key>`` with its text, and every URL-bearing attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.numbers: list[tuple[str, int, bool, str]] = []
        self._abs = False
        self.urls: list[str] = []
        self.tags: set[str] = set()
        self._open: tuple[str, int] | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        a = dict(attrs)
        for name in ("src", "href"):
            if a.get(name):
                self.urls.append(str(a[name]))
        if tag == "span" and "data-key" in a:
            self._open = (str(a["data-key"]), int(a.get("data-scale") or 1))
            self._abs = a.get("data-abs") == "1"
            self._text = ""

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "span" and self._open is not None:
            self.numbers.append((*self._open, self._abs, self._text))
            self._open = None


def _lookup(results: Any, key: str) -> Any:
    for part in key.split("."):
        results = results[int(part)] if isinstance(results, list) else results[part]
    return results


def test_demo_writes_report_and_json(quick_report):
    out, results = quick_report
    on_disk = json.loads((out / "results.json").read_text())
    assert on_disk == json.loads(json.dumps(results))
    for key in ("examples", "gibbs", "gradients", "training", "saturation", "verdict", "timing"):
        assert key in on_disk
    assert on_disk["examples"]["sunrise"]["I_west_bits"] == "inf"
    assert on_disk["examples"]["sunrise"]["H_bits"] == 0.0
    assert on_disk["examples"]["binary_entropy"]["argmax_p"] == 0.5
    assert on_disk["gibbs"]["n_negative"] == 0
    text = lab.summary_table(results)
    assert "iris" in text
    assert "Saturation" in text


def _decimal(text: str) -> Decimal:
    """A number as the report writes it (true minus, a × 10ⁿ) as a Decimal."""
    plain = text.replace("−", "-").translate(str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789"))
    mantissa, _, exponent = plain.partition(" × 10")
    return Decimal(mantissa + (f"E{exponent}" if exponent else ""))


def test_report_shows_the_numbers_of_results_json(quick_report):
    out, _ = quick_report
    results = json.loads((out / "results.json").read_text())
    page = (out / "index.html").read_text()
    parser = _Numbers()
    parser.feed(page)
    assert len(parser.numbers) > 100
    for key, scale, magnitude, text in parser.numbers:
        value = _lookup(results, key)
        if value is None:
            assert text in ("never", "—"), key
        elif value == "inf":
            assert text == "+∞", key
        else:
            shown = _decimal(text)
            # Half a unit in the last digit shown.
            tol = Decimal(5) * Decimal(10) ** (shown.as_tuple().exponent - 1)
            expected = Decimal(repr(float(value))) * scale
            if magnitude:
                expected = abs(expected)
            assert abs(expected - shown) <= tol, (key, value, text)
    # Self-contained: nothing but inline data and in-page anchors, no scripts.
    assert "script" not in parser.tags
    for url in parser.urls:
        assert url.startswith(("data:", "#")), url
    assert page.count("data:image/png;base64,") >= 6
    for section in range(1, 7):
        assert f'id="s{section}"' in page


def test_demo_is_deterministic(quick_report, tmp_path):
    out, first = quick_report
    second = lab.run_demo(tmp_path, seed=3, quick=True, progress=False)
    a = json.loads((out / "results.json").read_text())
    b = json.loads((tmp_path / "results.json").read_text())
    a.pop("timing")
    b.pop("timing")
    assert a == b
    assert first["training"] == second["training"]
    other = lab.run_demo(tmp_path / "other", seed=4, quick=True, progress=False)
    assert other["training"] != second["training"]


def test_importing_the_lab_stays_light():
    code = (
        "import sys, infoloss, infoloss.lab; "
        "heavy = [m for m in ('matplotlib', 'sklearn', 'tqdm', 'scipy') if m in sys.modules]; "
        "print(heavy)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_run_demo_creates_the_folder_and_reports_progress_on_stderr(tmp_path, capsys):
    target = Path(tmp_path) / "a" / "b"
    lab.run_demo(target, quick=True, progress=True)
    assert (target / "index.html").is_file()
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "infoloss demo" in captured.err


# --------------------------------------------------------------------------------------
# A fair learning-rate grid
# --------------------------------------------------------------------------------------


def _interior(v: dict[str, Any]) -> bool:
    tried = [row["lr"] for row in v["selection"]]
    return min(tried) < v["lr"] < max(tried)


def test_every_chosen_learning_rate_is_interior(quick_report):
    """A rate at the grid's edge could be beaten by one past it: the grid must be widened."""
    _, results = quick_report
    for name, per_model in results["training"].items():
        for model, res in per_model.items():
            for loss, v in res["losses"].items():
                assert _interior(v), (name, model, loss, v["lr"], v["lr_grid"])
                assert v["lr_at_edge"] is False
                assert v["lr_grid"] == sorted(v["lr_grid"])
                assert set(lab.LR_GRID) <= set(v["lr_grid"])


def _fake_trial(peak: float, diverge_above: float = float("inf")):  # type: ignore[no-untyped-def]
    """Validation accuracy that peaks at ``peak`` on a log scale; divergence above a rate."""
    tried: list[float] = []

    def trial(lr: float) -> dict[str, Any]:
        tried.append(lr)
        diverged = int(lr > diverge_above)
        return {
            "lr": lr,
            "val_acc_mean": 0.0 if diverged else 1 - abs(np.log10(lr / peak)) / 10,
            "fit_loss_mean": None if diverged else 1.0,
            "diverged": diverged,
        }

    return trial, tried


@pytest.mark.parametrize("peak", [30.0, 0.01, 1.0])
def test_the_grid_widens_until_the_best_rate_is_interior(peak):
    trial, tried = _fake_trial(peak)
    rows, best, at_edge = _choose_rate(trial, lab.LR_GRID)
    assert best["lr"] == peak
    assert not at_edge
    assert min(tried) < peak < max(tried)
    assert [row["lr"] for row in rows] == sorted(tried)
    # Widened one ladder step at a time, only on the best rate's side, one step past it.
    assert len(tried) == len(lab.LR_GRID) + (0 if peak == 1.0 else 3)


def test_a_diverging_rate_above_counts_as_tried():
    trial, tried = _fake_trial(1e6, diverge_above=5.0)
    rows, best, at_edge = _choose_rate(trial, lab.LR_GRID)
    assert best["lr"] == 3.0
    assert tried[-1] == 10.0
    assert not at_edge
    assert rows[-1]["diverged"] == 1


def test_the_ladder_end_is_recorded():
    trial, tried = _fake_trial(1e9)
    _, best, at_edge = _choose_rate(trial, lab.LR_GRID)
    assert best["lr"] == LR_LADDER[-1] == max(tried)
    assert at_edge


def test_bridge_from_the_measures_to_the_loss(quick_report):
    _, results = quick_report
    b = results["bridge"]
    assert b["loss_nats"] == b["minus_log_q_y_nats"] == b["H_onehot_q_nats"]
    assert b["q_y"] == b["q"][b["label"]]
    assert b["H_onehot_q_bits"] == pytest.approx(b["H_onehot_q_nats"] / np.log(2), rel=1e-5)
    assert b["binary_loss_nats"] == pytest.approx(-np.log(b["binary_sigma"]), rel=1e-5)
    assert b["margin"] == pytest.approx(b["logits"][0] - max(b["logits"][1:]))


def test_report_states_seeds_epochs_and_units(quick_report):
    out, results = quick_report
    page = (out / "index.html").read_text()
    for section in range(1, 6):
        body = page.split(f'id="s{section}"')[1].split("<section")[0]
        assert "seed" in body.lower() or "no seed" in body, section
        assert "Units" in body, section
    for name in results["training"]:
        body = page.split(f'id="train-{name}"')[1].split("<h3")[0]
        assert "full-batch epochs" in body
        assert "seeds" in body
    # Every table sits in a box that scrolls sideways in a narrow window.
    assert page.count("<table") == page.count('<div class="scroll"><table')
