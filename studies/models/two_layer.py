"""The two-layer builder of studies/custom_builder.toml: plain Keras, two regularized Dense layers.

``reg.Dense(name="h1")`` takes the trial's width (``[space] hidden_units``);
``reg.Dense(8, name="h2")`` has a fixed width. Both carry the trial's penalty
where ``[space] layers`` puts it; the Dropout between them is seeded per seed.
"""

from __future__ import annotations

import keras


def build(reg, input_shape, n_classes, dropout=0.1):
    """A two-layer MLP whose hidden layers the search regularizes.

    Args:
        reg: actreg_search's maker of the trial's regularized layers.
        input_shape: Shape of one sample.
        n_classes: Number of classes (2: one sigmoid unit).
        dropout: Dropout rate between the two layers (0: none).

    Returns:
        The model (uncompiled).
    """
    inputs = keras.Input(input_shape)
    x = reg.Dense(name="h1")(inputs)  # width = the trial's size; placement and penalty = the trial's
    if dropout:
        x = keras.layers.Dropout(dropout)(x)
    x = reg.Dense(8, name="h2")(x)  # a fixed width, still regularized
    outputs = keras.layers.Dense(
        n_classes if n_classes > 2 else 1, activation="softmax" if n_classes > 2 else "sigmoid"
    )(x)
    return keras.Model(inputs, outputs)


def build_without_dropout(reg, input_shape, n_classes):
    """The same model without dropout (the engines' equivalence test and benchmark)."""
    return build(reg, input_shape, n_classes, dropout=0.0)
