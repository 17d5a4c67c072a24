"""Studies side by side (results/suite.py), on hand-made trial records and on a study stored by hand: no training."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState
from scipy import stats

from actreg_search.errors import UserError
from actreg_search.results.intervals import holm
from actreg_search.results.paired import paired_comparison
from actreg_search.results.records import StudyResults, TrialRecord
from actreg_search.results.suite import NO_WINNER, group_of, side_by_side, suite_markdown
from actreg_search.spec.measures import headline
from actreg_search.spec.parser import parse_spec
from actreg_search.spec.specs import spec_to_raw
from actreg_search.spec.trial import LayerPenalty, TrialConfig
from actreg_search.spec.vocab import Placement, Regularizer, Task
from actreg_search.store import keys
from actreg_search.store.reader import load_results
from actreg_search.store.storage import open_storage
from tests.fakes import stored_trial

ACC_TEST, ACC_VAL = headline(Task.CLASSIFICATION, "test"), headline(Task.CLASSIFICATION, "validation")
RMSE_TEST, RMSE_VAL = headline(Task.REGRESSION, "test"), headline(Task.REGRESSION, "validation")

NONE = TrialConfig(Regularizer.NONE, None, 0.0, 0.0, 500)
PRE = TrialConfig(Regularizer.L1, Placement.PRE_ACTIVATION, 1e-4, 0.0, 500)
PRE_STRONG = TrialConfig(Regularizer.L1, Placement.PRE_ACTIVATION, 1e-3, 0.0, 500)
POST = TrialConfig(Regularizer.L1, Placement.POST_ACTIVATION, 1e-4, 0.0, 500)
KERNEL = TrialConfig(Regularizer.L2, Placement.KERNEL, 0.0, 1e-4, 500)
KL = TrialConfig(Regularizer.KL_SPARSITY, Placement.POST_ACTIVATION, 0.0, 0.0, 500, coefficient=1e-2, rho=0.05)


def _spec(name: str, task: str = "classification", validation: str = "0.2", data: str = 'name = "circles"\nn_samples = 100'):
    return parse_spec(
        f'[study]\nname = "{name}"\nseeds = 5\ntask = "{task}"\n[data]\n{data}\nvalidation = {validation}\n'
        '[model]\nhidden_units = 4\nepochs = 3\n[space]\nregularizer = ["none", "l1"]\n'
    )


def record(
    number: int,
    config: TrialConfig,
    tests: tuple[float, ...],
    validation: tuple[float, ...] | None = None,
    *,
    task: Task = Task.CLASSIFICATION,
    seeds: tuple[int, ...] | None = None,
) -> TrialRecord:
    """A completed trial with these per-seed test (and validation) headline figures, on ``seeds`` (default 0..n-1,
    the values listed in that order); its value is the mean of what its study ranks on."""
    test, val = headline(task, "test"), headline(task, "validation")
    per_seed = {test: tests, "sparsity": (0.4,) * len(tests)}
    if validation is not None:
        per_seed[val] = validation
    ranked_on = validation if validation is not None else tests
    return TrialRecord(
        number=number, state=TrialState.COMPLETE, params={}, config=config, values=(sum(ranked_on) / len(ranked_on),),
        seeds=seeds if seeds is not None else tuple(range(len(tests))), per_seed=per_seed, wall_time_s=1.0,
        duration_s=1.0, fail_reason=None,
    )


def study(name: str, *trials: TrialRecord, task: Task = Task.CLASSIFICATION, on_test: bool = False) -> StudyResults:
    validation = '"test"' if on_test else "0.2"
    data = 'name = "circles"\nn_samples = 100' if task is Task.CLASSIFICATION else 'name = "diabetes"'
    spec = _spec(name, task.value, validation, data)
    objective = headline(task, "test" if on_test else "validation")
    return StudyResults(name=name, trials=trials, spec=spec, objectives=(objective,))


def shifted(values: tuple[float, ...], by: float) -> tuple[float, ...]:
    return tuple(round(v + by, 6) for v in values)


BASE = (0.70, 0.74, 0.71, 0.76, 0.73)
NOISE = (0.01, -0.02, 0.015, 0.0, -0.01)  # around 0: an interval that includes 0
LEAD = (0.08, 0.09, 0.075, 0.085, 0.07)  # +8 points, give or take: not constant (a constant difference has no t-test)


def plus(values: tuple[float, ...], by: tuple[float, ...]) -> tuple[float, ...]:
    return tuple(round(v + d, 6) for v, d in zip(values, by, strict=True))


# --------------------------------------------------------------------------- groups


def test_groups_are_regularizer_by_placement_and_activated_penalties_by_name():
    custom = TrialConfig(Regularizer.CUSTOM, Placement.POST_ACTIVATION, 0.0, 0.0, 8, coefficient=0.1, penalty="/a/b/pen.py:mine")
    layered = NONE.with_layers([("hidden", LayerPenalty(Regularizer.L2, Placement.KERNEL, l2=1e-4)),
                                ("hidden_2", LayerPenalty(Regularizer.L1, Placement.PRE_ACTIVATION, l1=1e-4))])
    assert [group_of(c) for c in (NONE, PRE, POST, KERNEL, KL, custom, layered)] == [
        "none", "l1/pre_activation", "l1/post_activation", "l2/kernel", "kl_sparsity", "pen.py:mine",
        "l1/pre_activation + l2/kernel",
    ]
    assert group_of(NONE.with_layers([("hidden", LayerPenalty()), ("hidden_2", LayerPenalty())])) == "none"


def test_columns_are_the_union_of_groups_none_first_and_missing_cells_are_dashes():
    first = study("a", record(0, NONE, BASE, BASE), record(1, KERNEL, BASE, BASE))
    second = study("b", record(0, KL, BASE, BASE), record(1, PRE, BASE, BASE), record(2, NONE, BASE, BASE))
    table = side_by_side([first, second])
    assert table.groups == ("none", "l1/pre_activation", "l2/kernel", "kl_sparsity")
    header, _, row_a, row_b = suite_markdown(table).splitlines()[-4:]
    assert header.split(" | ")[5:9] == ["none", "l1/pre_activation", "l2/kernel", "kl_sparsity"]
    assert row_a.split(" | ")[6] == "—" and row_a.split(" | ")[8] == "—"
    assert row_b.split(" | ")[7] == "—"


# --------------------------------------------------------------------------- (a) the paired differences


def test_differences_are_paired_comparisons_by_seed_and_match_a_hand_computation():
    """The penalty's trial lists its seeds in reverse: pairing by position would give another interval."""
    base_val, pre_val = (0.70, 0.72, 0.71, 0.73, 0.72), (0.80, 0.81, 0.79, 0.82, 0.80)
    by_seed_pre = {0: 0.78, 1: 0.73, 2: 0.79, 3: 0.74, 4: 0.80}  # seed -> test accuracy
    reversed_seeds = (4, 3, 2, 1, 0)
    pre = record(1, PRE, tuple(by_seed_pre[s] for s in reversed_seeds), pre_val, seeds=reversed_seeds)
    none_worse_on_validation = record(2, NONE, shifted(BASE, 0.2), shifted(base_val, -0.1))
    none = record(0, NONE, BASE, base_val)
    results = study("paired", none, pre, none_worse_on_validation)
    cell = side_by_side([results]).rows[0].cell("l1/pre_activation")
    assert cell is not None and cell.trial.number == 1
    assert cell.comparison == paired_comparison(none, pre, ACC_TEST)  # the same function, the same pair, as compare
    assert side_by_side([results]).rows[0].baseline.trial.number == 0  # the best none on validation, not on test

    # by hand: b - a, seed by seed
    d = np.array([by_seed_pre[s] for s in range(5)]) - np.array(BASE)
    half = stats.t.ppf(0.975, 4) * d.std(ddof=1) / math.sqrt(5)
    c = cell.comparison
    assert c.seeds == (0, 1, 2, 3, 4)
    assert c.mean_difference == pytest.approx(d.mean())
    assert (c.ci_low, c.ci_high) == pytest.approx((d.mean() - half, d.mean() + half))
    assert c.wilcoxon_p == pytest.approx(stats.wilcoxon(d).pvalue)
    assert (c.wins, c.ties, c.losses) == (int((d > 0).sum()), int((d == 0).sum()), int((d < 0).sum()))
    # pairing by position (the stored order) is wrong, and would have said something else
    wrong = np.array(pre.per_seed[ACC_TEST]) - np.array(BASE)
    wrong_half = stats.t.ppf(0.975, 4) * wrong.std(ddof=1) / math.sqrt(5)
    assert not np.isclose(wrong_half, half)
    assert (int((wrong > 0).sum()), int((wrong < 0).sum())) != (c.wins, c.losses)

    text = suite_markdown(side_by_side([results]))
    low, high = 100 * (d.mean() - half), 100 * (d.mean() + half)
    assert f"Δ {100 * d.mean():+.1f} points [{low:+.1f}, {high:+.1f}] · {c.wins}/{c.ties}/{c.losses}" in text


# --------------------------------------------------------------------------- (b) the winner, after Holm


def test_a_penalty_that_clearly_beats_none_is_the_winner_and_a_row_of_noise_has_none():
    clear = study(
        "clear",
        record(0, NONE, BASE, BASE),
        record(1, PRE, plus(BASE, LEAD), shifted(BASE, 0.1)),
        record(2, KERNEL, plus(BASE, NOISE), shifted(BASE, 0.05)),
    )
    noisy = study(
        "noisy",
        record(0, NONE, BASE, BASE),
        record(1, PRE, tuple(b + n for b, n in zip(BASE, NOISE)), shifted(BASE, 0.1)),
        record(2, KERNEL, tuple(b - n for b, n in zip(BASE, NOISE)), shifted(BASE, 0.05)),
    )
    table = side_by_side([clear, noisy])
    won, lost = table.rows
    assert won.winner == "l1/pre_activation" and won.cell("l1/pre_activation").beats_none
    assert not won.cell("l2/kernel").beats_none
    assert won.verdict.startswith("l1/pre_activation beats none (Holm p")
    assert lost.winner is None and lost.verdict == f"{NO_WINNER} (chosen on validation: l1/pre_activation, no better on test)"
    assert all(c.comparison.ci_low < 0 < c.comparison.ci_high for c in lost.cells if c.comparison is not None)

    rows = {line.split(" | ")[0].removeprefix("| "): line for line in suite_markdown(table).splitlines() if line.startswith("| ")}
    pre = won.cell("l1/pre_activation")
    assert f"**{100 * pre.mean:.1f}% ± {100 * pre.std:.1f}% (trial 1, best of {won.cell('l1/pre_activation').trials})**<br>**Δ +8.0 points [" in rows["clear"]
    assert pre.holm_p < 1e-4 and rows["clear"].endswith("| l1/pre_activation beats none (Holm p<0.0001) |")
    assert "**" not in rows["noisy"] and rows["noisy"].endswith(f"| {lost.verdict} |")


def test_a_difference_significant_alone_but_not_after_holm_over_the_row_is_no_winner():
    diffs = (0.02, 0.035, 0.005, 0.04, 0.015)
    ahead = tuple(b + d for b, d in zip(BASE, diffs))
    lone = study("lone", record(0, NONE, BASE, BASE), record(1, PRE, ahead, shifted(BASE, 0.03)))
    crowded = study(
        "crowded",
        record(0, NONE, BASE, BASE),
        record(1, PRE, tuple(b + d for b, d in zip(BASE, diffs)), shifted(BASE, 0.03)),
        record(2, KERNEL, tuple(b + n for b, n in zip(BASE, NOISE)), shifted(BASE, 0.02)),
        record(3, POST, tuple(b - n for b, n in zip(BASE, NOISE)), shifted(BASE, 0.01)),
    )
    one, three = side_by_side([lone, crowded]).rows
    raw = one.cell("l1/pre_activation").comparison.p_value
    assert 0.05 / 3 < raw <= 0.05  # the case: significant alone, not among three
    assert one.winner == "l1/pre_activation"
    ps = [three.cell(g).comparison.p_value for g in ("l1/pre_activation", "l2/kernel", "l1/post_activation")]
    assert three.cell("l1/pre_activation").holm_p == pytest.approx(holm(ps)[0]) and holm(ps)[0] > 0.05
    assert three.winner is None and three.verdict.startswith(f"{NO_WINNER} (chosen on validation: l1/pre_activation,")


def test_of_several_penalties_that_beat_none_the_best_on_validation_wins_and_the_others_are_named():
    results = study(
        "two",
        record(0, NONE, BASE, BASE),
        record(1, PRE, plus(BASE, LEAD), shifted(BASE, 0.05)),
        record(2, KERNEL, plus(BASE, tuple(2 * d for d in LEAD)), shifted(BASE, 0.02)),  # larger on test, lower on validation
    )
    row = side_by_side([results]).rows[0]
    assert row.beating == ("l1/pre_activation", "l2/kernel") and row.winner == "l1/pre_activation"
    assert row.verdict.endswith("; also l2/kernel")
    line = suite_markdown(side_by_side([results])).splitlines()[-1]
    assert line.count("**") == 4  # the winner's two lines only


def test_a_significantly_worse_penalty_is_no_winner():
    behind = plus(BASE, tuple(-d for d in LEAD))
    worse = study("worse", record(0, NONE, BASE, BASE), record(1, PRE, behind, shifted(BASE, 0.01)))
    row = side_by_side([worse]).rows[0]
    assert row.cell("l1/pre_activation").holm_p < 0.05 and row.cell("l1/pre_activation").comparison.ci_high < 0
    assert row.winner is None and row.verdict == f"{NO_WINNER} (chosen on validation: l1/pre_activation, no better on test)"


def test_a_penalty_that_beats_none_on_test_but_is_not_chosen_on_validation_is_no_winner():
    """The row chooses on validation (here none, ranked first); a penalty ahead on test alone is named, not marked:
    marking it would choose on the test figure the row reports."""
    unchosen = study(
        "unchosen",
        record(0, NONE, BASE, shifted(BASE, 0.1)),
        record(1, PRE, plus(BASE, LEAD), BASE),  # clearly ahead on test, behind on validation
        record(2, KERNEL, plus(BASE, NOISE), shifted(BASE, 0.05)),
    )
    row = side_by_side([unchosen]).rows[0]
    assert row.choice == "none" and row.cell("l1/pre_activation").beats_none and row.beating == ("l1/pre_activation",)
    assert row.winner is None
    assert row.verdict == f"{NO_WINNER} (chosen on validation: none; better on test but not chosen: l1/pre_activation)"
    assert "**" not in suite_markdown(side_by_side([unchosen])).splitlines()[-1]


# --------------------------------------------------------------------------- (c) a regression row


REG_SPACE = '[space]\nregularizer = ["none", "l1"]\nplacement = ["pre_activation"]\ncoefficient = [1e-4]\n'
REGRESSION = parse_spec(
    '[study]\nname = "reg"\nseeds = 5\ntask = "regression"\n[data]\nname = "diabetes"\nvalidation = 0.2\n'
    '[model]\nhidden_units = 4\nepochs = 3\nengine = "keras"\n' + REG_SPACE
)
SPREAD = (0.0, 0.03, -0.02, 0.01, -0.015)


def _around(mean: float, spread: tuple[float, ...] = (0.0, 0.02, -0.02, 0.01, -0.01)) -> tuple[float, ...]:
    return tuple(round(mean + d, 4) for d in spread)


@pytest.fixture
def regression(storage_url: str) -> StudyResults:
    """Stored by hand: none (validation RMSE 0.90), then two l1 trials, the lower on validation (0.50) the higher on
    test (0.55 against 0.45): the lowest validation RMSE is chosen, not the highest, nor the best on test."""
    study_ = optuna.create_study(study_name="reg", storage=open_storage(storage_url, create=True), direction="minimize")
    study_.set_user_attr(keys.SPEC, spec_to_raw(REGRESSION))
    for trial in (
        dict(tests=_around(0.88), trains=_around(0.6), validations=_around(0.90), regularized=False),
        dict(tests=_around(0.55, SPREAD), trains=_around(0.4), validations=_around(0.50)),
        dict(tests=_around(0.45), trains=_around(0.3), validations=_around(0.70)),
    ):
        study_.add_trial(stored_trial(Task.REGRESSION, **trial))
    return load_results(open_storage(storage_url, create=False), "reg")


def test_a_regression_row_chooses_the_lowest_validation_rmse_and_a_negative_difference_wins(regression):
    classification = study("cls", record(0, NONE, BASE, BASE), record(1, PRE, shifted(BASE, 0.01), BASE))
    table = side_by_side([classification, regression])
    row = table.row("reg")
    assert (row.task, row.selected_on, row.figure, row.dataset) == (Task.REGRESSION, RMSE_VAL, RMSE_TEST, "diabetes")
    cell = row.cell("l1/pre_activation")
    assert cell.trial.number == 1 and cell.trials == 2  # lowest validation RMSE, though trial 2 is lower on test
    assert cell.mean == pytest.approx(np.mean(_around(0.55, SPREAD)))
    c = cell.comparison
    assert c == paired_comparison(regression.trial(0), regression.trial(1), RMSE_TEST)
    assert c.mean_difference < 0 and c.ci_high < 0 and (c.wins, c.losses) == (5, 0)  # lower RMSE: wins
    assert row.winner == "l1/pre_activation" and cell.beats_none

    line = next(l for l in suite_markdown(table).splitlines() if l.startswith("| reg |"))
    assert f"**{cell.mean:.4f} ± {cell.std:.4f} (trial 1, best of {cell.trials})**" in line
    assert f"Δ {c.mean_difference:+.4f} [{c.ci_low:+.4f}, {c.ci_high:+.4f}] · 5/0/0" in line
    assert "validation RMSE → test RMSE" in line and "%" not in line and "points" not in line


def test_a_regression_penalty_with_a_higher_rmse_does_not_win():
    base = (0.50, 0.53, 0.48, 0.52, 0.49)
    worse = study(
        "reg", record(0, NONE, base, base, task=Task.REGRESSION),
        record(1, PRE, plus(base, (0.10, 0.13, 0.09, 0.12, 0.11)), shifted(base, -0.1), task=Task.REGRESSION),
        task=Task.REGRESSION,
    )
    row = side_by_side([worse]).rows[0]
    c = row.cell("l1/pre_activation").comparison
    assert c.ci_low > 0 and (c.wins, c.losses) == (0, 5) and row.cell("l1/pre_activation").holm_p < 0.05
    assert row.winner is None and row.verdict.startswith(f"{NO_WINNER} (chosen on validation: l1/pre_activation,")


# --------------------------------------------------------------------------- (d) chosen on validation, not on test


def test_the_table_shows_the_trial_chosen_on_validation_not_the_best_on_test():
    results = study(
        "choice",
        record(0, NONE, BASE, BASE),
        record(1, PRE, shifted(BASE, 0.02), shifted(BASE, 0.15)),  # best l1/pre on validation
        record(2, PRE_STRONG, shifted(BASE, 0.10), shifted(BASE, 0.05)),  # best l1/pre on test
    )
    row = side_by_side([results]).rows[0]
    cell = row.cell("l1/pre_activation")
    assert (cell.trial.number, cell.rank, cell.trials) == (1, 1, 2)
    assert cell.comparison.b == 1 and cell.mean == pytest.approx(np.mean(shifted(BASE, 0.02)))
    text = suite_markdown(side_by_side([results]))
    assert "(trial 1, best of 2)" in text and "(trial 2," not in text
    assert "validation accuracy → test accuracy |" in text


def test_a_study_selected_on_test_is_marked_chosen_on_test():
    results = study("ontest", record(0, NONE, BASE), record(1, PRE, shifted(BASE, 0.02)), on_test=True)
    row = side_by_side([results]).rows[0]
    assert row.chosen_on_test and row.selected_on == ACC_TEST
    text = suite_markdown(side_by_side([results]))
    assert "test accuracy → test accuracy (*chosen on test*)" in text and "they are optimistic" in text
    held_out = suite_markdown(side_by_side([study("held", record(0, NONE, BASE, BASE))]))
    assert "chosen on test" not in held_out


# --------------------------------------------------------------------------- edges


def test_the_suite_imports_no_tensorflow():
    code = "import sys, actreg_search.results.suite; assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_rows_without_a_baseline_or_with_too_few_seeds_say_so():
    no_none = study("nonone", record(0, PRE, BASE, BASE))
    few = study("few", record(0, NONE, BASE[:3], BASE[:3]), record(1, PRE, BASE[:3], BASE[:3]))
    empty = study("empty")
    table = side_by_side([no_none, few, empty])
    verdicts = ["no unregularized trial to compare with", f"{NO_WINNER} (chosen on validation: none)", "no completed trial"]
    assert [r.verdict for r in table.rows] == verdicts
    assert "share 3 seed(s)" in table.row("few").cell("l1/pre_activation").refused
    text = suite_markdown(table)
    assert "no none to compare" in text and "- few, l1/pre_activation: not compared (trial 0 and trial 1 share 3" in text
    with pytest.raises(UserError, match="no study 'x'"):
        table.row("x")
    with pytest.raises(UserError, match="confidence"):
        side_by_side([no_none], confidence=1.5)
