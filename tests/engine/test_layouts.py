"""A narrow model's weights placed in a wide template compute the narrow model's outputs exactly where padding is
sound, and padding is refused where it is not."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from actreg_search.engine.layouts import cut, embed, layout
from actreg_search.engine.rows import row_variables


def chain_model(width: int, body: str) -> keras.Model:
    """The same architecture at ``width`` (the searched size) with trained-looking random weights."""
    if body in ("cnn", "cnn_bn"):
        inputs = keras.Input((6, 6, 2))
        x = keras.layers.Conv2D(width, 3, padding="same", activation="relu")(inputs)
        if body == "cnn_bn":
            x = keras.layers.BatchNormalization()(x)
        x = keras.layers.MaxPooling2D(2)(x)
        x = keras.layers.Flatten()(x)
    elif body in ("lstm", "gru", "simple"):
        inputs = keras.Input((5, 3))
        layer = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU, "simple": keras.layers.SimpleRNN}[body]
        x = layer(width, return_sequences=True)(inputs)
        x = keras.layers.GRU(4, reset_after=False)(x)
    else:
        inputs = keras.Input((3,))
        x = keras.layers.Dense(width, activation="sigmoid" if body == "sigmoid" else "relu")(inputs)
        if body == "layer_norm":
            x = keras.layers.LayerNormalization()(x)
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x))
    rng = np.random.default_rng(width)
    for v in row_variables(model):
        value = rng.normal(size=v.shape).astype("float32")
        v.assign(np.abs(value) if "variance" in v.path else value)
    return model


@pytest.mark.parametrize("body", ["cnn", "cnn_bn", "lstm", "gru", "simple"])
def test_a_narrow_model_placed_in_a_wide_one_computes_the_same_outputs(body: str) -> None:
    narrow, wide = chain_model(3, body), chain_model(8, body)
    places = layout(narrow, wide)
    assert places is not None
    for small, big, index in zip(row_variables(narrow), row_variables(wide), places, strict=True):
        big.assign(embed(small.numpy(), index, big.shape))
        np.testing.assert_array_equal(cut(big.numpy(), index), small.numpy())
    x = np.random.default_rng(0).normal(size=(7, *narrow.input.shape[1:])).astype("float32")
    np.testing.assert_allclose(wide.predict(x, verbose=0), narrow.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    # Where the layout matters, appending zeros at the end of each axis computes something else.
    if body in ("cnn", "lstm", "gru"):
        for small, big in zip(row_variables(narrow), row_variables(wide)):
            big.assign(np.pad(small.numpy(), [(0, b - a) for a, b in zip(small.shape, big.shape)]))
        assert not np.allclose(wide.predict(x, verbose=0), narrow.predict(x, verbose=0), atol=1e-4)


@pytest.mark.parametrize("body", ["layer_norm", "sigmoid"])
def test_padding_is_refused_where_padded_units_would_not_stay_zero(body: str) -> None:
    """LayerNormalization would count the padded units in its statistics; sigmoid(0) = 0.5."""
    assert layout(chain_model(3, body), chain_model(8, body)) is None
    assert layout(chain_model(8, body), chain_model(8, body)) is not None
