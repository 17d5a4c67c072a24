from __future__ import annotations

import numpy as np
from sklearn.datasets import make_circles

from actreg_search.config import DataSpec, DatasetName
from actreg_search.data import load_dataset


def test_circles_split_is_the_tutorials():
    data = load_dataset(DataSpec())
    x, y = make_circles(n_samples=100, noise=0.1, random_state=1)
    assert data.x_train.shape == (30, 2) and data.x_test.shape == (70, 2)
    np.testing.assert_allclose(data.x_train, x[:30].astype("float32"))
    np.testing.assert_array_equal(data.y_test, y[30:].astype("float32"))
    assert data.binary and data.input_shape == (2,)


def test_loaded_once_per_worker():
    spec = DataSpec(name=DatasetName.MOONS, n_samples=50, train_size=20)
    assert load_dataset(spec) is load_dataset(DataSpec(name=DatasetName.MOONS, n_samples=50, train_size=20))
    assert load_dataset(spec).x_test.shape == (30, 2)
