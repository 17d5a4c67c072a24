"""Batches of trials through the objective (fake engine, ask and tell): each trial recorded and told as it ends."""

from __future__ import annotations

import optuna
import pytest
from optuna.trial import TrialState

from actreg_search.store import keys as attrs
from actreg_search.data.datasets import load_dataset
from actreg_search.engine.base import Engine
from actreg_search.search.batches import INTERRUPTED_REASON, SURPLUS_REASON, Objective
from actreg_search.search.observer import RunObserver
from actreg_search.spec.parser import load_spec
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


def _objective(spec, engine, observer=None, target=10, checkpoint=lambda: None, told=None) -> Objective:
    data = load_dataset(spec.data, spec.model.family)
    return Objective(
        spec, data, engine, observer or RunObserver(), target, checkpoint, on_told=told or (lambda trial: None)
    )


def _study() -> optuna.Study:
    return optuna.create_study(direction="maximize")


def test_a_trial_records_its_config_and_result(write_study):
    spec = load_spec(write_study(seeds=2, epochs=4))
    observer = _Recording()
    study = _study()
    told = _objective(spec, FakeEngine(), observer).run_batch(study, 1)
    (trial,) = study.trials
    assert [t.number for t in told] == [0]
    assert trial.state is TrialState.COMPLETE
    assert trial.user_attrs[attrs.SEEDS] == [0, 1] and attrs.CONFIG in trial.user_attrs
    # the objective is the validation mean (the tiny study's default protocol), not the test figure
    assert trial.value == pytest.approx(trial.user_attrs["validation_accuracy_mean"])
    assert trial.value != pytest.approx(trial.user_attrs["test_accuracy_mean"])
    assert observer.events[0] == ("start", 0, 8) and observer.events[-1] == ("epochs", 8, 8)


def test_a_diverging_trial_records_the_seed(write_study):
    spec = load_spec(write_study(seeds=2))
    study = _study()
    _objective(spec, FakeEngine(diverge=lambda c: True)).run_batch(study, 1)
    (trial,) = study.trials
    assert trial.state is TrialState.FAIL
    assert trial.user_attrs[attrs.FAIL_SEED] == 0 and trial.user_attrs[attrs.FAIL_REASON].startswith("non-finite loss")


# Four trials whose ends the fake engine decides by their l1 coefficient (random draws never hit these exactly).
PRUNED, DIVERGES, INTERRUPTS = 1.5e-3, 2.5e-3, 3.5e-3


def _queue(study: optuna.Study, *coefficients: float) -> None:
    for coefficient in coefficients:
        study.enqueue_trial({"regularizer": "l1", "placement": "kernel", "coefficient": coefficient, "hidden_units": 8})


def _engine(**kwargs) -> FakeEngine:
    return FakeEngine(prune=lambda c: c.l1 == PRUNED, diverge=lambda c: c.l1 == DIVERGES, **kwargs)


def test_a_batch_ends_each_trial_as_it_ends(write_study):
    """One pruned, one diverging, two complete: each recorded and told on its own, in the order they ended."""
    spec = load_spec(write_study(seeds=2, epochs=8))
    study = _study()
    _queue(study, 1e-4, PRUNED, DIVERGES, 2e-4)
    engine = _engine()
    seen: list[tuple[int, TrialState]] = []
    told = _objective(spec, engine, told=lambda t: seen.append((t.number, t.state))).run_batch(study, 4)
    assert engine.batches == [4]
    assert seen == [(t.number, t.state) for t in told]
    assert seen == [(2, TrialState.FAIL), (1, TrialState.PRUNED), (3, TrialState.COMPLETE), (0, TrialState.COMPLETE)]
    trials = study.trials
    assert trials[2].user_attrs[attrs.FAIL_REASON] == "non-finite loss on seed 0 at epoch 1"
    assert trials[2].user_attrs[attrs.FAIL_SEED] == 0
    for number in (0, 3):
        assert trials[number].value == pytest.approx(trials[number].user_attrs["validation_accuracy_mean"])
        assert attrs.WORKER_RSS_MB in trials[number].user_attrs
    assert attrs.FAIL_REASON not in trials[1].user_attrs


def test_a_stop_request_interrupts_every_unfinished_trial_of_the_batch(write_study):
    spec = load_spec(write_study(seeds=1, epochs=8))
    study = _study()
    _queue(study, 1e-4, INTERRUPTS, 2e-4, DIVERGES)
    engine = _engine(interrupt=lambda c: c.l1 == INTERRUPTS)
    with pytest.raises(KeyboardInterrupt):
        _objective(spec, engine).run_batch(study, 4)
    trials = study.trials
    assert trials[3].state is TrialState.FAIL and trials[3].user_attrs[attrs.FAIL_REASON].startswith("non-finite")
    for trial in trials[:3]:
        assert trial.state is TrialState.FAIL
        assert trial.user_attrs[attrs.FAIL_REASON] == INTERRUPTED_REASON and trial.user_attrs[attrs.INTERRUPTED] is True


def test_a_stop_request_interrupts_at_the_next_progress_report(write_study):
    spec = load_spec(write_study())

    def stop() -> None:
        raise KeyboardInterrupt

    study = _study()
    with pytest.raises(KeyboardInterrupt):
        _objective(spec, FakeEngine(), checkpoint=stop).run_batch(study, 1)
    (trial,) = study.trials
    assert trial.state is TrialState.FAIL
    assert trial.user_attrs[attrs.FAIL_REASON] == "interrupted" and trial.user_attrs[attrs.INTERRUPTED] is True


def test_a_trial_past_the_target_fails_as_surplus_without_training(write_study):
    spec = load_spec(write_study())
    engine = FakeEngine()
    study = _study()
    _objective(spec, engine, target=1).run_batch(study, 2)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE, TrialState.FAIL]
    assert study.trials[1].user_attrs[attrs.FAIL_REASON] == SURPLUS_REASON
    assert len(engine.trained) == 1


class _OneByOne(FakeEngine):
    """The fake engine with the base class's train_many: one trial after another, as an engine that trains one at a time."""

    train_many = Engine.train_many


def test_the_base_engines_train_many_runs_a_batch(write_study):
    spec = load_spec(write_study(seeds=1, epochs=4))
    study = _study()
    _queue(study, 1e-4, DIVERGES, 2e-4)
    told = _objective(spec, _OneByOne(diverge=lambda c: c.l1 == DIVERGES)).run_batch(study, 3)
    assert [(t.number, t.state) for t in told] == [(0, TrialState.COMPLETE), (1, TrialState.FAIL), (2, TrialState.COMPLETE)]


class _BrokenBatch(FakeEngine):
    """Ends the batch's first trial, then breaks off the whole batch with an error of its own."""

    def train_many(self, configs, data, seeds, monitors, done, model=None):
        done(0, self.train(configs[0], data, seeds, monitors[0]))
        raise MemoryError("out of memory")


class _Silent(FakeEngine):
    """Returns without reporting the batch's last trial."""

    def train_many(self, configs, data, seeds, monitors, done, model=None):
        for index in range(len(configs) - 1):
            done(index, self.train(configs[index], data, seeds, monitors[index]))


def test_an_engine_that_breaks_off_a_batch_fails_its_unfinished_trials(write_study):
    spec = load_spec(write_study(seeds=1, epochs=4))
    study = _study()
    _objective(spec, _BrokenBatch()).run_batch(study, 3)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE, TrialState.FAIL, TrialState.FAIL]
    assert {t.user_attrs[attrs.FAIL_REASON] for t in study.trials[1:]} == {"MemoryError: out of memory"}
    _objective(spec, _Silent()).run_batch(study, 2)
    assert [t.state for t in study.trials[3:]] == [TrialState.COMPLETE, TrialState.FAIL]
    assert "never reported" in study.trials[4].user_attrs[attrs.FAIL_REASON]
