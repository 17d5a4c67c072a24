"""An MLP with BatchNormalization and Dropout after its regularized layer (``benchmarks/families.py``).

``reg.Dense(name="hidden")`` takes the trial's width (``hidden_units``), its
activation (the study's, ``relu`` unless set) and the trial's penalty at its
placement; then BatchNormalization, Dropout(0.2) and the classifier head.
:func:`build_plain` is the same model without BatchNormalization and
Dropout: the comparison row of the benchmark (what the extra layers cost).
"""

from __future__ import annotations

import keras


def build(reg, input_shape, n_classes, dropout=0.2, batch_norm=True):
    """One regularized Dense layer, then BatchNormalization and Dropout, then the head.

    Args:
        reg: actreg_search's maker of the trial's regularized layers.
        input_shape: Shape of one sample (digits: 64 features).
        n_classes: Number of classes (2: one sigmoid unit; more: a softmax).
        dropout: Dropout rate after the normalization (0: no Dropout layer).
        batch_norm: Whether to normalize the hidden layer's output.

    Returns:
        The model (uncompiled).
    """
    inputs = keras.Input(input_shape)
    x = reg.Dense(name="hidden")(inputs)  # width, placement and penalty: the trial's
    if batch_norm:
        x = keras.layers.BatchNormalization(name="hidden_bn")(x)
    if dropout:
        x = keras.layers.Dropout(dropout, name="hidden_dropout")(x)
    outputs = keras.layers.Dense(
        n_classes if n_classes > 2 else 1, activation="softmax" if n_classes > 2 else "sigmoid", name="head"
    )(x)
    return keras.Model(inputs, outputs)


def build_plain(reg, input_shape, n_classes):
    """The same MLP without BatchNormalization and Dropout."""
    return build(reg, input_shape, n_classes, dropout=0.0, batch_norm=False)
