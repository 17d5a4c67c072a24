"""Datasets, generated, bundled or read from a CSV file (never downloaded), loaded once per worker.

* ``circles`` and ``moons``: scikit-learn's generators; as in the tutorial, the
  first ``train_size`` samples (the generators shuffle them) train, the rest test.
* ``digits``: scikit-learn's bundled 8×8 digit images, scaled to [0, 1], split
  with stratification; shaped per family: flat 64 features (mlp), 8×8×1 images
  (cnn) or 8 steps of 8 features (rnn).
* ``csv``: a user's table: numeric features standardised on the training split
  only, a binary or multi-class target, stratified split.
* ``npz`` and ``python``: a user's arrays (:mod:`actreg_search.data.user_arrays` reads
  and checks them), used as given: features as ``float32``, not rescaled, each
  sample keeping its shape; ``x, y`` are split as digits are. For a built-in
  model the shape must fit its family: mlp 2-D ``x``, cnn 4-D, rnn 3-D.

Labels are encoded 0..k-1 in sorted order (``float32`` 0/1 for two classes, a
sigmoid head; ``int32`` otherwise, a softmax head).
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn import datasets as skdatasets
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder, StandardScaler

from actreg_search.spec.specs import ON_TEST, DataSpec, StudySpec, Validation
from actreg_search.data.splits import Fold, check_splits, seed_folds
from actreg_search.spec.vocab import DatasetName, Family
from actreg_search.errors import SpecError


@dataclass(frozen=True, eq=False)
class Dataset:
    """A train/test split ready for Keras, and the protocol that validates inside the training split.

    Attributes:
        x_train: Features, ``float32``, shape ``(n_train, ...)``.
        y_train: Labels: ``float32`` 0/1 for binary tasks, ``int32`` class ids otherwise.
        x_test: Test features.
        y_test: Test labels.
        n_classes: Number of classes (2 for binary).
        validation: How each seed splits ``x_train`` into samples to train
            and to validate on (:func:`~actreg_search.data.splits.seed_folds`).
        x_val: One model's validation features, in a view made by
            :meth:`fold` (``None`` in a whole dataset).
        y_val: Their labels.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    validation: Validation = ON_TEST
    x_val: np.ndarray | None = None
    y_val: np.ndarray | None = None

    def folds(self, seed: int) -> tuple[Fold, ...]:
        """A seed's folds of the training split (cached: the same every trial)."""
        cache = self.__dict__.setdefault("_folds", {})
        if seed not in cache:
            cache[seed] = seed_folds(self.y_train, self.validation, seed)
        return cache[seed]

    def fold(self, fold: Fold) -> Dataset:
        """The dataset one model of a fold sees: its training samples as ``x_train``, its validation samples as ``x_val``."""
        if self.validation.on_test:
            return self
        return Dataset(
            x_train=self.x_train[fold.fit],
            y_train=self.y_train[fold.fit],
            x_test=self.x_test,
            y_test=self.y_test,
            n_classes=self.n_classes,
            validation=ON_TEST,
            x_val=self.x_train[fold.val],
            y_val=self.y_train[fold.val],
        )

    def without_validation(self) -> Dataset:
        """The whole training split to train on, nothing held out (a final model)."""
        return dataclasses.replace(self, validation=ON_TEST, x_val=None, y_val=None)

    @property
    def binary(self) -> bool:
        """Whether this is a two-class task (sigmoid output)."""
        return self.n_classes == 2

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one sample."""
        return tuple(self.x_train.shape[1:])


_GENERATORS = {
    DatasetName.CIRCLES: skdatasets.make_circles,
    DatasetName.MOONS: skdatasets.make_moons,
}

#: How each family sees one 8×8 digit.
_DIGIT_SHAPES = {Family.MLP: (64,), Family.CNN: (8, 8, 1), Family.RNN: (8, 8)}
#: What ``x`` a built-in family needs: dimensions (samples first) and their meaning.
_FAMILY_X = {
    Family.MLP: (2, "(samples, features)"),
    Family.CNN: (4, "(samples, height, width, channels)"),
    Family.RNN: (3, "(samples, steps, features)"),
}


@functools.lru_cache(maxsize=8)
def load_dataset(spec: DataSpec, family: Family = Family.MLP, *, builtin: bool = True) -> Dataset:
    """Load the dataset a spec describes, shaped for a family, with its validation protocol; cached, so once per worker.

    Args:
        spec: The ``[data]`` table.
        family: The model family (decides the shape of digits).
        builtin: Whether the model is a built-in one, whose family must fit the
            shape of a user's (npz, python) arrays; a model of the user's own
            takes them as given (:func:`dataset_for` decides).

    Returns:
        The split.

    Raises:
        SpecError: A CSV or npz file, or a loader's result, that cannot be used
            (missing, wrong arrays or columns, values, shape for the family).
        UserCodeError: A ``python`` loader raised.
    """
    return dataclasses.replace(_load(spec, family, builtin), validation=spec.protocol)


def _load(spec: DataSpec, family: Family, builtin: bool) -> Dataset:
    if spec.name in _GENERATORS:
        x, y = _GENERATORS[spec.name](n_samples=spec.n_samples, noise=spec.noise, random_state=spec.random_state)
        n = int(spec.train_size)
        x, y = x.astype("float32"), y.astype("float32")
        return Dataset(x_train=x[:n], y_train=y[:n], x_test=x[n:], y_test=y[n:], n_classes=2)
    if spec.name is DatasetName.DIGITS:
        digits = skdatasets.load_digits()
        x = (digits.data / 16.0).astype("float32").reshape((-1, *_DIGIT_SHAPES[family]))
        return _split(x, digits.target, spec, "digits")
    if spec.name in (DatasetName.NPZ, DatasetName.PYTHON):
        return _user_arrays(spec, family if builtin else None)
    return _load_csv(spec)


def dataset_for(spec: StudySpec) -> Dataset:
    """The dataset of a study, for its model: shaped for a built-in family, as given to the user's own model,
    with the study's validation protocol (checked against the seeds: :func:`~actreg_search.data.splits.check_splits`).

    Raises:
        SpecError: The data cannot be used, or the protocol leaves a class too few samples.
    """
    data = load_dataset(spec.data, spec.model.family, builtin=not spec.model.user)
    check_splits(data.y_train, data.validation, spec.study.seeds)
    return data


def _user_arrays(spec: DataSpec, family: Family | None) -> Dataset:
    from actreg_search.data.user_arrays import call_loader, read_npz  # noqa: PLC0415 - only for these datasets

    if spec.name is DatasetName.NPZ:
        if spec.path is None:
            raise SpecError('[data] path: dataset "npz" needs the path of an .npz file')
        arrays = read_npz(str(spec.path))
    else:
        if spec.loader is None:
            raise SpecError('[data] loader: dataset "python" needs a loader: "file.py:function" or a function')
        arrays = call_loader(spec.loader)
    x = arrays.x[0]
    if family is not None and x.ndim != _FAMILY_X[family][0]:
        need = ", ".join(f"{f.value} {n}-D {shape}" for f, (n, shape) in _FAMILY_X.items())
        raise SpecError(
            f"{arrays.source}: x has shape {x.shape}, {x.ndim}-D; the built-in {family.value!r} model needs "
            f"{_FAMILY_X[family][0]}-D x (built-in models: {need}; or [model] builder for your own)"
        )
    if not arrays.split:
        return _split(x, arrays.y[0], spec, arrays.source)
    encoder = LabelEncoder().fit(np.concatenate(arrays.y))
    n_classes = len(encoder.classes_)
    dtype = "float32" if n_classes == 2 else "int32"
    y_train, y_test = (encoder.transform(y).astype(dtype) for y in arrays.y)
    return Dataset(arrays.x[0], y_train, arrays.x[1], y_test, n_classes=n_classes)


def _split(x: np.ndarray, y: np.ndarray, spec: DataSpec, source: str) -> Dataset:
    """Stratified split; labels encoded 0..k-1 (float 0/1 for two classes)."""
    labels = LabelEncoder().fit_transform(y)
    n_classes = len(np.unique(labels))
    size = spec.train_size if isinstance(spec.train_size, float) and spec.train_size < 1 else int(spec.train_size)
    try:
        x_train, x_test, y_train, y_test = train_test_split(
            x, labels, train_size=size, random_state=spec.random_state, stratify=labels
        )
    except ValueError as exc:
        raise SpecError(f"{source}: [data] train_size {spec.train_size}: cannot split {len(x)} rows ({exc})") from None
    dtype = "float32" if n_classes == 2 else "int32"
    return Dataset(x_train, y_train.astype(dtype), x_test, y_test.astype(dtype), n_classes=n_classes)


def _load_csv(spec: DataSpec) -> Dataset:
    path = Path(str(spec.path))
    source = str(path)
    try:
        frame = pd.read_csv(path)
    except FileNotFoundError:
        raise SpecError(f"{source}: [data] path: no such CSV file") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise SpecError(f"{source}: [data] path: cannot read as CSV ({type(exc).__name__})") from None
    columns = list(frame.columns)
    if spec.target not in frame.columns:
        raise SpecError(f"{source}: [data] target: no column {spec.target!r}; columns: {', '.join(map(str, columns))}")
    features = list(spec.features) if spec.features else [c for c in columns if c != spec.target]
    unknown = [f for f in features if f not in frame.columns]
    if unknown:
        raise SpecError(f"{source}: [data] features: no column(s) {', '.join(map(repr, unknown))}; columns: {', '.join(map(str, columns))}")
    if not features:
        raise SpecError(f"{source}: [data] features: the file has no feature column besides the target")
    used = frame[[*features, spec.target]]
    if used.isna().any().any():
        column = used.columns[used.isna().any()][0]
        row = int(used[column].isna().to_numpy().argmax()) + 2  # 1-based, after the header
        raise SpecError(f"{source}: missing value in column {column!r} (line {row}); fill or drop it first")
    for column in features:
        if not pd.api.types.is_numeric_dtype(used[column]):
            bad = used[column][pd.to_numeric(used[column], errors="coerce").isna()].iloc[0]
            raise SpecError(f"{source}: column {column!r} is not numeric (value {bad!r}); features must be numbers")
    y = used[spec.target].to_numpy()
    if len(np.unique(y)) < 2:
        raise SpecError(f"{source}: [data] target {spec.target!r} has one class ({y[0]!r}); need at least 2")
    data = _split(used[features].to_numpy(dtype="float64"), y, spec, source)
    scaler = StandardScaler().fit(data.x_train)  # statistics of the training split only
    return Dataset(
        x_train=scaler.transform(data.x_train).astype("float32"),
        y_train=data.y_train,
        x_test=scaler.transform(data.x_test).astype("float32"),
        y_test=data.y_test,
        n_classes=data.n_classes,
    )
