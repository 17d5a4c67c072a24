"""One trial through the objective (fake engine), and the guard around a display."""

from __future__ import annotations

import optuna
import pytest
from optuna.trial import TrialState

from actreg_search import attrs
from actreg_search.data import load_dataset
from actreg_search.objective import SURPLUS, GuardedObserver, Objective, RunObserver
from actreg_search.parser import load_spec
from tests.fakes import FakeEngine


class _Recording(RunObserver):
    def __init__(self, fail_with: BaseException | None = None) -> None:
        self.events: list[tuple] = []
        self.fail_with = fail_with

    def on_trial_start(self, number, config, total_epochs):
        self.events.append(("start", number, total_epochs))
        if self.fail_with is not None:
            raise self.fail_with

    def on_epochs(self, done, total):
        self.events.append(("epochs", done, total))


def _objective(spec, engine, observer=None, target=10, checkpoint=lambda: None) -> Objective:
    return Objective(spec, load_dataset(spec.data, spec.model.family), engine, observer or RunObserver(), target, checkpoint)


def test_a_trial_records_its_config_and_result(write_study):
    spec = load_spec(write_study(seeds=2, epochs=4))
    observer = _Recording()
    study = optuna.create_study(direction="maximize")
    study.optimize(_objective(spec, FakeEngine(), observer), n_trials=1)
    (trial,) = study.trials
    assert trial.state is TrialState.COMPLETE
    assert trial.user_attrs[attrs.SEEDS] == [0, 1] and attrs.CONFIG in trial.user_attrs
    assert trial.value == pytest.approx(trial.user_attrs["test_accuracy_mean"])
    assert observer.events[0] == ("start", 0, 8) and observer.events[-1] == ("epochs", 8, 8)


def test_a_diverging_trial_records_the_seed(write_study):
    spec = load_spec(write_study(seeds=2))
    study = optuna.create_study(direction="maximize")
    study.optimize(_objective(spec, FakeEngine(diverge=lambda c: True)), n_trials=1, catch=(Exception,))
    (trial,) = study.trials
    assert trial.state is TrialState.FAIL
    assert trial.user_attrs[attrs.FAIL_SEED] == 0 and trial.user_attrs[attrs.FAIL_REASON].startswith("non-finite loss")


def test_a_stop_request_interrupts_at_the_next_progress_report(write_study):
    spec = load_spec(write_study())

    def stop() -> None:
        raise KeyboardInterrupt

    study = optuna.create_study(direction="maximize")
    with pytest.raises(KeyboardInterrupt):
        study.optimize(_objective(spec, FakeEngine(), checkpoint=stop), n_trials=1)
    (trial,) = study.trials
    assert trial.state is TrialState.FAIL
    assert trial.user_attrs[attrs.FAIL_REASON] == "interrupted" and trial.user_attrs[attrs.INTERRUPTED] is True


def test_a_trial_past_the_target_fails_as_surplus_without_training(write_study):
    spec = load_spec(write_study())
    engine = FakeEngine()
    study = optuna.create_study(direction="maximize")
    study.optimize(_objective(spec, engine, target=1), n_trials=2, catch=(Exception,))
    assert [t.state for t in study.trials] == [TrialState.COMPLETE, TrialState.FAIL]
    assert study.trials[1].user_attrs[attrs.FAIL_REASON] == SURPLUS
    assert len(engine.trained) == 1


def test_the_guard_turns_a_broken_display_off(write_study):
    spec = load_spec(write_study(space='regularizer = ["none"]\n'))
    inner = _Recording(fail_with=BrokenPipeError(32, "Broken pipe"))
    guarded = GuardedObserver(inner)
    study = optuna.create_study(direction="maximize")
    study.optimize(_objective(spec, FakeEngine(), guarded), n_trials=2)
    assert all(t.state is TrialState.COMPLETE for t in study.trials)
    assert isinstance(guarded.broken, BrokenPipeError)
    assert inner.events == [("start", 0, 8)]  # nothing after it broke


def test_the_guard_lets_other_errors_through():
    guarded = GuardedObserver(_Recording(fail_with=RuntimeError("bug")))
    with pytest.raises(RuntimeError):
        guarded.on_trial_start(0, None, 1)
    assert guarded.broken is None
