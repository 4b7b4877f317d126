"""Datasets for the lab: the built-in ones, user files, and the seeded split.

Built-in sets come from scikit-learn's bundled copies (no download) plus one synthetic set
made here with a fixed generator.  User data is a ``.csv`` or ``.npz`` file; the rules for
finding the label column are in :func:`load_dataset`.  Features are standardised with the
training part's mean and standard deviation only, so nothing about the test part leaks in.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

__all__ = ["BUILTIN_DATASETS", "LABEL_COLUMNS", "Dataset", "Split", "load_dataset", "split"]

BUILTIN_DATASETS = ("digits", "breast_cancer", "wine", "iris", "synthetic")
LABEL_COLUMNS = ("label", "target", "y", "class")

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class Dataset:
    """Features ``X`` (n × d, float64) and labels ``y`` (n, integers 0..C−1)."""

    name: str
    X: FloatArray
    y: IntArray
    class_names: tuple[str, ...]

    @property
    def n_classes(self) -> int:
        return len(self.class_names)


@dataclass(frozen=True)
class Split:
    """A standardised, stratified train/test split of one dataset."""

    name: str
    X_train: FloatArray
    y_train: IntArray
    X_test: FloatArray
    y_test: IntArray
    n_classes: int


def _synthetic() -> Dataset:
    # Two interleaved half-moons: a linear model cannot separate them, a small MLP can,
    # so the set tells the two models apart.  Fixed generator: the same data every run.
    from sklearn.datasets import make_moons

    X, y = make_moons(n_samples=600, noise=0.25, random_state=0)
    return Dataset("synthetic", X.astype(np.float64), y.astype(np.int64), ("0", "1"))


def _builtin(name: str) -> Dataset:
    if name == "synthetic":
        return _synthetic()
    from sklearn import datasets

    loader = {
        "digits": datasets.load_digits,
        "breast_cancer": datasets.load_breast_cancer,
        "wine": datasets.load_wine,
        "iris": datasets.load_iris,
    }[name]
    bunch = loader()
    X = np.asarray(bunch.data, dtype=np.float64)
    y = np.asarray(bunch.target, dtype=np.int64)
    names = tuple(str(t) for t in bunch.target_names)
    return Dataset(name, X, y, names)


def _encode_labels(raw: NDArray[np.generic]) -> tuple[IntArray, tuple[str, ...]]:
    classes, codes = np.unique(raw, return_inverse=True)
    return codes.astype(np.int64).reshape(-1), tuple(str(c) for c in classes)


def _load_csv(path: Path) -> Dataset:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = [row for row in csv.reader(fh) if any(cell.strip() for cell in row)]
    if len(rows) < 2:
        raise ValueError(f"{path}: a CSV needs a header row and at least one data row")
    header = [h.strip() for h in rows[0]]
    if len(header) < 2:
        raise ValueError(f"{path}: a CSV needs at least one feature column and a label column")
    lowered = [h.lower() for h in header]
    label_idx = next(
        (lowered.index(name) for name in LABEL_COLUMNS if name in lowered), len(header) - 1
    )
    features: list[list[float]] = []
    labels: list[str] = []
    for line_no, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise ValueError(
                f"{path}, line {line_no}: {len(row)} fields, but the header has {len(header)}"
            )
        values: list[float] = []
        for j, cell in enumerate(row):
            if j == label_idx:
                labels.append(cell.strip())
                continue
            try:
                value = float(cell)
            except ValueError:
                raise ValueError(
                    f"{path}, line {line_no}: feature column {header[j]!r} holds "
                    f"{cell!r}, which is not a number"
                ) from None
            if not np.isfinite(value):
                raise ValueError(
                    f"{path}, line {line_no}: feature column {header[j]!r} holds {cell!r}; "
                    "features must be finite"
                )
            values.append(value)
        features.append(values)
    raw = np.asarray(labels)
    try:
        numeric = np.asarray([float(v) for v in labels])
    except ValueError:
        numeric = None
    if numeric is not None and np.all(numeric == np.round(numeric)):
        raw = numeric.astype(np.int64)
    y, names = _encode_labels(raw)
    return Dataset(path.stem, np.asarray(features, dtype=np.float64), y, names)


def _load_npz(path: Path) -> Dataset:
    with np.load(path, allow_pickle=False) as data:
        missing = [k for k in ("X", "y") if k not in data.files]
        if missing:
            raise ValueError(
                f"{path}: an .npz dataset needs arrays 'X' and 'y'; missing {missing} "
                f"(found {sorted(data.files)})"
            )
        X_raw = data["X"]
        y_raw = data["y"]
    if X_raw.ndim != 2:
        raise ValueError(f"{path}: 'X' must be 2-D (samples × features); got shape {X_raw.shape}")
    if not (np.issubdtype(X_raw.dtype, np.number) or X_raw.dtype == np.bool_):
        raise ValueError(f"{path}: 'X' must be numeric; got dtype {X_raw.dtype}")
    if np.iscomplexobj(X_raw):
        raise ValueError(f"{path}: 'X' must be real; got dtype {X_raw.dtype}")
    X = X_raw.astype(np.float64)
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{path}: 'X' holds NaN or infinite values")
    if y_raw.ndim != 1 or y_raw.shape[0] != X.shape[0]:
        raise ValueError(
            f"{path}: 'y' must be 1-D with one label per row of 'X' ({X.shape[0]}); "
            f"got shape {y_raw.shape}"
        )
    if np.issubdtype(y_raw.dtype, np.floating) and not np.all(y_raw == np.round(y_raw)):
        raise ValueError(f"{path}: 'y' must hold class labels; got non-integer floats")
    y, names = _encode_labels(y_raw)
    return Dataset(path.stem, X, y, names)


def load_dataset(dataset: str | Path) -> Dataset:
    """A built-in dataset by name, or a dataset read from a ``.csv`` or ``.npz`` file.

    Built-in names: ``digits``, ``breast_cancer``, ``wine``, ``iris`` (scikit-learn's bundled
    copies) and ``synthetic`` (600 points of two noisy half-moons, fixed generator).

    A ``.csv`` file has a header row.  The label column is the first column whose name is
    ``label``, ``target``, ``y`` or ``class`` (case-insensitive); if none is, the last column.
    Every other column is a feature and must hold finite numbers.  Labels may be numbers or
    strings; the sorted distinct values become classes 0..C−1.

    An ``.npz`` file holds ``X`` (samples × features, numeric) and ``y`` (one label per row).

    Raises
    ------
    ValueError
        For an unknown name, a missing file, an unknown suffix, a missing label array,
        non-numeric features, or fewer than two classes.
    """
    name = str(dataset)
    if name in BUILTIN_DATASETS:
        data = _builtin(name)
    else:
        path = Path(name)
        suffix = path.suffix.lower()
        if suffix not in (".csv", ".npz"):
            raise ValueError(
                f"unknown dataset {name!r}: give one of {BUILTIN_DATASETS} "
                "or a path to a .csv or .npz file"
            )
        if not path.is_file():
            raise ValueError(f"dataset file {name!r} does not exist")
        data = _load_csv(path) if suffix == ".csv" else _load_npz(path)
    if data.X.shape[0] == 0 or data.X.shape[1] == 0:
        raise ValueError(f"dataset {name!r} has no samples or no features")
    if data.n_classes < 2:
        raise ValueError(f"dataset {name!r} has {data.n_classes} class; at least 2 are needed")
    return data


def _stratified_indices(
    y: IntArray, test_fraction: float, rng: np.random.Generator, what: str
) -> tuple[IntArray, IntArray]:
    train: list[IntArray] = []
    test: list[IntArray] = []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        if idx.size < 2:
            raise ValueError(
                f"{what}: class {int(c)} has {idx.size} sample; a stratified split needs "
                "at least 2 per class"
            )
        idx = rng.permutation(idx)
        n_test = min(max(1, round(test_fraction * idx.size)), idx.size - 1)
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def _standardise(X_train: FloatArray, X_test: FloatArray) -> tuple[FloatArray, FloatArray]:
    mean = X_train.mean(axis=0)
    std = X_train.std(axis=0)
    # Constant features (digits has a few always-zero pixels) keep scale 1, not 0.
    std = np.where(std > 0, std, 1.0)
    return (X_train - mean) / std, (X_test - mean) / std


def split(
    data: Dataset | Split,
    *,
    seed: int,
    test_fraction: float = 0.25,
    validation: bool = False,
) -> Split:
    """A stratified split fixed by ``seed``, standardised on its training part.

    With ``validation=True`` ``data`` is a :class:`Split` and its *training* part is split
    again into fit and validation parts (the test part is not touched): that is where the
    learning rate is chosen.
    """
    rng = np.random.default_rng([seed, 1 if validation else 0])
    if isinstance(data, Split):
        X, y = data.X_train, data.y_train
        n_classes = data.n_classes
    else:
        X, y = data.X, data.y
        n_classes = data.n_classes
    tr, te = _stratified_indices(y, test_fraction, rng, data.name)
    X_tr, X_te = _standardise(X[tr], X[te])
    return Split(data.name, X_tr, y[tr], X_te, y[te], n_classes)
