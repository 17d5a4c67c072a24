"""A stacked program's rows: minibatch orders, zero padding, stacked variables, correct predictions and exact zeros."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from actreg_search.engine.metrics import accuracy
from actreg_search.engine.rows import correct, exact_zeros, permutations, row_variables, stacked_variables


def test_permutations_are_per_seed_per_epoch_and_reproducible() -> None:
    n = 50
    first = permutations([3, 5], tf.constant(0), n).numpy()
    for row in first:
        assert sorted(row) == list(range(n))
    assert not np.array_equal(first[0], first[1])
    np.testing.assert_array_equal(permutations([3, 5], tf.constant(0), n).numpy(), first)
    # A seed's order does not depend on the other seeds of the trial.
    np.testing.assert_array_equal(permutations([1, 3], tf.constant(0), n).numpy()[1], first[0])
    assert not np.array_equal(permutations([3, 5], tf.constant(1), n).numpy()[0], first[0])


def test_stacked_variables_have_a_row_axis_in_the_models_variable_order() -> None:
    inputs = keras.Input((2,))
    model = keras.Model(inputs, keras.layers.Dense(3, name="d")(inputs))
    variables = row_variables(model)
    stacked = stacked_variables(variables, 4, trainable=True)
    assert [tuple(v.shape) for v in stacked] == [(4, 2, 3), (4, 3)]
    assert [v.trainable for v in stacked] == [True, True] and not any(v.numpy().any() for v in stacked)


@pytest.mark.parametrize("classes", [2, 3])
def test_correct_counts_what_metrics_accuracy_counts(classes: int) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 2)).astype(np.float32)
    y = rng.integers(0, classes, size=40)
    inputs = keras.Input((2,))
    head = keras.layers.Dense(1 if classes == 2 else classes, activation="sigmoid" if classes == 2 else "softmax")
    model = keras.Model(inputs, head(inputs))
    hits = correct(model(x), tf.constant(y)).numpy()
    assert set(np.unique(hits)) <= {0, 1}
    assert hits.mean() == pytest.approx(accuracy(model, x, y))


def test_exact_zeros_are_counted_per_layer() -> None:
    counts = exact_zeros([tf.constant([[0.0, 1.0], [0.0, 0.0]]), tf.constant([[2.0, -0.0]])]).numpy()
    np.testing.assert_array_equal(counts, [3, 1])
