"""The study loop (search/loop.py) in batches: trials asked together, ended one by one, interrupted, heartbeating,
and what the run's tally hears of (fake engine)."""

from __future__ import annotations


import optuna
import sqlalchemy
from optuna.trial import TrialState

from actreg_search.internals.optuna_private import trial_id
from actreg_search.results.records import TrialRecord
from actreg_search.search.batches import SURPLUS_REASON
from actreg_search.search.loop import TrialsRan
from actreg_search.search.observer import RunObserver
from actreg_search.settings import Settings
from actreg_search.spec.parser import load_spec
from actreg_search.store.reader import load_results
from actreg_search.store.storage import open_storage
from actreg_search.search.study import StopReason, run_study
from tests.fakes import FakeEngine

GRID = """
regularizer = ["none", "l1"]
placement = ["pre_activation", "post_activation"]
coefficient = [1e-4]
"""


def _trials(storage_url: str, name: str = "tiny") -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name=name, storage=storage_url).trials


# Trials queued with these l1 coefficients end as their names say on _batch_engine (random draws never hit them).
PRUNED, DIVERGES, INTERRUPTS = 1.5e-3, 2.5e-3, 3.5e-3


def _queue(storage_url: str, *coefficients: float) -> None:
    study = optuna.load_study(study_name="tiny", storage=storage_url)
    for coefficient in coefficients:
        study.enqueue_trial({"regularizer": "l1", "placement": "kernel", "coefficient": coefficient, "hidden_units": 8})


def _batch_engine(**kwargs) -> FakeEngine:
    return FakeEngine(prune=lambda c: c.l1 == PRUNED, diverge=lambda c: c.l1 == DIVERGES, **kwargs)


def test_a_batch_with_a_pruned_and_a_diverging_trial_goes_on(write_study, storage_url):
    spec = load_spec(write_study(n_trials=1, epochs=8))
    run_study(spec, storage_url, engine=FakeEngine())
    _queue(storage_url, 1e-4, PRUNED, DIVERGES, 2e-4)
    engine = _batch_engine()
    summary = run_study(spec.with_overrides(n_trials=7, batch=4), storage_url, engine=engine)
    assert (summary.reason, summary.finished, summary.ran, summary.failed) == (StopReason.TARGET_REACHED, 7, 7, 1)
    assert engine.batches == [4, 3]
    assert [c.l1 for c in engine.ended[:4]] == [DIVERGES, PRUNED, 2e-4, 1e-4]  # in the order they ended
    trials = _trials(storage_url)
    assert [t.state for t in trials[1:5]] == [TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL, TrialState.COMPLETE]
    assert trials[3].user_attrs["fail_reason"].startswith("non-finite loss on seed 0") and trials[3].user_attrs["fail_seed"] == 0
    stored = load_results(open_storage(storage_url, create=False), "tiny")
    assert stored.counts.complete == 6 and stored.counts.pruned == 1


class _Ends(RunObserver):
    """The trials the display was told of: starts, and ends with their state."""

    def __init__(self) -> None:
        self.started: list[int] = []
        self.ended: list[tuple[int, str]] = []

    def on_trial_start(self, number: int, config: object, total_epochs: int) -> None:
        self.started.append(number)

    def on_trial_end(self, record: TrialRecord, best_value: float | None) -> None:
        self.ended.append((record.number, record.state.name))


def test_ctrl_c_mid_batch_fails_every_unfinished_trial_and_the_next_run_requeues_them(write_study, storage_url):
    spec = load_spec(write_study(n_trials=1, epochs=8))
    run_study(spec, storage_url, engine=FakeEngine())
    _queue(storage_url, 1e-4, INTERRUPTS, 2e-4, DIVERGES)
    display = _Ends()
    engine = _batch_engine(interrupt=lambda c: c.l1 == INTERRUPTS)
    summary = run_study(spec.with_overrides(n_trials=6, batch=4), storage_url, display, engine=engine)
    assert (summary.reason, summary.finished, summary.ran, summary.failed) == (StopReason.INTERRUPTED, 1, 4, 4)
    assert display.started == [1, 2, 3, 4] and display.ended == [(4, "FAIL"), (1, "FAIL"), (2, "FAIL"), (3, "FAIL")]
    trials = _trials(storage_url)
    assert not [t for t in trials if t.state is TrialState.RUNNING]
    assert [t.user_attrs.get("interrupted") for t in trials[1:5]] == [True, True, True, None]
    assert {t.user_attrs["fail_reason"] for t in trials[1:4]} == {"interrupted"}

    engine = _batch_engine()
    summary = run_study(spec.with_overrides(n_trials=6, batch=4), storage_url, engine=engine)
    assert (summary.reason, summary.finished) == (StopReason.TARGET_REACHED, 6)
    assert [c.l1 for c in engine.trained[:3]] == [1e-4, INTERRUPTS, 2e-4]  # the interrupted ones, queued first
    assert DIVERGES not in [c.l1 for c in engine.trained]  # a failed trial is not queued again
    assert engine.batches == [4, 1]


def test_asks_never_exceed_what_the_study_needs(write_study, storage_url):
    spec = load_spec(write_study(n_trials=5))
    engine = FakeEngine(batch=4)  # no [study] batch: the engine's default
    assert run_study(spec, storage_url, engine=engine).finished == 5
    assert engine.batches == [4, 1]
    engine = FakeEngine(batch=4)
    assert run_study(spec.with_overrides(n_trials=7, batch=3), storage_url, engine=engine).finished == 7
    assert engine.batches == [2]
    assert len(_trials(storage_url)) == 7


def test_a_grid_in_batches_runs_each_config_once(write_study, storage_url):
    spec = load_spec(write_study(sampler="grid", n_trials=10, space=GRID))
    engine = FakeEngine()
    summary = run_study(spec.with_overrides(batch=2), storage_url, engine=engine)
    assert (summary.finished, engine.batches) == (3, [2, 1])
    assert len({(c.regularizer, c.placement) for c in engine.trained}) == 3


def test_a_study_reruns_with_another_batch(write_study, storage_url):
    path = write_study(n_trials=2)
    path.write_text(path.read_text().replace("seed = 0\n", "seed = 0\nbatch = 2\n"))
    spec = load_spec(path)
    assert spec.study.batch == 2
    first = FakeEngine()
    assert run_study(spec, storage_url, engine=first).finished == 2 and first.batches == [2]
    again = FakeEngine()
    summary = run_study(spec.with_overrides(n_trials=5, batch=3), storage_url, engine=again)
    assert (summary.finished, again.batches) == (5, [3])
    plain = load_spec(write_study(filename="plain.toml", n_trials=6))  # no [study] batch at all
    assert run_study(plain, storage_url, engine=FakeEngine()).finished == 6


def test_every_trial_of_a_batch_keeps_its_heartbeat(write_study, storage_url, monkeypatch):
    """Each trial beats when asked and then every interval until it ends, all of the batch together."""
    beats: list[int] = []
    record = optuna.storages.RDBStorage.record_heartbeat

    def spy(self: optuna.storages.RDBStorage, trial_id: int) -> None:
        beats.append(trial_id)
        record(self, trial_id)

    monkeypatch.setattr(optuna.storages.RDBStorage, "record_heartbeat", spy)
    spec = load_spec(write_study(n_trials=3, seeds=1, epochs=10))
    settings = Settings(grace_period_s=4)  # a heartbeat a second
    summary = run_study(spec.with_overrides(batch=3), storage_url, engine=FakeEngine(sleep_s=0.05), settings=settings)  # 1.5 s
    assert summary.finished == 3
    ids = [trial_id(t) for t in _trials(storage_url)]
    assert all(beats.count(i) >= 2 for i in ids), beats
    with open_storage(storage_url, create=False).engine.connect() as conn:
        rows = conn.execute(sqlalchemy.text("SELECT trial_id FROM trial_heartbeats")).scalars().all()
    assert sorted(rows) == sorted(ids)


def test_a_trial_another_worker_ended_first_does_not_stop_this_one(write_study, storage_url):
    """A trial failed elsewhere mid-batch (its heartbeat taken for a dead worker's): its record stands, the batch goes on."""
    from actreg_search.engine.base import Engine

    class EndedElsewhere(Engine):
        name = "ended-elsewhere"

        def __init__(self) -> None:
            self.fake = FakeEngine()
            self.calls = 0

        def train(self, *args, **kwargs):
            return self.fake.train(*args, **kwargs)

        def train_many(self, configs, data, seeds, monitors, done, model=None):
            self.calls += 1
            if self.calls == 1:  # another worker fails the batch's first trial, as fail_stale_trials does
                other = optuna.load_study(study_name="tiny", storage=storage_url)
                running = other.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
                other._storage.set_trial_state_values(trial_id(running[0]), state=TrialState.FAIL)
            for index, config in enumerate(configs):
                done(index, self.fake.train(config, data, seeds))

    spec = load_spec(write_study(n_trials=4, epochs=4))
    summary = run_study(spec.with_overrides(batch=2, n_trials=2), storage_url, engine=EndedElsewhere())
    states = [t.state for t in _trials(storage_url)]
    assert states[:3] == [TrialState.FAIL, TrialState.COMPLETE, TrialState.COMPLETE]
    assert (summary.finished, summary.ran, summary.failed) == (2, 2, 0)  # the trial failed elsewhere is not this run's


def _record(number: int, state: TrialState, reason: str | None = None) -> TrialRecord:
    return TrialRecord(
        number=number, state=state, params={}, config=None, values=(), seeds=(), per_seed={},
        wall_time_s=None, duration_s=None, fail_reason=reason,
    )


def test_the_tally_counts_what_the_loop_ended_and_a_surplus_trial_is_no_failure():
    ran = TrialsRan()
    for record in (_record(0, TrialState.COMPLETE), _record(1, TrialState.FAIL, "RuntimeError: x"),
                   _record(2, TrialState.PRUNED), _record(3, TrialState.FAIL, SURPLUS_REASON)):
        ran.on_trial_end(record, None)
    assert (ran.ran, ran.failed) == (4, 1)
    assert [r.number for r in ran.records] == [0, 1, 2, 3]
