"""The stacked loop's loading and copying back, without training: rows in and out, padded, the optimizer restarted."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from actreg_search.data.datasets import Dataset, load_dataset
from actreg_search.engine.rowwise import vectorizes
from actreg_search.engine.stacked import StackedLoop
from actreg_search.models.build import build_model
from actreg_search.spec.specs import ON_TEST, DataSpec, Validation
from actreg_search.spec.trial import TrialConfig
from actreg_search.spec.vocab import Family, Placement, Protocol, Regularizer

CONFIG = TrialConfig(Regularizer.L1, Placement.KERNEL, 1e-3, 0.0, hidden_units=3, epochs=4)


@pytest.fixture(scope="module")
def data() -> Dataset:
    return load_dataset(DataSpec(validation=ON_TEST))


def models(data: Dataset, width: int, n: int) -> list:
    config = TrialConfig(Regularizer.L1, Placement.KERNEL, 1e-3, 0.0, hidden_units=width)
    return [build_model(config, data.input_shape, data.n_classes) for _ in range(n)]


def test_rows_load_zero_padded_and_write_back_cut_to_their_models(data: Dataset) -> None:
    template = models(data, 5, 1)[0]
    loop = StackedLoop(template, None, CONFIG, data, rows=2)
    narrow = models(data, 3, 2)
    loop.load(narrow, [0, 1])
    kernel = loop.weights[0].numpy()
    assert kernel.shape == (2, 2, 5)
    np.testing.assert_array_equal(kernel[1, :, :3], narrow[1].get_weights()[0])
    assert not kernel[:, :, 3:].any()
    fresh = models(data, 3, 2)
    loop.write_back([None, fresh[1]])
    for have, want in zip(fresh[1].get_weights(), narrow[1].get_weights(), strict=True):
        np.testing.assert_array_equal(have, want)
    assert not np.array_equal(fresh[0].get_weights()[0], narrow[0].get_weights()[0])  # None: left alone


def test_loading_restarts_the_optimizer_and_keeps_its_rate(data: Dataset) -> None:
    loop = StackedLoop(models(data, 3, 1)[0], None, CONFIG, data, rows=1)
    for variable in loop.optimizer.variables:
        variable.assign(np.full(variable.shape, 0.5, variable.dtype))
    loop.load(models(data, 3, 1), [7])
    assert int(loop.optimizer.iterations.numpy()) == 0
    assert float(loop.optimizer.learning_rate.numpy()) == 0.5
    assert [float(np.abs(v.numpy()).sum()) for v in loop.optimizer.variables].count(0.0) == len(loop.optimizer.variables) - 1


def test_load_refuses_the_wrong_rows(data: Dataset) -> None:
    loop = StackedLoop(models(data, 3, 1)[0], None, CONFIG, data, rows=2)
    with pytest.raises(ValueError, match="the program trains 2 rows, not 1"):
        loop.load(models(data, 3, 1), [0])
    holdout = load_dataset(DataSpec(validation=Validation(Protocol.HOLDOUT, fraction=0.2)))
    split = StackedLoop(models(holdout, 3, 1)[0], None, CONFIG, holdout, rows=1)
    with pytest.raises(ValueError, match="every row needs its fold"):
        split.load(models(holdout, 3, 1), [0])


def test_models_of_layers_with_a_row_form_vectorize_and_others_do_not(data: Dataset) -> None:
    assert vectorizes(models(data, 3, 1)[0])
    cnn = TrialConfig(Regularizer.NONE, None, 0.0, 0.0, hidden_units=2, family=Family.CNN)
    assert vectorizes(build_model(cnn, (4, 4, 1), 3))
    inputs = keras.Input((4,))
    noisy = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(keras.layers.GaussianNoise(0.1)(inputs)))
    assert not vectorizes(noisy)
