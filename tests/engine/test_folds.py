"""Validation folds as rows of the fused engine's program: each row trains on its own fold's training samples only.

Under a validation protocol a program's rows are trials × seeds × folds
(seed-major within a trial). Each row must train exactly the model that
``KerasEngine.fit(config, data.fold(fold), seed)`` trains: the seed's initial
weights, fit on the fold's training samples alone. On circles (30 training
samples, batch 32) a fold's training samples are one batch, so Keras' own
shuffling does not enter and every weight matches to float rounding.

Every trial trains :data:`EPOCHS` epochs, and the rows the weight tests compare
are checked to have moved away from their initial weights.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from actreg_search.data.datasets import Dataset, load_dataset
from actreg_search.engine.base import TrialResult
from actreg_search.engine.fused import FusedEngine
from actreg_search.engine.keras_engine import KerasEngine
from actreg_search.engine.metrics import accuracy
from actreg_search.engine.programs import bucket_of
from actreg_search.engine.seeds import build_models
from actreg_search.spec.specs import ON_TEST, DataSpec, Validation
from actreg_search.spec.trial import TrialConfig
from actreg_search.spec.vocab import Placement, Protocol, Regularizer
from tests.engine.helpers import KeepingEngine, fit_many
from tests.engine.test_programs import CASES

SEEDS = [3, 7]
FOLDS = 3
KFOLD = Validation(Protocol.KFOLD, folds=FOLDS)
HOLDOUT = Validation(Protocol.HOLDOUT, fraction=0.2)
EPOCHS = 3
"""Epochs of every trial here. Three Adam steps (lr 1e-3) move the weights by up to ~3e-3, thousands of times the
weight comparison's tolerance (:func:`assert_moved` checks that they moved); a row trained on another fold's samples,
or with its coefficients doubled, misses the keras engine's weights by over a hundred times that tolerance, in every
case (measured when this was cut from 20 epochs, which only paid model.fit's per-epoch overhead, ~35 ms an epoch and
the keras engine's curve figures, in each Keras fit: no program compiles faster for fewer epochs)."""


def config(regularizer: Regularizer, placement: Placement | None, width: int, coefficient: float = 1e-2, **extra: object) -> TrialConfig:
    """A two-layer mlp trial (:data:`EPOCHS` epochs unless told)."""
    l1 = coefficient if regularizer in (Regularizer.L1, Regularizer.L1_L2) else 0.0
    l2 = coefficient * 0.5 if regularizer in (Regularizer.L2, Regularizer.L1_L2) else 0.0
    return TrialConfig(regularizer, placement, l1=l1, l2=l2, hidden_units=width, **{"epochs": EPOCHS, "hidden_layers": 2, **extra})


def cases_batch() -> list[TrialConfig]:
    """Every regularizer × placement and none, two hidden layers, widths 41–49 (bucket 64), coefficients 1e-2 to 1e-4."""
    return [config(r, p, 41 + i * 8 // 9, coefficient=10 ** -(2 + i % 3)) for i, (r, p) in enumerate(CASES)]


def assert_same_weights(have: list[np.ndarray], want: list[np.ndarray], what: str) -> None:
    assert len(have) == len(want), what
    for k, (h, w) in enumerate(zip(have, want, strict=True)):
        assert h.shape == w.shape, f"{what}: weight {k}"
        np.testing.assert_allclose(h, w, rtol=1e-4, atol=1e-6, err_msg=f"{what}: weight {k}")


def assert_moved(have: list[np.ndarray], trial: TrialConfig, data: Dataset, seed: int, what: str) -> None:
    """Every weight (kernels and biases) has left the seed's initial value by more than the comparison's tolerance:
    a comparison of trained weights is not one of initial ones."""
    (initial,) = build_models(trial, data, [seed], None, seed_tensorflow=False)
    for k, (h, w) in enumerate(zip(have, initial.get_weights(), strict=True)):
        assert not np.allclose(h, w, rtol=1e-4, atol=1e-6), f"{what}: weight {k} did not move"


class RecordingKerasEngine(KerasEngine):
    """The keras engine, keeping the weights of each model it fits (``train``'s fold models, seed-major)."""

    def __init__(self) -> None:
        self.weights: list[list[np.ndarray]] = []

    def fit_recorded(self, *args, **kwargs):  # type: ignore[override] - the static method, called on the instance
        net, recorder = KerasEngine.fit_recorded(*args, **kwargs)
        self.weights.append(net.get_weights())
        return net, recorder


@pytest.fixture(scope="module")
def kfold() -> Dataset:
    data = load_dataset(DataSpec(validation=KFOLD))
    assert len(data.x_train) == 30 and all(len(f.fit) <= 32 for s in SEEDS for f in data.folds(s))  # one batch a row
    return data


@pytest.fixture(scope="module")
def holdout() -> Dataset:
    return load_dataset(DataSpec(validation=HOLDOUT))


@pytest.fixture(scope="module")
def case_runs(kfold: Dataset) -> tuple[list, dict]:
    """Every case in ONE program of cases × seeds × folds rows: each case's trained models (one a row) and its
    per-seed figures (``TrialResult``), from the same training."""
    engine = KeepingEngine()
    fits = fit_many(engine, cases_batch(), kfold, SEEDS)
    (loop, _), = engine.cache.programs.values()
    assert loop.rows == len(CASES) * len(SEEDS) * FOLDS
    assert loop.weights[0].shape[-1] == 64
    return fits, engine.results


@pytest.fixture(scope="module")
def case_fits(case_runs: tuple[list, dict]) -> list:
    return case_runs[0]


#: The case whose per-seed figures are compared with the keras engine's ``train`` (L1 after the activation).
FIGURES_CASE = CASES.index((Regularizer.L1, Placement.POST_ACTIVATION))


@pytest.fixture(scope="module")
def keras_figures(kfold: Dataset) -> tuple[TrialResult, list[list[np.ndarray]]]:
    """The keras engine's ``train`` of the figures case on seed 7: its per-seed figures, and the weights of the
    three fold models it fit (the weight test's references for that case's seed-7 rows)."""
    engine = RecordingKerasEngine()
    result = engine.train(cases_batch()[FIGURES_CASE], kfold, SEEDS[1:])
    assert len(engine.weights) == FOLDS
    return result, engine.weights


def checked_rows(index: int) -> list[int]:
    """The row of case ``index`` checked against Keras, rotating, so that over the cases every row (seed × fold)
    is checked once or twice (60 Keras fits were 150 s on the busy 2-core VM; the suite has a time budget)."""
    return [index % (len(SEEDS) * FOLDS)]


def test_the_checked_rows_cover_every_seed_and_fold() -> None:
    covered = [row for index in range(len(CASES)) for row in checked_rows(index)]
    assert set(covered) == set(range(len(SEEDS) * FOLDS))


@pytest.mark.parametrize("index", range(len(CASES)), ids=[f"{r.value}-{p.value if p else 'none'}" for r, p in CASES])
def test_fold_rows_of_a_two_layer_trial_match_the_keras_engine_on_their_fold(
    kfold: Dataset, case_fits: list, index: int, request: pytest.FixtureRequest
) -> None:
    """Every weight after :data:`EPOCHS` epochs, rel 1e-4, against ``fit`` on the fold's view; the trial trained in
    one program of 10 cases × 2 seeds × 3 folds (rows seed-major within a trial). The figures case's seed-7 rows,
    all three, against the fold models the keras engine's ``train`` fit for the figures test (the same fits)."""
    trial = cases_batch()[index]
    models = case_fits[index]
    assert len(models) == len(SEEDS) * FOLDS  # one model a row, seed-major
    assert len(models[0].get_weights()) == 6  # two hidden Dense layers and the head
    rows = [(seed, f, fold) for seed in SEEDS for f, fold in enumerate(kfold.folds(seed))]
    if index == FIGURES_CASE:
        _, fold_weights = request.getfixturevalue("keras_figures")
        seed7 = [row for row, (seed, _, _) in enumerate(rows) if seed == SEEDS[1]]
        assert set(checked_rows(index)) <= set(seed7)
        expected = dict(zip(seed7, fold_weights, strict=True))
    else:
        expected = {row: KerasEngine.fit(trial, kfold.fold(rows[row][2]), rows[row][0]).get_weights() for row in checked_rows(index)}
    for row, want in expected.items():
        seed, f, _ = rows[row]
        have = models[row].get_weights()
        assert_moved(have, trial, kfold, seed, f"seed {seed} fold {f}")
        assert_same_weights(have, want, f"seed {seed} fold {f}")


def test_the_fold_rows_of_a_seed_differ_from_each_other_and_from_training_on_the_whole_split(kfold: Dataset, case_fits: list) -> None:
    """The comparison above can fail: a seed's fold models are not alike, nor the model trained on all 30 samples."""
    trial, models = cases_batch()[1], case_fits[1]
    whole = KerasEngine.fit(trial, kfold.without_validation(), SEEDS[0]).get_weights()
    for f in range(FOLDS):
        mine = models[f].get_weights()
        assert not np.allclose(mine[0], whole[0], rtol=1e-3, atol=1e-5)
        for other in range(f + 1, FOLDS):
            assert not np.allclose(mine[0], models[other].get_weights()[0], rtol=1e-3, atol=1e-5)


def test_k_fold_per_seed_figures_are_the_keras_engines_means_over_the_seeds_folds(
    kfold: Dataset, case_runs: tuple[list, dict], keras_figures: tuple
) -> None:
    """Seed 7 of the figures case, trained in the cases' program (a seed's rows' order is the weight test's):
    its figures are the keras engine's ``train``'s, the means over its three fold models."""
    fused, (reference, _) = case_runs[1][FIGURES_CASE], keras_figures
    assert isinstance(fused, TrialResult) and isinstance(reference, TrialResult)
    assert [s.seed for s in fused.seeds] == SEEDS and [s.seed for s in reference.seeds] == SEEDS[1:]
    assert fused.curve_epochs == reference.curve_epochs and fused.layers == reference.layers
    for got, want in zip(fused.seeds[1:], reference.seeds, strict=True):
        assert got.seed == want.seed
        assert got.validation_accuracy is not None
        assert (got.train_accuracy, got.validation_accuracy, got.test_accuracy) == pytest.approx(
            (want.train_accuracy, want.validation_accuracy, want.test_accuracy), rel=1e-12, abs=1e-12
        )
        assert got.train_loss == pytest.approx(want.train_loss, rel=1e-4)
        assert got.sparsity == pytest.approx(want.sparsity, abs=1e-12)
        assert got.validation_sparsity == pytest.approx(want.validation_sparsity, abs=1e-12)
        assert got.activation_mean == pytest.approx(want.activation_mean, rel=1e-4)
        for curve in ("train_curve", "validation_curve", "test_curve"):
            assert len(getattr(got, curve)) == len(fused.curve_epochs)
            assert getattr(got, curve) == pytest.approx(getattr(want, curve), abs=1e-12), curve
    # a seed's figure is the mean over its folds: fold models' validation accuracies are m-sample fractions,
    # their mean over 3 folds a multiple of 1 / (3 m)
    m = len(kfold.folds(SEEDS[0])[0].val)
    for got in fused.seeds:
        assert got.validation_accuracy * FOLDS * m == pytest.approx(round(got.validation_accuracy * FOLDS * m))


def test_a_five_fold_trial_compiles_one_program_like_a_plain_trial_and_the_next_in_its_bucket_none() -> None:
    seeds = [0, 1]
    five_fold = load_dataset(DataSpec(validation=Validation(Protocol.KFOLD, folds=5)))
    plain = load_dataset(DataSpec(validation=ON_TEST))
    first = config(Regularizer.L1, Placement.PRE_ACTIVATION, 43, coefficient=1e-3, hidden_layers=1)
    second = config(Regularizer.L2, Placement.KERNEL, 57, coefficient=5e-2, hidden_layers=1)
    assert bucket_of(43) == bucket_of(57) == 64

    folded, unfolded = FusedEngine(), FusedEngine()
    assert isinstance(folded.train(first, five_fold, seeds), TrialResult)
    assert isinstance(unfolded.train(first, plain, seeds), TrialResult)
    assert len(folded.cache.programs) == len(unfolded.cache.programs) == 1
    (loop, _), = folded.cache.programs.values()
    (plain_loop, _), = unfolded.cache.programs.values()
    assert (loop.rows, plain_loop.rows) == (10, 2)  # 2 seeds × 5 folds: rows of the one program
    assert loop.program.experimental_get_tracing_count() == 1

    result = folded.train(second, five_fold, seeds)
    assert isinstance(result, TrialResult) and len(result.seeds) == 2
    assert all(s.validation_accuracy is not None for s in result.seeds)
    assert len(folded.cache.programs) == 1  # nothing new compiled
    assert folded.cache.programs[next(iter(folded.cache.programs))][0] is loop
    assert loop.program.experimental_get_tracing_count() == 1


#: The hold-out trial of the two tests below.
HOLDOUT_TRIAL = config(Regularizer.L1, Placement.KERNEL, 42, coefficient=1e-3)


def trained(data: Dataset) -> tuple[TrialResult, list]:
    """The hold-out trial's per-seed figures (``train``) and its trained models (``fit_models``), from one program."""
    engine = FusedEngine()
    result = engine.train(HOLDOUT_TRIAL, data, SEEDS)
    models = engine.fit_models(HOLDOUT_TRIAL, data, SEEDS).models
    assert isinstance(result, TrialResult) and len(models) == len(SEEDS)
    assert len(engine.cache.programs) == 1
    return result, models


@pytest.fixture(scope="module")
def holdout_trained(holdout: Dataset) -> tuple[TrialResult, list]:
    return trained(holdout)


def test_hold_out_rows_count_their_figures_on_their_own_samples(holdout: Dataset, holdout_trained: tuple) -> None:
    """``train_accuracy`` on the seed's training samples and ``validation_accuracy`` on its held-out ones,
    as Keras computes them on the trained models; and those models are ``fit`` on the seed's view."""
    result, models = holdout_trained
    for counted, model, seed in zip(result.seeds, models, SEEDS, strict=True):
        (fold,) = holdout.folds(seed)
        view = holdout.fold(fold)
        assert len(view.x_train) == 24 and len(view.x_val) == 6
        assert counted.train_accuracy == accuracy(model, view.x_train, view.y_train)
        assert counted.validation_accuracy == accuracy(model, view.x_val, view.y_val)
        assert counted.test_accuracy == accuracy(model, view.x_test, view.y_test)
        assert_moved(model.get_weights(), HOLDOUT_TRIAL, holdout, seed, f"seed {seed}")
        assert_same_weights(model.get_weights(), KerasEngine.fit(HOLDOUT_TRIAL, view, seed).get_weights(), f"seed {seed}")


def test_a_row_never_sees_its_validation_samples(holdout: Dataset, holdout_trained: tuple) -> None:
    """Garbage in seed 3's validation samples (features only: the split depends on the labels) changes
    nothing seed 3's model learns, and does change seed 7's, which trains on some of them."""
    (fold,) = holdout.folds(SEEDS[0])
    (other,) = holdout.folds(SEEDS[1])
    assert np.intersect1d(fold.val, other.fit).size  # seed 7 trains on some of seed 3's validation samples
    x_train = holdout.x_train.copy()
    x_train[fold.val] = 50.0
    spoiled = dataclasses.replace(holdout, x_train=x_train)
    np.testing.assert_array_equal(spoiled.folds(SEEDS[0])[0].val, fold.val)

    (clean_result, clean_models), (dirty_result, dirty_models) = holdout_trained, trained(spoiled)
    assert_same_weights(dirty_models[0].get_weights(), clean_models[0].get_weights(), "seed 3")
    assert not np.allclose(dirty_models[1].get_weights()[0], clean_models[1].get_weights()[0], rtol=1e-3, atol=1e-5)
    # the figures: seed 3's training and test accuracy unchanged, its validation accuracy measured on the garbage
    clean, dirty = clean_result.seeds[0], dirty_result.seeds[0]
    assert (dirty.train_accuracy, dirty.test_accuracy) == (clean.train_accuracy, clean.test_accuracy)
    assert dirty.train_loss == pytest.approx(clean.train_loss, rel=1e-6)
    assert dirty.validation_accuracy == accuracy(dirty_models[0], x_train[fold.val], holdout.y_train[fold.val])
