"""Every layer with a row form trains on rows to the keras engine's weights; the row forms' parts.

Full batches (30 digits, batch 32), so the keras engine's shuffling plays no
part and the comparison is weight for weight after 20 epochs (rel 1e-4);
Keras' side is its fit in one call (``helpers.keras_full_batch_fit``, the
keras engine's fit step for step; :class:`KerasFits` for several seeds of one
model). The test split is cut to :data:`TEST_DIGITS` digits (only the curves
read it, each epoch, not the weights compared) and the rnn's sequences to
:data:`RNN_STEPS` of an image's 8 rows: each recurrent layer still carries its
state from step to step, and the program's inference, unrolled over the steps,
compiles in half the cells.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from actreg_search.data.datasets import Dataset, load_dataset
from actreg_search.engine.fused import FusedEngine
from actreg_search.engine.row_layers import row_uniform
from actreg_search.engine.rowwise import penalty, unsupported
from actreg_search.engine.targets import standardized
from actreg_search.models.build import build_model, make_optimizer, prepare_model
from actreg_search.models.probes import Probes
from actreg_search.spec.specs import ON_TEST, DataSpec, ModelSpec
from actreg_search.spec.trial import TrialConfig
from actreg_search.spec.vocab import DatasetName, Family, Placement, Regularizer
from tests.engine.helpers import keras_full_batch_fit

ROW_MODELS = Path(__file__).with_name("row_models.py")
SEEDS = [3, 7]
DIGITS = DataSpec(validation=ON_TEST, name=DatasetName.DIGITS, n_samples=None, noise=None, train_size=30)
TEST_DIGITS = 300
RNN_STEPS = 4

MODELS = {
    "conv_stack": (Family.CNN, Placement.PRE_ACTIVATION),
    "flat_stack": (Family.CNN, Placement.POST_ACTIVATION),
    "recurrent_stack": (Family.RNN, Placement.RECURRENT),
}


def digits(family: Family, tested: int | None = None, steps: int | None = None) -> Dataset:
    """30 digits to train (one full batch of 32), the rest (or its first ``tested``) to test; for the rnn, whose time
    steps are an image's rows, only its first ``steps`` rows (``None``: all 8)."""
    data = load_dataset(DIGITS, family)
    if tested is not None:
        data = replace(data, x_test=data.x_test[:tested], y_test=data.y_test[:tested])
    if steps is not None:
        data = replace(data, x_train=data.x_train[:, :steps], x_test=data.x_test[:, :steps])
    return data


def row_digits(family: Family) -> Dataset:
    """:func:`digits` for the row tests: :data:`TEST_DIGITS` to test, :data:`RNN_STEPS` time steps for the rnn."""
    return digits(family, TEST_DIGITS, RNN_STEPS if family is Family.RNN else None)


def builder(name: str) -> ModelSpec:
    return ModelSpec(builder=f"{ROW_MODELS}:{name}")


def assert_same_weights(expected: keras.Model, actual: keras.Model) -> None:
    for want, got in zip(expected.get_weights(), actual.get_weights(), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)


class KerasFits:
    """``helpers.keras_full_batch_fit`` of one config and model for several seeds (or fold views of one shape),
    Keras' train function traced once instead of once a seed (about 1 s of CPU a fit of a small mlp).

    The first fit is the helper's own. Each later one builds its seed's model as the helper does (``set_random_seed``,
    then ``build_model``), assigns all its variables (weights, moving statistics, Dropout's seed states) and a fresh
    optimizer's (step 0, empty moments) into the compiled model, and fits it as the helper does: the same steps from
    the same start, weight for weight the helper's model (bitwise on every model it serves in these tests, Keras
    3.15; where a seed's fused model is compared to it, a reset that missed a variable fails that comparison).

    Returns the compiled model, holding the latest fit's weights until the next fit.
    """

    def __init__(self, config: TrialConfig, model: ModelSpec | None = None) -> None:
        self.config, self.model = config, model
        self.net: keras.Model | None = None

    def __call__(self, data: Dataset, seed: int) -> keras.Model:
        config = self.config
        if self.net is None:
            self.net = keras_full_batch_fit(config, data, seed, self.model)
            return self.net
        prepare_model(self.model)
        keras.utils.set_random_seed(seed)
        fresh = build_model(config, data.input_shape, data.n_classes, self.model)
        start = make_optimizer(config)
        start.build(fresh.trainable_variables)
        for target, value in zip(self.net.variables, fresh.variables, strict=True):
            target.assign(value)
        for target, value in zip(self.net.optimizer.variables, start.variables, strict=True):
            target.assign(value)
        x = np.tile(data.x_train, (config.epochs, *([1] * (data.x_train.ndim - 1))))
        y = standardized(data.task, data.y_train, data.center, data.spread)
        y = np.tile(y, (config.epochs, *([1] * (y.ndim - 1))))
        self.net.fit(x, y, batch_size=len(data.x_train), epochs=1, shuffle=False, verbose=0)
        return self.net


@pytest.mark.parametrize("name", sorted(MODELS))
def test_each_layer_trains_on_rows_to_the_keras_engines_weights(name: str) -> None:
    """Conv2D, BatchNormalization (its moving averages compared too), both poolings, global pooling, Flatten,
    LayerNormalization, Dense, LSTM, both GRUs and SimpleRNN."""
    family, placement = MODELS[name]
    data, model = row_digits(family), builder(name)
    config = TrialConfig(Regularizer.L1_L2, placement, 1e-2, 1e-2, hidden_units=5, epochs=20, family=family)
    engine = FusedEngine()
    fitted = engine.fit_models(config, data, SEEDS, model=model)
    (loop, _), = engine.cache.programs.values()
    assert loop.vectorize, unsupported(loop.template)
    assert_same_weights(keras_full_batch_fit(config, data, SEEDS[1], model=model), fitted.models[1])


def test_a_rows_uniform_draws_depend_on_its_seed_step_and_position_only() -> None:
    draws = row_uniform([400, 25], tf.constant([3, 5, 3], tf.int64), tf.constant(7, tf.int64), 2).numpy()
    assert draws.shape == (3, 400, 25) and 0.0 <= draws.min() and draws.max() < 1.0
    assert abs(draws.mean() - 0.5) < 0.01 and abs(draws.var() - 1 / 12) < 0.005
    np.testing.assert_array_equal(draws[0], draws[2])
    alone = row_uniform([400, 25], tf.constant([5], tf.int64), tf.constant(7, tf.int64), 2).numpy()
    np.testing.assert_array_equal(alone[0], draws[1])
    for other in (
        row_uniform([400, 25], tf.constant([3], tf.int64), tf.constant(8, tf.int64), 2),
        row_uniform([400, 25], tf.constant([3], tf.int64), tf.constant(7, tf.int64), 3),
    ):
        assert abs(np.corrcoef(other.numpy()[0].ravel(), draws[0].ravel())[0, 1]) < 0.05
    assert abs(np.corrcoef(draws[0].ravel(), draws[1].ravel())[0, 1]) < 0.05


def test_a_penalty_on_rows_is_each_rows_keras_penalty() -> None:
    x = tf.constant(np.random.default_rng(0).normal(size=(3, 4, 5)).astype("float32"))
    probes = Probes()
    probe = probes.probe("h", Placement.KERNEL)
    coefs = tf.constant([[[0.1, 0.0]], [[0.0, 0.2]], [[0.3, 0.4]]])
    expected = [float(keras.regularizers.L1L2(l1=float(c[0, 0]), l2=float(c[0, 1]))(x[k])) for k, c in enumerate(coefs)]
    np.testing.assert_allclose(penalty(probe, x, coefs).numpy(), expected, rtol=1e-6)
    l1l2 = keras.regularizers.L1L2(l1=0.1, l2=0.2)
    np.testing.assert_allclose(penalty(l1l2, x, None).numpy(), [float(l1l2(x[k])) for k in range(3)], rtol=1e-6)
    orthogonal = keras.regularizers.OrthogonalRegularizer(0.1)
    np.testing.assert_allclose(penalty(orthogonal, x, None).numpy(), [float(orthogonal(x[k])) for k in range(3)], rtol=1e-6)


def test_a_sequential_chain_is_on_rows_and_a_layer_without_a_row_form_is_named() -> None:
    sequential = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3), keras.layers.Flatten(), keras.layers.Dense(3)])
    assert unsupported(sequential) is None
    assert unsupported(keras.Sequential([keras.layers.Dense(2)]))[1] == "its layers are not one chain from input to output"
    inputs = keras.Input((4,))
    x = keras.layers.GaussianNoise(0.1, name="noise")(inputs)
    assert unsupported(keras.Model(inputs, keras.layers.Dense(1)(x))) == ("noise", "a GaussianNoise has no row form")
    branch = keras.layers.Dense(2)(inputs)
    joined = keras.layers.Add()([branch, keras.layers.Dense(2)(inputs)])
    assert unsupported(keras.Model(inputs, joined))[1] == "its layers are not one chain from input to output"
    conv_in = keras.Input((6, 6, 2))
    grouped = keras.layers.Conv2D(4, 3, groups=2, name="grouped")(conv_in)
    assert unsupported(keras.Model(conv_in, grouped)) == ("grouped", "it is a grouped convolution")
