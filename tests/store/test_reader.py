"""The one reader: Optuna's tables to the read model, reading only what is asked for."""

from __future__ import annotations

import subprocess
import sys

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import TrialState

from actreg_search.store import keys as attrs
from actreg_search.spec.trial import TrialConfig
from actreg_search.engine.base import SeedResult, TrialResult
from actreg_search.errors import StorageError
from actreg_search.spec.parser import parse_spec
from actreg_search.store.reader import (
    interrupted,
    list_studies,
    load_results,
    record_of,
    stored_spec,
    stored_study_file,
    summarize,
    trial_states,
)
from actreg_search.store.recorder import completed_attrs
from actreg_search.spec.specs import ON_TEST, spec_to_raw
from actreg_search.store.storage import open_storage
from actreg_search.spec.vocab import Placement, Regularizer

SPEC = parse_spec('[study]\nname = "s"\nseeds = 2\n[model]\nepochs = 3\n')
DISTRIBUTIONS = {"regularizer": CategoricalDistribution(["none", "l1"]), "coefficient": FloatDistribution(1e-6, 1e-2, log=True)}


def result(tests: tuple[float, float]) -> TrialResult:
    seeds = tuple(
        SeedResult(seed=i, train_accuracy=1.0, test_accuracy=t, train_loss=0.1, activation_mean=0.2, sparsity=0.5,
                   train_curve=(0.5, 0.75, 1.0), test_curve=(0.4, 0.6, t))
        for i, t in enumerate(tests)
    )
    return TrialResult(seeds=seeds, curve_epochs=(1, 2, 3), wall_time_s=1.23456, engine="fused")


def trial(tests: tuple[float, float], regularized: bool = True) -> optuna.trial.FrozenTrial:
    config = TrialConfig(
        regularizer=Regularizer.L1 if regularized else Regularizer.NONE,
        placement=Placement.KERNEL if regularized else None, l1=1e-4 if regularized else 0.0, l2=0.0, hidden_units=8,
    )
    params = {"regularizer": "l1", "coefficient": 1e-4} if regularized else {"regularizer": "none"}
    return optuna.trial.create_trial(
        value=sum(tests) / 2,
        params=params,
        distributions={k: DISTRIBUTIONS[k] for k in params},
        user_attrs={attrs.CONFIG: config.to_dict(), **completed_attrs(result(tests))},
    )


@pytest.fixture
def stored(storage_url):
    storage = open_storage(storage_url, create=True)
    study = optuna.create_study(study_name="s", storage=storage, direction="maximize")
    study.set_user_attr(attrs.SPEC, spec_to_raw(SPEC))
    study.add_trial(trial((0.7, 0.9)))  # 0: mean 0.8, spread
    study.add_trial(trial((0.8, 0.8)))  # 1: mean 0.8, steady: the best
    study.add_trial(trial((0.6, 0.6), regularized=False))  # 2: the baseline
    study.add_trial(optuna.trial.create_trial(state=TrialState.FAIL, user_attrs={attrs.FAIL_REASON: "boom"}))
    return storage, study


def test_records_match_optunas_own_trials_without_the_curves(stored):
    storage, study = stored
    results = load_results(storage, "s")
    # stored without [data] validation, as before validation existed: it reads as selected on the test set
    assert results.spec == SPEC.resolved(ON_TEST) and results.objectives == ("test_accuracy",)
    assert results.selects_on_test
    for record, frozen in zip(results.trials, study.get_trials(deepcopy=False), strict=True):
        expected = record_of(frozen)
        assert record.curves is None
        assert (record.number, record.state, record.params, record.config, record.values, record.seeds, record.per_seed,
                record.wall_time_s, record.fail_reason) == (
            expected.number, expected.state, expected.params, expected.config, expected.values, expected.seeds,
            expected.per_seed, expected.wall_time_s, expected.fail_reason)
        assert dict(record.distributions) == dict(expected.distributions)
        assert record.duration_s == pytest.approx(expected.duration_s or 0, abs=1e-3) or record.duration_s is None
        assert (record.worker, record.worker_rss_mb) == (expected.worker, expected.worker_rss_mb)


def test_curves_are_read_only_for_the_trials_asked_for(stored):
    storage, _ = stored
    drawn = load_results(storage, "s", curves="drawn")
    assert {t.number for t in drawn.trials if t.curves} == {1, 2}  # the best and the best unregularized
    assert drawn.trial(1).curves.epochs == (1, 2, 3) and drawn.trial(1).curves.test[0] == (0.4, 0.6, 0.8)
    assert {t.number for t in load_results(storage, "s", curves=[0]).trials if t.curves} == {0}
    assert {t.number for t in load_results(storage, "s", curves="all").trials if t.curves} == {0, 1, 2}


def test_every_reader_names_the_same_best_trial_on_a_tie(stored):
    """Trials 0 and 1 tie on the mean; the steadier (1) is the best for list, run's summary and show alike."""
    storage, _ = stored
    assert load_results(storage, "s").best.number == 1
    summary = summarize(storage, "s")
    assert (summary.best_trial, summary.best_value) == (1, pytest.approx(0.8))
    assert summary.counts.complete == 3 and summary.counts.failed == 1
    assert [s.name for s in list_studies(storage)] == ["s"]
    assert list_studies(storage)[0] == summary


def test_a_trial_failed_for_a_dead_worker_says_so(storage_url):
    storage = open_storage(storage_url, create=True)
    study = optuna.create_study(study_name="s", storage=storage)
    study.add_trial(optuna.trial.create_trial(state=TrialState.FAIL))
    (record,) = load_results(storage, "s").trials
    assert "stopped sending heartbeats" in record.fail_reason
    # Optuna's retry of a stale trial names the trial it retries: the failed one says by which trial.
    study.add_trial(optuna.trial.create_trial(state=TrialState.WAITING, system_attrs={"failed_trial": 0}))
    assert load_results(storage, "s").trials[0].fail_reason.endswith("; retried as trial 1")


def test_trial_states_and_missing_studies(stored):
    storage, _ = stored
    states = trial_states(storage, "s")
    assert [(n, s) for n, s, _ in states] == [(0, TrialState.COMPLETE), (1, TrialState.COMPLETE),
                                                (2, TrialState.COMPLETE), (3, TrialState.FAIL)]
    for read in (load_results, summarize, trial_states):
        with pytest.raises(StorageError, match="no study named 'x'.*studies there: s"):
            read(storage, "x")


def test_reading_imports_no_training_code(stored, storage_url):
    code = (
        "import sys\nfrom actreg_search.store.reader import load_results, list_studies\n"
        "from actreg_search.store.storage import open_storage\n"
        f"s = open_storage({storage_url!r}, create=False)\n"
        "load_results(s, 's', curves='drawn'); list_studies(s)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'sklearn')"
        " or m.startswith('actreg_search.engine')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_the_study_file_as_stored_and_as_read(stored, storage_url):
    storage, study = stored
    assert stored_study_file(storage, "s") == study.user_attrs[attrs.SPEC]
    assert stored_spec(storage, "s") == SPEC.resolved(ON_TEST)
    assert stored_study_file(storage, "missing") is None and stored_spec(storage, "missing") is None
    optuna.create_study(study_name="foreign", storage=storage)  # not made by actreg-search
    assert stored_study_file(storage, "foreign") is None
    study.set_user_attr(attrs.SPEC, {"study": {"name": 3}})  # a file this version cannot read
    assert stored_study_file(storage, "s") == {"study": {"name": 3}} and stored_spec(storage, "s") is None


def test_an_interrupted_trial_says_so():
    stopped = optuna.trial.create_trial(state=TrialState.FAIL, user_attrs={attrs.INTERRUPTED: True, attrs.FAIL_REASON: "interrupted"})
    failed = optuna.trial.create_trial(state=TrialState.FAIL, user_attrs={attrs.FAIL_REASON: "interrupted"})
    assert interrupted(stopped) and not interrupted(failed)
