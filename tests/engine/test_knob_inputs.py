"""Learning rate and dropout rate as per-row inputs of the fused engine's program (issue 20).

Trials that differ only in them share one compiled program, trained in one
batch; each row still trains as Keras trains it at its own rate.
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import replace

import numpy as np
import pytest

from actreg_search.data.datasets import Dataset, load_dataset
from actreg_search.engine.base import Monitor
from actreg_search.engine.fused import FusedEngine
from actreg_search.engine.metrics import accuracy
from actreg_search.spec.specs import ON_TEST, DataSpec
from actreg_search.spec.vocab import DatasetName, Family, OptimizerName, Placement, Regularizer
from tests.engine.helpers import fit_many, keras_full_batch_fit
from tests.engine.test_fused import assert_same_weights, config_for

RATES = (0.01, 0.001, 0.003)


@pytest.fixture(scope="module")
def tutorial_data() -> Dataset:
    return load_dataset(DataSpec(validation=ON_TEST))


@pytest.mark.parametrize(
    ("placement", "optimizer"),
    [*((p, OptimizerName.ADAM) for p in Family.MLP.placements), (Placement.KERNEL, OptimizerName.SGD),
     (Placement.PRE_ACTIVATION, OptimizerName.RMSPROP)],
    ids=lambda v: v.value,
)
def test_trials_at_other_learning_rates_in_one_program_match_keras_weight_for_weight(tutorial_data, placement, optimizer):
    """Three learning rates, one batch, one program; each trial's weights are Keras' at its own rate (rel 1e-4)."""
    configs = [config_for(Regularizer.L1, placement, learning_rate=rate, optimizer=optimizer) for rate in RATES]
    engine = FusedEngine()
    trained = fit_many(engine, configs, tutorial_data, [3, 7])
    assert len(engine.cache.programs) == 1
    for config, models in zip(configs, trained):
        assert_same_weights(keras_full_batch_fit(config, tutorial_data, 7), models[1])


def test_an_rnn_trial_at_its_own_rate_matches_keras():
    data = load_dataset(DataSpec(validation=ON_TEST, name=DatasetName.DIGITS, n_samples=None, noise=None, train_size=30), Family.RNN)
    configs = [config_for(Regularizer.L2, Placement.RECURRENT, width=4, epochs=5, family=Family.RNN, learning_rate=r) for r in (0.02, 0.005)]
    trained = fit_many(FusedEngine(), configs, data, [3])
    for config, models in zip(configs, trained):
        assert_same_weights(keras_full_batch_fit(config, data, 3), models[0])


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


@pytest.mark.parametrize("family", [Family.MLP, Family.RNN], ids=lambda f: f.value)
def test_with_dropout_the_mean_test_accuracy_agrees_with_keras_within_three_standard_errors(family):
    """The engines draw different masks: over 8 seeds their mean test accuracies agree within 3 SE."""
    if family is Family.MLP:
        data = load_dataset(DataSpec(validation=ON_TEST))
        config = config_for(Regularizer.L1, Placement.PRE_ACTIVATION, width=64, epochs=500, coefficient=1e-4,
                            learning_rate=0.02, dropout=0.3)
    else:
        data = load_dataset(DataSpec(validation=ON_TEST, name=DatasetName.DIGITS, n_samples=None, noise=None, train_size=150), Family.RNN)
        config = config_for(Regularizer.NONE, None, width=12, epochs=30, learning_rate=0.02, dropout=0.3, family=Family.RNN, batch_size=150)
    seeds = range(8)
    x, y = data.x_test, data.y_test
    fused = [accuracy(m, x, y) for m in FusedEngine().fit_models(config, data, seeds).models]
    keras_ = [accuracy(keras_full_batch_fit(config, data, s), x, y) for s in seeds]
    assert statistics.fmean(keras_) > 0.6
    se = math.sqrt(statistics.variance(fused) / len(seeds) + statistics.variance(keras_) / len(seeds))
    assert abs(statistics.fmean(fused) - statistics.fmean(keras_)) <= 3 * max(se, 1 / len(y))
