"""Both engines measure the figures of the predictions (balanced accuracy, macro F1, ROC AUC, log loss) and agree.

The fused engine counts them from each row's probabilities on the program's
template (:meth:`StackedLoop.evaluate`); the keras engine from the trained
Keras model (:func:`metrics.seed_result`). On the same trained weights (the
fused engine's ``fit_models``) the two paths must give the same figures, and
the keras engine's own training (one batch: the same weights, to rounding)
the same figures to rounding. The log loss is also checked against the
model's own probabilities by hand.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from actreg_search.data.datasets import Dataset, load_dataset
from actreg_search.engine.base import TrialResult
from actreg_search.engine.fused import FusedEngine
from actreg_search.engine.keras_engine import KerasEngine
from actreg_search.engine.metrics import seed_result
from actreg_search.spec.measures import CLASS_FIGURES
from actreg_search.spec.specs import DataSpec, Validation
from actreg_search.spec.trial import TrialConfig
from actreg_search.spec.vocab import DatasetName, Placement, Protocol, Regularizer

SEEDS = [3, 7]
HOLDOUT = Validation(Protocol.HOLDOUT, fraction=0.2)
TRIAL = TrialConfig(Regularizer.L1, Placement.KERNEL, l1=1e-3, l2=0.0, hidden_units=12, epochs=20)


@pytest.fixture(scope="module")
def circles() -> Dataset:
    """Binary, 24 training samples a seed (one batch: Keras' shuffling does not enter), 6 validation, 70 test."""
    return load_dataset(DataSpec(validation=HOLDOUT))


@pytest.fixture(scope="module")
def digits() -> Dataset:
    """Ten classes, 60 validation samples a seed, the rest of the 1,797 the test set."""
    return load_dataset(DataSpec(name=DatasetName.DIGITS, train_size=300, validation=HOLDOUT))


_TRAINED: dict[tuple[int, TrialConfig], tuple[TrialResult, list]] = {}


def fused(data: Dataset, config: TrialConfig) -> tuple[TrialResult, list]:
    """The trial's per-seed figures as the program counts them, and its trained models (one program); each
    (dataset, config) trained once in this module."""
    key = (id(data), config)
    if key not in _TRAINED:
        _TRAINED[key] = _fused(data, config)
    return _TRAINED[key]


def _fused(data: Dataset, config: TrialConfig) -> tuple[TrialResult, list]:
    engine = FusedEngine()
    result = engine.train(config, data, SEEDS)
    models = engine.fit_models(config, data, SEEDS).models
    assert isinstance(result, TrialResult) and len(engine.cache.programs) == 1
    return result, models


@pytest.mark.parametrize("name", ["circles", "digits"])
def test_the_fused_count_is_the_keras_path_on_the_same_weights(name: str, request: pytest.FixtureRequest) -> None:
    data: Dataset = request.getfixturevalue(name)
    config = TRIAL if name == "circles" else dataclasses.replace(TRIAL, epochs=3, batch_size=64)
    result, models = fused(data, config)
    for counted, model, seed in zip(result.seeds, models, SEEDS, strict=True):
        (fold,) = data.folds(seed)
        view = data.fold(fold)
        keras_path = seed_result(model, config, view, seed, [], [], [])
        for field in CLASS_FIGURES:
            have, want = getattr(counted, field), getattr(keras_path, field)
            assert have is not None and want is not None, field
            assert have == pytest.approx(want, rel=1e-5, abs=1e-6), f"{name} seed {seed}: {field}"
        # the log loss by hand, from the model's own probabilities on the test set
        probs = np.asarray(model(view.x_test, training=False), np.float64)
        if data.n_classes == 2:
            probs = np.concatenate([1 - probs, probs], axis=1)
        probs /= probs.sum(axis=1, keepdims=True)
        by_hand = -np.mean(np.log(np.clip(probs[np.arange(len(view.y_test)), view.y_test.astype(int)], 1e-15, 1)))
        assert counted.test_log_loss == pytest.approx(by_hand, rel=1e-5)


def test_the_keras_engine_measures_them_too_and_agrees_with_the_fused_engine(circles: Dataset) -> None:
    """On one batch both engines train the same weights (to float rounding), so their figures agree."""
    fused_result, _ = fused(circles, TRIAL)
    keras_result = KerasEngine().train(TRIAL, circles, SEEDS)
    for ours, theirs in zip(keras_result.seeds, fused_result.seeds, strict=True):
        for field in CLASS_FIGURES:
            assert getattr(ours, field) is not None, field
            assert getattr(ours, field) == pytest.approx(getattr(theirs, field), abs=1e-3), field
    assert keras_result.mean("validation_log_loss") == pytest.approx(fused_result.mean("validation_log_loss"), abs=1e-3)


def test_under_the_test_protocol_only_the_test_figures_are_measured() -> None:
    data = load_dataset(DataSpec(validation=Validation(Protocol.TEST)))
    result = FusedEngine().train(dataclasses.replace(TRIAL, epochs=2), data, SEEDS[:1])
    (seed,) = result.seeds
    assert seed.test_log_loss is not None and seed.test_roc_auc is not None
    assert seed.validation_log_loss is None and seed.validation_balanced_accuracy is None
