"""The read model: one ranking, best / top / baseline, state counts, the Pareto front."""

from __future__ import annotations

from dataclasses import replace

import pytest
from optuna.trial import TrialState

from actreg_search.spec.trial import TrialConfig
from actreg_search.results.records import StateCounts, StudyResults, TrialRecord, pareto_numbers, rank_key
from actreg_search.spec.vocab import Placement, Regularizer


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
    assert results.best.number == 1
    assert [t.number for t in results.top(2)] == [1, 0]
    assert [t.number for t in results.leading(10)] == [1, 0, 2]
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
    assert results.best is None and results.top(3) == [] and results.leading(3) == []


def test_pareto_front_of_a_multi_objective_study():
    trials = (
        record(0, (0.9,), sparsity=0.1),
        record(1, (0.8,), sparsity=0.5),
        record(2, (0.7,), sparsity=0.4),  # dominated by 1
        record(3, (0.6,), sparsity=0.9),
        record(4, (0.9,), sparsity=0.1),  # equal to 0: neither dominates
    )
    results = StudyResults("s", trials, None, objectives=("test_accuracy", "sparsity"))
    assert results.pareto_numbers == frozenset({0, 1, 3, 4})
    assert [t.number for t in results.leading(10)] == [0, 4, 1, 3]
    assert [t.number for t in results.leading(2)] == [0, 4]


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


# --------------------------------------------------------------------------- validation protocol: test figures never rank


def validated(number: int, validation: tuple[float, ...], tests: tuple[float, ...], *, regularized: bool = True) -> TrialRecord:
    """A trial of a study under a validation protocol: its value is the mean validation accuracy (as the objective stores it)."""
    base = record(number, tests, regularized=regularized)
    return replace(
        base,
        values=(sum(validation) / len(validation),),
        per_seed={"validation_accuracy": validation, "test_accuracy": tests},
    )


def study(trials: tuple[TrialRecord, ...]) -> StudyResults:
    return StudyResults("s", trials, None, objectives=("validation_accuracy",))


#: Validation accuracies (dyadic, so equal means are equal floats): trial 2 the best; 0, 4 and 1 tie on the
#: mean, 0 and 4 also on the spread (the earlier wins), 1 spread out; 3 the worst. The test figures rank the
#: other way round: by test mean 3 is the best and 2 the worst, and by test spread 1 is the steadiest of the tie.
VALIDATED = (
    validated(0, (0.75, 0.75, 0.75), (0.5, 1.0, 0.75)),
    validated(1, (0.5, 1.0, 0.75), (0.75, 0.75, 0.75), regularized=False),
    validated(2, (0.875, 0.875, 0.875), (0.25, 0.5, 0.375)),
    validated(3, (0.5, 0.5, 0.5), (1.0, 1.0, 1.0)),
    validated(4, (0.75, 0.75, 0.75), (0.25, 1.0, 0.5), regularized=False),
)
VALIDATED_ORDER = [2, 0, 4, 1, 3]


def test_under_a_validation_protocol_trials_rank_by_validation_accuracy_and_its_spread():
    results = study(VALIDATED)
    assert all(t.selection_metric == "validation_accuracy" for t in results.trials)
    assert [t.number for t in results.ranked] == VALIDATED_ORDER
    assert results.best.number == 2
    assert results.best_unregularized.number == 4  # ties 1 on the mean, steadier on validation (not on test)
    assert results.best_regularized.number == 2
    # each key is (−validation mean, validation std, number): nothing measured on the test set
    for trial in results.trials:
        validation = trial.per_seed["validation_accuracy"]
        assert trial.rank_key == rank_key(trial.number, sum(validation) / 3, validation)
    # the same trials ranked by their test figures would come out otherwise: the test figures do disagree
    by_test = sorted(results.trials, key=lambda t: rank_key(t.number, t.mean("test_accuracy"), t.per_seed["test_accuracy"]))
    assert [t.number for t in by_test] != VALIDATED_ORDER
    tied = [t for t in results.trials if t.number in (0, 1, 4)]
    assert min(tied, key=lambda t: t.std("test_accuracy")).number == 1  # a test-std tie rule would pick 1


def with_tests(trials: tuple[TrialRecord, ...], tests: list[tuple[float, ...]]) -> tuple[TrialRecord, ...]:
    """The same trials with other test figures (their values, validation means, unchanged)."""
    return tuple(
        replace(t, per_seed={**t.per_seed, "test_accuracy": new}) for t, new in zip(trials, tests, strict=True)
    )


@pytest.mark.parametrize(
    "tests",
    [
        # another trial perfect on the test set, every seed
        [(0.5, 1.0, 0.75), (1.0, 1.0, 1.0), (0.25, 0.5, 0.375), (1.0, 1.0, 1.0), (1.0, 1.0, 1.0)],
        # the best trial worst on the test set
        [(0.75,) * 3, (0.75,) * 3, (0.0, 0.0, 0.0), (0.75,) * 3, (0.75,) * 3],
        # the test figures permuted among the trials
        [VALIDATED[(i + 1) % 5].per_seed["test_accuracy"] for i in range(5)],
        [VALIDATED[(i + 3) % 5].per_seed["test_accuracy"] for i in range(5)],
        # the tied trials' test spreads swapped: 4 now steadier than 0 on test, 1 the steadiest
        [(0.25, 1.0, 0.5), (0.75, 0.75, 0.75), (0.25, 0.5, 0.375), (1.0, 1.0, 1.0), (0.75, 0.75, 0.75)],
    ],
    ids=["another-perfect", "best-worst", "permuted-1", "permuted-3", "spreads-swapped"],
)
def test_no_change_of_test_figures_changes_the_best_trial_the_order_or_the_ties(tests):
    before = study(VALIDATED)
    after = study(with_tests(VALIDATED, tests))
    assert [t.per_seed["test_accuracy"] for t in after.trials] == tests  # the test figures did change
    assert [t.number for t in after.ranked] == [t.number for t in before.ranked] == VALIDATED_ORDER
    assert after.best.number == before.best.number == 2
    assert [t.number for t in after.top(3)] == [2, 0, 4]
    assert after.best_unregularized.number == before.best_unregularized.number == 4
    assert [t.rank_key for t in after.ranked] == [t.rank_key for t in before.ranked]


def test_random_test_figures_never_change_a_validation_ranking():
    """Brute force: random validation figures on a coarse grid (many ties), random test figures: the ranking is
    the validation one, ``(−mean, std, number)``, and stays it when every test figure is redrawn."""
    import random
    import statistics

    rng = random.Random(1)
    grid = [k / 8 for k in range(9)]  # dyadic: equal means are equal floats
    for _ in range(200):
        n_seeds, n_trials = rng.randint(1, 4), rng.randint(1, 8)
        trials = tuple(
            validated(
                number,
                tuple(rng.choice(grid) for _ in range(n_seeds)),
                tuple(rng.choice(grid) for _ in range(n_seeds)),
                regularized=rng.random() < 0.5,
            )
            for number in range(n_trials)
        )

        def expected(ts: tuple[TrialRecord, ...]) -> list[int]:
            def key(t: TrialRecord) -> tuple[float, float, int]:
                v = t.per_seed["validation_accuracy"]
                return (-statistics.fmean(v), statistics.stdev(v) if len(v) > 1 else 0.0, t.number)

            return [t.number for t in sorted(ts, key=key)]

        order = [t.number for t in study(trials).ranked]
        assert order == expected(trials)
        redrawn = with_tests(trials, [tuple(rng.choice(grid) for _ in range(n_seeds)) for _ in trials])
        results = study(redrawn)
        assert [t.number for t in results.ranked] == order
        assert results.best.number == order[0]
        unregularized = [n for n in order if not results.trial(n).regularized]
        assert (results.best_unregularized.number if results.best_unregularized else None) == (unregularized[0] if unregularized else None)


def test_without_validation_figures_trials_rank_by_test_accuracy_as_before():
    """A study under ``validation = "test"`` (or stored before validation existed): the value is the mean test
    accuracy, and its ties go to the lower test std."""
    trials = (
        record(0, (0.5, 1.0, 0.75)),
        record(1, (0.875, 0.875, 0.875)),
        record(2, (0.75, 0.75, 0.75), regularized=False),
        record(3, (0.25, 0.5, 0.375)),
    )
    results = StudyResults("s", trials, None)
    assert all(t.selection_metric == "test_accuracy" and "validation_accuracy" not in t.per_seed for t in trials)
    assert [t.number for t in results.ranked] == [1, 2, 0, 3]  # 2 and 0 tie on the mean: 2 is steadier on test
    assert results.best.number == 1
    # so here the test figures do rank: a perfect test record makes trial 3 the best
    changed = StudyResults("s", (*trials[:3], record(3, (1.0, 1.0, 1.0))), None)
    assert changed.best.number == 3
    assert [t.number for t in changed.ranked] == [3, 1, 2, 0]
