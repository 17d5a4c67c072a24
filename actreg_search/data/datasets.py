"""Datasets, generated, bundled or read from a CSV file (never downloaded), loaded once per worker.

* ``circles`` and ``moons``: scikit-learn's generators; as in the tutorial, the
  first ``train_size`` samples (the generators shuffle them) train, the rest test.
* ``digits``: scikit-learn's bundled 8×8 digit images, scaled to [0, 1], split
  with stratification; shaped per family: flat 64 features (mlp), 8×8×1 images
  (cnn) or 8 steps of 8 features (rnn).
* ``diabetes`` (regression): scikit-learn's bundled table of 442 patients,
  10 features (already centred and scaled by scikit-learn), the disease
  progression a year later as the target; a plain random split.
* ``friedman1`` (regression): scikit-learn's ``make_friedman1`` generator, 10
  uniform features of which 5 enter the target; the first ``train_size``
  samples train, as for circles.
* ``make_classification`` and ``sequences``: generated classifications (40
  features of which 4 informative; series of 20 steps, shaped ``(20, 1)`` for
  the rnn and a user's model, flat for the mlp), the first ``train_size`` train.
* ``breast_cancer`` and ``wine``: scikit-learn's bundled tables, features
  standardised on the training split only, a stratified split.
* ``csv``: a user's table: numeric features standardised on the training split
  only, a binary or multi-class target with a stratified split (a numeric one
  under ``task = "regression"``, a plain split).
* ``npz`` and ``python``: a user's arrays (:mod:`actreg_search.data.user_arrays` reads
  and checks them), used as given: features as ``float32``, not rescaled, each
  sample keeping its shape; ``x, y`` are split as digits are. For a built-in
  model the shape must fit its family: mlp 2-D ``x``, cnn 4-D, rnn 3-D.

Labels are encoded 0..k-1 in sorted order (``float32`` 0/1 for two classes, a
sigmoid head; ``int32`` otherwise, a softmax head). A regression's targets stay
in their units (``float32``); each model trains on them standardized with the
mean and standard deviation of the samples it trains on (:meth:`Dataset.scale`),
never its validation samples, and its figures are read back in the target's
units. An autoencoder's targets are its inputs (``y`` is ``x``); its splits are
plain random ones too.
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
from actreg_search.data.splits import Fold, check_splits, fold_sizes, seed_folds
from actreg_search.spec.vocab import DatasetName, Family, Task
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
        task: What is learned: under a regression ``y`` holds continuous targets
            and ``n_classes`` is 1 (one linear output); under an autoencoder ``y``
            is ``x`` and ``n_classes`` 0 (the output has ``x``'s shape).
        center: In a fold's view of a regression (:meth:`fold`), the mean of the
            targets its model trains on; 0 otherwise.
        spread: Their standard deviation (1 otherwise): the model trains on
            ``(y - center) / spread``.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    validation: Validation = ON_TEST
    x_val: np.ndarray | None = None
    y_val: np.ndarray | None = None
    task: Task = Task.CLASSIFICATION
    center: float = 0.0
    spread: float = 1.0

    @property
    def stratified(self) -> bool:
        """Whether splits are stratified by class (a classification's)."""
        return self.task is Task.CLASSIFICATION

    def folds(self, seed: int) -> tuple[Fold, ...]:
        """A seed's folds of the training split (cached: the same every trial)."""
        cache = self.__dict__.setdefault("_folds", {})
        if seed not in cache:
            cache[seed] = seed_folds(self.y_train, self.validation, seed, self.stratified)
        return cache[seed]

    def fold_sizes(self) -> tuple[int, int, int]:
        """``(train, validation, folds)``: samples each model trains and validates on, and models per seed."""
        return fold_sizes(self.y_train, self.validation, self.stratified)

    def scale(self, fit: np.ndarray | None = None) -> tuple[float, float]:
        """``(center, spread)`` a model trains a regression's targets with: the mean and standard deviation of the
        targets of the samples ``fit`` (indices into the training split; ``None``: all of it); ``(0, 1)`` in other tasks
        (and a spread of 0, constant targets, is taken as 1)."""
        if self.task is not Task.REGRESSION:
            return 0.0, 1.0
        y = np.asarray(self.y_train if fit is None else self.y_train[fit], np.float64)
        spread = float(y.std())
        return float(y.mean()), spread if spread > 0 else 1.0

    def fold(self, fold: Fold) -> Dataset:
        """The dataset one model of a fold sees: its training samples as ``x_train``, its validation samples as
        ``x_val``, and a regression's :meth:`scale` of its training samples."""
        center, spread = self.scale(fold.fit)
        if self.validation.on_test:
            return self if (center, spread) == (self.center, self.spread) else dataclasses.replace(self, center=center, spread=spread)
        return dataclasses.replace(
            self,
            x_train=self.x_train[fold.fit],
            y_train=self.y_train[fold.fit],
            validation=ON_TEST,
            x_val=self.x_train[fold.val],
            y_val=self.y_train[fold.val],
            center=center,
            spread=spread,
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


SEQUENCE_STEPS = 20
"""Steps of a ``sequences`` series."""


def make_sequences(n_samples: int, noise: float, random_state: int) -> tuple[np.ndarray, np.ndarray]:
    """``n_samples`` series of :data:`SEQUENCE_STEPS` steps: ``sin(2π f t + φ)`` plus Gaussian noise of standard
    deviation ``noise``, ``t`` the step over the length, ``φ`` uniform; class 0 draws ``f`` uniform in [1, 2] cycles
    over the series, class 1 in [2.5, 3.5] (half the series each, shuffled): telling them apart needs the series'
    shape over time, not one step's value."""
    rng = np.random.default_rng(random_state)
    y = rng.permutation(np.arange(n_samples) % 2)
    frequency = np.where(y == 0, rng.uniform(1.0, 2.0, n_samples), rng.uniform(2.5, 3.5, n_samples))
    t = np.arange(SEQUENCE_STEPS) / SEQUENCE_STEPS
    x = np.sin(2 * np.pi * frequency[:, None] * t[None, :] + rng.uniform(0, 2 * np.pi, n_samples)[:, None])
    return x + rng.normal(0.0, noise, x.shape), y


def _make_classification(n_samples: int, noise: float, random_state: int) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's ``make_classification``: 40 features, 4 informative, the other 36 noise; ``noise`` is the share of
    labels flipped at random (``flip_y``)."""
    return skdatasets.make_classification(
        n_samples=n_samples, n_features=40, n_informative=4, n_redundant=0, flip_y=noise, random_state=random_state
    )


_GENERATORS = {
    DatasetName.CIRCLES: skdatasets.make_circles,
    DatasetName.MOONS: skdatasets.make_moons,
    DatasetName.FRIEDMAN1: skdatasets.make_friedman1,
    DatasetName.MAKE_CLASSIFICATION: _make_classification,
    DatasetName.SEQUENCES: make_sequences,
}
#: scikit-learn's bundled tables of a classification: features standardized on the training split, as a CSV's.
_TABLES = {DatasetName.BREAST_CANCER: skdatasets.load_breast_cancer, DatasetName.WINE: skdatasets.load_wine}

#: How each family sees one 8×8 digit.
_DIGIT_SHAPES = {Family.MLP: (64,), Family.CNN: (8, 8, 1), Family.RNN: (8, 8)}
#: What ``x`` a built-in family needs: dimensions (samples first) and their meaning.
_FAMILY_X = {
    Family.MLP: (2, "(samples, features)"),
    Family.CNN: (4, "(samples, height, width, channels)"),
    Family.RNN: (3, "(samples, steps, features)"),
}


@functools.lru_cache(maxsize=8)
def load_dataset(spec: DataSpec, family: Family = Family.MLP, *, builtin: bool = True, task: Task = Task.CLASSIFICATION) -> Dataset:
    """Load the dataset a spec describes, shaped for a family, with its validation protocol; cached, so once per worker.

    Args:
        spec: The ``[data]`` table.
        family: The model family (decides the shape of digits).
        builtin: Whether the model is a built-in one, whose family must fit the
            shape of a user's (npz, python) arrays; a model of the user's own
            takes them as given (:func:`dataset_for` decides).
        task: What is learned (the module says how each task's targets are made).

    Returns:
        The split.

    Raises:
        SpecError: A CSV or npz file, or a loader's result, that cannot be used
            (missing, wrong arrays or columns, values, shape for the family).
        UserCodeError: A ``python`` loader raised.
    """
    data = _load(spec, family, builtin, task)
    if task is Task.AUTOENCODER:  # the targets are the inputs
        data = dataclasses.replace(data, y_train=data.x_train, y_test=data.x_test, n_classes=0)
    return dataclasses.replace(data, validation=spec.protocol, task=task)


def _load(spec: DataSpec, family: Family, builtin: bool, task: Task) -> Dataset:
    if spec.name in _GENERATORS:
        x, y = _GENERATORS[spec.name](n_samples=spec.n_samples, noise=spec.noise, random_state=spec.random_state)
        n = int(spec.train_size)
        x, y = x.astype("float32"), y.astype("float32")
        if spec.name is DatasetName.SEQUENCES and (family is not Family.MLP or not builtin):
            x = x[..., None]  # steps of one feature
        return Dataset(x_train=x[:n], y_train=y[:n], x_test=x[n:], y_test=y[n:], n_classes=2 if task is Task.CLASSIFICATION else 1)
    if spec.name is DatasetName.DIGITS:
        digits = skdatasets.load_digits()
        x = (digits.data / 16.0).astype("float32").reshape((-1, *_DIGIT_SHAPES[family]))
        return _split(x, digits.target, spec, "digits", task)
    if spec.name in _TABLES:
        table = _TABLES[spec.name]()
        return _standardized(_split(table.data, table.target, spec, spec.name.value, task))
    if spec.name is DatasetName.DIABETES:
        diabetes = skdatasets.load_diabetes()
        return _split(diabetes.data.astype("float32"), diabetes.target, spec, "diabetes", task)
    if spec.name in (DatasetName.NPZ, DatasetName.PYTHON):
        return _user_arrays(spec, family if builtin else None, task)
    return _load_csv(spec, task)


def dataset_for(spec: StudySpec) -> Dataset:
    """The dataset of a study, for its model: shaped for a built-in family, as given to the user's own model,
    with the study's validation protocol (checked against the seeds: :func:`~actreg_search.data.splits.check_splits`).

    Raises:
        SpecError: The data cannot be used, or the protocol leaves a class too few samples.
    """
    data = load_dataset(spec.data, spec.model.family, builtin=not spec.model.user, task=spec.study.task)
    check_splits(data.y_train, data.validation, spec.study.seeds, stratify=data.stratified)
    return data


def _user_arrays(spec: DataSpec, family: Family | None, task: Task) -> Dataset:
    from actreg_search.data.user_arrays import call_loader, read_npz  # noqa: PLC0415 - only for these datasets

    if spec.name is DatasetName.NPZ:
        if spec.path is None:
            raise SpecError('[data] path: dataset "npz" needs the path of an .npz file')
        arrays = read_npz(str(spec.path), task)
    else:
        if spec.loader is None:
            raise SpecError('[data] loader: dataset "python" needs a loader: "file.py:function" or a function')
        arrays = call_loader(spec.loader, task)
    x = arrays.x[0]
    if family is not None and x.ndim != _FAMILY_X[family][0]:
        need = ", ".join(f"{f.value} {n}-D {shape}" for f, (n, shape) in _FAMILY_X.items())
        raise SpecError(
            f"{arrays.source}: x has shape {x.shape}, {x.ndim}-D; the built-in {family.value!r} model needs "
            f"{_FAMILY_X[family][0]}-D x (built-in models: {need}; or [model] builder for your own)"
        )
    if not arrays.split:
        return _split(x, arrays.y[0], spec, arrays.source, task)
    if task is not Task.CLASSIFICATION:
        return Dataset(arrays.x[0], arrays.y[0], arrays.x[1], arrays.y[1], n_classes=1)
    encoder = LabelEncoder().fit(np.concatenate(arrays.y))
    n_classes = len(encoder.classes_)
    dtype = "float32" if n_classes == 2 else "int32"
    y_train, y_test = (encoder.transform(y).astype(dtype) for y in arrays.y)
    return Dataset(arrays.x[0], y_train, arrays.x[1], y_test, n_classes=n_classes)


def _split(x: np.ndarray, y: np.ndarray, spec: DataSpec, source: str, task: Task = Task.CLASSIFICATION) -> Dataset:
    """Stratified split, labels encoded 0..k-1 (float 0/1 for two classes); a plain one of ``float32`` targets in a
    regression (``n_classes`` 1), of whatever ``y`` is in an autoencoder (its targets are made from ``x`` later)."""
    classify = task is Task.CLASSIFICATION
    labels = LabelEncoder().fit_transform(y) if classify else np.asarray(y, np.float32)
    n_classes = len(np.unique(labels)) if classify else 1
    size = spec.train_size if isinstance(spec.train_size, float) and spec.train_size < 1 else int(spec.train_size)
    try:
        x_train, x_test, y_train, y_test = train_test_split(
            x, labels, train_size=size, random_state=spec.random_state, stratify=labels if classify else None
        )
    except ValueError as exc:
        raise SpecError(f"{source}: [data] train_size {spec.train_size}: cannot split {len(x)} rows ({exc})") from None
    dtype = "float32" if n_classes <= 2 else "int32"
    return Dataset(x_train, y_train.astype(dtype), x_test, y_test.astype(dtype), n_classes=n_classes)


def _load_csv(spec: DataSpec, task: Task) -> Dataset:
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
    if task is Task.REGRESSION and not pd.api.types.is_numeric_dtype(used[spec.target]):
        bad = used[spec.target][pd.to_numeric(used[spec.target], errors="coerce").isna()].iloc[0]
        raise SpecError(f"{source}: [data] target {spec.target!r} is not numeric (value {bad!r}); a regression's target must be numbers")
    if len(np.unique(y)) < 2:
        raise SpecError(f"{source}: [data] target {spec.target!r} has one {'value' if task is Task.REGRESSION else 'class'} ({y[0]!r}); need at least 2")
    return _standardized(_split(used[features].to_numpy(dtype="float64"), y, spec, source, task))


def _standardized(data: Dataset) -> Dataset:
    """``data`` with its features standardized by the statistics of its training split only."""
    scaler = StandardScaler().fit(data.x_train)
    return dataclasses.replace(
        data, x_train=scaler.transform(data.x_train).astype("float32"), x_test=scaler.transform(data.x_test).astype("float32")
    )
