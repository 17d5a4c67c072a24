"""From a :class:`TrialConfig` to a Keras model (no Optuna here).

:func:`build_model` builds the study's model for a trial: a built-in family, or
the user's (a builder or a ``.keras`` file, :mod:`actreg_search.models.user`).
Every model comes back *marked* (:func:`~actreg_search.models.marks.marks_of`):
engines and activation statistics find its regularized layers there.

The built-in families' layer names are part of the contract: the regularized
layer is ``hidden`` (then ``hidden_2``, ... for a deeper mlp) and a
``pre_activation`` layer's activation is ``hidden_activation``.
"""

from __future__ import annotations

import math

import keras

from actreg_search.models.marks import set_marks
from actreg_search.models.probes import Probes
from actreg_search.models.regularize import ACTIVATION_SUFFIX, Reg
from actreg_search.models.user import build_from_builder, build_from_file, load_architecture
from actreg_search.spec.specs import ModelSpec
from actreg_search.spec.trial import TrialConfig
from actreg_search.spec.vocab import Family, Placement
from actreg_search.usercode import load_function

HIDDEN = "hidden"
HIDDEN_ACTIVATION = HIDDEN + ACTIVATION_SUFFIX
OUTPUT = "output"
DROPOUT = "dropout"


def hidden_name(index: int) -> str:
    """The built-in mlp's ``index``-th (1-based) regularized layer: ``hidden``, ``hidden_2``, ... (the vocabulary's
    rule, :meth:`~actreg_search.spec.vocab.Family.marked_layers`)."""
    return Family.MLP.marked_layers(index)[-1]


def build_model(
    config: TrialConfig,
    input_shape: tuple[int, ...],
    n_classes: int,
    model: ModelSpec | None = None,
    probes: Probes | None = None,
) -> keras.Model:
    """Build (uncompiled) and mark the model a config describes.

    ``model`` is the study's ``[model]``: a user's builder or ``.keras`` file
    is built by :mod:`actreg_search.models.user`; otherwise (or ``None``) the
    built-in family of ``config.family``:

    * mlp: ``config.hidden_layers`` Dense layers (``hidden``, ``hidden_2``, ...),
      each followed by a Dropout (``dropout``, ``dropout_2``, ...) when the
      trial has a dropout rate;
    * cnn: a Conv2D (3×3, same padding), then 2×2 max pooling, a flatten and,
      with a dropout rate, a Dropout (``dropout``);
    * rnn: an LSTM (last output), with the rate as its input ``dropout``.

    A trial with no dropout rate (``config.dropout`` ``None``) has no Dropout
    layer; a rate of 0 keeps the layers (the trial then shares its program
    with other rates).

    Placements (see :mod:`actreg_search.models.regularize`): for Dense and Conv2D,
    ``pre_activation`` (``activity_regularizer`` on the layer with a linear
    activation, the activation as its own layer after it: the tutorial's
    preferred form), ``post_activation`` (on the activated output) and
    ``kernel`` (weights, not outputs); for the LSTM, ``output``, ``kernel``
    and ``recurrent``. The head is one sigmoid unit for two classes, a
    softmax for more; one linear unit for a regression (``n_classes`` 1); for
    an autoencoder (``n_classes`` 0) a linear Dense back to the input's size
    (the mlp's hidden layers are then its encoder, the last one its code).

    Weights are initialised from Keras' global seed: call
    ``keras.utils.set_random_seed(seed)`` first for a reproducible model.

    Args:
        config: The trial's config.
        input_shape: Shape of one sample.
        n_classes: 2 gives one sigmoid unit, more give a softmax; 1 one linear unit (a regression), 0 a linear
            decoder to the input's shape (an autoencoder).
        model: The study's ``[model]`` (``None``: the built-in family).
        probes: Build the model probed (the penalty an input of the training
            program, :class:`~actreg_search.models.probes.Probes`) rather than
            with the config's penalty.

    Returns:
        The marked model.

    Raises:
        SpecError: A user's model is unusable.
        UserCodeError: A user's builder raised.
    """
    if model is not None and model.builder is not None:
        return build_from_builder(model, config, input_shape, n_classes, probes)
    if model is not None and model.file is not None:
        return build_from_file(model, config, probes)
    reg = Reg(config, probes)
    inputs = keras.Input(shape=input_shape, name="features")
    dropouts = []
    if config.family is Family.RNN:
        rate = {} if config.dropout is None else {"dropout": config.dropout}
        if config.placement is Placement.SEQUENCE:  # the whole sequence out, where tar applies; then its last step
            x = reg.LSTM(name=HIDDEN, return_sequences=True, **rate)(inputs)
            x = keras.layers.Cropping1D((input_shape[0] - 1, 0), name="last_step")(x)
            x = keras.layers.Flatten(name="last")(x)
        else:
            x = reg.LSTM(name=HIDDEN, **rate)(inputs)
        dropouts = [HIDDEN] if rate else []
    elif config.family is Family.CNN:
        x = reg.Conv2D(kernel_size=3, padding="same", name=HIDDEN)(inputs)
        x = keras.layers.MaxPooling2D(2, name="pool")(x)
        x = keras.layers.Flatten(name="flatten")(x)
        if config.dropout is not None:
            x = reg.Dropout(name=DROPOUT)(x)
    else:
        x = inputs
        for index in range(1, config.hidden_layers + 1):
            x = reg.Dense(name=hidden_name(index))(x)
            if config.dropout is not None:
                x = reg.Dropout(name=DROPOUT if index == 1 else f"{DROPOUT}_{index}")(x)
    if n_classes == 0:
        outputs = keras.layers.Dense(math.prod(input_shape), name=OUTPUT)(x)
        if len(input_shape) > 1:
            outputs = keras.layers.Reshape(input_shape, name="reconstruction")(outputs)
    elif n_classes == 1:
        outputs = keras.layers.Dense(1, name=OUTPUT)(x)
    elif n_classes == 2:
        outputs = keras.layers.Dense(1, activation="sigmoid", name=OUTPUT)(x)
    else:
        outputs = keras.layers.Dense(n_classes, activation="softmax", name=OUTPUT)(x)
    built = keras.Model(inputs, outputs, name=f"{config.family.value}_{config.regularizer.value}")
    return set_marks(built, reg.marks, [*dropouts, *reg.dropouts])


def prepare_model(model: ModelSpec | None) -> None:
    """Load a user's model code or file now, before the engine seeds Keras for each seed.

    Loading a ``.keras`` file makes its layers and weights, which draws from
    Keras' random state; done inside a seed's build, the first seed to load it
    would get other weights than the same seed gets later. Engines call this
    before :func:`keras.utils.set_random_seed`, so a seed's model never depends
    on what the process loaded before.
    """
    if model is not None and model.file is not None:
        load_architecture(model.file)
    if model is not None and model.builder is not None:
        load_function(model.builder, "[model] builder")


def make_loss(n_classes: int) -> keras.losses.Loss:
    """The Keras loss for a task with ``n_classes`` classes (batch-mean reduction): mean squared error for a
    regression (``n_classes`` 1, on standardized targets) and an autoencoder (0)."""
    if n_classes < 2:
        return keras.losses.MeanSquaredError()
    if n_classes == 2:
        return keras.losses.BinaryCrossentropy()
    return keras.losses.SparseCategoricalCrossentropy()


def make_optimizer(config: TrialConfig) -> keras.optimizers.Optimizer:
    """A fresh Keras optimizer for the config (Keras' defaults besides the rate)."""
    return keras.optimizers.get({"class_name": config.optimizer.value, "config": {"learning_rate": config.learning_rate}})


__all__ = ["HIDDEN", "HIDDEN_ACTIVATION", "OUTPUT", "build_model", "hidden_name", "make_loss", "make_optimizer", "prepare_model"]
