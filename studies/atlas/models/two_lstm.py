"""The atlas' sequence model: two stacked LSTMs, each returning its sequence, then the last step and a head.

Both LSTMs are marked (``reg.LSTM``), so ``[space] per_layer`` draws a penalty
for each, and both return their sequence, so ``tar`` (temporal activation
regularization, Merity et al. 2017) applies to either; the second's last step
goes on, as the built-in rnn's placement ``sequence`` does.
"""

from __future__ import annotations

import keras


def build(reg, input_shape, n_classes):
    """Two LSTMs (the trial's width, then 16 units) over the steps, the last step, a sigmoid or softmax head.

    Args:
        reg: actreg_search's maker of the trial's regularized layers.
        input_shape: ``(steps, features)``.
        n_classes: Number of classes (2: one sigmoid unit).

    Returns:
        The model (uncompiled).
    """
    inputs = keras.Input(input_shape)
    x = reg.LSTM(name="lstm_1", return_sequences=True)(inputs)
    x = reg.LSTM(16, name="lstm_2", return_sequences=True)(x)
    x = keras.layers.Cropping1D((input_shape[0] - 1, 0), name="last_step")(x)
    x = keras.layers.Flatten(name="last")(x)
    head = keras.layers.Dense(1, activation="sigmoid") if n_classes == 2 else keras.layers.Dense(n_classes, activation="softmax")
    return keras.Model(inputs, head(x))
