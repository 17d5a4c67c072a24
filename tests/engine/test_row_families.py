"""The cnn and rnn families' placements in one program of trials, and Dropout's rows, against the keras engine."""

from __future__ import annotations

import math
import statistics

import pytest

from actreg_search.data.datasets import load_dataset
from actreg_search.engine.fused import FusedEngine
from actreg_search.engine.metrics import accuracy
from actreg_search.spec.measures import TEST_ACCURACY
from actreg_search.spec.specs import ON_TEST, DataSpec
from actreg_search.spec.trial import TrialConfig
from actreg_search.spec.vocab import DatasetName, Family, Placement, Regularizer
from tests.engine.helpers import fit_many, keras_full_batch_fit
from tests.engine.test_rowwise import SEEDS, KerasFits, assert_same_weights, builder, row_digits


@pytest.mark.parametrize("family", [Family.CNN, Family.RNN])
def test_every_placement_and_two_widths_of_a_family_train_in_one_program_to_the_keras_engines_weights(family: Family) -> None:
    """Filters or units 10 and 13 share the bucket of 16 (the convolution's flattened output and the LSTM's gate
    blocks padded in their layouts), each trial at its own learning rate (an input of the program); each trial
    matches the keras engine; one program, traced once."""
    data, engine = row_digits(family), FusedEngine()
    widths, rates = (10, 13, 10), (0.001, 0.01, 0.003)
    configs = [
        TrialConfig(Regularizer.L1_L2, placement, 1e-2, 1e-3, hidden_units=width, epochs=20, family=family, learning_rate=rate)
        for placement, width, rate in zip(family.placements, widths, rates)
    ]
    fits = fit_many(engine, configs, data, SEEDS)
    (loop, _), = engine.cache.programs.values()
    assert loop.vectorize and loop.rows == len(configs) * len(SEEDS)
    for config, models in zip(configs, fits):
        assert_same_weights(keras_full_batch_fit(config, data, SEEDS[0]), models[0])
    assert len(engine.cache.programs) == 1 and loop.program.experimental_get_tracing_count() == 1


def test_dropout_trains_on_rows_and_agrees_with_keras_in_distribution() -> None:
    """A Dropout of the model's own (0.3) and one at the trial's rate (0.2, each row's input): mean test accuracy
    over 5 seeds within 3 standard errors of the keras engine's; a seed's rows draw the same masks alone as among
    the other seeds."""
    data = load_dataset(DataSpec(validation=ON_TEST, name=DatasetName.DIGITS, n_samples=None, noise=None, train_size=100))
    config = TrialConfig(Regularizer.L1, Placement.POST_ACTIVATION, 1e-4, 0.0, hidden_units=16, epochs=20, batch_size=128, dropout=0.2)
    model, seeds = builder("dropout_mlp"), list(range(5))
    engine = FusedEngine()
    fused = engine.train(config, data, seeds, model=model)
    assert fused.engine == "fused" and next(iter(engine.cache.programs.values()))[0].vectorize
    a = fused.values(TEST_ACCURACY)
    keras_fit = KerasFits(config, model)  # Keras' model traced once, each seed's fit from its own start
    b = [accuracy(keras_fit(data, seed), data.x_test, data.y_test) for seed in seeds]
    error = math.sqrt(statistics.variance(a) / len(a) + statistics.variance(b) / len(b))
    assert abs(statistics.mean(a) - statistics.mean(b)) <= 3 * error, (a, b)
    alone = FusedEngine().train(config, data, [seeds[3]], model=model)
    assert alone.values(TEST_ACCURACY) == [a[3]]
