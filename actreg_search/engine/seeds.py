"""Each seed's Keras model, built as ``keras.utils.set_random_seed(seed)`` makes it, without emptying TensorFlow's caches."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator, Sequence

import keras
import tensorflow as tf

from actreg_search.spec.trial import TrialConfig
from actreg_search.data.datasets import Dataset
from actreg_search.models.build import build_model, prepare_model
from actreg_search.spec.specs import ModelSpec


_BUILDS = itertools.count()
TENSORFLOW_SEED_EVERY = 50
"""One trial's build in this many also sets TensorFlow's global seed, which empties its kernel caches (see :func:`seeding_keras`)."""


def build_models(config: TrialConfig, data: Dataset, seeds: Sequence[int], model: ModelSpec | None) -> list[keras.Model]:
    """One model per seed, each built right after ``keras.utils.set_random_seed(seed)`` (see :func:`seeding_keras`).

    ``set_random_seed`` also resets Keras' global seed generator, so a seed's
    weights never depend on what was built before. Keras' session is not
    cleared between trials: ``clear_session`` also empties TensorFlow's kernel
    cache, which made each trial set its compiled program up again (0.67–0.80 s
    a warm width-500 trial without it, 0.80–1.09 s with it, on the 2-core VM),
    and what it frees (Keras' layer-name counters) does not grow with trials
    (benchmarks/memory.py).
    """
    prepare_model(model)
    models = []
    with seeding_keras(tensorflow=next(_BUILDS) % TENSORFLOW_SEED_EVERY == 0):
        for seed in seeds:
            keras.utils.set_random_seed(seed)
            models.append(build_model(config, data.input_shape, data.n_classes, model))
    return models


@contextlib.contextmanager
def seeding_keras(tensorflow: bool = False) -> Iterator[None]:
    """While active, ``keras.utils.set_random_seed`` seeds Python, NumPy and Keras but, unless ``tensorflow``, not TensorFlow.

    ``tf.random.set_seed`` (which ``set_random_seed`` calls) also empties
    TensorFlow's kernel caches, so every op and function run after it sets its
    kernels up again: a warm trial's five seeds' models took 116 ms to build
    instead of 44, and its final figures 57 ms instead of 10 (2-core VM). Keras
    draws a model's initial weights from Python's ``random`` (each
    initializer's seed) and its own seed generator, never from TensorFlow's
    global seed, so the weights are the same (tests compare them with
    ``set_random_seed``'s). A builder that draws from TensorFlow's stateful
    random ops directly would see them unseeded: use Keras' initializers.
    The caches grow with every new shape a trial's ops see (about 0.17 MB a
    trial over widths 16–512: +81 MB over 500 trials, growing on; emptied
    every trial, +6 MB), so :func:`build_models` lets one trial in
    :data:`TENSORFLOW_SEED_EVERY` set TensorFlow's seed as well.
    """
    if tensorflow:
        yield
        return
    real = tf.random.set_seed
    tf.random.set_seed = lambda seed: None
    try:
        yield
    finally:
        tf.random.set_seed = real


__all__ = ["TENSORFLOW_SEED_EVERY", "build_models", "seeding_keras"]
