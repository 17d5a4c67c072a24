"""Shared programs: one compiled program per shape, trials padded into width buckets and trained together.

Widths 41–63 share the bucket 64, so a trial of width 43 trains zero-padded to
64 beside trials of other widths, regularizers and placements.

The tests share one engine (:func:`engine`) and train every trial for
:data:`EPOCHS`: trials of one shape then train in a program the module compiles
once (a trial's two seeds, a batch of eight, the mixed batch of ten), as a
study's worker reuses its programs; compiling, not training, is what costs here.
"""

from __future__ import annotations

import functools

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
EPOCHS = 20
"""Every trial's epochs: one program per shape for the whole module (the epochs are part of a program's key)."""
RATES = (0.001, 0.01, 0.003)
"""Learning rates the mixed batch's trials cycle through: each row's rate is an input of the program (issue 20)."""


@pytest.fixture(scope="module")
def data() -> Dataset:
    return load_dataset(DataSpec(validation=ON_TEST))


@pytest.fixture(scope="module")
def engine() -> FusedEngine:
    """The module's engine: its programs (2 rows: a trial alone; 16: a batch of eight; 20: the mixed batch; a
    two-layer trial's) compile once and serve every test that trains that shape, each test loading its own rows."""
    return FusedEngine()


@pytest.fixture(scope="module")
def keras_weights(data: Dataset):
    """``(trial, seed) ->`` the weights of Keras' own fit (:func:`keras_full_batch_fit`), each fitted once a module."""

    @functools.cache
    def fitted(trial: TrialConfig, seed: int) -> list[np.ndarray]:
        return keras_full_batch_fit(trial, data, seed).get_weights()

    return fitted


def config(regularizer: Regularizer, placement: Placement | None, width: int, coefficient: float = 1e-2, **extra: object) -> TrialConfig:
    l1 = coefficient if regularizer in (Regularizer.L1, Regularizer.L1_L2) else 0.0
    l2 = coefficient * 0.5 if regularizer in (Regularizer.L2, Regularizer.L1_L2) else 0.0
    return TrialConfig(regularizer, placement, l1=l1, l2=l2, hidden_units=width, **{"epochs": EPOCHS, **extra})


def mixed_batch(epochs: int = EPOCHS) -> list[TrialConfig]:
    """Every regularizer × placement and none, widths 41–49 (all padded into bucket 64), each at one of :data:`RATES`."""
    return [
        config(r, p, 41 + i * 8 // 9, coefficient=10 ** -(2 + i % 3), epochs=epochs, learning_rate=RATES[i % 3])
        for i, (r, p) in enumerate(CASES)
    ]


def program(engine: FusedEngine, trial: TrialConfig, data: Dataset, trials: int = 1):
    """The loop that ``trials`` trials like ``trial`` (:data:`SEEDS` each) train in, in ``engine``."""
    return engine.cache.programs[engine.cache.key(trial, data, None, trials, len(SEEDS))][0]


def test_buckets_double_up_to_512_then_step_by_half_and_double() -> None:
    assert [bucket_of(w) for w in (1, 8, 9, 32, 33, 41, 50, 129, 256, 257, 321, 500, 513, 768, 769, 1000, 1025, 1537)] == [
        8, 8, 16, 32, 64, 64, 64, 256, 256, 512, 512, 512, 768, 768, 1024, 1024, 1536, 2048,
    ]
    buckets = {bucket_of(width) for width in range(1, 1025)}
    assert len(buckets) == 9  # 8 ... 1024: each a program to compile
    for width in range(1, 5000):
        assert width <= bucket_of(width) <= (max(width, 8) * 2 if width <= 512 else width * 1.5)


@pytest.mark.parametrize("index", range(len(CASES)), ids=[f"{r.value}-{p.value if p else 'none'}" for r, p in CASES])
def test_a_trial_padded_into_a_mixed_batch_matches_the_keras_engine(batch_fits: list, keras_weights, index: int) -> None:
    """Every weight after 20 epochs, rel 1e-4: the trial trained at width 41–49 in bucket 64 beside 9 others, at its
    own learning rate."""
    trial = mixed_batch()[index]
    assert bucket_of(trial.hidden_units) == 64
    got = batch_fits[index][1]
    for want, have in zip(keras_weights(trial, SEEDS[1]), got.get_weights(), strict=True):
        assert want.shape == have.shape
        np.testing.assert_allclose(have, want, rtol=1e-4, atol=1e-6)


@pytest.fixture(scope="module")
def batch_fits(data: Dataset, engine: FusedEngine) -> list:
    before = set(engine.cache.programs)
    fits = fit_many(engine, mixed_batch(), data, SEEDS)  # fit_many: the batch in the program it last used
    loop = program(engine, mixed_batch()[0], data, len(CASES))  # one program for the whole batch
    assert loop.rows == len(CASES) * len(SEEDS) and len(set(engine.cache.programs) - before) <= 1
    return fits


def outcomes(engine: FusedEngine, configs: list[TrialConfig], data: Dataset, monitors: list[Monitor] | None = None) -> dict:
    ended: dict[int, TrialResult | Exception] = {}
    engine.train_many(configs, data, SEEDS, monitors or [Monitor() for _ in configs], ended.__setitem__)
    assert sorted(ended) == list(range(len(configs)))
    return ended


def test_a_trial_gets_the_same_per_seed_results_alone_and_in_a_batch_of_eight(data: Dataset, engine: FusedEngine) -> None:
    """Exactly the same figures and curves (a row that read another row's values would differ from the first step)."""
    mine = config(Regularizer.L1, Placement.PRE_ACTIVATION, 44, coefficient=3e-3)
    others = mixed_batch()[1:8]
    alone = outcomes(engine, [mine], data)[0]
    together = outcomes(engine, [*others[:3], mine, *others[3:]], data)[3]
    assert program(engine, mine, data).rows == 2 and program(engine, mine, data, 8).rows == 16
    assert isinstance(alone, TrialResult) and isinstance(together, TrialResult)
    for a, b in zip(alone.seeds, together.seeds, strict=True):
        assert (a.test_accuracy, a.train_accuracy, a.train_loss, a.sparsity) == (b.test_accuracy, b.train_accuracy, b.train_loss, b.sparsity)
        assert a.test_curve == b.test_curve


def test_padded_units_and_their_optimizer_slots_stay_exactly_zero(data: Dataset, engine: FusedEngine) -> None:
    """After the trial's training, in the program (which other trials of other widths may have used before)."""
    trial = config(Regularizer.L1, Placement.POST_ACTIVATION, 43)
    assert isinstance(outcomes(engine, [trial], data)[0], TrialResult)
    loop = program(engine, trial, data)
    kernel, bias, head, _ = (v.numpy() for v in loop.weights)
    assert kernel.shape[-1] == 64
    assert not kernel[..., 43:].any() and not bias[..., 43:].any() and not head[:, 43:].any()
    assert kernel[..., :43].all()
    for slot in loop.optimizer.variables[2:]:  # momentums and velocities
        if slot.shape[1:] == kernel.shape[1:]:
            assert not slot.numpy()[..., 43:].any()


def test_one_trace_serves_every_penalty_placement_and_width_of_a_bucket(data: Dataset, engine: FusedEngine) -> None:
    """Four trials alone, one after another: one program, traced once (over every trial the module trained in it)."""
    before = set(engine.cache.programs)
    trials = mixed_batch()[:4]
    for trial in trials:
        assert isinstance(outcomes(engine, [trial], data)[0], TrialResult)
    assert len(set(engine.cache.programs) - before) <= 1
    assert len({id(program(engine, trial, data)) for trial in trials}) == 1
    assert program(engine, trials[0], data).program.experimental_get_tracing_count() == 1


def test_an_activation_that_is_not_zero_at_zero_trains_at_its_own_width(data: Dataset) -> None:
    cache = ProgramCache()
    sigmoid = config(Regularizer.L1, Placement.PRE_ACTIVATION, 43, activation="sigmoid")
    assert cache.key(sigmoid, data, None, 1, 2).config.hidden_units == 43
    assert cache.key(config(Regularizer.L1, Placement.PRE_ACTIVATION, 43), data, None, 1, 2).config.hidden_units == 64
    narrow, wide = (build_model(template_config(sigmoid, w), data.input_shape, 2, None, Probes()) for w in (3, 5))
    assert not paddable(narrow, wide)


def test_a_diverging_or_pruned_trial_ends_alone_and_the_others_finish(data: Dataset, engine: FusedEngine) -> None:
    """A batch of eight (the program of the batch above): trial 1 diverges, trial 2 is pruned, the six others finish."""

    class PruneAtOnce(Monitor):
        def report(self, epoch: int, mean_test_accuracy: float) -> None:
            raise optuna.TrialPruned(f"pruned at epoch {epoch}")

    configs = mixed_batch()[:8]
    configs[1] = config(Regularizer.L2, Placement.KERNEL, 42, coefficient=1e38)
    monitors = [Monitor(), Monitor(), PruneAtOnce(), *(Monitor() for _ in configs[3:])]
    ended = outcomes(engine, configs, data, monitors)
    assert isinstance(ended[1], NonFiniteLoss)
    assert isinstance(ended[2], optuna.TrialPruned)
    alone = outcomes(engine, [configs[3]], data)[0]
    assert all(isinstance(ended[k], TrialResult) for k in (0, *range(3, len(configs))))
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


def test_merged_trials_of_three_buckets_train_in_the_widest_and_match_the_keras_engine(
    data: Dataset, engine: FusedEngine, keras_weights, monkeypatch: pytest.MonkeyPatch
) -> None:
    """How a GPU trains a batch (``merge``): one program at the widest trial's bucket. Eight trials of widths 5, 20
    and 41–49 (buckets 8, 32 and 64): the program of 64 units and 16 rows, the batch of eight's above."""
    monkeypatch.setattr(engine, "merge", True)
    configs = [
        config(Regularizer.L1, Placement.POST_ACTIVATION, 20),
        *mixed_batch()[3:9],
        config(Regularizer.L1_L2, Placement.PRE_ACTIVATION, 5),
    ]
    assert {bucket_of(t.hidden_units) for t in configs} == {8, 32, 64}
    before = set(engine.cache.programs)
    fits = fit_many(engine, configs, data, SEEDS)
    assert len(set(engine.cache.programs) - before) <= 1
    loop = program(engine, configs[1], data, len(configs))
    assert loop.rows == 16 and loop.weights[0].shape[-1] == bucket_of(45) == 64
    for trial, models in zip(configs, fits):
        for want, have in zip(keras_weights(trial, SEEDS[1]), models[1].get_weights(), strict=True):
            np.testing.assert_allclose(have, want, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("layers", [1, 2])
def test_the_figures_a_padded_program_counts_are_keras_figures_of_the_trained_models(
    data: Dataset, engine: FusedEngine, layers: int
) -> None:
    """``train`` counts the final figures on the padded template; Keras on each seed's trained model (the same
    training again, through ``fit_models``) gives the same."""
    from actreg_search.engine.metrics import seed_result

    trial = config(Regularizer.L1, Placement.POST_ACTIVATION, 43, coefficient=3e-3, hidden_layers=layers)
    result = outcomes(engine, [trial], data)[0]
    fit = engine.fit_models(trial, data, SEEDS)
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
