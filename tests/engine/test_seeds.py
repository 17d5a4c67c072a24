"""The seeds' models: ``set_random_seed``'s weights, without emptying TensorFlow's caches but once in a while."""

from __future__ import annotations

from unittest import mock

import keras
import numpy as np
import pytest
import tensorflow as tf

from actreg_search.data.datasets import load_dataset
from actreg_search.engine import fused, seeds
from actreg_search.engine.base import Monitor
from actreg_search.engine.fused import FusedEngine
from actreg_search.models.build import build_model
from actreg_search.spec.specs import ON_TEST, DataSpec
from actreg_search.spec.trial import TrialConfig
from actreg_search.spec.vocab import Placement, Regularizer

DATA = load_dataset(DataSpec(validation=ON_TEST))
CONFIG = TrialConfig(Regularizer.L2, Placement.KERNEL, l1=0.0, l2=1e-3, hidden_units=16, epochs=10)


@pytest.mark.parametrize("seed_tensorflow", [False, True])
def test_the_seeds_models_have_set_random_seeds_weights_and_set_tensorflows_seed_only_when_asked(seed_tensorflow: bool) -> None:
    with mock.patch.object(tf.random, "set_seed") as tensorflow_seed:
        built = seeds.build_models(CONFIG, DATA, [4, 9], None, seed_tensorflow=seed_tensorflow)
        assert tf.random.set_seed is tensorflow_seed  # put back as it was
    assert [c.args for c in tensorflow_seed.call_args_list] == ([(4,), (9,)] if seed_tensorflow else [])
    for seed, model in zip([4, 9], built, strict=True):
        keras.utils.set_random_seed(seed)
        expected = build_model(CONFIG, DATA.input_shape, DATA.n_classes)
        for have, want in zip(model.get_weights(), expected.get_weights(), strict=True):
            np.testing.assert_array_equal(have, want)


def test_the_first_build_and_then_one_in_n_set_tensorflows_seed() -> None:
    every = seeds.TENSORFLOW_SEED_EVERY
    assert [seeds.seeds_tensorflow(n) for n in range(2 * every + 1)] == [n % every == 0 for n in range(2 * every + 1)]
    assert seeds.seeds_tensorflow(0) and not seeds.seeds_tensorflow(1) and seeds.seeds_tensorflow(every)


def test_the_fused_engine_counts_its_own_builds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each trial's build asks with the engine's count so far; two engines count apart (no process-wide counter)."""
    asked: list[bool] = []

    def no_build(*args: object, seed_tensorflow: bool) -> list:
        asked.append(seed_tensorflow)
        raise RuntimeError("not built")  # ends the trial before training

    monkeypatch.setattr(fused, "build_models", no_build)
    monkeypatch.setattr(fused, "seeds_tensorflow", lambda built: built % 3 == 0)
    ended: dict[int, object] = {}
    configs = [CONFIG] * 5
    engine = FusedEngine()
    engine.train_many(configs, DATA, [0], [Monitor() for _ in configs], ended.__setitem__)
    assert asked == [True, False, False, True, False] and engine.builds == 5
    assert all(isinstance(outcome, RuntimeError) for outcome in ended.values()) and len(ended) == 5
    FusedEngine().train_many(configs[:1], DATA, [0], [Monitor()], ended.__setitem__)
    assert asked[-1] is True
