"""From a :class:`TrialConfig` to a Keras model (no Optuna here).

Layer names are part of the contract: the regularized layer is ``hidden`` and
the layer whose output is the hidden representation after the activation is
:func:`activation_layer_name`. Engines and activation statistics rely on them.
"""

from __future__ import annotations

from typing import Any

import keras

from actreg_search.config import TrialConfig
from actreg_search.vocab import Family, Placement, Regularizer

HIDDEN = "hidden"
HIDDEN_ACTIVATION = "hidden_activation"
OUTPUT = "output"


def make_regularizer(config: TrialConfig) -> keras.regularizers.Regularizer | None:
    """The Keras regularizer object for a config, or ``None``."""
    if config.regularizer is Regularizer.L1:
        return keras.regularizers.L1(config.l1)
    if config.regularizer is Regularizer.L2:
        return keras.regularizers.L2(config.l2)
    if config.regularizer is Regularizer.L1_L2:
        return keras.regularizers.L1L2(l1=config.l1, l2=config.l2)
    return None


def activation_layer_name(config: TrialConfig) -> str:
    """Name of the layer whose output is the hidden layer after its activation."""
    return HIDDEN_ACTIVATION if config.placement is Placement.PRE_ACTIVATION else HIDDEN


def build_model(config: TrialConfig, input_shape: tuple[int, ...], n_classes: int) -> keras.Model:
    """Build (uncompiled) the model a config describes.

    The regularized layer is named ``hidden``: a ``Dense`` (mlp), a ``Conv2D``
    (cnn, 3×3, same padding, then 2×2 max pooling and a flatten) or an ``LSTM``
    (rnn, last output). Placements for ``Dense`` and ``Conv2D``:

    * ``pre_activation``: ``activity_regularizer`` on the layer with a linear
      activation, the activation as its own layer after it (the tutorial's
      preferred form);
    * ``post_activation``: ``activity_regularizer`` on the layer with its
      activation inside, so it penalizes the activated outputs;
    * ``kernel``: ``kernel_regularizer``: weights, not outputs.

    For the ``LSTM``: ``output`` (``activity_regularizer`` on its output),
    ``kernel`` (input weights) and ``recurrent`` (``recurrent_regularizer``).
    The head is one sigmoid unit for two classes, a softmax otherwise.

    Weights are initialised from Keras' global seed: call
    ``keras.utils.set_random_seed(seed)`` first for a reproducible model.

    Args:
        config: The trial's config.
        input_shape: Shape of one sample.
        n_classes: 2 gives one sigmoid unit, more give a softmax.

    Returns:
        The model.
    """
    inputs = keras.Input(shape=input_shape, name="features")
    kwargs = _regularized(config)
    if config.family is Family.RNN:
        x = keras.layers.LSTM(config.hidden_units, name=HIDDEN, **kwargs)(inputs)
    else:
        if config.family is Family.CNN:
            x = keras.layers.Conv2D(config.hidden_units, 3, padding="same", name=HIDDEN, **kwargs)(inputs)
        else:
            x = keras.layers.Dense(config.hidden_units, name=HIDDEN, **kwargs)(inputs)
        if config.placement is Placement.PRE_ACTIVATION:
            x = keras.layers.Activation(config.activation, name=HIDDEN_ACTIVATION)(x)
        if config.family is Family.CNN:
            x = keras.layers.MaxPooling2D(2, name="pool")(x)
            x = keras.layers.Flatten(name="flatten")(x)
    if n_classes == 2:
        outputs = keras.layers.Dense(1, activation="sigmoid", name=OUTPUT)(x)
    else:
        outputs = keras.layers.Dense(n_classes, activation="softmax", name=OUTPUT)(x)
    return keras.Model(inputs, outputs, name=f"{config.family.value}_{config.regularizer.value}")


def _regularized(config: TrialConfig) -> dict[str, Any]:
    """Keyword arguments of the regularized layer: its activation and regularizer."""
    regularizer = make_regularizer(config)
    if config.family is Family.RNN:
        key = {
            Placement.OUTPUT: "activity_regularizer",
            Placement.KERNEL: "kernel_regularizer",
            Placement.RECURRENT: "recurrent_regularizer",
        }.get(config.placement)
        return {key: regularizer} if key else {}
    if config.placement is Placement.PRE_ACTIVATION:
        return {"activation": "linear", "activity_regularizer": regularizer}
    if config.placement is Placement.POST_ACTIVATION:
        return {"activation": config.activation, "activity_regularizer": regularizer}
    if config.placement is Placement.KERNEL:
        return {"activation": config.activation, "kernel_regularizer": regularizer}
    return {"activation": config.activation}


def make_loss(n_classes: int) -> keras.losses.Loss:
    """The Keras loss for a task with ``n_classes`` classes (batch-mean reduction)."""
    if n_classes == 2:
        return keras.losses.BinaryCrossentropy()
    return keras.losses.SparseCategoricalCrossentropy()


def make_optimizer(config: TrialConfig) -> keras.optimizers.Optimizer:
    """A fresh Keras optimizer for the config (Keras' defaults besides the rate)."""
    return keras.optimizers.get({"class_name": config.optimizer.value, "config": {"learning_rate": config.learning_rate}})
