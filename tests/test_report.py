"""The markdown report, on hand-made trial records (the CLI's ``report`` is tested in test_cli.py)."""

from __future__ import annotations

import re

import pytest
from optuna.trial import TrialState

from actreg_search.config import TrialConfig
from actreg_search.errors import UserError
from actreg_search.report import markdown_report, tutorial_figures
from actreg_search.results import StudyResults, TrialRecord
from actreg_search.stats import CONSTANT_NOTE
from actreg_search.vocab import Placement, Regularizer

FIVE = (0.70, 0.74, 0.71, 0.76, 0.73)


def record(number: int, tests: tuple[float, ...], config: TrialConfig, state: TrialState = TrialState.COMPLETE) -> TrialRecord:
    """A trial record with these per-seed test accuracies (and fixed other figures)."""
    complete = state is TrialState.COMPLETE
    n = len(tests)
    per_seed = {
        "test_accuracy": tests, "train_accuracy": (0.9,) * n, "train_loss": (0.2,) * n, "gap": tuple(0.9 - t for t in tests),
        "activation_mean": (0.3,) * n, "sparsity": (0.4,) * n,
    }
    return TrialRecord(
        number=number, state=state, params={}, config=config, values=(sum(tests) / n,) if complete else (),
        seeds=tuple(range(n)), per_seed=per_seed if complete else {}, wall_time_s=1.0, duration_s=1.0, fail_reason=None,
    )


NONE = TrialConfig(Regularizer.NONE, None, 0.0, 0.0, 500)
PRE = TrialConfig(Regularizer.L1, Placement.PRE_ACTIVATION, 1e-4, 0.0, 500)
POST = TrialConfig(Regularizer.L1, Placement.POST_ACTIVATION, 1e-4, 0.0, 500)


def test_markdown_report_has_every_model_and_every_pair():
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
    pairs = [line for line in text.splitlines() if line.startswith("- ")]
    assert len(pairs) == 3 and all("of 5 seeds" in p or "all 5 seeds" in p for p in pairs)


def test_a_single_seed_or_a_constant_difference_prints_no_nan():
    one_seed = StudyResults(name="one", trials=(record(0, (0.7,), NONE), record(1, (0.8,), PRE)), spec=None)
    text = markdown_report(one_seed)
    assert "2 models, 1 seed each" in text and "| — |" in text
    assert "not compared (trial 0 and trial 1 share 1 seed(s)" in text
    assert not re.search(r"\b(nan|inf)\b", text, re.IGNORECASE)

    shifted = StudyResults(name="c", trials=(record(0, FIVE, NONE), record(1, tuple(t + 0.05 for t in FIVE), PRE)), spec=None)
    text = markdown_report(shifted)
    assert CONSTANT_NOTE in text and "d_z=+∞" in text and "paired t p=n/a" in text
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
