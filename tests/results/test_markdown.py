"""The markdown report, on hand-made trial records (the CLI's ``report`` is tested in test_cli.py)."""

from __future__ import annotations

import dataclasses
import re

import pytest
from optuna.trial import TrialState
from scipy import stats

from actreg_search.spec.trial import TrialConfig
from actreg_search.errors import UserError
from actreg_search.spec.parser import parse_spec
from actreg_search.results.markdown import markdown_report, selection_lines, tutorial_figures
from actreg_search.results.records import SplitCounts, StudyResults, TrialRecord
from actreg_search.results.intervals import accuracy_interval
from actreg_search.results.paired import CONSTANT_NOTE, format_p
from actreg_search.spec.vocab import Placement, Regularizer

FIVE = (0.70, 0.74, 0.71, 0.76, 0.73)


def record(
    number: int,
    tests: tuple[float, ...],
    config: TrialConfig,
    state: TrialState = TrialState.COMPLETE,
    validation: tuple[float, ...] | None = None,
) -> TrialRecord:
    """A trial record with these per-seed test (and, if given, validation) accuracies, and fixed other figures.

    Its value, what the study ranks on, is the mean validation accuracy where given, else the mean test accuracy.
    """
    complete = state is TrialState.COMPLETE
    n = len(tests)
    per_seed = {
        "test_accuracy": tests, "train_accuracy": (0.9,) * n, "train_loss": (0.2,) * n, "gap": tuple(0.9 - t for t in tests),
        "activation_mean": (0.3,) * n, "sparsity": (0.4,) * n,
    }
    if validation is not None:
        per_seed |= {"validation_accuracy": validation, "validation_sparsity": (0.45,) * n}
    ranked_on = validation if validation is not None else tests
    return TrialRecord(
        number=number, state=state, params={}, config=config, values=(sum(ranked_on) / n,) if complete else (),
        seeds=tuple(range(n)), per_seed=per_seed if complete else {}, wall_time_s=1.0, duration_s=1.0, fail_reason=None,
    )


NONE = TrialConfig(Regularizer.NONE, None, 0.0, 0.0, 500)
PRE = TrialConfig(Regularizer.L1, Placement.PRE_ACTIVATION, 1e-4, 0.0, 500)
POST = TrialConfig(Regularizer.L1, Placement.POST_ACTIVATION, 1e-4, 0.0, 500)
KERNEL = TrialConfig(Regularizer.L2, Placement.KERNEL, 0.0, 1e-4, 500)

HOLDOUT = parse_spec(
    '[study]\nname = "val"\nseeds = 5\n[data]\nname = "circles"\nn_samples = 100\ntrain_size = 30\nvalidation = 0.2\n'
    '[model]\nhidden_units = 4\nepochs = 3\n[space]\nregularizer = ["none", "l1"]\n'
)


def validation_study() -> StudyResults:
    """Ranked on validation: trial 1 is the best there (80%), trial 2 the best on test (76.4%)."""
    return StudyResults(
        name="val",
        trials=(
            record(0, FIVE, NONE, validation=(0.72, 0.70, 0.74, 0.71, 0.73)),
            record(1, (0.72, 0.75, 0.74, 0.77, 0.72), PRE, validation=(0.80, 0.78, 0.82, 0.79, 0.81)),
            record(2, (0.75, 0.77, 0.76, 0.79, 0.75), POST, validation=(0.76, 0.75, 0.78, 0.74, 0.77)),
        ),
        spec=HOLDOUT,
        objectives=("validation_accuracy",),
        split=SplitCounts(train=24, validation=6, test=70),
    )


def comparison_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("- ") and " on " in line and "seeds" in line]


def test_markdown_report_compares_each_model_with_the_best_and_the_baseline():
    results = StudyResults(
        name="tiny",
        trials=(
            record(0, FIVE, NONE),
            record(1, (0.72, 0.70, 0.75, 0.71, 0.78), PRE),
            record(2, (0.69, 0.75, 0.73, 0.74, 0.70), POST),
            record(3, (), PRE, state=TrialState.FAIL),
        ),
        spec=None,
    )
    text = markdown_report(results)
    assert text.startswith("## tiny: 3 models, 5 seeds each")
    rows = [line for line in text.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert len(rows) == 3 and all("±" in row for row in rows) and "95%" in text
    assert "| 100% / 78% |" in rows[0] and "| 96% / 82% |" in rows[1]
    pairs = comparison_lines(text)
    assert len(pairs) == 3 and all("of 5 seeds" in p or "all 5 seeds" in p for p in pairs)
    # trial 1 is the best (73.2%), trial 0 the best unregularized: 0 and 2 against 1, then 2 against 0
    assert "#### Against the best trial (trial 1: l1 · pre_activation 1.0e-04, 500 units)" in text
    assert "#### Against the best unregularized trial (trial 0: none, 500 units)" in text
    assert [re.search(r"trial \d+ \w+ trial \d+", p).group() for p in pairs] == [
        "trial 0 trails trial 1", "trial 2 trails trial 1", "trial 2 trails trial 0",
    ]
    assert all(re.search(r"; Holm p=[0-9.]+: (not significant|significant at 5% family-wise)$", p) for p in pairs)
    assert "Holm's step-down correction over all 3 comparisons listed" in text


def test_holm_changes_the_verdict_of_a_comparison_that_excludes_0_uncorrected():
    """Three trials trail the best with paired t p of 0.011 to 0.033: significant one by one, none after Holm over 5."""
    best = (0.80, 0.84, 0.81, 0.86, 0.83)
    others = {0: (0.77, 0.80, 0.80, 0.82, 0.82), 2: (0.79, 0.82, 0.77, 0.85, 0.79), 3: (0.78, 0.83, 0.80, 0.83, 0.80)}
    results = StudyResults(
        name="holm",
        trials=(record(0, others[0], NONE), record(1, best, PRE), record(2, others[2], POST), record(3, others[3], KERNEL)),
        spec=None,
    )
    text = markdown_report(results)
    p = {n: stats.ttest_rel(values, best).pvalue for n, values in others.items()}
    p_baseline = {n: stats.ttest_rel(others[n], others[0]).pvalue for n in (2, 3)}
    assert all(x < 0.05 for x in p.values()) and all(x > 0.05 for x in p_baseline.values())
    # Holm by hand over the five: 0.011 × 5 = 0.055, then 0.019 × 4 = 0.074, 0.030 × 3 = 0.089; the two baseline ones ≈ 0.5 and more
    smallest = min(p, key=p.get)
    assert smallest == 3 and 5 * p[3] > 0.05
    line = next(x for x in comparison_lines(text) if x.startswith("- l2 · kernel") and "trial 1" in x)
    assert f"paired t p={format_p(p[3])}" in line and "(excludes 0)" in line
    assert line.endswith(f"; Holm p={format_p(5 * p[3])}: not significant")
    assert "After Holm, 0 of 5 differences are significant (3 without the correction)." in text
    # the same figures with a 90% CI and a 10% family-wise rate: Holm keeps the smallest
    lenient = markdown_report(results, confidence=0.9)
    assert "After Holm, 3 of 5 differences are significant (3 without the correction)." in lenient


def test_a_validation_study_shows_the_selection_figure_beside_the_test_figure():
    results = validation_study()
    assert results.best.number == 1  # best on validation, not on test (trial 2)
    text = markdown_report(results)
    assert "- Protocol: 20% of the training split held out per seed (24 train / 6 validation / 70 test): trials are " \
        "ranked on validation accuracy; test accuracy is measured for every trial and never used to choose." in text
    assert "- Best trial by validation accuracy: trial 1 (l1 · pre_activation 1.0e-04, 500 units): validation " \
        "80.0% ± 1.6%, test 74.0% ± 2.1%; test − validation: -6.0 points." in text
    assert "| validation accuracy (mean ± std) | validation 95% CI |" in text
    low, high = accuracy_interval((0.80, 0.78, 0.82, 0.79, 0.81))
    row = next(line for line in text.splitlines() if line.startswith("| 1 |"))
    assert f"| 80.0% ± 1.6% | [{100 * low:.1f}%, {100 * high:.1f}%] |" in row
    assert len(row.split("|")) == len(text.splitlines()[6].split("|"))  # as many cells as the header
    assert "### Comparisons on test accuracy (test split), seed by seed" in text
    assert "best by validation accuracy" in text and "optimistic" not in text  # ranked on validation, compared on test
    assert "#### Against the best trial (trial 1:" in text

    on_validation = markdown_report(results, on="validation")
    assert "### Comparisons on validation accuracy (validation split), seed by seed" in on_validation
    assert "Validation accuracy is the figure the trials were ranked on, so the best trial's lead on it is optimistic" in on_validation
    assert all(" on validation accuracy by " in line for line in comparison_lines(on_validation))


def test_a_study_selected_on_the_test_set_says_so():
    results = StudyResults(name="old", trials=(record(0, FIVE, NONE), record(1, (0.72, 0.70, 0.75, 0.71, 0.78), PRE)), spec=None)
    assert selection_lines(results) == [
        "protocol: selected on the test set (the tutorial's protocol): trials are ranked on test accuracy, the figure "
        "reported, so the best trial's test accuracy is optimistic (it was chosen for being the highest); there is no "
        "validation figure to set beside it.",
        "best trial by test accuracy: trial 1 (l1 · pre_activation 1.0e-04, 500 units): test 73.2% ± 3.3%, "
        "selected on the test set.",
    ]
    text = markdown_report(results)
    assert "validation accuracy (mean" not in text
    assert "Test accuracy is the figure the trials were ranked on, so the best trial's lead on it is optimistic" in text
    with pytest.raises(UserError, match="study 'old' has no validation figures to compare \\(it was selected on the test set"):
        markdown_report(results, on="validation")
    with pytest.raises(UserError, match="unknown split 'train'"):
        markdown_report(results, on="train")


def test_no_unregularized_trial_or_an_unregularized_best():
    regularized = StudyResults(name="r", trials=(record(0, FIVE, PRE), record(1, (0.72, 0.70, 0.75, 0.71, 0.78), POST)), spec=None)
    text = markdown_report(regularized)
    assert "#### Against the best unregularized trial: none completed" in text and len(comparison_lines(text)) == 1
    plain_best = StudyResults(name="p", trials=(record(0, (0.72, 0.70, 0.75, 0.71, 0.78), NONE), record(1, FIVE, PRE)), spec=None)
    text = markdown_report(plain_best)
    assert "#### Against the best unregularized trial: it is the best trial (trial 0), above" in text
    assert len(comparison_lines(text)) == 1


def test_a_single_seed_or_a_constant_difference_prints_no_nan():
    one_seed = StudyResults(name="one", trials=(record(0, (0.7,), NONE), record(1, (0.8,), PRE)), spec=None)
    text = markdown_report(one_seed)
    assert "2 models, 1 seed each" in text and "| — |" in text
    assert "not compared (trial 1 and trial 0 share 1 seed(s)" in text  # the best (1) is the reference
    assert not re.search(r"\b(nan|inf)\b", text, re.IGNORECASE)

    shifted = StudyResults(name="c", trials=(record(0, FIVE, NONE), record(1, tuple(t + 0.05 for t in FIVE), PRE)), spec=None)
    text = markdown_report(shifted)
    assert CONSTANT_NOTE in text and "d_z=-∞" in text and "paired t p=n/a" in text  # trial 0 against the best, 1
    assert not re.search(r"\b(nan|inf)\b", text, re.IGNORECASE)


def test_seed_counts_that_differ_are_given_as_a_range():
    results = StudyResults(name="r", trials=(record(0, FIVE, NONE), record(1, FIVE[:3], PRE)), spec=None)
    assert markdown_report(results).startswith("## r: 2 models, 3 to 5 seeds")


def test_no_completed_trial():
    with pytest.raises(UserError, match="no completed trial to report"):
        markdown_report(StudyResults(name="e", trials=(record(0, (), NONE, state=TrialState.FAIL),), spec=None))


def test_tutorial_figures_only_for_the_tutorials_setting():
    assert tutorial_figures(PRE) == ("96%", "82%")
    assert tutorial_figures(NONE) == ("100%", "78%")
    assert tutorial_figures(TrialConfig(Regularizer.NONE, None, 0.0, 0.0, 500, epochs=300)) is None


def test_a_study_minimizing_log_loss_is_compared_on_log_loss_with_lower_the_better():
    """Ranked on validation log loss: the report's comparisons are on test log loss, and a lower loss leads."""
    def with_loss(number: int, config: TrialConfig, val: tuple[float, ...], test: tuple[float, ...]) -> TrialRecord:
        base = record(number, FIVE, config, validation=FIVE)
        per_seed = base.per_seed | {"validation_log_loss": val, "test_log_loss": test}
        return dataclasses.replace(base, per_seed=per_seed, values=(sum(val) / len(val),))

    results = StudyResults(
        name="loss",
        trials=(
            with_loss(0, NONE, (0.50, 0.52, 0.49, 0.51, 0.50), (0.55, 0.58, 0.54, 0.57, 0.56)),
            with_loss(1, PRE, (0.40, 0.41, 0.39, 0.42, 0.40), (0.45, 0.47, 0.44, 0.46, 0.45)),
        ),
        spec=HOLDOUT,
        objectives=("validation_log_loss",),
    )
    assert results.ranked[0].number == 1  # the lower loss ranks first
    text = markdown_report(results)
    assert "### Comparisons on test log loss (test split), seed by seed" in text
    (line,) = comparison_lines(text)
    # trial 0's loss is 0.106 higher on every seed: it trails, losing all five
    assert "trial 0 trails trial 1 on test log loss by 0.106" in line and "behind in 5 of 5 seeds" in line
    validation = markdown_report(results, on="validation")
    assert "### Comparisons on validation log loss (validation split)" in validation
