"""A markdown report of a study's models: protocol, means, intervals, and the comparisons a reader needs.

Written for the tutorial's case study (``studies/tutorial_case_study.toml``),
but it reports any study: every completed trial is a row. Configs the tutorial
ran are shown beside the tutorial's own single-run figures.

What it says, in order:

* the study's validation protocol, and the best trial's figure on the split
  it was selected on next to its test figure (:func:`selection_lines`, which
  ``show`` prints too): under a validation protocol the difference, test
  minus validation, shows how much the selection flattered the best trial;
  under ``validation = "test"`` the report says that the test figures are the
  ones the trials were selected on;
* one row per completed trial: mean ± std and confidence interval of train,
  validation (where measured) and test accuracy (a regression's RMSE, an
  autoencoder's reconstruction MSE, in their own units), sparsity, and (a
  classification's) the tutorial's figures;
* each trial compared seed by seed with the best trial and with the best
  unregularized trial, on the split asked for (``on``; test by default), with
  Holm's correction over every comparison listed (:func:`~actreg_search.results.intervals.holm`),
  rather than every pair of trials uncorrected (1,770 pairs for 60 trials: were
  no trial better than another, about 5% of them, 88, would still "exclude 0").
"""

from __future__ import annotations

from actreg_search.errors import UserError
from actreg_search.results.figures import difference_text, extreme, value_text, words
from actreg_search.results.intervals import holm
from actreg_search.results.paired import PairedComparison, format_p, paired_comparison
from actreg_search.results.records import StudyResults, TrialRecord
from actreg_search.results.stats import MetricSummary, figure_on, require_figure, summary
from actreg_search.spec.measures import ON_SPLIT, SPLIT_OF
from actreg_search.spec.specs import ON_TEST
from actreg_search.spec.trial import TrialConfig
from actreg_search.spec.vocab import OptimizerName, Placement, Regularizer, Task

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


# --------------------------------------------------------------------------- the protocol and the best trial


def protocol_text(results: StudyResults) -> str:
    """The study's protocol in words (:meth:`~actreg_search.spec.specs.Validation.describe`).

    The figures the study selected on decide: a study whose objective is
    measured on the test set is described as selected on the test set whatever
    its spec says, so the label never claims a validation the figures lack.
    """
    return ON_TEST.describe() if results.selects_on_test else results.validation.describe()


def selection_lines(results: StudyResults) -> list[str]:
    """Plain sentences on how the study selects and what its best trial scored (``show`` and ``report``).

    Under a validation protocol: the protocol (and the samples per split where
    stored), then the best trial's validation figure next to its test figure
    and the difference, test minus validation (in points for accuracy, in the
    figure's units for a regression's RMSE or an autoencoder's reconstruction
    MSE: the task's headline, :meth:`StudyResults.headline`). Under
    ``validation = "test"``: that the trials were selected on the test set, so
    the best trial's test figure is the one it was chosen for, an
    optimistic one. A study whose objective is another figure of the
    predictions (``log_loss``, ``r2``...) gets a last line with the best trial's mean
    ± std of it on each split. Empty without a completed trial.
    """
    best = results.best
    if best is None:
        return []
    return _selection_lines(results, best) + _objective_lines(results, best)


def _objective_lines(results: StudyResults, best: TrialRecord) -> list[str]:
    """The best trial's objective figures besides the headline, e.g. ``validation log loss 0.3120 ± 0.0100``."""
    said = [
        f"{words(name)} {mean:.4f} ± {best.std(name) or 0.0:.4f}"
        for name in results.objective_figures
        if (mean := best.mean(name)) is not None
    ]
    return [f"best trial's objective figures: {', '.join(said)}."] if said else []


def _selection_lines(results: StudyResults, best: TrialRecord) -> list[str]:
    """:func:`selection_lines` but the objective's figures."""
    split = f" ({results.split.describe()})" if results.split is not None else ""
    name = best.label()
    on_test, on_validation = results.headline("test"), results.headline("validation")  # test_accuracy, test_rmse...
    test_mean, test_std = best.mean(on_test), best.std(on_test)
    test = (
        f"test {value_text(on_test, test_mean)} ± {value_text(on_test, test_std)}"
        if test_mean is not None and test_std is not None
        else f"no {words(on_test)}"
    )
    ranked_on = words(results.selection_metric)
    if results.selects_on_test:
        which = f"{words(on_test)} is" if results.selection_metric == on_test else "test figures are"
        return [
            f"protocol: {protocol_text(results)}{split}: trials are ranked on {ranked_on}, the figure reported, "
            f"so the best trial's {which} optimistic (it was chosen for being the {extreme(results.selection_metric)}); "
            "there is no validation figure to set beside it.",
            f"best trial by {ranked_on}: trial {best.number} ({name}): {test}, selected on the test set.",
        ]
    val_mean, val_std = best.mean(on_validation), best.std(on_validation)
    lines = [
        f"protocol: {protocol_text(results)}{split}: trials are ranked on {ranked_on}; "
        f"{words(on_test)} is measured for every trial and never used to choose.",
    ]
    if val_mean is None or val_std is None or test_mean is None:
        lines.append(f"best trial by {ranked_on}: trial {best.number} ({name}): {test}; no {words(on_validation)} recorded.")
        return lines
    lines.append(
        f"best trial by {ranked_on}: trial {best.number} ({name}): validation {value_text(on_validation, val_mean)} ± "
        f"{value_text(on_validation, val_std)}, {test}; test − validation: {difference_text(on_test, test_mean - val_mean)}."
    )
    return lines


# --------------------------------------------------------------------------- the report


def markdown_report(results: StudyResults, confidence: float = 0.95, on: str | None = None) -> str:
    """Markdown: the protocol, one row per completed trial, then each trial against the best and the baseline.

    Args:
        results: The study.
        confidence: Level of the intervals; the comparisons' family-wise error
            rate is ``1 - confidence``.
        on: The split the comparisons use: ``"test"`` (the default; ``None``
            means it) or ``"validation"`` (:func:`~actreg_search.results.stats.figure_on`).

    Raises:
        UserError: The study has no completed trial, an unknown split, or
            ``on="validation"`` on a study without validation figures.
    """
    trials = results.completed  # by number
    if not trials:
        raise UserError(f"study {results.name!r} has no completed trial to report")
    metric = figure_on(compared_figure(results), on)
    require_figure(results, metric)
    level = f"{confidence:.0%}"
    counts = sorted({len(t.seeds) for t in trials})
    seeds = f"{counts[0]} seed{'s' if counts[0] != 1 else ''} each" if len(counts) == 1 else f"{counts[0]} to {counts[-1]} seeds"
    validation = any(results.headline("validation") in t.per_seed for t in trials)
    splits = ("train", "validation", "test") if validation else ("train", "test")
    tutorial = results.task is Task.CLASSIFICATION  # the tutorial's figures are a classification's
    lines = [f"## {results.name}: {len(trials)} models, {seeds}", ""]
    lines += [f"- {sentence[0].upper()}{sentence[1:]}" for sentence in selection_lines(results)]
    heads = "".join(f"| {words(results.headline(s))} (mean ± std) | {s} {level} CI " for s in splits)
    lines += [
        "",
        f"| trial | model {heads}| sparsity |" + (" tutorial, single run (train / test) |" if tutorial else ""),
        "|---|---|" + "---|---|" * len(splits) + "---|" + ("---|" if tutorial else ""),
    ]
    lines += [_row(trial, [results.headline(s) for s in splits], confidence, tutorial) for trial in trials]
    lines += ["", *_comparisons(results, metric, confidence)]
    return "\n".join(lines) + "\n"


def compared_figure(results: StudyResults) -> str:
    """The figure the report compares trials on: the study's first objective (``log_loss``, ``roc_auc``, ``rmse``...)
    where it is one measured on a split, else the task's headline (accuracy, ``rmse``, ``mse``)."""
    for split in ("validation_", "test_"):
        name = results.selection_metric.removeprefix(split)
        if name != results.selection_metric and name in ON_SPLIT:
            return name
    return results.task.headline.value


def _row(trial: TrialRecord, figures: list[str], confidence: float, tutorial: bool) -> str:
    """One trial: each of ``figures`` (its task's headline on train, validation, test) as mean ± std and interval,
    sparsity, and (``tutorial``) the tutorial's single-run figures."""
    cells = []
    for name in figures:
        if trial.per_seed.get(name):
            s = summary(trial, name, confidence)
            cells.append(f"| {value_text(name, s.mean)} ± {value_text(name, s.std)} | {_ci(s)} ")
        else:
            cells.append("| — | — ")
    sparsity = trial.mean("sparsity")
    row = f"| {trial.number} | {trial.label()} {''.join(cells)}| {'—' if sparsity is None else f'{sparsity:.2f}'} |"
    if not tutorial:
        return row
    figures_run = tutorial_figures(trial.config) if trial.config else None
    return f"{row} {' / '.join(figures_run) if figures_run else '—'} |"


def _comparisons(results: StudyResults, metric: str, confidence: float) -> list[str]:
    """Each trial against the best and against the best unregularized, Holm-corrected over all of them."""
    ranked = results.ranked
    best = ranked[0]
    baseline = results.best_unregularized
    ranked_on = words(results.selection_metric)
    what = words(metric)
    alpha = 1 - confidence
    level = f"{confidence:.0%}"

    against_best = [(best, t) for t in ranked[1:]]
    against_baseline = (
        []
        if baseline is None or baseline.number == best.number
        else [(baseline, t) for t in ranked if t.number not in (best.number, baseline.number)]
    )
    compared: dict[tuple[int, int], PairedComparison] = {}
    refused: dict[tuple[int, int], str] = {}
    for a, b in against_best + against_baseline:
        try:
            compared[a.number, b.number] = paired_comparison(a, b, metric, confidence)
        except UserError as exc:
            refused[a.number, b.number] = str(exc)
    keys = list(compared)
    adjusted = dict(zip(keys, holm([compared[k].p_value for k in keys]), strict=True))
    raw_hits = sum(compared[k].p_value <= alpha for k in keys)
    holm_hits = sum(adjusted[k] <= alpha for k in keys)

    lines = [
        f"### Comparisons on {what} ({SPLIT_OF[metric]} split), seed by seed",
        "",
        f"Each trial against the best trial (trial {best.number}, best by {ranked_on}) and against the best "
        f"unregularized trial{f' (trial {baseline.number})' if baseline is not None else ''}: {len(keys)} comparisons. "
        f"The {level} CIs of the mean paired difference and the p-values in each line are per comparison, uncorrected; "
        f"the verdict after each line is Holm's step-down correction over all {len(keys)} comparisons listed, "
        f"at a family-wise error rate of {alpha:.0%} (on the paired t-test's p-value, or the Wilcoxon test's where "
        f"the t-test is undefined). After Holm, {holm_hits} of {len(keys)} differences are significant "
        f"({raw_hits} without the correction).",
    ]
    if metric == results.selection_metric:
        lines += [
            "",
            f"{what[0].upper()}{what[1:]} is the figure the trials were ranked on, so the best trial's lead on it is "
            "optimistic: it was chosen for being ahead.",
        ]
    lines += ["", f"#### Against the best trial (trial {best.number}: {best.label()})", ""]
    lines += [_line(a, b, compared, refused, adjusted, alpha) for a, b in against_best] or ["- no other completed trial"]
    lines += [""]
    if baseline is None:
        lines.append("#### Against the best unregularized trial: none completed")
    elif baseline.number == best.number:
        lines.append(f"#### Against the best unregularized trial: it is the best trial (trial {best.number}), above")
    else:
        head = f"#### Against the best unregularized trial (trial {baseline.number}: {baseline.label()})"
        if not against_baseline:
            return [*lines, f"{head}: no trial but the best, compared with it above"]
        lines += [head, "", f"(The best trial, trial {best.number}, is compared with it above.)", ""]
        lines += [_line(a, b, compared, refused, adjusted, alpha) for a, b in against_baseline]
    return lines


def _line(
    a: TrialRecord,
    b: TrialRecord,
    compared: dict[tuple[int, int], PairedComparison],
    refused: dict[tuple[int, int], str],
    adjusted: dict[tuple[int, int], float],
    alpha: float,
) -> str:
    key = (a.number, b.number)
    if key in refused:
        return f"- {b.label()}: not compared ({refused[key]})"
    p = adjusted[key]
    verdict = f"significant at {alpha:.0%} family-wise" if p <= alpha else "not significant"
    return f"- {b.label()}: {compared[key].describe()}; Holm p={format_p(p)}: {verdict}"


def _ci(s: MetricSummary) -> str:
    """The interval, in percent for a fraction (:func:`~actreg_search.results.figures.value_text`); ``—`` for a
    single seed, which has none."""
    return f"[{value_text(s.metric, s.ci_low)}, {value_text(s.metric, s.ci_high)}]" if s.n > 1 else "—"
