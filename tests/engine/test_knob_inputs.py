"""Learning rate and dropout rate as per-row inputs of the fused engine's program (issue 20).

Trials that differ only in them share one compiled program, trained in one
batch; each row still trains as Keras trains it at its own rate (every mlp
penalty and placement, each trial at its own rate, in one mixed batch:
tests/engine/test_programs.py, ``test_a_trial_padded_into_a_mixed_batch_matches_the_keras_engine``;
each optimizer at its own rates: tests/engine/test_fused.py,
``test_full_batch_matches_keras_fit_weight_for_weight``; the cnn's and rnn's
placements: tests/engine/test_row_families.py).
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from actreg_search.data.datasets import Dataset, load_dataset
from actreg_search.engine.base import Monitor
from actreg_search.engine.fused import FusedEngine
from actreg_search.spec.specs import ON_TEST, DataSpec
from actreg_search.spec.vocab import Placement, Regularizer
from tests.engine.helpers import fit_many, keras_full_batch_fit
from tests.engine.test_fused import assert_same_weights, config_for


@pytest.fixture(scope="module")
def tutorial_data() -> Dataset:
    return load_dataset(DataSpec(validation=ON_TEST))


def test_twenty_learning_and_dropout_rates_at_one_bucket_compile_one_program(tmp_path):
    """20 trials, 20 learning rates and 20 dropout rates, widths in one bucket: one compile (the engine's profile says)."""
    data = load_dataset(DataSpec(validation=ON_TEST, train_size=40))
    profile = tmp_path / "profile.jsonl"
    engine = FusedEngine(profile_path=str(profile))
    for k in range(20):
        config = config_for(
            Regularizer.L2, Placement.KERNEL, width=9 + k % 7, epochs=3, batch_size=16,
            learning_rate=10 ** (-3 + k / 10), dropout=k / 40,
        )
        engine.train_many([config], data, [0, 1], [Monitor()], lambda i, r: None)
    records = [json.loads(line) for line in profile.read_text().splitlines()]
    assert len(records) == 20
    assert [r["compiled"] for r in records] == [True] + [False] * 19


def test_dropout_rates_are_each_rows_own_and_zero_is_no_dropout(tutorial_data):
    """A row at rate 0 trains as the model without Dropout; two rows at other rates in the same program differ from it."""
    base = config_for(Regularizer.L1, Placement.PRE_ACTIVATION, epochs=10)
    configs = [replace(base, dropout=rate) for rate in (0.0, 0.5, 0.3)]
    trained = fit_many(FusedEngine(), configs, tutorial_data, [5])
    plain = keras_full_batch_fit(base, tutorial_data, 5)  # no Dropout layer at all
    assert_same_weights(plain, trained[0][0])
    for models in trained[1:]:
        assert not np.allclose(models[0].get_weights()[0], plain.get_weights()[0], rtol=1e-3)
    assert not np.allclose(trained[1][0].get_weights()[0], trained[2][0].get_weights()[0], rtol=1e-3)


def test_a_rows_dropout_rate_drops_that_fraction_and_scales_the_rest():
    """Three rows at rates 0, 0.25 and 0.6 in one call: each drops its own fraction (±2%) and keeps x / (1 - rate)."""
    import tensorflow as tf
    import keras

    from actreg_search.engine.row_layers import RowContext, dropout

    layer = keras.layers.Dropout(0.5, name="trial")
    rates = tf.constant([0.0, 0.25, 0.6])
    ctx = RowContext(3, True, tf.constant([1, 2, 3], tf.int64), tf.constant(5, tf.int64), rates=rates, trial_dropouts=frozenset({"trial"}))
    out = dropout(layer, None, tf.ones([3, 200, 100]), ctx).numpy()
    for k, rate in enumerate([0.0, 0.25, 0.6]):
        assert abs(np.mean(out[k] == 0) - rate) < 0.02
        assert np.allclose(out[k][out[k] != 0], 1 / (1 - rate))
    other = keras.layers.Dropout(0.5, name="fixed")  # a layer of the model's own keeps its rate
    assert abs(np.mean(dropout(other, None, tf.ones([3, 200, 100]), ctx).numpy() == 0) - 0.5) < 0.02


def test_lstm_input_dropout_is_one_mask_a_sequence_at_the_rows_rate():
    """As Keras' cells (implementation 2) draw it: the same mask at every step of a sequence, each row at its rate."""
    import tensorflow as tf
    import keras

    from actreg_search.engine.row_layers import RowContext
    from actreg_search.engine.row_recurrent import _input_dropout

    layer = keras.layers.LSTM(4, dropout=0.5, name="seq")
    ctx = RowContext(2, True, tf.constant([4, 9], tf.int64), tf.constant(3, tf.int64), rates=tf.constant([0.1, 0.5]),
                     trial_dropouts=frozenset({"seq"}))
    out = _input_dropout(layer, tf.ones([2, 300, 6, 50]), ctx).numpy()  # (rows, sequences, steps, features)
    assert (out == out[:, :, :1, :]).all()  # every step the first step's mask
    for k, rate in enumerate([0.1, 0.5]):
        assert abs(np.mean(out[k] == 0) - rate) < 0.02 and np.allclose(out[k][out[k] != 0], 1 / (1 - rate))
    assert (_input_dropout(layer, tf.ones([2, 3, 6, 5]), RowContext(2, False)).numpy() == 1).all()  # inference: none
