"""Each seed's Keras model, built as ``keras.utils.set_random_seed(seed)`` makes it, without emptying TensorFlow's caches.

``keras.utils.set_random_seed`` also sets TensorFlow's global seed, which
empties TensorFlow's kernel caches, so every op and function run after it sets
its kernels up again: a warm trial's five seeds' models took 116 ms to build
instead of 44, and its final figures 57 ms instead of 10 (2-core VM). Keras
draws a model's initial weights from Python's ``random`` (each initializer's
seed) and its own seed generator, never from TensorFlow's global seed, so the
weights are the same without it (tests compare them with ``set_random_seed``'s).
A builder that draws from TensorFlow's stateful random ops directly would see
them unseeded: use Keras' initializers.

The caches grow with every new shape a trial's ops see (about 0.17 MB a
trial over widths 16–512: +81 MB over 500 trials, growing on; emptied every
trial, +6 MB), so the engine sets TensorFlow's seed too for one trial's build
in :data:`TENSORFLOW_SEED_EVERY`, the first included: it asks
:func:`seeds_tensorflow` with the number of trials it has built before, and
passes the answer to :func:`build_models`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import keras

from actreg_search.data.datasets import Dataset
from actreg_search.internals.keras_private import keras_seeding_only
from actreg_search.models.build import build_model, prepare_model
from actreg_search.spec.specs import ModelSpec
from actreg_search.spec.trial import TrialConfig

TENSORFLOW_SEED_EVERY = 50
"""One trial's build in this many also sets TensorFlow's global seed, which empties its kernel caches."""


def seeds_tensorflow(built_before: int) -> bool:
    """Whether an engine's next trial build, after ``built_before`` builds, sets TensorFlow's global seed too.

    The first build does, then one in :data:`TENSORFLOW_SEED_EVERY`.
    """
    return built_before % TENSORFLOW_SEED_EVERY == 0


def build_models(
    config: TrialConfig, data: Dataset, seeds: Sequence[int], model: ModelSpec | None, *, seed_tensorflow: bool
) -> list[keras.Model]:
    """One model per seed, each built right after ``keras.utils.set_random_seed(seed)``.

    ``set_random_seed`` also resets Keras' global seed generator, so a seed's
    weights never depend on what was built before. Keras' session is not
    cleared between trials: ``clear_session`` also empties TensorFlow's kernel
    cache, which made each trial set its compiled program up again (0.67–0.80 s
    a warm width-500 trial without it, 0.80–1.09 s with it, on the 2-core VM),
    and what it frees (Keras' layer-name counters) does not grow with trials
    (benchmarks/memory.py).

    Args:
        config: The trial.
        data: Its dataset (input shape and classes).
        seeds: One model per seed, in order.
        model: The study's ``[model]``.
        seed_tensorflow: Set TensorFlow's global seed as well (see :func:`seeds_tensorflow`);
            otherwise it is left as it was.
    """
    prepare_model(model)
    models = []
    with contextlib.nullcontext() if seed_tensorflow else keras_seeding_only():
        for seed in seeds:
            keras.utils.set_random_seed(seed)
            models.append(build_model(config, data.input_shape, data.n_classes, model))
    return models


__all__ = ["TENSORFLOW_SEED_EVERY", "build_models", "seeds_tensorflow"]
