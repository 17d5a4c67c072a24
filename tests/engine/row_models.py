"""Builders for the row tests: every layer with a row form, in models the engines train on digits.

Each builder gets ``(reg, input_shape, n_classes)`` like a study's builder
(docs/study-file.md) and makes its marked layer with ``reg``.
"""

from __future__ import annotations

import keras


def _head(x, n_classes):
    return keras.layers.Dense(n_classes, activation="softmax", name="head")(x)


def conv_stack(reg, input_shape, n_classes):
    """Conv2D (marked), BatchNormalization, MaxPooling2D, a strided Conv2D, AveragePooling2D that does not
    tile its input (TensorFlow's pool), GlobalAveragePooling2D."""
    inputs = keras.Input(input_shape)
    x = reg.Conv2D(kernel_size=3, padding="same", name="conv")(inputs)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.MaxPooling2D(2, name="max")(x)
    x = keras.layers.Conv2D(3, 2, strides=1, padding="valid", activation="relu", name="conv2")(x)
    x = keras.layers.AveragePooling2D(2, padding="same", name="avg")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    return keras.Model(inputs, _head(x, n_classes))


def flat_stack(reg, input_shape, n_classes):
    """Conv2D (marked, strides 2), overlapping MaxPooling2D, Flatten, LayerNormalization, Dense."""
    inputs = keras.Input(input_shape)
    x = reg.Conv2D(kernel_size=3, strides=2, padding="same", name="conv")(inputs)
    x = keras.layers.MaxPooling2D(2, strides=1, name="max")(x)
    x = keras.layers.Flatten(name="flat")(x)
    x = keras.layers.LayerNormalization(name="ln")(x)
    x = keras.layers.Dense(6, activation="tanh", name="dense")(x)
    return keras.Model(inputs, _head(x, n_classes))


def recurrent_stack(reg, input_shape, n_classes):
    """LSTM (marked), GRU (reset after), GRU (reset before), SimpleRNN."""
    inputs = keras.Input(input_shape)
    x = reg.LSTM(return_sequences=True, name="lstm")(inputs)
    x = keras.layers.GRU(4, return_sequences=True, name="gru")(x)
    x = keras.layers.GRU(3, reset_after=False, return_sequences=True, name="gru_before")(x)
    x = keras.layers.SimpleRNN(4, name="simple")(x)
    return keras.Model(inputs, _head(x, n_classes))


def dropout_mlp(reg, input_shape, n_classes):
    """Dense (marked), the model's own Dropout(0.3), then a Dropout at the trial's rate (``reg.Dropout``)."""
    inputs = keras.Input(input_shape)
    x = reg.Dense(name="hidden")(inputs)
    x = keras.layers.Dropout(0.3, name="drop")(x)
    x = reg.Dropout(name="trial_drop")(x)
    return keras.Model(inputs, _head(x, n_classes))


def sequence_lstm(reg, input_shape, n_classes):
    """An LSTM (marked) returning its sequence, where tar applies; the sequence averaged."""
    inputs = keras.Input(input_shape)
    x = reg.LSTM(return_sequences=True, name="lstm")(inputs)
    x = keras.layers.GlobalAveragePooling1D(name="mean")(x)
    return keras.Model(inputs, _head(x, n_classes))
