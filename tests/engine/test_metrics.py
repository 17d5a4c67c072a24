"""A seed's final figures: activation statistics, a seed's fold models averaged, and figures a program counted."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from actreg_search.data.datasets import load_dataset
from actreg_search.engine.base import NonFiniteLoss, SeedResult
from actreg_search.engine.metrics import Counted, activation_stats, counted_seed_result, mean_of_folds, stats_from_sums
from actreg_search.models.build import build_model
from actreg_search.spec.specs import ON_TEST, DataSpec
from actreg_search.spec.trial import TrialConfig
from actreg_search.spec.vocab import Placement, Regularizer


def test_stats_pool_every_output_of_every_layer() -> None:
    stats = stats_from_sums(["a", "b"], [3.0, 1.0], [1, 4], [4, 6])
    assert (stats.mean, stats.sparsity) == (pytest.approx(0.4), pytest.approx(0.5))
    assert stats.layer_mean == (("a", 0.75), ("b", pytest.approx(1 / 6)))
    assert stats.layer_sparsity == (("a", 0.25), ("b", pytest.approx(4 / 6)))


def test_activation_stats_count_the_marked_layers_activated_outputs() -> None:
    keras.utils.set_random_seed(0)
    config = TrialConfig(Regularizer.L1, Placement.PRE_ACTIVATION, 1e-3, 0.0, hidden_units=6)
    model = build_model(config, (2,), 2)
    x = np.random.default_rng(0).normal(size=(20, 2)).astype(np.float32)
    stats = activation_stats(model, x)
    relu = np.asarray(keras.Model(model.input, model.get_layer("hidden_activation").output)(x))
    assert stats.sparsity == pytest.approx(float(np.mean(relu == 0.0)))
    assert stats.mean == pytest.approx(float(relu.mean()))
    assert stats.layer_sparsity == (("hidden", stats.sparsity),)


def seed(test: float, curve: tuple[float, ...], validation: float | None = 0.5) -> SeedResult:
    return SeedResult(1, 0.9, test, 0.2, 0.3, 0.4, curve, curve, (("h", 0.3),), (("h", 0.4),), validation, 0.1, curve)


def test_a_seeds_fold_models_are_averaged_figure_by_figure() -> None:
    folds = [seed(0.6, (0.5, 0.7)), seed(0.8, (0.7, 0.9))]
    mean = mean_of_folds(folds)
    assert mean.test_accuracy == pytest.approx(0.7) and mean.test_curve == pytest.approx((0.6, 0.8))
    assert mean.validation_accuracy == pytest.approx(0.5) and mean.layer_sparsity == (("h", pytest.approx(0.4)),)
    assert mean_of_folds(folds[:1]) is folds[0]
    assert mean_of_folds([seed(0.6, (), None), seed(0.8, ())]).validation_accuracy is None


def test_counted_figures_take_a_padded_programs_extra_zeros_back_out() -> None:
    data = load_dataset(DataSpec(validation=ON_TEST))
    config = TrialConfig(Regularizer.L1, Placement.KERNEL, 1e-3, 0.0, hidden_units=3)
    model = build_model(config, data.input_shape, data.n_classes)
    n_test = len(data.y_test)
    # counted at width 8: 5 padded outputs a sample, all exact zeros, plus 2 real zeros in all
    counted = Counted(train_score=15, test_score=n_test // 2, train_loss=0.5, sums=(6.0,), zeros=(5 * n_test + 2,), sizes=(8,))
    result = counted_seed_result(model, config, data, 4, counted)
    assert result.sparsity == pytest.approx(2 / (3 * n_test))
    assert result.activation_mean == pytest.approx(6.0 / (3 * n_test))
    assert result.train_accuracy == 15 / len(data.y_train) and result.test_accuracy == (n_test // 2) / n_test
    with pytest.raises(NonFiniteLoss):
        counted_seed_result(model, config, data, 4, Counted(0, 0, float("nan"), (0.0,), (0,), (3,)))
