"""Early stopping per row in the fused engine against Keras' own ``EarlyStopping(restore_best_weights=True)``."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from actreg_search.data.datasets import Dataset, load_dataset
from actreg_search.engine.fused import FusedEngine
from actreg_search.engine.keras_engine import KerasEngine
from actreg_search.spec.specs import DataSpec, Validation
from actreg_search.spec.trial import EarlyStopping, TrialConfig
from actreg_search.spec.vocab import Placement, Protocol, Regularizer
from tests.engine.helpers import fit_many

SEEDS = (0,)  # its three fold models stop at three epochs (9, 10, 7), keeping epochs 6, 7 and 4
RULE = EarlyStopping(patience=3, min_delta=1e-3)
"""With the rate of :func:`trial`, rows stop within about ten epochs: Keras' fits here pay ~65 ms an epoch."""


@pytest.fixture(scope="module")
def kfold() -> Dataset:
    return load_dataset(DataSpec(validation=Validation(Protocol.KFOLD, folds=3), n_samples=300, train_size=150))


def trial(**extra: object) -> TrialConfig:
    """The tutorial's two-layer model (a hidden Dense and the head), no dropout; full batches (100 samples a fold)."""
    base = TrialConfig(Regularizer.L1, Placement.PRE_ACTIVATION, 1e-3, 0.0, hidden_units=32,
                       epochs=120, learning_rate=0.25, batch_size=128, early_stopping=RULE)
    return replace(base, **extra)


def test_each_row_stops_and_restores_where_keras_early_stopping_does(kfold):
    """The keras engine's fit runs Keras' own EarlyStopping on the fold's validation samples (one batch): each fused
    row stops at its epoch, keeps its epoch's weights, and the program records both."""
    engine = FusedEngine()
    config = trial()
    (models,) = fit_many(engine, [config], kfold, SEEDS)
    (loop, _), = engine.cache.programs.values()
    stopped, restored = loop.stopping.epochs(config.epochs)
    rows = [(seed, fold) for seed in SEEDS for fold in kfold.folds(seed)]
    assert len(set(stopped)) == len(rows) and min(stopped) < config.epochs, "rows stopping alike would test less"
    assert all(1 < kept < stop for stop, kept in zip(stopped, restored)), "each row keeps an epoch before its last"
    for k, (seed, fold) in enumerate(rows):
        reference, recorder = KerasEngine.fit_recorded(config, kfold.fold(fold), seed)
        keras_stop, keras_restored = recorder.epochs_kept["stopped_epoch"], recorder.epochs_kept["restored_epoch"]
        assert (stopped[k], restored[k]) == (keras_stop, keras_restored), f"row {k}"
        # The restored weights: float32 sums in another order drift apart over the epochs (about 1e-5 after 10 at
        # this rate, 3e-5 after 50 at a rate of 0.03, 1e-3 after 160 at 0.01), which the stop epochs above do not.
        for want, got in zip(reference.get_weights(), models[k].get_weights()):
            np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-4)


def test_without_a_rule_nothing_stops_and_the_program_keeps_no_state(kfold):
    """The program the engine's cache makes for a trial without a rule (the one it would train in, built but not
    compiled: training it is tests/engine/test_folds.py's) has no stopping state; the same trial's with the rule has."""
    engine, rows = FusedEngine(), sum(len(kfold.folds(seed)) for seed in SEEDS)
    keys = [engine.cache.key(trial(early_stopping=rule), kfold, None, 1, rows) for rule in (None, RULE)]
    programs = [engine.cache.get(key, kfold)[0] for key in keys]
    assert len(engine.cache.programs) == 2
    assert programs[0].stopping is None
    assert programs[1].stopping is not None and programs[1].stopping.rule == RULE


def test_both_engines_record_each_seeds_stop_and_restored_epochs_alike():
    """Through each engine's train: per seed (a hold-out row each), the epochs, and curves held at the stop."""
    holdout = load_dataset(DataSpec(validation=Validation(Protocol.HOLDOUT, fraction=0.3), n_samples=300, train_size=150))
    config = trial(epochs=60)  # the seeds stop at epochs 9 and 7
    fused, reference = FusedEngine().train(config, holdout, [0, 1]), KerasEngine().train(config, holdout, [0, 1])
    for ours, theirs in zip(fused.seeds, reference.seeds):
        assert (ours.stopped_epoch, ours.restored_epoch) == (theirs.stopped_epoch, theirs.restored_epoch)
        assert len(ours.validation_curve) == len(theirs.validation_curve) == len(fused.curve_epochs)
    assert min(s.stopped_epoch for s in fused.seeds) < config.epochs
    assert len({s.stopped_epoch for s in fused.seeds}) == 2 and all(s.restored_epoch < s.stopped_epoch for s in fused.seeds)


def test_export_model_retrains_for_the_median_restored_epoch_and_says_so(tmp_path):
    import json
    import statistics

    from click.testing import CliRunner

    import actreg_search
    from actreg_search.cli import app

    study = tmp_path / "s.toml"
    study.write_text(
        '[study]\nname = "es"\nn_trials = 1\nseeds = 3\nsampler = "random"\n'
        '[data]\nn_samples = 300\ntrain_size = 150\nvalidation = 0.3\n'
        '[model]\nhidden_units = 16\nepochs = 100\nbatch_size = 256\nlearning_rate = 0.02\n'
        'early_stopping = { patience = 5, min_delta = 0.001 }\n'
        '[space]\nregularizer = "none"\n'
    )
    url = f"sqlite:///{tmp_path / 'es.db'}"
    assert CliRunner().invoke(app, ["run", str(study), "--storage", url, "--recycle-mb", "0"]).exit_code == 0
    (record,) = actreg_search.load("es", storage=url).trials
    restored = record.per_seed["restored_epoch"]
    assert len(restored) == 3 and all(1 <= e <= 100 for e in record.per_seed["stopped_epoch"])
    exported = CliRunner().invoke(app, ["export", "es", "--storage", url, "--model", str(tmp_path / "m.keras"), "--out", str(tmp_path / "b.json")])
    assert exported.exit_code == 0, exported.output
    median = max(1, round(statistics.median(restored)))
    assert f"for {median} epochs (the median epoch its 3 seeds kept under early stopping)" in exported.output
    assert json.loads((tmp_path / "b.json").read_text())[0]["per_seed"]
