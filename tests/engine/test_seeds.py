"""The seeds' models: ``set_random_seed``'s weights, without emptying TensorFlow's caches but once in a while."""

from __future__ import annotations

import itertools
from unittest import mock

import keras
import numpy as np
import pytest
import tensorflow as tf

from actreg_search.spec.trial import TrialConfig
from actreg_search.data.datasets import load_dataset
from actreg_search.engine import seeds
from actreg_search.models.build import build_model
from actreg_search.spec.specs import ON_TEST, DataSpec
from actreg_search.spec.vocab import Placement, Regularizer


def test_models_built_for_the_seeds_have_set_random_seeds_weights_without_tensorflows_seed_but_once_in_a_while(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``tf.random.set_seed`` empties TensorFlow's kernel caches: the seeds' models skip it, but for one trial in N."""
    data = load_dataset(DataSpec(validation=ON_TEST))
    config = TrialConfig(Regularizer.L2, Placement.KERNEL, l1=0.0, l2=1e-3, hidden_units=16, epochs=10)
    monkeypatch.setattr(seeds, "_BUILDS", itertools.count(1))
    monkeypatch.setattr(seeds, "TENSORFLOW_SEED_EVERY", 3)
    with mock.patch.object(tf.random, "set_seed") as tensorflow_seed:
        built = [seeds.build_models(config, data, [4, 9], None) for _ in range(seeds.TENSORFLOW_SEED_EVERY)][0]
        assert tf.random.set_seed is tensorflow_seed
    assert [c.args for c in tensorflow_seed.call_args_list] == [(4,), (9,)]  # the third build only
    for seed, model in zip([4, 9], built, strict=True):
        keras.utils.set_random_seed(seed)
        expected = build_model(config, data.input_shape, data.n_classes)
        for have, want in zip(model.get_weights(), expected.get_weights(), strict=True):
            np.testing.assert_array_equal(have, want)
