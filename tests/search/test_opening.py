"""Opening a study: a rerun resumes with the same settings (its stored protocol), and its interrupted trials run again."""

from __future__ import annotations

import dataclasses

import optuna
import pytest
from optuna.trial import TrialState, create_trial

from actreg_search.errors import SpecError
from actreg_search.search.opening import check_resumable, requeue_interrupted
from actreg_search.search.study import StopReason, run_study
from actreg_search.spec.parser import load_spec
from actreg_search.spec.specs import ON_TEST
from actreg_search.store import keys as attrs
from actreg_search.store.reader import load_results
from actreg_search.store.storage import open_storage
from tests.fakes import FakeEngine


def _trials(storage_url: str, name: str = "tiny") -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name=name, storage=storage_url).trials


def test_changed_settings_are_refused_before_any_trial(write_study, storage_url):
    spec = load_spec(write_study(n_trials=1))
    run_study(spec, storage_url, engine=FakeEngine())
    with pytest.raises(SpecError, match=r"\[model\] epochs: stored 4, now 9") as refused:
        run_study(spec.with_overrides(epochs=9), storage_url, engine=FakeEngine())
    assert "--name NEW" in str(refused.value) and "actreg-search delete tiny" in str(refused.value)
    assert len(_trials(storage_url)) == 1
    other = run_study(spec.with_overrides(epochs=9, name="tiny-9"), storage_url, engine=FakeEngine())
    assert (other.study_name, other.finished) == ("tiny-9", 1)


def test_a_resume_keeps_the_stored_protocol_and_refuses_another(write_study, storage_url):
    """No [data] validation on a resume is no change of settings; naming another protocol is one."""
    path = write_study(n_trials=1)
    path.write_text(path.read_text().replace("train_size = 30", "train_size = 30\nvalidation = { folds = 3 }"))
    first = run_study(load_spec(path), storage_url, engine=FakeEngine())
    assert first.finished == 1
    unsaid = path.with_name("unsaid.toml")
    unsaid.write_text(path.read_text().replace("validation = { folds = 3 }\n", ""))
    again = run_study(load_spec(unsaid).with_overrides(n_trials=2), storage_url, engine=FakeEngine())
    assert (again.finished, again.ran) == (2, 1)
    stored = load_results(open_storage(storage_url, create=False), "tiny")
    assert stored.validation.folds == 3 and stored.selection_metric == "validation_accuracy"
    assert stored.split is not None and (stored.split.train, stored.split.validation, stored.split.folds) == (20, 10, 3)
    other = path.with_name("other.toml")
    other.write_text(path.read_text().replace("validation = { folds = 3 }", "validation = 0.2"))
    with pytest.raises(SpecError, match=r"\[data\] validation: stored \{'folds': 3\}, now 0.2"):
        run_study(load_spec(other).with_overrides(n_trials=3), storage_url, engine=FakeEngine())
    assert len(_trials(storage_url)) == 2


def test_a_study_stored_before_validation_resumes_on_the_test_set(write_study, storage_url):
    spec = load_spec(write_study(n_trials=1))
    legacy = dataclasses.replace(spec, data=dataclasses.replace(spec.data, validation=ON_TEST))
    run_study(legacy, storage_url, engine=FakeEngine())
    storage = open_storage(storage_url, create=False)
    study = optuna.load_study(study_name="tiny", storage=storage)
    raw = study.user_attrs[attrs.SPEC]
    raw["data"].pop("validation")  # as a study made before [data] validation stored it
    study.set_user_attr(attrs.SPEC, raw)
    resumed = run_study(spec.with_overrides(n_trials=2), storage_url, engine=FakeEngine())  # the file says nothing
    assert resumed.finished == 2
    trials = _trials(storage_url)
    assert all("validation_accuracy" not in t.user_attrs for t in trials)  # selected on the test set, as stored
    assert trials[1].value == pytest.approx(trials[1].user_attrs["test_accuracy_mean"])


def test_interrupted_trial_is_failed_then_retried_with_its_params(write_study, storage_url):
    spec = load_spec(write_study(n_trials=2))
    summary = run_study(spec, storage_url, engine=FakeEngine(interrupt=lambda c: True))
    assert summary.reason is StopReason.INTERRUPTED and summary.finished == 0
    summary = run_study(spec, storage_url, engine=FakeEngine())
    assert summary.finished == 2
    trials = _trials(storage_url)
    assert trials[0].state is TrialState.FAIL and trials[0].user_attrs["fail_reason"] == "interrupted"
    assert trials[1].params == trials[0].params and trials[1].state is TrialState.COMPLETE


def test_a_study_not_made_by_actreg_search_is_refused(write_study, storage_url):
    storage = open_storage(storage_url, create=True)
    optuna.create_study(study_name="tiny", storage=storage)
    with pytest.raises(SpecError, match="study 'tiny' exists but was not created by actreg-search"):
        check_resumable(storage, load_spec(write_study()))
    check_resumable(storage, load_spec(write_study(filename="new.toml", name="new")))  # a new study: nothing to check


def test_an_interrupted_trial_is_queued_once_and_not_after_it_ran_again():
    study = optuna.create_study()
    distributions = {"x": optuna.distributions.FloatDistribution(0, 1)}
    for x, interrupted in ((0.1, True), (0.2, False), (0.3, True)):
        study.add_trial(create_trial(
            state=TrialState.FAIL, params={"x": x}, distributions=distributions,
            user_attrs={attrs.INTERRUPTED: True} if interrupted else {},
        ))
    study.add_trial(create_trial(state=TrialState.COMPLETE, value=1.0, params={"x": 0.3}, distributions=distributions))
    requeue_interrupted(study)
    assert len(study.get_trials(states=(TrialState.WAITING,))) == 1  # 0.2 failed on its own; 0.3 already ran again
    assert study.ask().suggest_float("x", 0, 1) == 0.1
