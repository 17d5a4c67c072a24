"""The read model: one ranking, best / top / baseline, state counts, the Pareto front."""

from __future__ import annotations

import pytest
from optuna.trial import TrialState

from actreg_search.config import TrialConfig
from actreg_search.results import StateCounts, StudyResults, TrialRecord, pareto_numbers, rank_key
from actreg_search.vocab import Placement, Regularizer


def record(number: int, tests: tuple[float, ...], *, regularized: bool = True, state: TrialState = TrialState.COMPLETE,
           sparsity: float | None = None) -> TrialRecord:
    config = TrialConfig(
        regularizer=Regularizer.L1 if regularized else Regularizer.NONE,
        placement=Placement.PRE_ACTIVATION if regularized else None,
        l1=1e-4 if regularized else 0.0,
        l2=0.0,
        hidden_units=8,
    )
    complete = state is TrialState.COMPLETE
    mean = sum(tests) / len(tests)
    values = ((mean,) if sparsity is None else (mean, sparsity)) if complete else ()
    return TrialRecord(
        number=number, state=state, params={}, config=config, values=values, seeds=tuple(range(len(tests))),
        per_seed={"test_accuracy": tests} if complete else {}, wall_time_s=None, duration_s=None, fail_reason=None,
    )


def test_rank_key_prefers_higher_mean_then_lower_std_then_earlier():
    assert rank_key(5, 0.9, (0.9, 0.9)) < rank_key(1, 0.8, (0.8, 0.8))
    assert rank_key(5, 0.8, (0.8, 0.8)) < rank_key(1, 0.8, (0.7, 0.9))
    assert rank_key(1, 0.8, (0.8, 0.8)) < rank_key(5, 0.8, (0.8, 0.8))


def test_ties_on_the_mean_go_to_the_steadier_trial_in_every_view():
    # Trial 0 and 1 tie on the mean; 1 has the lower spread over seeds, so it is the best everywhere.
    results = StudyResults("s", (record(0, (0.7, 0.9)), record(1, (0.8, 0.8)), record(2, (0.5, 0.5), regularized=False)), None)
    assert results.best_trial.number == 1
    assert [t.number for t in results.top(2)] == [1, 0]
    assert [t.number for t in results.best(10)] == [1, 0, 2]
    assert results.best_unregularized.number == 2
    assert results.best_regularized.number == 1


def test_counts_and_lookup():
    trials = (record(0, (0.5,)), record(1, (0.5,), state=TrialState.FAIL), record(2, (0.5,), state=TrialState.PRUNED),
              record(3, (0.5,), state=TrialState.RUNNING))
    results = StudyResults("s", trials, None)
    assert results.counts == StateCounts(complete=1, pruned=1, failed=1, running=1)
    assert results.counts.finished == 2 and results.counts.total == 4
    assert results.count(TrialState.FAIL) == 1
    assert results.counts.describe() == "1 complete, 1 failed, 1 pruned, 1 running"
    assert results.trial(2).state is TrialState.PRUNED and results.trial(9) is None
    assert results.best_unregularized is None


def test_no_completed_trial():
    results = StudyResults("s", (record(0, (0.5,), state=TrialState.FAIL),), None)
    assert results.best_trial is None and results.top(3) == [] and results.best(3) == []


def test_pareto_front_of_a_multi_objective_study():
    trials = (
        record(0, (0.9,), sparsity=0.1),
        record(1, (0.8,), sparsity=0.5),
        record(2, (0.7,), sparsity=0.4),  # dominated by 1
        record(3, (0.6,), sparsity=0.9),
        record(4, (0.9,), sparsity=0.1),  # equal to 0: neither dominates
    )
    results = StudyResults("s", trials, None, objectives=("test_accuracy", "sparsity"))
    assert results.pareto_front == frozenset({0, 1, 3, 4})
    assert [t.number for t in results.best(10)] == [0, 4, 1, 3]
    assert [t.number for t in results.best(2)] == [0, 4]


@pytest.mark.parametrize(
    ("points", "front"),
    [
        ([], set()),
        ([(0, (1.0, 1.0))], {0}),
        ([(0, (1.0, 0.0)), (1, (0.0, 1.0)), (2, (0.5, 0.5)), (3, (0.4, 0.4))], {0, 1, 2}),
        ([(0, (1.0, 1.0, 1.0)), (1, (1.0, 1.0, 0.0)), (2, (0.0, 0.0, 2.0))], {0, 2}),
    ],
)
def test_pareto_numbers(points, front):
    assert pareto_numbers(points) == frozenset(front)


def test_pareto_numbers_agrees_with_a_brute_force_check():
    import random

    rng = random.Random(0)
    points = [(i, (rng.randint(0, 9) / 10, rng.randint(0, 9) / 10)) for i in range(300)]

    def dominated(p):
        return any(all(o >= v for o, v in zip(q, p, strict=True)) and q != p for _, q in points)

    assert pareto_numbers(points) == frozenset(n for n, p in points if not dominated(p))
