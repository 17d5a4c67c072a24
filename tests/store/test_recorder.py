"""The one writer: what each step of a trial stores, read back by the one reader."""

from __future__ import annotations

import os

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState

from actreg_search.store import keys as attrs
from actreg_search.spec.trial import TrialConfig
from actreg_search.results.records import SplitCounts
from actreg_search.spec.parser import parse_spec
from actreg_search.spec.specs import ON_TEST, spec_to_raw
from actreg_search.store.reader import interrupted, load_results, stored_spec
from actreg_search.store.recorder import TrialRecorder, record_study
from actreg_search.store.storage import open_storage
from actreg_search.spec.vocab import Placement, Regularizer
from tests.store.test_reader import result

CONFIG = TrialConfig(regularizer=Regularizer.L2, placement=Placement.POST_ACTIVATION, l1=0.0, l2=1e-3, hidden_units=16)


def test_a_completed_trial_round_trips(storage_url):
    storage = open_storage(storage_url, create=True)
    study = optuna.create_study(study_name="s", storage=storage, direction="maximize")
    trial = study.ask()
    recorder = TrialRecorder(trial)
    recorder.started(CONFIG, (0, 1))
    recorder.completed(result((0.8, 0.6)), worker_rss_mb=512.345)
    study.tell(trial, 0.7)
    (record,) = load_results(storage, "s", curves="all").trials
    assert record.config == CONFIG and record.seeds == (0, 1)
    assert record.per_seed["test_accuracy"] == (0.8, 0.6) and record.per_seed["gap"] == pytest.approx((0.2, 0.4))
    assert record.mean("test_accuracy") == pytest.approx(0.7)
    assert record.wall_time_s == 1.235 and record.worker_rss_mb == 512.3
    assert record.curves.epochs == (1, 2, 3) and record.curves.train[1] == (0.5, 0.75, 1.0)
    assert record.worker.endswith(f":{os.getpid()}")


def test_failures_and_partial_curves(storage_url):
    storage = open_storage(storage_url, create=True)
    study = optuna.create_study(study_name="s", storage=storage)
    diverged, stopped, pruned = study.ask(), study.ask(), study.ask()
    TrialRecorder(diverged).failed("non-finite loss on seed 1 at epoch 3", seed=1)
    TrialRecorder(stopped).failed("interrupted", interrupted=True)
    TrialRecorder(pruned).partial_curves((1, 2), np.array([[0.51234, 0.6]]), np.array([[0.4, 0.5]]))
    study.tell(diverged, state=TrialState.FAIL)
    study.tell(stopped, state=TrialState.FAIL)
    study.tell(pruned, state=TrialState.PRUNED)
    records = load_results(storage, "s", curves="all").trials
    frozen = study.get_trials()
    assert records[0].fail_reason.startswith("non-finite") and frozen[0].user_attrs[attrs.FAIL_SEED] == 1
    assert records[1].fail_reason == "interrupted" and [interrupted(t) for t in frozen] == [False, True, False]
    assert records[2].curves.train == ((0.5123, 0.6),)


def test_per_layer_figures_round_trip(storage_url):
    import dataclasses

    base = result((0.8, 0.6))
    seeds = tuple(
        dataclasses.replace(s, layer_sparsity=(("h1", 0.5 + i / 10), ("h2", 0.25)),
                            layer_activation_mean=(("h1", 0.1), ("h2", 0.2 + i / 10)))
        for i, s in enumerate(base.seeds)
    )
    storage = open_storage(storage_url, create=True)
    study = optuna.create_study(study_name="s", storage=storage, direction="maximize")
    trial = study.ask()
    TrialRecorder(trial).completed(dataclasses.replace(base, seeds=seeds, layers=("h1", "h2")), worker_rss_mb=1.0)
    study.tell(trial, 0.7)
    (record,) = load_results(storage, "s").trials
    assert record.per_layer == {
        "sparsity": {"h1": (0.5, 0.6), "h2": (0.25, 0.25)},
        "activation_mean": {"h1": (0.1, 0.1), "h2": (0.2, pytest.approx(0.3))},
    }


def test_one_marked_layer_stores_its_figures_once():
    """With one marked layer the per-layer figures are the overall ones: not stored twice (two writes a trial)."""
    import dataclasses

    from actreg_search.store.recorder import completed_attrs

    base = result((0.8, 0.6))
    seeds = tuple(dataclasses.replace(s, layer_sparsity=(("hidden", 0.5),), layer_activation_mean=(("hidden", 0.2),))
                  for s in base.seeds)
    stored = completed_attrs(dataclasses.replace(base, seeds=seeds))
    assert attrs.LAYER_SPARSITY not in stored and attrs.LAYER_ACTIVATION_MEAN not in stored
    assert stored["sparsity"] == [0.5, 0.5]


def test_a_study_keeps_the_file_and_splits_it_was_made_with(storage_url):
    storage = open_storage(storage_url, create=True)
    study = optuna.create_study(study_name="s", storage=storage)
    first = parse_spec('[study]\nname = "s"\nseeds = 2\n[model]\nepochs = 3\n')
    record_study(study, first)  # a worker's: no splits
    assert attrs.SPLIT not in study.user_attrs
    record_study(study, first.with_overrides(n_trials=99), SplitCounts(train=24, validation=6, test=70))
    assert study.user_attrs[attrs.SPEC] == spec_to_raw(first)  # a rerun's settings do not overwrite the study's
    assert stored_spec(storage, "s") == first.resolved(ON_TEST)  # a file without [data] validation: as stored before it existed
    assert load_results(storage, "s").split == SplitCounts(train=24, validation=6, test=70)
    record_study(study, first, SplitCounts(train=1, validation=1, test=1))
    assert load_results(storage, "s").split.train == 24
