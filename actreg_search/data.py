"""Datasets, generated or bundled (no downloads), loaded once per worker process."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from sklearn import datasets as skdatasets

from actreg_search.config import DataSpec, DatasetName


@dataclass(frozen=True, eq=False)
class Dataset:
    """A train/test split ready for Keras.

    Attributes:
        x_train: Features, ``float32``, shape ``(n_train, ...)``.
        y_train: Labels: ``float32`` 0/1 for binary tasks, ``int32`` class ids otherwise.
        x_test: Test features.
        y_test: Test labels.
        n_classes: Number of classes (2 for binary).
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int

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


@functools.lru_cache(maxsize=8)
def load_dataset(spec: DataSpec) -> Dataset:
    """Generate the dataset a spec describes; cached, so once per worker.

    As in the tutorial, the first ``train_size`` samples (the generators
    shuffle them) are the training set and the rest the test set.

    Args:
        spec: The ``[data]`` table.

    Returns:
        The split.
    """
    generate = _GENERATORS[spec.name]
    x, y = generate(n_samples=spec.n_samples, noise=spec.noise, random_state=spec.random_state)
    x = x.astype("float32")
    y = y.astype("float32")
    n = spec.train_size
    return Dataset(x_train=x[:n], y_train=y[:n], x_test=x[n:], y_test=y[n:], n_classes=2)
