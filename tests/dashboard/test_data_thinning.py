"""Big studies thinned to fixed limits: the best trials, the Pareto front and every new best are always drawn."""

from __future__ import annotations

from actreg_search.dashboard import data as d


def test_evenly_and_quantile_sample():
    assert d.evenly(list(range(10)), 3) == [0, 4, 9]
    assert d.evenly([1, 2], 5) == [1, 2] and d.evenly([1, 2, 3], 0) == []
    values = d.quantile_sample([float(v) for v in range(1001)], 11)
    assert values == tuple(float(v) for v in range(0, 1001, 100))


def test_a_big_study_is_thinned_with_the_best_trials_kept(big_study_factory):
    results = big_study_factory(3000)
    completed = results.completed
    best = results.best.number

    history = d.optimization_history(results, limit=200)
    assert len(history.numbers) <= 200 + 20 and best in history.numbers
    assert history.best_so_far[-1] == max(t.value for t in completed)  # exact: every new best is drawn
    assert f"Drawn from {len(history.numbers):,} of {len(completed):,} completed trials" in history.note

    path = d.regularization_path(results, limit=120)
    assert sum(len(line.numbers) for line in path.lines) <= 120 and "Drawn from" in path.note
    assert path.reference.n_trials == sum(1 for t in completed if t.config.placement is None)  # not thinned

    sparsity = d.sparsity_tradeoff(results, limit=150)
    assert len(sparsity.points) == 150 and set(sparsity.pareto) <= {p.number for p in sparsity.points}

    width = d.coefficient_width(results, limit=100)
    assert len(width.points) == 100 and width.grid is not None and "The surface uses every trial" in width.note

    source = d.optuna_input(results, limit=80)
    numbers = [t.user_attrs["trial"] for t in source.study.get_trials()]
    assert len(numbers) == 80 and best in numbers and numbers == sorted(numbers)
    assert source.note.startswith(f"Drawn from 80 of {len(completed):,} completed trials")

    boxes = d.seed_distributions(results)
    group = boxes.accuracy_by_placement[0]
    assert group.n_runs > d.MAX_BOX_POINTS and len(group.values) == d.MAX_BOX_POINTS
    assert min(group.values) == min(v for t in completed if t.config.placement is None for v in t.per_seed["test_accuracy"])
    assert "evenly spaced ranks" in boxes.note


def test_a_big_multi_objective_study_keeps_its_pareto_front(big_study_factory):
    results = big_study_factory(2000, objectives=("test_accuracy", "sparsity"))
    source = d.optuna_input(results, limit=60)
    numbers = {t.user_attrs["trial"] for t in source.study.get_trials()}
    assert results.pareto_numbers <= numbers and len(numbers) == 60


def test_copies_of_the_same_trials_keep_one_of_each_front_point(study_factory, trial_factory):
    """A study of copied trials: 40 copies of 2 non-dominated points; the front line must stay drawable."""
    trials = [trial_factory(test=(0.9, 0.9), sparsity=(0.2, 0.2)), trial_factory(test=(0.8, 0.8), sparsity=(0.6, 0.6))]
    results = study_factory(*(trials * 20))
    sparsity = d.sparsity_tradeoff(results, limit=10)
    drawn = {p.number for p in sparsity.points}
    assert len(drawn) == 10 and set(sparsity.pareto) <= drawn
    front = {(round(p.sparsity, 6), round(p.accuracy, 6)) for p in sparsity.points if p.number in sparsity.pareto}
    assert front == {(0.2, 0.9), (0.6, 0.8)}  # both points of the front are drawn, though 40 trials share them
