"""A markdown report of a study's models: means, intervals, paired comparisons.

Written for the tutorial's case study (``studies/tutorial_case_study.toml``),
but it reports any study: every completed trial is a row. Configs the tutorial
ran are shown beside the tutorial's own single-run figures.
"""

from __future__ import annotations

import itertools

from actreg_search.config import TrialConfig
from actreg_search.errors import UserError
from actreg_search.results import StudyResults, TrialRecord
from actreg_search.stats import MetricSummary, paired_comparison, summary
from actreg_search.vocab import OptimizerName, Placement, Regularizer

#: The tutorial's single runs (train, test accuracy), by config; None where it gave no number.
TUTORIAL_SINGLE_RUN: dict[tuple[Regularizer, Placement | None, float], tuple[str, str]] = {
    (Regularizer.NONE, None, 0.0): ("100%", "78%"),
    (Regularizer.L1, Placement.PRE_ACTIVATION, 1e-4): ("96%", "82%"),
    (Regularizer.L1, Placement.POST_ACTIVATION, 1e-4): ("—", "worse than pre-activation"),
}


def tutorial_figures(config: TrialConfig) -> tuple[str, str] | None:
    """The tutorial's single-run (train, test) accuracy for a config it ran, if any.

    Only the tutorial's own setting counts: width 500, 4000 epochs, batch 32, Adam.
    """
    if (config.hidden_units, config.epochs, config.batch_size, config.optimizer) != (500, 4000, 32, OptimizerName.ADAM):
        return None
    return TUTORIAL_SINGLE_RUN.get((config.regularizer, config.placement, config.l1 + config.l2))


def markdown_report(results: StudyResults, confidence: float = 0.95) -> str:
    """Markdown: one row per completed trial, then every pair compared seed by seed.

    Raises:
        UserError: The study has no completed trial.
    """
    trials = results.completed  # by number
    if not trials:
        raise UserError(f"study {results.name!r} has no completed trial to report")
    level = f"{confidence:.0%}"
    counts = sorted({len(t.seeds) for t in trials})
    seeds = f"{counts[0]} seed{'s' if counts[0] != 1 else ''} each" if len(counts) == 1 else f"{counts[0]} to {counts[-1]} seeds"
    lines = [
        f"## {results.name}: {len(trials)} models, {seeds}",
        "",
        f"| trial | model | train accuracy (mean ± std) | train {level} CI | test accuracy (mean ± std) | test {level} CI "
        "| sparsity | tutorial, single run (train / test) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for trial in trials:
        lines.append(_row(trial, confidence))
    lines += ["", f"### Paired comparisons (test accuracy, over shared seeds, {level} CI)", ""]
    for a, b in itertools.combinations(trials, 2):
        try:
            lines.append(f"- {_label(a)} vs {_label(b)}: {paired_comparison(a, b, confidence=confidence).describe()}")
        except UserError as exc:
            lines.append(f"- {_label(a)} vs {_label(b)}: not compared ({exc})")
    return "\n".join(lines) + "\n"


def _row(trial: TrialRecord, confidence: float) -> str:
    train = summary(trial, "train_accuracy", confidence)
    test = summary(trial, "test_accuracy", confidence)
    tutorial = tutorial_figures(trial.config) if trial.config else None
    return (
        f"| {trial.number} | {_label(trial)} | {_pct(train.mean)} ± {_pct(train.std)} | {_ci(train)} "
        f"| {_pct(test.mean)} ± {_pct(test.std)} | {_ci(test)} "
        f"| {trial.mean('sparsity'):.2f} | {' / '.join(tutorial) if tutorial else '—'} |"
    )


def _label(trial: TrialRecord) -> str:
    return trial.config.label() if trial.config else f"trial {trial.number}"


def _ci(s: MetricSummary) -> str:
    """The interval in percent; ``—`` for a single seed, which has none."""
    return f"[{_pct(s.ci_low)}, {_pct(s.ci_high)}]" if s.n > 1 else "—"


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"
