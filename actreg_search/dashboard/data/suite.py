"""The suite page's data: the heatmap of each penalty against none, study by study, and each study's history.

The heatmap is :func:`~actreg_search.results.suite.side_by_side`'s table drawn
as a grid: one row per study, one column per penalty (every group of any
study but ``none``, the baseline each cell is compared with). A cell is the
paired difference of the group's best trial with the best ``none`` trial on
the study's headline test figure (:class:`~actreg_search.results.paired.PairedComparison`),
with its interval, *oriented* so that better than none is positive in every
row whatever the task: an accuracy's difference as it is, an RMSE's or a
reconstruction MSE's (lower is better, :func:`~actreg_search.spec.measures.maximized`)
with its sign flipped. Each cell keeps its row's own unit: percentage points
for a fraction (accuracy), the figure's own units otherwise (RMSE units).

Figures of different units share one colour bar only through :attr:`HeatCell.colour`:
the oriented difference divided by the largest one of its figure over the
suite, so that ±1 is that figure's largest difference; a suite of one figure
is coloured in its unit as it is. Nothing here draws or trains.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from actreg_search.dashboard.data.accuracy import HistoryData, optimization_history
from actreg_search.dashboard.data.base import Unavailable
from actreg_search.results.figures import metric_words, words
from actreg_search.results.records import StudyResults
from actreg_search.results.suite import NONE, SuiteCell, SuiteRow, SuiteTable
from actreg_search.spec.measures import POINTS, maximized

#: Said of a cell whose group its study did not search.
NOT_SEARCHED = "not searched in this study"


@dataclass(frozen=True)
class HeatCell:
    """One penalty of one study against the study's best ``none`` trial, oriented so that better is positive.

    Attributes:
        study: The study (the row).
        group: The penalty (the column): ``l1/pre_activation``, ``kl_sparsity``...
        figure: The figure compared, the study's headline on test (``test_accuracy``, ``test_rmse``...).
        unit: What :attr:`better`, :attr:`low` and :attr:`high` are in: ``points`` for a fraction, else the figure's
            own units (``RMSE units``).
        better: The paired mean difference penalty − none in :attr:`unit`, its sign flipped for a figure better lower:
            positive is better than none in every row. ``None`` where there is no comparison (:attr:`status`).
        low: The lower end of its interval, oriented and in :attr:`unit` alike (``None`` likewise).
        high: The upper end.
        raw: The difference as :func:`~actreg_search.results.paired.paired_comparison` gives it, penalty − none in
            the figure's units (a fraction, not points), unflipped.
        flipped: Whether the figure is better lower, so that :attr:`better` is ``-raw``.
        includes_zero: Whether the interval includes 0 (the difference may be no difference); ``False`` without one.
        winner: Whether this is the row's winner (:attr:`SuiteRow.winner`).
        chosen: Whether this is the row's choice on validation (:attr:`SuiteRow.choice`), a winner or not.
        beats_none: Significant after Holm's correction over its row, on the good side of 0.
        holm_p: Holm-adjusted p-value (``None`` without a comparison).
        wilcoxon_p: The Wilcoxon signed-rank p-value (``None`` likewise).
        trial: The group's best trial's number (``None`` where not searched).
        colour: :attr:`better` on the colour bar's scale (``None`` without a comparison).
        status: ``""`` where compared, else why not (:data:`NOT_SEARCHED`, ``not compared: ...``).
    """

    study: str
    group: str
    figure: str
    unit: str
    better: float | None = None
    low: float | None = None
    high: float | None = None
    raw: float | None = None
    flipped: bool = False
    includes_zero: bool = False
    winner: bool = False
    chosen: bool = False
    beats_none: bool = False
    holm_p: float | None = None
    wilcoxon_p: float | None = None
    trial: int | None = None
    colour: float | None = None
    status: str = ""

    @property
    def compared(self) -> bool:
        """Whether the cell has a difference to draw."""
        return self.better is not None


@dataclass(frozen=True)
class HeatRow:
    """One study of the heatmap.

    Attributes:
        study: The study's name.
        dataset: Its dataset (``circles``, ``diabetes``...).
        figure: The figure its cells compare (its headline on test).
        unit: What its differences are in (``points``, ``RMSE units``).
        flipped: Whether its figure is better lower (its differences' signs flipped).
        verdict: :attr:`SuiteRow.verdict` (``l1/pre_activation beats none (Holm p=0.0032)``...).
        chosen_on_test: Whether its trials were chosen on the test set (``validation = "test"``).
        cells: One per column of the heatmap, in its order.
    """

    study: str
    dataset: str
    figure: str
    unit: str
    flipped: bool
    verdict: str
    chosen_on_test: bool
    cells: tuple[HeatCell, ...]


@dataclass(frozen=True)
class HeatmapData:
    """The heatmap: studies × penalties, each cell its penalty's difference with none, better positive.

    Attributes:
        groups: The columns: every group of any study, ``none`` left out (the baseline), in table order.
        rows: The rows: one per study, in the order given.
        confidence: The intervals' level.
        colour_title: What the colour bar is in (``points, better than none →``, or scaled per figure).
        scaled: Whether colours are scaled per figure (the suite mixes units), so that ±1 is each figure's largest
            difference; otherwise they are the differences in their one unit.
        limit: The colour bar's half range (``±limit``, centred on 0).
    """

    groups: tuple[str, ...]
    rows: tuple[HeatRow, ...]
    confidence: float
    colour_title: str
    scaled: bool
    limit: float

    def cell(self, study: str, group: str) -> HeatCell:
        """The cell of a study and a group.

        Raises:
            KeyError: No such study or group in the heatmap.
        """
        row = next((r for r in self.rows if r.study == study), None)
        if row is None or group not in self.groups:
            raise KeyError((study, group))
        return row.cells[self.groups.index(group)]


@dataclass(frozen=True)
class StudyHistory:
    """One study's small history: the best-so-far of the figure it selects on, by trial number.

    Attributes:
        study: The study's name.
        data: :func:`~actreg_search.dashboard.data.accuracy.optimization_history`'s data (its ``best_so_far`` in
            the registry's direction: the lowest RMSE so far, the highest accuracy), or why it cannot be drawn.
    """

    study: str
    data: HistoryData | Unavailable


def unit_of(figure: str) -> str:
    """What a figure's differences are in: ``points`` for a fraction (accuracy), else ``RMSE units``,
    ``reconstruction MSE units``..."""
    return "points" if figure in POINTS else f"{metric_words(figure)} units"


def _scale(figure: str) -> float:
    """Multiplier from a figure's difference to its unit: 100 for a fraction (points), else 1."""
    return 100.0 if figure in POINTS else 1.0


def heatmap_data(table: SuiteTable) -> HeatmapData | Unavailable:
    """The heatmap of :func:`~actreg_search.results.suite.side_by_side`'s table (the module's docstring says how).

    Returns:
        The data, or :class:`Unavailable` when no study has a penalty compared with none.
    """
    groups = tuple(g for g in table.groups if g != NONE)
    if not table.rows:
        return Unavailable("No study to compare.")
    if not groups:
        return Unavailable("No study has a penalised trial: every completed trial is unregularized.")
    rows = [_row(row, groups) for row in table.rows]
    compared = [c for row in rows for c in row.cells if c.better is not None]
    if not compared:
        return Unavailable(
            "No penalty could be compared with none: a study needs a completed unregularized trial and penalised "
            "trials sharing at least 5 seeds with it (the table below says why for each)."
        )
    figures = {c.figure for c in compared}
    largest = {f: max((abs(c.better) for c in compared if c.figure == f and math.isfinite(c.better)), default=0.0) for f in figures}
    scaled = len(figures) > 1
    if scaled:
        limit = 1.0
        title = "better than none →<br>(each figure scaled:<br>±1 = its largest Δ)"
    else:
        (figure,) = figures
        limit = largest[figure] or 1.0
        title = f"Δ {unit_of(figure)},<br>better than none →"
    rows = [
        replace(row, cells=tuple(_coloured(c, (largest[c.figure] or 1.0) if scaled else 1.0) for c in row.cells))
        for row in rows
    ]
    return HeatmapData(
        groups=groups, rows=tuple(rows), confidence=table.confidence, colour_title=title, scaled=scaled, limit=limit
    )


def _coloured(cell: HeatCell, by: float) -> HeatCell:
    if cell.better is None or not math.isfinite(cell.better):
        return cell
    return replace(cell, colour=cell.better / by)


def _row(row: SuiteRow, groups: Sequence[str]) -> HeatRow:
    unit, flipped = unit_of(row.figure), not maximized(row.figure)
    return HeatRow(
        study=row.study, dataset=row.dataset, figure=row.figure, unit=unit, flipped=flipped, verdict=row.verdict,
        chosen_on_test=row.chosen_on_test, cells=tuple(_cell(row, row.cell(group), group) for group in groups),
    )


def _cell(row: SuiteRow, cell: SuiteCell | None, group: str) -> HeatCell:
    figure = row.figure
    unit, flipped = unit_of(figure), not maximized(figure)
    if cell is None:
        return HeatCell(row.study, group, figure, unit, flipped=flipped, status=NOT_SEARCHED)
    common = dict(
        study=row.study, group=group, figure=figure, unit=unit, flipped=flipped, winner=row.winner == group,
        chosen=row.choice == group, beats_none=cell.beats_none, holm_p=cell.holm_p, trial=cell.trial.number,
    )
    c = cell.comparison
    if c is None:
        why = cell.refused or ("no unregularized trial to compare with" if row.baseline is None else "no comparison")
        return HeatCell(**common, status=f"not compared: {why}")
    sign, scale = (-1.0 if flipped else 1.0), _scale(figure)
    ends = sorted((sign * scale * c.ci_low, sign * scale * c.ci_high))
    return HeatCell(
        **common, better=sign * scale * c.mean_difference, low=ends[0], high=ends[1], raw=c.mean_difference,
        includes_zero=not c.ci_excludes_zero, wilcoxon_p=c.wilcoxon_p,
    )


def study_histories(studies: Sequence[StudyResults]) -> tuple[StudyHistory, ...]:
    """Each study's optimization history (:func:`~actreg_search.dashboard.data.accuracy.optimization_history`), in
    the order given: its best-so-far of the figure it selects on, in the registry's direction."""
    return tuple(StudyHistory(results.name, optimization_history(results)) for results in studies)


def history_axis(data: HistoryData) -> str:
    """A small history's y axis: ``best validation accuracy so far``, ``best validation RMSE so far (lower is better)``."""
    lower = "" if maximized(data.metric) else " (lower is better)"
    return f"best {words(data.metric)} so far{lower}"


__all__ = [
    "NOT_SEARCHED", "HeatCell", "HeatRow", "HeatmapData", "StudyHistory", "heatmap_data", "history_axis",
    "study_histories", "unit_of",
]
