"""The fused engine against the plain Keras one, on small models.

Every test keeps widths and epochs tiny: compiling a trial's loop costs about a
second, the training itself almost nothing. So tests that train the same shape
share its program (:func:`tutorial_engine`, :func:`minibatch_engine`), and
Keras' reference fits are made once a module (:func:`keras_fit`).
"""

from __future__ import annotations

import functools
import math
import statistics
from dataclasses import replace
from unittest.mock import ANY

import keras
import numpy as np
import optuna
import pytest
import tensorflow as tf

from actreg_search.data.datasets import Dataset, load_dataset
from actreg_search.engine import stacked
from actreg_search.engine.base import Monitor, NonFiniteLoss, curve_epochs
from actreg_search.engine.fused import FusedEngine
from actreg_search.engine.keras_engine import KerasEngine, seeded_model
from actreg_search.engine.metrics import accuracy
from actreg_search.models.build import build_model, make_loss, make_optimizer
from actreg_search.spec.measures import TEST_ACCURACY
from actreg_search.spec.specs import ON_TEST, DataSpec
from actreg_search.spec.trial import TrialConfig
from actreg_search.spec.vocab import DatasetName, Family, OptimizerName, Placement, Regularizer
from tests.engine.helpers import fit_many, keras_full_batch_fit

COEFFICIENT = 1e-2

CASES = [  # Adam's with every regularizer × placement, each at its own rate, in one (padded) program: test_programs.py
    (Regularizer.NONE, None, OptimizerName.ADAM),
    (Regularizer.L1_L2, Placement.POST_ACTIVATION, OptimizerName.ADAM),
    (Regularizer.L1, Placement.PRE_ACTIVATION, OptimizerName.SGD),
    (Regularizer.L2, Placement.KERNEL, OptimizerName.RMSPROP),
]

FAMILY_CASES = [  # the cnn's and rnn's placements, alone and in a batch: tests/engine/test_rowwise.py, test_row_families.py
    (Family.MLP, Regularizer.L1, Placement.POST_ACTIVATION),
    (Family.CNN, Regularizer.L1_L2, Placement.PRE_ACTIVATION),
]


@pytest.fixture(scope="module")
def tutorial_data() -> Dataset:
    """The tutorial's split: 30 training samples, so batch 32 is the full batch."""
    return load_dataset(DataSpec(validation=ON_TEST))


MINIBATCH_DIGITS = DataSpec(validation=ON_TEST, name=DatasetName.DIGITS, n_samples=None, noise=None, train_size=50)
"""50 digits to train (ten classes, softmax): with batch 16, three full batches and one of 2."""


@pytest.fixture(scope="module")
def minibatch_data() -> Dataset:
    """:data:`MINIBATCH_DIGITS` for the mlp."""
    return load_dataset(MINIBATCH_DIGITS)


@pytest.fixture(scope="module")
def tutorial_engine() -> FusedEngine:
    """One engine for the trials of :data:`LONG_FIT` on the tutorial's split, four rows each (Adam's two trials of two
    seeds, the standard-error test's trial of four): one program, compiled once."""
    return FusedEngine()


@pytest.fixture(scope="module")
def minibatch_engine() -> FusedEngine:
    """One engine for the trials of :func:`minibatch_config` (two seeds each): one program, compiled once, each test
    loading its own rows into it."""
    return FusedEngine()


@pytest.fixture(scope="module")
def keras_fit(tutorial_data: Dataset):
    """``(config, seed) ->`` Keras' own full-batch fit on the tutorial's split (:func:`keras_full_batch_fit`), made
    once a module."""
    return functools.cache(lambda config, seed: keras_full_batch_fit(config, tutorial_data, seed))


def config_for(
    regularizer: Regularizer,
    placement: Placement | None,
    *,
    width: int = 16,
    epochs: int = 20,
    coefficient: float = COEFFICIENT,
    **extra: object,
) -> TrialConfig:
    """A small config; ``l1_l2`` gets the coefficient on both terms."""
    l1 = coefficient if regularizer in (Regularizer.L1, Regularizer.L1_L2) else 0.0
    l2 = coefficient if regularizer in (Regularizer.L2, Regularizer.L1_L2) else 0.0
    return TrialConfig(regularizer, placement, l1=l1, l2=l2, hidden_units=width, epochs=epochs, **extra)


def minibatch_config(
    regularizer: Regularizer = Regularizer.L1, placement: Placement = Placement.PRE_ACTIVATION, **extra: object
) -> TrialConfig:
    """Width 8 (or less: the bucket of 8), 100 epochs in batches of 16 (on :func:`minibatch_data`, three of 16 and
    one of 2): the tests of minibatches, chunks and divergence train in its program (:func:`minibatch_engine`)."""
    return config_for(regularizer, placement, **{"width": 8, "epochs": 100, "batch_size": 16, **extra})


def keras_fit_in_program_order(config: TrialConfig, data: Dataset, seed: int) -> keras.Model:
    """Keras' own fit of ``config`` for ``seed`` (initialised as the keras engine does), unshuffled, on the training
    samples in the order the fused program draws for a row of that seed: each epoch's
    :func:`~actreg_search.engine.rows.permutations` (compiled by XLA, as in the program), cut into batches of
    ``config.batch_size`` (the last one partial), epoch after epoch."""
    n, size = len(data.x_train), config.batch_size
    draw = tf.function(lambda seeds, epoch: stacked.permutations(seeds, epoch, n), jit_compile=True, autograph=False)
    orders = [draw(tf.constant([seed], tf.int64), tf.constant(epoch))[0] for epoch in range(config.epochs)]
    x, y = tf.constant(data.x_train), tf.constant(data.y_train)
    batches = (
        tf.data.Dataset.from_tensor_slices(tf.stack(orders))
        .flat_map(lambda order: tf.data.Dataset.from_tensor_slices((tf.gather(x, order), tf.gather(y, order))).batch(size))
        .apply(tf.data.experimental.assert_cardinality(config.epochs * math.ceil(n / size)))
    )
    model = seeded_model(config, data, seed)
    model.compile(optimizer=make_optimizer(config), loss=make_loss(data.n_classes))
    model.fit(batches, epochs=1, shuffle=False, verbose=0)
    return model


def assert_same_weights(expected: keras.Model, actual: keras.Model) -> None:
    """Every weight equal up to float32 round-off accumulated over a short fit."""
    for want, got in zip(expected.get_weights(), actual.get_weights(), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)


# --------------------------------------------------------------------------- Keras semantics


def test_keras_divides_activity_regularization_by_batch_size() -> None:
    """Keras >= 3.15 divides the activity penalty by the batch size; the fused engine relies on it."""
    c, batch = 0.01, 4
    layer = keras.layers.Dense(3, activity_regularizer=keras.regularizers.L1(c))
    x = np.arange(batch * 2, dtype="float32").reshape(batch, 2) - 3.0
    out = np.asarray(layer(x))
    (loss,) = layer.losses
    assert float(loss) == pytest.approx(c * np.abs(out).sum() / batch, rel=1e-6)


# --------------------------------------------------------------------------- equivalence


RATES = (0.001, 0.01, 0.003)
"""Learning rates the cases cycle through: each row's rate is an input of the program (issue 20)."""
LONG_FIT = {"width": 32, "epochs": 150}
"""Adam's cases and the standard-error test's trial: one program (:func:`tutorial_engine`). Over 150 epochs Adam's
weights still agree with Keras' within a tenth of :func:`assert_same_weights`' tolerance."""


def optimizer_configs(optimizer: OptimizerName) -> list[TrialConfig]:
    """The cases of ``optimizer``, each at its own learning rate (a case alone: again at another rate); Adam's
    :data:`LONG_FIT`."""
    cases = [(r, p) for r, p, o in CASES if o is optimizer]
    cases += [(r, p) for r, p in cases] if len(cases) == 1 else []
    size = LONG_FIT if optimizer is OptimizerName.ADAM else {}
    return [config_for(r, p, optimizer=optimizer, learning_rate=RATES[k % 3], **size) for k, (r, p) in enumerate(cases)]


@pytest.mark.parametrize("optimizer", list(OptimizerName), ids=lambda o: o.value)
def test_full_batch_matches_keras_fit_weight_for_weight(
    tutorial_data: Dataset, keras_fit, tutorial_engine: FusedEngine, optimizer: OptimizerName
) -> None:
    """Every case of one optimizer in ONE program (one batch of trials), each at its own learning rate; every trial's
    weights are Keras' at its rate (rel 1e-4). Adam's train in the standard-error test's program."""
    configs = optimizer_configs(optimizer)
    engine = tutorial_engine if optimizer is OptimizerName.ADAM else FusedEngine()
    trained = fit_many(engine, configs, tutorial_data, [3, 7])
    assert len(engine.cache.programs) == 1
    for config, models in zip(configs, trained):
        # The second seed, so a mix-up between seed and position would show.
        assert_same_weights(keras_fit(config, 7), models[1])


def test_keras_full_batch_fit_is_keras_engine_fit(tutorial_data: Dataset, keras_fit) -> None:
    """The shortcut used above is the keras engine's training, step for step: RMSprop's (its moving average of squared
    gradients; L2 on the kernel) at its first rate above, the second seed, 20 epochs."""
    config = optimizer_configs(OptimizerName.RMSPROP)[0]
    assert_same_weights(KerasEngine.fit(config, tutorial_data, 7), keras_fit(config, 7))


def test_mean_test_accuracy_agrees_with_keras_within_standard_error(tutorial_data: Dataset, tutorial_engine: FusedEngine) -> None:
    """4 seeds x 150 epochs: the engines' mean test accuracies differ by less than their combined SE.

    The learning rate is 0.02 so that 150 epochs get well past chance accuracy.
    """
    config = config_for(Regularizer.L1, Placement.PRE_ACTIVATION, coefficient=1e-4, learning_rate=0.02, **LONG_FIT)
    seeds = range(4)
    x, y = tutorial_data.x_test, tutorial_data.y_test
    fused_acc = [accuracy(m, x, y) for m in tutorial_engine.fit_models(config, tutorial_data, seeds).models]
    keras_acc = [accuracy(keras_full_batch_fit(config, tutorial_data, s), x, y) for s in seeds]
    assert statistics.fmean(keras_acc) > 0.6  # learning happened, so the comparison means something
    se = math.sqrt(statistics.variance(fused_acc) / len(seeds) + statistics.variance(keras_acc) / len(seeds))
    assert abs(statistics.fmean(fused_acc) - statistics.fmean(keras_acc)) <= se


# --------------------------------------------------------------------------- minibatches


def test_minibatch_training_is_reproducible(minibatch_data: Dataset, minibatch_engine: FusedEngine) -> None:
    """The same weights and curves from the module's engine (its program reloaded, whatever trained in it before) and
    from a fresh engine (the program traced and compiled anew)."""
    config = minibatch_config()
    first = minibatch_engine.fit_models(config, minibatch_data, [0, 1])
    second = FusedEngine().fit_models(config, minibatch_data, [0, 1])
    for a, b in zip(first.models, second.models, strict=True):
        for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
            np.testing.assert_array_equal(wa, wb)
    np.testing.assert_array_equal(first.test_curves, second.test_curves)


@pytest.mark.parametrize(
    ("family", "regularizer", "placement"),
    FAMILY_CASES,
    ids=[f"{f.value}-{r.value}-{p.value}" for f, r, p in FAMILY_CASES],
)
def test_ten_classes_other_families_and_minibatches_in_order_match_keras_fit_weight_for_weight(
    family: Family, regularizer: Regularizer, placement: Placement, minibatch_data: Dataset, minibatch_engine: FusedEngine
) -> None:
    """50 digits (ten classes, softmax) in batches of 16 (three full, one of 2), each trial alone (width 4, padded
    into 8), Conv2D on rows: the second seed's row (so a mix-up between seed and position would show) ends with the
    weights of Keras' fit, unshuffled, on the samples in the order the program drew for that seed, epoch by epoch in
    batches of 16: each row's shuffle is its own seed's, and its batches (partial last one included) are the ones
    Keras trains on. The mlp's trial trains in the minibatch tests' program (100 epochs), the cnn's in its own (5)."""
    data = minibatch_data if family is Family.MLP else load_dataset(MINIBATCH_DIGITS, family)
    assert len(data.x_train) % 16 != 0 and data.n_classes == 10
    epochs = {} if family is Family.MLP else {"epochs": 5}
    config = minibatch_config(regularizer, placement, width=4, family=family, **epochs)
    fitted = minibatch_engine.fit_models(config, data, [3, 7])
    model = keras_fit_in_program_order(config, data, 7)
    assert_same_weights(model, fitted.models[1])
    keras.utils.set_random_seed(7)
    initial = build_model(config, data.input_shape, data.n_classes).get_weights()
    assert all(not np.allclose(w, w0, rtol=1e-4, atol=1e-6) for w, w0 in zip(model.get_weights(), initial)), "trained"
    # The in-graph multi-class accuracy is metrics.accuracy's.
    final = [accuracy(m, data.x_test, data.y_test) for m in fitted.models]
    np.testing.assert_allclose(fitted.test_curves[:, -1], final, atol=1 / len(data.y_test) + 1e-6)


# --------------------------------------------------------------------------- divergence


def test_non_finite_loss_is_raised_like_the_keras_engine(minibatch_data: Dataset, minibatch_engine: FusedEngine) -> None:
    """A learning rate of 1e25 makes the weights huge after one step; the L2 penalty overflows."""
    config = minibatch_config(Regularizer.L2, learning_rate=1e25)
    with pytest.raises(NonFiniteLoss) as from_fused:
        minibatch_engine.train(config, minibatch_data, [0, 1])
    with pytest.raises(NonFiniteLoss) as from_keras:
        KerasEngine().train(config, minibatch_data, [0, 1])
    assert (from_fused.value.seed, from_fused.value.epoch) == (from_keras.value.seed, from_keras.value.epoch)


# --------------------------------------------------------------------------- chunks and monitor


class Recorder(Monitor):
    """Keeps what it is told; prunes at the ``prune_at``-th report."""

    def __init__(self, prune_at: int | None = None) -> None:
        self.progress: list[tuple[int, int]] = []
        self.reports: list[tuple[int, float]] = []
        self.prune_at = prune_at

    def on_epochs(self, done: int, total: int) -> None:
        self.progress.append((done, total))

    def report(self, epoch: int, mean_test_accuracy: float) -> None:
        self.reports.append((epoch, mean_test_accuracy))
        if len(self.reports) == self.prune_at:
            raise optuna.TrialPruned()


def test_train_reports_once_per_chunk_and_returns_curves(minibatch_data: Dataset, minibatch_engine: FusedEngine) -> None:
    config = minibatch_config()
    monitor = Recorder()
    result = minibatch_engine.train(config, minibatch_data, [0, 1], monitor)
    one_sample = 1 / len(minibatch_data.y_test) + 1e-6

    assert [epoch for epoch, _ in monitor.reports] == list(range(5, 101, 5))
    assert monitor.progress == [(epoch * 2, 200) for epoch in range(5, 101, 5)]
    assert result.engine == "fused"
    assert result.curve_epochs == curve_epochs(100)
    assert [s.seed for s in result.seeds] == [0, 1]
    for seed in result.seeds:
        assert len(seed.train_curve) == len(seed.test_curve) == 100
        assert seed.test_curve[-1] == pytest.approx(seed.test_accuracy, abs=one_sample)
    assert monitor.reports[-1][1] == pytest.approx(result.mean(TEST_ACCURACY), abs=one_sample)


def test_a_monitor_that_reads_no_reports_gets_four_chunks_and_the_same_results(
    minibatch_data: Dataset, minibatch_engine: FusedEngine
) -> None:
    config = minibatch_config()
    quiet = Recorder()
    quiet.wants_reports = False
    engine = minibatch_engine
    result = engine.train(config, minibatch_data, [0, 1], quiet)
    assert quiet.progress == [(epoch * 2, 200) for epoch in (25, 50, 75, 100)]
    assert engine.train(config, minibatch_data, [0, 1], Recorder()) == replace(result, wall_time_s=ANY)


def test_pruning_from_report_stops_training(minibatch_data: Dataset, minibatch_engine: FusedEngine) -> None:
    config = minibatch_config()
    monitor = Recorder(prune_at=3)
    with pytest.raises(optuna.TrialPruned):
        minibatch_engine.train(config, minibatch_data, [0, 1], monitor)
    assert [epoch for epoch, _ in monitor.reports] == [5, 10, 15]
    assert len(monitor.progress) == 3
