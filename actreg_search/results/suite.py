"""Several studies side by side: each penalty's best trial against none, one row per study.

The question a suite of studies (circles, moons, digits, diabetes... each
searching the same penalties) answers is "which penalty beats no penalty, and
where?". :func:`side_by_side` answers it with the rules the single-study readers
use, so its figures are the ones ``show``, ``compare`` and ``report`` print:

* a study's completed trials are grouped by their penalty: ``none``, and each
  regularizer × placement (``l1/pre_activation``, ``l2/kernel``...); a penalty
  that reads the activated output only (:attr:`~actreg_search.spec.vocab.Regularizer.activated`:
  ``kl_sparsity``, ``decov``, ``tar``, a penalty of your own) by its name alone;
* each group's best trial is the first of it in the study's ranking
  (:attr:`StudyResults.ranked`: the study's selection figure, on validation, in
  the registry's direction, with its tie rule); under ``validation = "test"`` the
  ranking is on the test set, and the row says it was chosen on test;
* each group's best trial is reported on the test set, the task's headline
  figure (accuracy, a regression's RMSE, an autoencoder's reconstruction MSE),
  mean ± std over seeds, and compared seed by seed with the best ``none`` trial
  by :func:`~actreg_search.results.paired.paired_comparison`, as ``compare`` does;
* a row's comparisons are one family, corrected by Holm's step-down
  (:func:`~actreg_search.results.intervals.holm`) on each comparison's
  :attr:`~actreg_search.results.paired.PairedComparison.p_value`, significant
  when the adjusted p-value is at most ``1 - confidence``, as ``report`` rules; a
  group *beats none* when it is significant and its interval lies wholly on the
  good side of 0 (above for accuracy, below for RMSE);
* the row's choice is made on validation alone, as a user of one study makes it:
  the group of the study's best trial (rank 1). It is the row's *winner* when it
  beats none on test; otherwise the row says "no penalty beats none", and names
  any group that beats none on test without being chosen. Choosing the winner
  among the groups that beat none on test would choose on the figure reported.

:func:`suite_markdown` prints the table. Nothing here trains or imports TensorFlow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from actreg_search.errors import UserError
from actreg_search.results.figures import difference_text, value_text, words
from actreg_search.results.intervals import check_level, holm
from actreg_search.results.paired import PairedComparison, format_p, paired_comparison
from actreg_search.results.records import StudyResults, TrialRecord
from actreg_search.spec.measures import HIGHER_IS_BETTER
from actreg_search.spec.trial import LayerPenalty, TrialConfig
from actreg_search.spec.vocab import PenaltyName, Placement, Regularizer, Task

#: The group of the trials without a penalty, the baseline of every row.
NONE = Regularizer.NONE.value
#: What a row without a winner says.
NO_WINNER = "no penalty beats none"
#: How the groups of a trial that penalizes several layers differently are joined (``l1/kernel + l2/kernel``).
JOIN = " + "

_REGULARIZERS = {r.value: i for i, r in enumerate(Regularizer)}
_PLACEMENTS = {p.value: i for i, p in enumerate(Placement)}


# --------------------------------------------------------------------------- groups


def group_of(config: TrialConfig) -> str:
    """The group a trial's config belongs to: ``none``, ``l1/pre_activation``, ``kl_sparsity``, a penalty of your own
    by its short name (``penalties.py:my_penalty``); under ``per_layer``, the distinct penalties of the layers that
    drew one, joined (``l1/kernel + l2/pre_activation``), or ``none`` when every layer drew none."""
    kinds = {_kind(own) for own in config.penalties if own.regularizer is not Regularizer.NONE}
    return JOIN.join(sorted(kinds, key=_kind_key)) if kinds else NONE


def group_key(group: str) -> tuple[tuple[int, int, str], ...]:
    """The order of groups in a table: ``none`` first, then by regularizer and placement as the vocabulary lists
    them (``l1`` before ``l2``, ``pre_activation`` before ``post_activation``), penalties of your own last."""
    return tuple(_kind_key(kind) for kind in group.split(JOIN))


def _kind(own: LayerPenalty) -> str:
    if own.regularizer is Regularizer.CUSTOM and own.penalty:
        return PenaltyName(own.penalty).short
    if own.regularizer.activated or own.placement is None:
        return own.regularizer.value
    return f"{own.regularizer.value}/{own.placement.value}"


def _kind_key(kind: str) -> tuple[int, int, str]:
    if kind == NONE:
        return (-1, -1, "")
    regularizer, _, placement = kind.partition("/")
    return (_REGULARIZERS.get(regularizer, len(_REGULARIZERS)), _PLACEMENTS.get(placement, -1), kind)


# --------------------------------------------------------------------------- the table


@dataclass(frozen=True)
class SuiteCell:
    """One group of one study: its best trial on the study's selection figure, reported on test, against none.

    Attributes:
        group: ``none``, ``l1/pre_activation``, ``kl_sparsity``... (:func:`group_of`).
        trial: The group's best trial by the study's ranking (on validation; on test under ``validation = "test"``).
        rank: Its place in the study's ranking, 1 for the study's best trial.
        trials: How many completed trials the group has.
        figure: The figure reported, the task's headline on the test set (``test_accuracy``, ``test_rmse``...).
        mean: ``figure``'s mean over the trial's seeds (``None`` if the trial did not record it).
        std: Its sample std over seeds (``None`` likewise).
        comparison: This trial against the row's baseline (``b - a``, ``a`` the best ``none`` trial), on ``figure``;
            ``None`` for the baseline itself, a row without one, or a comparison refused (:attr:`refused`).
        refused: Why the comparison could not be made (fewer shared seeds than 5, a figure not recorded).
        holm_p: The comparison's Holm-adjusted p-value over its row's comparisons.
        beats_none: Significant after Holm's correction, its interval wholly on the good side of 0.
    """

    group: str
    trial: TrialRecord
    rank: int
    trials: int
    figure: str
    mean: float | None
    std: float | None
    comparison: PairedComparison | None = None
    refused: str | None = None
    holm_p: float | None = None
    beats_none: bool = False

    @property
    def baseline(self) -> bool:
        """Whether this is the row's baseline, the best ``none`` trial."""
        return self.group == NONE


@dataclass(frozen=True)
class SuiteRow:
    """One study: each group's cell, and whether a penalty beats none.

    Attributes:
        study: The study's name.
        dataset: Its dataset (``circles``, ``csv (houses.csv)``; ``—`` without a spec).
        family: Its model (``mlp``, ``cnn``, ``rnn``, ``builder``, ``keras file``; ``—`` without a spec).
        task: What it learns; its figures are the task's (accuracy, or RMSE, lower better).
        selected_on: The figure its groups' best trials were chosen on (:attr:`StudyResults.selection_metric`).
        figure: The figure reported and compared, the task's headline on the test set.
        chosen_on_test: Whether the choice was made on the test set (``validation = "test"``): its figures are optimistic.
        cells: One per group, in :func:`group_key` order, ``none`` first.
        confidence: The intervals' level; ``1 - confidence`` is the row's family-wise error rate.
    """

    study: str
    dataset: str
    family: str
    task: Task
    selected_on: str
    figure: str
    chosen_on_test: bool
    cells: tuple[SuiteCell, ...]
    confidence: float = 0.95

    def cell(self, group: str) -> SuiteCell | None:
        """The cell of a group, if the study has it."""
        return next((c for c in self.cells if c.group == group), None)

    @property
    def baseline(self) -> SuiteCell | None:
        """The ``none`` cell, if the study completed an unregularized trial."""
        return self.cell(NONE)

    @property
    def choice(self) -> str | None:
        """The group of the study's best trial on validation (rank 1): the penalty the row chooses."""
        return min(self.cells, key=lambda c: c.rank).group if self.cells else None

    @property
    def winner(self) -> str | None:
        """The row's choice on validation (:attr:`choice`) where it beats none on test, else ``None``."""
        chosen = None if self.choice is None else self.cell(self.choice)
        return chosen.group if chosen is not None and chosen.beats_none else None

    @property
    def beating(self) -> tuple[str, ...]:
        """Every group that beats none, best-ranked first (the winner first)."""
        return tuple(c.group for c in sorted(self.cells, key=lambda c: c.rank) if c.beats_none)

    @property
    def verdict(self) -> str:
        """The row in words: ``l1/pre_activation beats none (Holm p=0.0032)``, ``no penalty beats none (chosen on
        validation: none)``..."""
        if not self.cells:
            return "no completed trial"
        if self.baseline is None:
            return "no unregularized trial to compare with"
        if self.winner is None:
            why = f"chosen on validation: {self.choice}" + ("" if self.choice == NONE else ", no better on test")
            passed = f"; better on test but not chosen: {', '.join(self.beating)}" if self.beating else ""
            return f"{NO_WINNER} ({why}{passed})"
        won = self.cell(self.winner)
        said = "" if won is None or won.holm_p is None else format_p(won.holm_p)
        p = f" (Holm p{said if said.startswith('<') else '=' + said})" if said else ""
        others = [g for g in self.beating if g != self.winner]
        also = f"; also {', '.join(others)}" if others else ""
        return f"{self.winner} beats none{p}{also}"


@dataclass(frozen=True)
class SuiteTable:
    """Studies side by side (:func:`side_by_side`).

    Attributes:
        rows: One per study, in the order given.
        confidence: The intervals' level.
    """

    rows: tuple[SuiteRow, ...]
    confidence: float = 0.95

    @property
    def groups(self) -> tuple[str, ...]:
        """Every group of any row, ``none`` first (:func:`group_key`)."""
        return tuple(sorted({c.group for row in self.rows for c in row.cells}, key=group_key))

    def row(self, study: str) -> SuiteRow:
        """The row of a study, by name.

        Raises:
            UserError: No row for that study.
        """
        found = next((r for r in self.rows if r.study == study), None)
        if found is None:
            raise UserError(f"no study {study!r} in the table (it has {', '.join(r.study for r in self.rows) or 'none'})")
        return found


def side_by_side(studies: Sequence[StudyResults], confidence: float = 0.95) -> SuiteTable:
    """Each study's penalties against none, one row per study (the module's docstring gives the rules).

    Args:
        studies: The studies, each a row, in this order.
        confidence: Level of the intervals; each row's family-wise error rate after Holm's correction is ``1 - confidence``.

    Raises:
        UserError: A bad ``confidence``.
    """
    check_level(confidence)
    return SuiteTable(tuple(suite_row(results, confidence) for results in studies), confidence)


def suite_row(results: StudyResults, confidence: float = 0.95) -> SuiteRow:
    """One study's row of :func:`side_by_side`."""
    figure = results.headline("test")
    chosen: dict[str, tuple[int, TrialRecord]] = {}
    sizes: dict[str, int] = {}
    for rank, trial in enumerate(results.ranked, 1):
        if trial.config is None:
            continue
        group = group_of(trial.config)
        sizes[group] = sizes.get(group, 0) + 1
        chosen.setdefault(group, (rank, trial))
    baseline = chosen.get(NONE)
    compared: dict[str, PairedComparison] = {}
    refused: dict[str, str] = {}
    for group, (_, trial) in chosen.items():
        if baseline is None or group == NONE:
            continue
        try:  # as compare does: b against a, seed by seed, on the test headline
            compared[group] = paired_comparison(baseline[1], trial, figure, confidence)
        except UserError as exc:
            refused[group] = str(exc)
    keys = list(compared)
    adjusted = dict(zip(keys, holm([compared[g].p_value for g in keys]), strict=True))
    alpha = 1 - confidence
    cells = tuple(
        SuiteCell(
            group=group, trial=trial, rank=rank, trials=sizes[group], figure=figure,
            mean=trial.mean(figure), std=trial.std(figure), comparison=compared.get(group), refused=refused.get(group),
            holm_p=adjusted.get(group),
            beats_none=group in compared and adjusted[group] <= alpha and _good_side(compared[group]),
        )
        for group, (rank, trial) in sorted(chosen.items(), key=lambda item: group_key(item[0]))
    )
    return SuiteRow(
        study=results.name, dataset=_dataset(results), family=_family(results), task=results.task,
        selected_on=results.selection_metric, figure=figure, chosen_on_test=results.selects_on_test,
        cells=cells, confidence=confidence,
    )


def _good_side(comparison: PairedComparison) -> bool:
    """Whether the interval of ``b - a`` lies wholly where ``b`` is better: above 0, or below for a figure better lower."""
    if HIGHER_IS_BETTER.get(comparison.metric) is False:
        return comparison.ci_high < 0
    return comparison.ci_low > 0


def _dataset(results: StudyResults) -> str:
    if results.spec is None:
        return "—"
    data = results.spec.data
    if data.path:
        return f"{data.name.value} ({data.path.rsplit('/', 1)[-1]})"
    return data.name.value


def _family(results: StudyResults) -> str:
    if results.spec is None:
        return "—"
    model = results.spec.model
    if model.builder is not None:
        return "builder"
    return "keras file" if model.file else model.family.value


# --------------------------------------------------------------------------- markdown


def suite_markdown(table: SuiteTable) -> str:
    """The table as Markdown: a legend, then one row per study, a column per group, and a verdict.

    Each cell is the group's best trial on validation, reported on test: ``mean ± std`` (its number, and of how
    many trials of the group it is the best), then its difference with none ``Δ`` and its interval,
    wins/ties/losses over seeds and the Wilcoxon p-value; the row's winner is in bold. A group the study did not
    search is ``—``. Accuracy is in percent, its differences in
    percentage points; RMSE and reconstruction MSE in their own units (lower is better: a negative ``Δ`` wins).
    """
    groups = table.groups
    level = f"{table.confidence:.0%}"
    lines = [
        "Each cell is the best trial of its penalty (regularizer/placement; a penalty that reads the activated output "
        "by its name alone), chosen on its study's selection figure (on validation), reported on the test set: "
        "mean ± std over seeds (the trial, and of how many trials of its penalty it is the best), then its paired "
        "difference with the best unregularized trial (none, chosen alike), "
        f"seed by seed: Δ = penalty − none with its {level} CI, wins / ties / losses over seeds, and the Wilcoxon p. "
        "Accuracy is in %, its differences in points; RMSE and MSE in their units, lower is better (a negative Δ wins). "
        f"**Bold**: the row's winner, better than none after Holm's correction over the row's comparisons at a "
        f"{1 - table.confidence:.0%} family-wise error rate, on the paired t-test's p-value (the Wilcoxon test's where "
        "the t-test is undefined), as `report` rules, and the penalty of the study's best trial on validation: the "
        "choice is made on validation, the test set only confirms it.",
    ]
    if any(row.chosen_on_test for row in table.rows):
        lines.append("")
        lines.append(
            "A row marked *chosen on test* (`validation = \"test\"`) chose its trials on the test figures it reports: "
            "they are optimistic."
        )
    head = ["study", "dataset", "family", "task", "chosen on → reported", *groups, "verdict"]
    lines += ["", _line(head), _line(["---"] * len(head))]
    for row in table.rows:
        chosen = f"{words(row.selected_on)} → {words(row.figure)}" + (" (*chosen on test*)" if row.chosen_on_test else "")
        cells = [_cell(row, row.cell(group)) for group in groups]
        lines.append(_line([row.study, row.dataset, row.family, row.task.value, chosen, *cells, row.verdict]))
    refusals = [(row.study, c.group, c.refused) for row in table.rows for c in row.cells if c.refused]
    if refusals:
        lines.append("")
        lines += [f"- {study}, {group}: not compared ({why})" for study, group, why in refusals]
    return "\n".join(lines) + "\n"


def _cell(row: SuiteRow, cell: SuiteCell | None) -> str:
    """One group of one row: ``78.0% ± 1.2% (trial 3, best of 8)<br>Δ +4.0 points [+2.1, +5.9] · 5/0/0 · p=0.062``."""
    if cell is None:
        return "—"
    which = f"trial {cell.trial.number}, best of {cell.trials}"
    if cell.mean is None or cell.std is None:
        figure = f"no {words(cell.figure)} ({which})"
    else:
        figure = f"{value_text(cell.figure, cell.mean)} ± {value_text(cell.figure, cell.std)} ({which})"
    if cell.baseline:
        against = "baseline"
    elif cell.comparison is not None:
        c = cell.comparison
        interval = f"[{_signed(c.metric, c.ci_low)}, {_signed(c.metric, c.ci_high)}]"
        against = (
            f"Δ {difference_text(c.metric, c.mean_difference)} {interval} · {c.wins}/{c.ties}/{c.losses} · "
            f"p={format_p(c.wilcoxon_p)}"
        )
    else:
        against = "not compared" if row.baseline is not None else "no none to compare"
    if row.winner == cell.group:
        return f"**{figure}**<br>**{against}**"
    return f"{figure}<br>{against}"


def _signed(name: str, value: float) -> str:
    """A bound of a difference's interval, signed, in the difference's units without naming them (``+2.1``)."""
    return difference_text(name, value).removesuffix(" points")


def _line(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


__all__ = [
    "NONE", "NO_WINNER", "SuiteCell", "SuiteRow", "SuiteTable", "group_key", "group_of", "side_by_side", "suite_markdown", "suite_row",
]
