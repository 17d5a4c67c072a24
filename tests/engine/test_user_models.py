"""Both engines on a user's models: the issue's two-layer builder, a .keras file, a layer no engine can fuse.

Tiny widths and few epochs: what is tested is that the fused engine takes each
seed's own steps on a user's architecture, not how well it learns.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest

from actreg_search.data.datasets import Dataset, load_dataset
from actreg_search.engine.fused import FusedEngine
from actreg_search.engine.keras_engine import KerasEngine
from actreg_search.engine.seeds import build_models
from actreg_search.spec.specs import ON_TEST, DataSpec, ModelSpec
from actreg_search.spec.trial import TrialConfig
from actreg_search.spec.vocab import Placement, Regularizer
from tests.engine.test_rowwise import KerasFits

STUDIES = Path(__file__).resolve().parents[2] / "studies"
TWO_LAYER = ModelSpec(builder=f"{STUDIES}/models/two_layer.py:build_without_dropout")
WITH_DROPOUT = ModelSpec(builder=f"{STUDIES}/models/two_layer.py:build")
SEEDS = [3, 7]


@pytest.fixture(scope="module")
def data() -> Dataset:
    return load_dataset(DataSpec(validation=ON_TEST))


def _config(placement: Placement | None, epochs: int = 20, layers: tuple[str, ...] | None = None) -> TrialConfig:
    regularizer = Regularizer.NONE if placement is None else Regularizer.L1
    return TrialConfig(regularizer, placement, 1e-2 if placement else 0.0, 0.0, hidden_units=6, epochs=epochs, layers=layers)


@pytest.fixture(scope="module")
def shared_engine() -> FusedEngine:
    """One engine for the two-layer builder's trials of 20 epochs (the placements, the marked layers): one program
    (the penalty and the layers it marks are its inputs), compiled once."""
    return FusedEngine()


@pytest.mark.parametrize("placement", [None, Placement.PRE_ACTIVATION, Placement.POST_ACTIVATION, Placement.KERNEL])
def test_fused_and_keras_agree_on_every_weight_of_the_two_layer_builder(data, placement, shared_engine):
    config = _config(placement)
    fused = shared_engine.fit_models(config, data, SEEDS, model=TWO_LAYER).models
    keras_fit = KerasFits(config, TWO_LAYER)  # Keras' model traced once for both seeds
    for seed, trained in zip(SEEDS, fused):
        reference = keras_fit(data, seed)
        assert [w.shape for w in trained.weights] == [w.shape for w in reference.weights]
        for ours, theirs in zip(trained.get_weights(), reference.get_weights()):
            np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-6)


def test_a_trial_reports_every_marked_layer_and_the_pooled_figures(data, shared_engine):
    result = shared_engine.train(_config(Placement.PRE_ACTIVATION, layers=("h2",)), data, SEEDS, model=TWO_LAYER)
    assert result.engine == "fused" and result.layers == ("h1", "h2") and len(shared_engine.cache.programs) == 1
    per_layer = result.layer_values("layer_sparsity")
    assert set(per_layer) == {"h1", "h2"} and all(len(v) == len(SEEDS) for v in per_layer.values())
    for i, seed_result in enumerate(result.seeds):
        h1, h2 = per_layer["h1"][i], per_layer["h2"][i]
        pooled = (6 * h1 + 8 * h2) / 14  # h1 is the trial's 6 wide, h2 fixed at 8
        assert seed_result.sparsity == pytest.approx(pooled)


def test_dropout_trains_on_rows_the_same_every_time(data):
    """Trained twice in one program: the second training draws its masks afresh from the seeds and steps (not from
    a generator that ran on, nor from TensorFlow's seed, which only the first build sets)."""
    config, engine = _config(Placement.POST_ACTIVATION, epochs=4), FusedEngine()
    first = engine.train(config, data, SEEDS, model=WITH_DROPOUT)
    second = engine.train(config, data, SEEDS, model=WITH_DROPOUT)
    assert first.engine == "fused" and len(engine.cache.programs) == 1
    assert [s.train_loss for s in first.seeds] == [s.train_loss for s in second.seeds]
    assert first.seeds[0].train_loss != first.seeds[1].train_loss


def test_a_keras_file_gets_fresh_weights_per_seed_and_the_penalty_by_name(tmp_path, data):
    path = tmp_path / "m.keras"
    keras.utils.set_random_seed(0)
    inputs = keras.Input((2,))
    hidden = keras.layers.Dense(4, activation="relu", name="h1")(inputs)
    keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid", name="out")(hidden)).save(path)
    spec = ModelSpec(file=str(path), regularize=("h1",))
    config = _config(Placement.PRE_ACTIVATION, epochs=5)
    a, b = build_models(config, data, [0, 1], spec, seed_tensorflow=False)
    again = build_models(config, data, [0], spec, seed_tensorflow=False)[0]
    assert [layer.name for layer in a.layers][1:] == ["h1", "h1_activation", "out"]
    assert a.get_layer("h1").activity_regularizer is not None and a.get_layer("out").activity_regularizer is None
    assert not np.allclose(a.get_layer("h1").kernel, b.get_layer("h1").kernel)
    np.testing.assert_array_equal(a.get_layer("h1").kernel, again.get_layer("h1").kernel)
    fused = FusedEngine().fit_models(config, data, [0], model=spec).models[0]
    reference = KerasEngine.fit(config, data, 0, model=spec)
    for ours, theirs, initial in zip(fused.get_weights(), reference.get_weights(), a.get_weights(), strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-6)
        assert not np.allclose(ours, initial, rtol=1e-4, atol=1e-6)  # 5 epochs moved every weight past the tolerance


class Scale(keras.layers.Layer):
    """A user's own layer: the fused engine leaves it to the keras engine."""

    def call(self, inputs):
        return inputs * 2.0


def _custom(reg, input_shape, n_classes):
    inputs = keras.Input(input_shape)
    x = Scale(name="scale")(reg.Dense(name="h1")(inputs))
    return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(x))


def test_a_model_with_a_custom_layer_trains_on_the_keras_engine(data):
    spec = ModelSpec(builder=_custom)
    config = _config(Placement.KERNEL, epochs=2)
    assert "is a Scale" in FusedEngine().unfit_reason(build_models(config, data, [0], spec, seed_tensorflow=False)[0])
    result = FusedEngine().train(config, data, [0], model=spec)
    assert result.engine == "keras" and result.layers == ("h1",)
    with pytest.raises(ValueError, match="the fused engine cannot train this model: layer 'scale' is a Scale"):
        FusedEngine().fit_models(config, data, [0], model=spec)


def test_the_fallback_engine_comes_from_the_registry(data, monkeypatch):
    """The fused engine hands a model it cannot train to whatever the registry makes for ``keras``."""
    from actreg_search import engine as registry
    from actreg_search.spec.vocab import EngineName

    handed: list[TrialConfig] = []

    class Stand(KerasEngine):
        def train(self, config, data, seeds, monitor=None, model=None):
            handed.append(config)
            raise RuntimeError("stood in")

    monkeypatch.setitem(registry.ENGINES, EngineName.KERAS, lambda profile_path=None: Stand())
    config = _config(Placement.KERNEL, epochs=2)
    with pytest.raises(RuntimeError, match="stood in"):
        FusedEngine().train(config, data, [0], model=ModelSpec(builder=_custom))
    assert handed == [config]
