"""Regression and autoencoder tasks on both engines: the figures against NumPy, the fused engine's weights against Keras'.

A regression trains on its targets standardized with the mean and spread of each model's own training samples; the
fused engine's rows each carry theirs. A case where that matters: friedman1's targets are centred near 14 with a
spread near 5, so a row standardized with another row's (or the whole split's) statistics trains to other weights and
reads its RMSE back on another scale.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import tensorflow as tf

from actreg_search.data.datasets import load_dataset
from actreg_search.engine.base import Monitor, TrialResult
from actreg_search.engine.fused import FusedEngine
from actreg_search.engine.metrics import seed_result
from actreg_search.engine.seeds import build_models
from actreg_search.engine.targets import headline_of, regression_figures, sample_scores
from actreg_search.spec.parser import parse_spec
from actreg_search.spec.specs import ON_TEST, DataSpec, Validation
from actreg_search.spec.trial import LayerPenalty, TrialConfig
from actreg_search.spec.vocab import DatasetName, Metric, Placement, Protocol, Regularizer, Task
from tests.engine.helpers import keras_full_batch_fit
from tests.engine.test_penalty_kinds import per_layer
from tests.engine.test_rowwise import KerasFits, assert_same_weights

SEEDS = [0, 1]
PRE, POST = Placement.PRE_ACTIVATION, Placement.POST_ACTIVATION
HOLDOUT = Validation(Protocol.HOLDOUT, fraction=0.2)


def friedman(validation=ON_TEST):
    """60 samples of friedman1, 30 to train: one full batch of 32."""
    spec = DataSpec(name=DatasetName.FRIEDMAN1, n_samples=60, noise=1.0, train_size=30, validation=validation)
    return load_dataset(spec, task=Task.REGRESSION)


def small_images():
    """30 digits to train (one full batch of 32) and 40 to test, as the autoencoder's inputs and targets."""
    spec = parse_spec('[study]\nname = "ae"\ntask = "autoencoder"\n[data]\nname = "digits"\ntrain_size = 30\nvalidation = "test"\n')
    data = load_dataset(spec.data, task=Task.AUTOENCODER)
    return replace(data, x_test=data.x_test[:40], y_test=data.y_test[:40])


def trained(engine: FusedEngine, configs, data, seeds):
    """Train ``configs`` as one batch: each trial's result and its models with the trained values."""
    ended: dict[int, TrialResult | Exception] = {}
    engine.train_many(configs, data, seeds, [Monitor() for _ in configs], ended.__setitem__)
    (loop, _), = engine.cache.programs.values()
    models = [build_models(config, data, seeds, None, seed_tensorflow=False) for config in configs]
    loop.write_back([net for trial in models for net in trial])
    return [ended[k] for k in range(len(configs))], models


def kl_engine() -> FusedEngine:
    engine = FusedEngine()
    engine.prepare(parse_spec('[study]\nname = "kl"\n[space]\nregularizer = ["l1", "kl_sparsity"]\n'))
    return engine


def test_regression_figures_are_numpys_in_the_targets_units():
    rng = np.random.default_rng(0)
    y = rng.normal(100.0, 20.0, size=50)
    standardized_predictions = (y - 100.0) / 20.0 + rng.normal(0.0, 0.3, size=50)
    figures = regression_figures(standardized_predictions[:, None], y, center=100.0, spread=20.0)
    predicted = standardized_predictions * 20.0 + 100.0
    assert figures[Metric.RMSE] == pytest.approx(np.sqrt(np.mean((predicted - y) ** 2)), rel=1e-12)
    assert figures[Metric.MAE] == pytest.approx(np.mean(np.abs(predicted - y)), rel=1e-12)
    assert figures[Metric.R2] == pytest.approx(1 - np.sum((predicted - y) ** 2) / np.sum((y - y.mean()) ** 2), rel=1e-12)
    assert 4.0 < figures[Metric.RMSE] < 8.0  # 0.3 standardized units of a spread of 20: read on the target's scale

    scores = sample_scores(Task.REGRESSION, tf.constant(standardized_predictions[:, None], tf.float32), tf.constant(y, tf.float32), 100.0, 20.0)
    assert headline_of(Task.REGRESSION, float(np.mean(scores.numpy()))) == pytest.approx(figures[Metric.RMSE], rel=1e-5)
    images, outputs = rng.random((4, 8, 8, 1)), rng.random((4, 8, 8, 1))
    per_sample = sample_scores(Task.AUTOENCODER, tf.constant(outputs), tf.constant(images)).numpy()
    np.testing.assert_allclose(per_sample, ((outputs - images) ** 2).reshape(4, -1).mean(axis=1), rtol=1e-6)


def test_regression_rows_standardize_on_their_own_samples_and_match_keras():
    """Hold-out: each seed's model trains on 24 of the 30 samples, standardized with their mean and spread (which
    differ from seed to seed); under L1 before the first ReLU and kl_sparsity on the second layer, every row trains
    to the weights Keras' fit on the seed's standardized samples gives, and reports the figures Keras' model has."""
    data, engine = friedman(HOLDOUT), kl_engine()
    configs = [per_layer(13, hidden=LayerPenalty(Regularizer.L1, PRE, l1=1e-3),
                         hidden_2=LayerPenalty(Regularizer.KL_SPARSITY, POST, coefficient=0.1, rho=0.05))]
    views = [data.fold(data.folds(seed)[0]) for seed in SEEDS]
    assert views[0].center != pytest.approx(views[1].center) and views[0].center != pytest.approx(data.scale()[0])
    results, models = trained(engine, configs, data, SEEDS)
    for config, result, trial_models in zip(configs, results, models):
        keras_fit = KerasFits(config)  # Keras' model traced once for both seeds' views (24 samples each)
        for seed, view, model in zip(SEEDS, views, trial_models):
            assert_same_weights(keras_fit(view, seed), model)
            reported = result.seeds[SEEDS.index(seed)]
            expected = seed_result(model, config, view, seed, [], [])
            for name in ("train_rmse", "test_rmse", "validation_rmse", "test_mae", "test_r2", "validation_r2"):
                assert getattr(reported, name) == pytest.approx(getattr(expected, name), rel=1e-4), name
            assert reported.test_accuracy is None and reported.gap is None


def test_an_autoencoder_trains_its_code_to_keras_weights_under_kl_and_decov():
    """The built-in autoencoder (a two-layer encoder, its code marked; a linear decoder to the 64 pixels) under
    a per-layer mix of L2 and kl_sparsity, and under DeCov: Keras' weights, and the reconstruction MSE of its outputs."""
    data = small_images()
    mix = per_layer(11, hidden=LayerPenalty(Regularizer.L2, Placement.KERNEL, l2=1e-2),
                    hidden_2=LayerPenalty(Regularizer.KL_SPARSITY, POST, coefficient=0.05, rho=0.1))
    kl = [mix]
    decov = [TrialConfig(Regularizer.DECOV, POST, 0.0, 0.0, 10, epochs=30, hidden_layers=2, coefficient=0.5)]
    for engine, configs in ((kl_engine(), kl), (FusedEngine(), decov)):
        results, models = trained(engine, configs, data, SEEDS[:1])
        for config, result, (model,) in zip(configs, results, models):
            expected = keras_full_batch_fit(config, data, SEEDS[0])
            assert expected.output_shape == (None, 64)
            assert_same_weights(expected, model)
            mse = float(np.mean((np.asarray(model(data.x_test), np.float64) - data.x_test) ** 2))
            assert result.seeds[0].test_mse == pytest.approx(mse, rel=1e-5)
            assert result.seeds[0].test_curve[-1] == pytest.approx(mse, rel=1e-4) and result.seeds[0].test_accuracy is None
