"""A loaded study (``Results``) answers what the commands print, from the same library functions."""

from __future__ import annotations

import pytest

import actreg_search


def test_a_loaded_study_answers_what_the_cli_shows(stored):
    url, results = stored
    frame = results.frame()
    assert list(frame["number"]) == list(range(6))
    assert {f"test_accuracy_seed{s}" for s in range(5)} <= set(frame.columns)
    assert results.best is results.top(6)[0] and results.best.number == results.results.best.number
    assert [s.name for s in actreg_search.studies(url)] == ["arrays"]
    with pytest.raises(actreg_search.UserError, match="one objective"):
        results.pareto_front()


def test_a_comparison_is_the_one_compare_prints(stored):
    from actreg_search.results import stats

    _, results = stored
    a, b = results.top(2)
    assert results.compare(a.number, b) == stats.paired_comparison(a, b)
    assert results.best_vs_baseline().a == results.best_unregularized.number
    assert len(results.top_vs_best(3)) == 2
