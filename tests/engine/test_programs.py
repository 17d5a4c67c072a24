"""Shared programs: one compiled program per shape, trials padded into width buckets and trained together.

Widths 41–63 share the bucket 64, so a trial of width 43 trains zero-padded to
64 beside trials of other widths, regularizers and placements.
"""

from __future__ import annotations

import numpy as np
import optuna
import pytest

from actreg_search.data.datasets import Dataset, load_dataset
from actreg_search.engine.base import Monitor, NonFiniteLoss, TrialResult
from actreg_search.engine.fused import FusedEngine
from actreg_search.engine.programs import ProgramCache, bucket_of, paddable, template_config
from actreg_search.models.build import build_model
from actreg_search.models.probes import Probes
from actreg_search.spec.measures import TEST_ACCURACY
from actreg_search.spec.specs import ON_TEST, DataSpec, ModelSpec
from actreg_search.spec.trial import TrialConfig
from actreg_search.spec.vocab import Family, Placement, Regularizer
from tests.engine.helpers import fit_many, keras_full_batch_fit

SEEDS = [3, 7]
CASES = [(Regularizer.NONE, None)] + [
    (r, p) for p in Family.MLP.placements for r in (Regularizer.L1, Regularizer.L2, Regularizer.L1_L2)
]


@pytest.fixture(scope="module")
def data() -> Dataset:
    return load_dataset(DataSpec(validation=ON_TEST))


def config(regularizer: Regularizer, placement: Placement | None, width: int, coefficient: float = 1e-2, **extra: object) -> TrialConfig:
    l1 = coefficient if regularizer in (Regularizer.L1, Regularizer.L1_L2) else 0.0
    l2 = coefficient * 0.5 if regularizer in (Regularizer.L2, Regularizer.L1_L2) else 0.0
    return TrialConfig(regularizer, placement, l1=l1, l2=l2, hidden_units=width, **{"epochs": 20, **extra})


def mixed_batch(epochs: int = 20) -> list[TrialConfig]:
    """Every regularizer × placement and none, widths 41–49 (all padded into bucket 64)."""
    return [config(r, p, 41 + i * 8 // 9, coefficient=10 ** -(2 + i % 3), epochs=epochs) for i, (r, p) in enumerate(CASES)]


def test_buckets_double_up_to_512_then_step_by_half_and_double() -> None:
    assert [bucket_of(w) for w in (1, 8, 9, 32, 33, 41, 50, 129, 256, 257, 321, 500, 513, 768, 769, 1000, 1025, 1537)] == [
        8, 8, 16, 32, 64, 64, 64, 256, 256, 512, 512, 512, 768, 768, 1024, 1024, 1536, 2048,
    ]
    buckets = {bucket_of(width) for width in range(1, 1025)}
    assert len(buckets) == 9  # 8 ... 1024: each a program to compile
    for width in range(1, 5000):
        assert width <= bucket_of(width) <= (max(width, 8) * 2 if width <= 512 else width * 1.5)


@pytest.mark.parametrize("index", range(len(CASES)), ids=[f"{r.value}-{p.value if p else 'none'}" for r, p in CASES])
def test_a_trial_padded_into_a_mixed_batch_matches_the_keras_engine(data: Dataset, batch_fits: list, index: int) -> None:
    """Every weight after 20 epochs, rel 1e-4: the trial trained at width 41–49 in bucket 64 beside 9 others."""
    trial = mixed_batch()[index]
    assert bucket_of(trial.hidden_units) == 64
    expected = keras_full_batch_fit(trial, data, SEEDS[1])
    got = batch_fits[index][1]
    for want, have in zip(expected.get_weights(), got.get_weights(), strict=True):
        assert want.shape == have.shape
        np.testing.assert_allclose(have, want, rtol=1e-4, atol=1e-6)


@pytest.fixture(scope="module")
def batch_fits(data: Dataset) -> list:
    engine = FusedEngine()
    fits = fit_many(engine, mixed_batch(), data, SEEDS)
    (loop, _), = engine.cache.programs.values()  # one program for the whole batch
    assert loop.rows == len(CASES) * len(SEEDS)
    return fits


def outcomes(engine: FusedEngine, configs: list[TrialConfig], data: Dataset, monitors: list[Monitor] | None = None) -> dict:
    ended: dict[int, TrialResult | Exception] = {}
    engine.train_many(configs, data, SEEDS, monitors or [Monitor() for _ in configs], ended.__setitem__)
    assert sorted(ended) == list(range(len(configs)))
    return ended


def test_a_trial_gets_the_same_per_seed_results_alone_and_in_a_batch_of_eight(data: Dataset) -> None:
    mine = config(Regularizer.L1, Placement.PRE_ACTIVATION, 44, coefficient=3e-3, epochs=300)
    others = mixed_batch(epochs=300)[1:8]
    alone = outcomes(FusedEngine(), [mine], data)[0]
    together = outcomes(FusedEngine(), [*others[:3], mine, *others[3:]], data)[3]
    assert isinstance(alone, TrialResult) and isinstance(together, TrialResult)
    for a, b in zip(alone.seeds, together.seeds, strict=True):
        assert (a.test_accuracy, a.train_accuracy, a.train_loss, a.sparsity) == (b.test_accuracy, b.train_accuracy, b.train_loss, b.sparsity)
        assert a.test_curve == b.test_curve


def test_padded_units_and_their_optimizer_slots_stay_exactly_zero(data: Dataset) -> None:
    engine = FusedEngine()
    trial = config(Regularizer.L1, Placement.POST_ACTIVATION, 43, epochs=200)
    assert isinstance(outcomes(engine, [trial], data)[0], TrialResult)
    (loop, _), = engine.cache.programs.values()
    kernel, bias, head, _ = (v.numpy() for v in loop.weights)
    assert kernel.shape[-1] == 64
    assert not kernel[..., 43:].any() and not bias[..., 43:].any() and not head[:, 43:].any()
    assert kernel[..., :43].all()
    for slot in loop.optimizer.variables[2:]:  # momentums and velocities
        if slot.shape[1:] == kernel.shape[1:]:
            assert not slot.numpy()[..., 43:].any()


def test_one_trace_serves_every_penalty_placement_and_width_of_a_bucket(data: Dataset) -> None:
    engine = FusedEngine()
    for trial in mixed_batch(epochs=20)[:4]:
        assert isinstance(outcomes(engine, [trial], data)[0], TrialResult)
    (loop, _), = engine.cache.programs.values()
    assert loop.program.experimental_get_tracing_count() == 1


def test_an_activation_that_is_not_zero_at_zero_trains_at_its_own_width(data: Dataset) -> None:
    cache = ProgramCache()
    sigmoid = config(Regularizer.L1, Placement.PRE_ACTIVATION, 43, activation="sigmoid")
    assert cache.key(sigmoid, data, None, 1, 2).config.hidden_units == 43
    assert cache.key(config(Regularizer.L1, Placement.PRE_ACTIVATION, 43), data, None, 1, 2).config.hidden_units == 64
    narrow, wide = (build_model(template_config(sigmoid, w), data.input_shape, 2, None, Probes()) for w in (3, 5))
    assert not paddable(narrow, wide)


def test_a_diverging_or_pruned_trial_ends_alone_and_the_others_finish(data: Dataset) -> None:
    class PruneAtOnce(Monitor):
        def report(self, epoch: int, mean_test_accuracy: float) -> None:
            raise optuna.TrialPruned(f"pruned at epoch {epoch}")

    configs = mixed_batch(epochs=40)[:4]
    configs[1] = config(Regularizer.L2, Placement.KERNEL, 42, coefficient=1e38, epochs=40)
    monitors = [Monitor(), Monitor(), PruneAtOnce(), Monitor()]
    ended = outcomes(FusedEngine(), configs, data, monitors)
    assert isinstance(ended[1], NonFiniteLoss)
    assert isinstance(ended[2], optuna.TrialPruned)
    alone = outcomes(FusedEngine(), [configs[3]], data)[0]
    assert isinstance(ended[0], TrialResult) and isinstance(ended[3], TrialResult)
    assert ended[3].values(TEST_ACCURACY) == alone.values(TEST_ACCURACY)


def test_user_builder_models_of_one_shape_share_a_program(data: Dataset) -> None:
    from pathlib import Path

    builder = str(Path(__file__).resolve().parents[2] / "studies" / "models" / "two_layer.py") + ":build"
    spec = ModelSpec(builder=builder)
    cache = ProgramCache()
    keys = {
        cache.key(config(r, p, 20), data, spec, 1, 2) for r, p in CASES[1:]
    }
    assert len(keys) == 1


def test_merged_trials_of_three_buckets_train_in_the_widest_and_match_the_keras_engine(data: Dataset) -> None:
    """How a GPU trains a batch: one program at the widest trial's bucket."""
    engine = FusedEngine(merge=True)
    configs = [
        config(Regularizer.L1, Placement.POST_ACTIVATION, 20),
        config(Regularizer.L2, Placement.KERNEL, 45),
        config(Regularizer.L1_L2, Placement.PRE_ACTIVATION, 90),
    ]
    fits = fit_many(engine, configs, data, SEEDS)
    (loop, _), = engine.cache.programs.values()
    assert loop.rows == 6 and loop.weights[0].shape[-1] == bucket_of(90) == 128
    for trial, models in zip(configs, fits):
        expected = keras_full_batch_fit(trial, data, SEEDS[0])
        for want, have in zip(expected.get_weights(), models[0].get_weights(), strict=True):
            np.testing.assert_allclose(have, want, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("layers", [1, 2])
def test_the_figures_a_padded_program_counts_are_keras_figures_of_the_trained_models(data: Dataset, layers: int) -> None:
    """``train`` counts the final figures on the padded template; Keras on each seed's trained model gives the same."""
    from actreg_search.engine.metrics import seed_result

    trial = config(Regularizer.L1, Placement.POST_ACTIVATION, 43, coefficient=3e-3, epochs=60, hidden_layers=layers)
    result = outcomes(FusedEngine(), [trial], data)[0]
    fit = FusedEngine().fit_models(trial, data, SEEDS)
    assert isinstance(result, TrialResult) and bucket_of(43) == 64
    for counted, model, seed in zip(result.seeds, fit.models, SEEDS, strict=True):
        keras_made = seed_result(model, trial, data, seed, list(counted.train_curve), list(counted.test_curve))
        assert (counted.train_accuracy, counted.test_accuracy) == (keras_made.train_accuracy, keras_made.test_accuracy)
        assert counted.sparsity == keras_made.sparsity and counted.layer_sparsity == keras_made.layer_sparsity
        assert 0.0 < counted.sparsity < 1.0 and len(counted.layer_sparsity) == layers
        assert counted.train_loss == pytest.approx(keras_made.train_loss, rel=1e-5)
        assert counted.activation_mean == pytest.approx(keras_made.activation_mean, rel=1e-5)
        for (name, mean), (same, expected) in zip(counted.layer_activation_mean, keras_made.layer_activation_mean, strict=True):
            assert name == same and mean == pytest.approx(expected, rel=1e-5)
