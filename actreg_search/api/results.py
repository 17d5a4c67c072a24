"""A stored study, loaded for Python: its trials as a table, the best ones, comparisons, figures and exports.

:func:`load` reads a study once (:func:`~actreg_search.store.reader.load_results`,
with the learning curves the dashboard draws) and wraps the read model in a
:class:`Results`. Every method calls the library function the CLI command
calls (``show``, ``compare``, ``export``, ``report``, ``dashboard``), so
the two never disagree; nothing here trains, except :meth:`Results.save_model`,
which retrains as ``export --model`` does. pandas, plotly and scipy are
imported by the methods that need them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from actreg_search.errors import UserError
from actreg_search.results.records import SplitCounts, StateCounts, StudyResults, TrialRecord
from actreg_search.spec.specs import StudySpec, Validation

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

    from actreg_search.api.exports import SavedModel
    from actreg_search.engine.base import Monitor
    from actreg_search.results.paired import PairedComparison

TrialRef = int | TrialRecord


def load(name: str, storage: str | None = None, *, curves: bool = True) -> Results:
    """Load a stored study.

    Args:
        name: The study's name.
        storage: Its storage URL (default: ``ACTREG_STORAGE``, then ``sqlite:///actreg.db``).
        curves: Read the learning curves the dashboard draws (``False``: skip them, for tables only).

    Returns:
        The study's trials, with the learning curves :meth:`Results.figure` ``("curves")`` draws (the best
        trial's and the best unregularized one's).

    Raises:
        StorageError: The storage or the study does not exist.
    """
    from actreg_search.api.storage import storage_url
    from actreg_search.store.reader import load_results
    from actreg_search.store.storage import open_reader

    url = storage_url(storage)
    engine = open_reader(url)
    try:
        return Results(load_results(engine, name, curves="drawn" if curves else "none"), url)
    finally:
        engine.dispose()


class Results:
    """A loaded study (see :func:`load`).

    Args:
        results: The read model of the study (:class:`~actreg_search.results.records.StudyResults`): every
            :class:`~actreg_search.results.records.TrialRecord`, ranked, with the spec; kept as :attr:`results`.
        storage: The storage URL it was read from; kept as :attr:`storage`.
    """

    def __init__(self, results: StudyResults, storage: str) -> None:
        self.results = results
        self.storage = storage

    def __repr__(self) -> str:
        best = self.best
        shown = f"best {best.value:.4f} (trial {best.number})" if best is not None and best.value is not None else "no best"
        return f"<Results {self.name!r}: {self.counts.describe()}; {shown}>"

    # ------------------------------------------------------------------ the study

    @property
    def name(self) -> str:
        """The study's name."""
        return self.results.name

    @property
    def spec(self) -> StudySpec | None:
        """The spec the study was made from (``None`` for a study not made by actreg_search); a builder or loader given
        as a Python function is stored as its ``module:qualname`` text, so here it is that text, not the function."""
        return self.results.spec

    @property
    def trials(self) -> tuple[TrialRecord, ...]:
        """Every trial, any state, by number."""
        return self.results.trials

    @property
    def counts(self) -> StateCounts:
        """Trials by state."""
        return self.results.counts

    @property
    def objectives(self) -> tuple[str, ...]:
        """The per-seed figure each objective selects on, e.g. ``validation_accuracy`` or ``validation_log_loss`` first."""
        return self.results.objectives

    @property
    def validation(self) -> Validation:
        """The study's validation protocol (``validation.describe()`` says it in words)."""
        return self.results.validation

    @property
    def selection_metric(self) -> str:
        """The per-seed figure the study chose on: ``validation_accuracy`` (``validation_log_loss``...), ``test_*`` under ``"test"``."""
        return self.results.selection_metric

    @property
    def split(self) -> SplitCounts | None:
        """Samples each model trained, validated and was tested on (``None`` for a study stored before they were kept)."""
        return self.results.split

    def trial(self, number: int) -> TrialRecord:
        """The trial with this number, any state.

        Raises:
            UserError: The study has no such trial.
        """
        trial = self.results.trial(number)
        if trial is None:
            raise UserError(f"study {self.name!r} has no trial {number}")
        return trial

    def frame(self) -> pd.DataFrame:
        """Every trial as one row of a pandas DataFrame (what ``export --trials`` writes).

        Columns: ``number``, ``state``, ``value``; ``params_*`` (what the
        sampler chose) and ``config_*`` (the config trained); ``<figure>_mean``
        and ``<figure>_std`` for each per-seed figure of the study's task; the
        headline figure per seed ``s`` (``test_accuracy_seed<s>``, a regression's
        ``test_rmse_seed<s>``...); ``wall_time_s``, ``duration_s`` and ``fail_reason``.
        """
        from actreg_search.results.export import trials_frame

        return trials_frame(self.results)

    # ------------------------------------------------------------------ the best

    @property
    def best(self) -> TrialRecord | None:
        """The best completed trial by the first objective's mean over seeds, validation accuracy by default (the lowest
        for ``log_loss``, a regression's RMSE; on the test set for a study selected there; ties: the read model's rule)."""
        return self.results.best

    @property
    def selects_on_test(self) -> bool:
        """Whether the study chose its trials on the test set (``validation = "test"``; its test figures are then optimistic)."""
        return self.results.selects_on_test

    @property
    def multi_objective(self) -> bool:
        """Whether the study has several objectives (then :meth:`pareto_front` is its answer to "best")."""
        return self.results.multi_objective

    def leading(self, k: int = 10) -> list[TrialRecord]:
        """The trials ``show`` lists: the ``k`` best (:meth:`top`), or for a multi-objective study the first ``k`` of its
        Pareto front, best first."""
        return self.results.leading(k)

    @property
    def protocol(self) -> str:
        """The study's protocol in words, e.g. ``selected on 5-fold cross-validation ...`` or ``selected on the test set``."""
        from actreg_search.results.markdown import protocol_text

        return protocol_text(self.results)

    def selection_lines(self) -> list[str]:
        """The lines ``show`` prints under its table: the protocol, and the best trial's validation and test figure
        (accuracy, RMSE...) side by side with their difference (a study selected on the test set is labelled so)."""
        from actreg_search.results.markdown import selection_lines

        return selection_lines(self.results)

    def show_table(self, trials: list[TrialRecord]) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
        """``show``'s columns and a row of text per trial, of the study's task's figures
        (:func:`~actreg_search.results.figures.show_table`)."""
        from actreg_search.results.figures import show_table

        return show_table(self.results, trials)

    @staticmethod
    def words(figure: str) -> str:
        """A figure's name in words: ``validation accuracy``, ``test RMSE``, ``rmse`` is ``RMSE``."""
        from actreg_search.results.figures import words

        return words(figure)

    @property
    def best_unregularized(self) -> TrialRecord | None:
        """The best completed trial without a penalty, if any."""
        return self.results.best_unregularized

    def top(self, k: int = 10) -> list[TrialRecord]:
        """The ``k`` best completed trials, best first (by the first objective's figure, on validation or on the test
        set under ``validation = "test"``, whatever the other objectives)."""
        return self.results.top(k)

    def pareto_front(self) -> list[TrialRecord]:
        """The trials on the Pareto front of a multi-objective study, ranked as :meth:`top`.

        Raises:
            UserError: The study has one objective (view ``"sparsity"`` draws its headline figure against sparsity).
        """
        if not self.results.multi_objective:
            raise UserError(f"study {self.name!r} has one objective ({self.objectives[0]}), so no Pareto front of objectives")
        return self.results.pareto_front()

    # ------------------------------------------------------------------ comparisons

    def compare(
        self, a: TrialRef, b: TrialRef, metric: str | None = None, confidence: float = 0.95, *, on: str | None = None
    ) -> PairedComparison:
        """Trial ``b`` against trial ``a``, seed by seed (``compare --trials A B``).

        Args:
            a: The reference trial (a number or a record); differences are ``b - a``.
            b: The trial measured against it.
            metric: A figure named without a split (``"accuracy"``, ``"rmse"``, ``"sparsity"``...) on the split ``on``
                names, or a per-seed figure by its full name (``test_accuracy``, ``"train_loss"``, ...), used as
                named (:func:`actreg_search.results.stats.figure_on`); ``None``: the study's headline figure (accuracy,
                a regression's ``rmse``, an autoencoder's ``mse``). A lower RMSE, MSE or log loss is a win.
            confidence: Level of the confidence interval.
            on: The split: ``"test"`` (the default; ``None`` means it) or
                ``"validation"`` (a study with validation figures only). A
                split other than a full-named figure's own is an error.

        Returns:
            Mean difference, confidence interval, tests and wins; ``describe()`` says it in one sentence.

        Raises:
            UserError: No such completed trial, an unknown metric or split, a split the figure is not measured
                on, ``on="validation"`` without validation figures, or fewer than 5 shared seeds.
        """
        from actreg_search.results.paired import paired_comparison

        figure = self._figure(metric, on)
        return paired_comparison(self._completed(a), self._completed(b), figure, confidence)

    def best_vs_baseline(self, metric: str | None = None, confidence: float = 0.95, *, on: str | None = None) -> PairedComparison:
        """The best regularized trial against the best unregularized one (``compare --best-vs-baseline``).

        "Best" is the study's ranking (on its first objective, on validation where measured),
        whatever ``metric`` and ``on`` compare; ``metric`` and ``on`` as in :meth:`compare`.

        Raises:
            UserError: No completed unregularized or regularized trial, or any error of :meth:`compare`.
        """
        from actreg_search.results import stats

        figure = self._figure(metric, on)
        baseline, challenger = stats.best_vs_baseline(self.results)
        return stats.paired_comparison(baseline, challenger, figure, confidence)

    def top_vs_best(
        self, k: int, metric: str | None = None, confidence: float = 0.95, *, on: str | None = None
    ) -> list[PairedComparison]:
        """Each of the top ``k`` trials (ranks 2..k) against the best (``compare --top K``); ``metric`` and ``on`` as in :meth:`compare`."""
        from actreg_search.results import stats

        figure = self._figure(metric, on)
        return stats.top_k_vs_best(self.results, k, figure, confidence)

    def _figure(self, metric: str | None, on: str | None) -> str:
        """The per-seed figure ``metric`` (``None``: the study's headline) names on ``on``, refused if never recorded."""
        from actreg_search.results import stats

        figure = stats.figure_on(metric or self.results.task.headline.value, on)
        stats.require_figure(self.results, figure)
        return figure

    def _completed(self, trial: TrialRef) -> TrialRecord:
        from actreg_search.results import stats

        return stats.trial_by_number(self.results, trial.number if isinstance(trial, TrialRecord) else trial)

    # ------------------------------------------------------------------ figures and reports

    def figure(self, view: str, objective: str | None = None) -> go.Figure:
        """One of the dashboard's views as a plotly Figure.

        Args:
            view: One of ``history``, ``selection``, ``importance``, ``parallel``, ``path``, ``layers``, ``sparsity``,
                ``pareto``, ``curves``, ``seeds``, ``width``, ``slice`` (:data:`actreg_search.api.views.VIEWS`).
            objective: For ``importance``, ``parallel`` and ``slice`` of a multi-objective study, which objective (default: the first).

        Raises:
            UserError: An unknown view (the message lists the names), or one this study cannot be drawn in (it says why).
        """
        from actreg_search.api.views import draw_view

        return draw_view(self.results, view, objective)

    def markdown(self, confidence: float = 0.95, *, on: str | None = None) -> str:
        """The markdown report (``actreg-search report``): the protocol, every completed trial, and comparisons.

        Each trial is compared seed by seed with the best trial and with the
        best unregularized one, with Holm's correction over the comparisons listed.

        Args:
            confidence: Level of the intervals; the family-wise error rate is ``1 - confidence``.
            on: The split the comparisons use: ``"test"`` (``None`` means it) or ``"validation"`` (a study with validation figures only).

        Raises:
            UserError: No completed trial, an unknown split, or ``on="validation"`` without validation figures.
        """
        from actreg_search.results.markdown import markdown_report

        return markdown_report(self.results, confidence, on=on)

    def write_markdown(self, path: str | Path, confidence: float = 0.95, *, on: str | None = None) -> Path:
        """Write :meth:`markdown` to a file (``actreg-search report --out``).

        Raises:
            UserError: A missing folder, or any error of :meth:`markdown`.
        """
        from actreg_search.results.export import check_out_path, write_text

        path = Path(path)
        check_out_path(path)
        write_text(path, self.markdown(confidence, on=on))
        return path

    def write_dashboard(self, path: str | Path) -> Path:
        """Write the self-contained HTML report of every view (``actreg-search dashboard --out``)."""
        from actreg_search.dashboard import write_report

        write_report(self.results, Path(path))
        return Path(path)

    # ------------------------------------------------------------------ exports

    def best_configs(self, k: int = 1) -> list[dict[str, Any]]:
        """The ``k`` best configs with their per-seed figures, as plain dicts (``export``'s entries).

        Each has ``rank``, ``trial``, the mean figures, ``space`` (the values as
        a study file's fixed ``[space]`` entries), ``config`` and ``per_seed``.
        For a multi-objective study these are the Pareto front's trials.

        Raises:
            UserError: No completed trial.
        """
        from actreg_search.results.export import best_entries

        return best_entries(self.results, k)

    def best_text(self, k: int = 1, format: str = "json") -> str:
        """The ``k`` best configs (:meth:`best_configs`) as ``json``, ``yaml`` or ``csv`` text (``export``'s stdout).

        Raises:
            UserError: An unknown format, or no completed trial.
        """
        from actreg_search.results.export import best_text

        return best_text(self.results, k, format)

    def write_best(self, path: str | Path, k: int = 1, format: str | None = None) -> Path:
        """Write the ``k`` best configs to a file (``export --out``): ``format`` ``json``, ``yaml`` or ``csv``, by
        default by the suffix (:func:`actreg_search.api.exports.write_best`)."""
        from actreg_search.api.exports import write_best

        return write_best(self.results, Path(path), k, format)

    def write_trials(self, path: str | Path) -> Path:
        """Write :meth:`frame` to a ``.csv`` or ``.parquet`` file (``export --trials``).

        Raises:
            UserError: Another suffix or a missing folder.
        """
        from actreg_search.results.export import write_trials

        write_trials(self.results, Path(path))
        return Path(path)

    def model_trial(self) -> TrialRecord:
        """The trial :meth:`save_model` retrains by default (``export --model``): the best.

        Raises:
            UserError: No completed trial, or a study not made by actreg_search.
        """
        from actreg_search.results.export import model_trial

        return model_trial(self.results)

    def save_model(
        self, path: str | Path, trial: TrialRef | None = None, spec: StudySpec | None = None, *, monitor: Monitor | None = None
    ) -> SavedModel:
        """Retrain a trial's config (default: :meth:`model_trial`) on its first seed, on the whole training split,
        and save it as ``.keras`` (``export --model``); see :func:`actreg_search.api.exports.save_model`."""
        from actreg_search.api.exports import save_model

        chosen = None if trial is None else self._completed(trial)
        return save_model(self.results, Path(path), chosen, spec, monitor)
