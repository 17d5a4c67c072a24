"""Make studies/models/encoder.keras, the model of studies/keras_file.toml.

A small functional Keras model for two features (the circles data): two Dense
layers named ``h1`` and ``h2`` (the study regularizes them by name) and a
sigmoid head. Only its architecture matters: every trial re-initialises the
weights per seed. Run from the repository root::

    .venv/bin/python studies/models/make_encoder.py
"""

from __future__ import annotations

from pathlib import Path

import keras

OUT = Path(__file__).with_name("encoder.keras")


def make() -> keras.Model:
    """The model: 2 features -> Dense(16, relu) h1 -> Dense(8, tanh) h2 -> 1 sigmoid unit."""
    inputs = keras.Input((2,), name="features")
    x = keras.layers.Dense(16, activation="relu", name="h1")(inputs)
    x = keras.layers.Dense(8, activation="tanh", name="h2")(x)
    outputs = keras.layers.Dense(1, activation="sigmoid", name="output")(x)
    return keras.Model(inputs, outputs, name="encoder")


if __name__ == "__main__":
    keras.utils.set_random_seed(0)
    make().save(OUT)
    keras.saving.load_model(OUT, safe_mode=True)  # what a study loads it with
    print(f"wrote {OUT}")
