"""What Optuna's own charts are drawn from: an in-memory Optuna study built from the read model.

Optuna's charts (importances, parallel coordinates, slice, Pareto front) take
an ``optuna.Study``. Loading the stored one would read every trial a second
time, curves included, through Optuna's ORM; instead :func:`optuna_input`
builds a study in memory from the completed :class:`TrialRecord`\\ s, which
carry their parameters and distributions, thinned to
:data:`~actreg_search.dashboard.data.thinning.MAX_OPTUNA_TRIALS` (the best
trials and the Pareto front always in). In that study trial numbers run from 0;
each trial's stored number is its user attribute ``trial`` (shown on hover).

For a multi-objective study every chart needs a target: :class:`Target` is
one objective, and the report draws one chart per objective.

Each objective has the direction the study was made with (maximize, or
minimize for ``log_loss``: :func:`~actreg_search.spec.measures.optuna_direction`),
and the in-memory study has the same. Optuna's per-objective charts must not
be given ``target=``: Optuna then assumes *lower* is better, whatever the
study's direction (PED-ANOVA, Optuna's default importance evaluator, then
takes the lowest values as its top quantile, and the parallel-coordinate
colour scale is reversed for any ``target``; see
:mod:`actreg_search.dashboard.optuna_charts`).
Negating ``target`` instead would show negated accuracies on the axes. So
:meth:`OptunaInput.objective_study` gives, per objective, a *single-objective*
study with that objective's direction whose values are that objective's, in
their own units, and the charts draw it without ``target=``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import optuna
from optuna.trial import FrozenTrial, TrialState

from actreg_search.dashboard.data.base import Unavailable, nothing_completed, words
from actreg_search.dashboard.data.thinning import MAX_OPTUNA_TRIALS, sample
from actreg_search.results.records import StudyResults, TrialRecord
from actreg_search.spec.measures import optuna_direction

#: The user attribute holding a trial's stored number in the in-memory study.
NUMBER_ATTR = "trial"


@dataclass(frozen=True)
class Target:
    """One objective of the study: ``trial.values[index]``, maximized (or minimized: ``maximize`` false).

    Optuna's per-objective charts are drawn from
    :meth:`OptunaInput.objective_study` of it, not with it as Optuna's
    ``target=`` (which Optuna treats as lower-is-better).

    Attributes:
        index: The objective's position.
        key: Its name, e.g. ``sparsity`` (used in chart ids).
        name: Its axis label, e.g. ``mean sparsity``.
        maximize: Its direction (``False`` for ``log_loss``).
    """

    index: int
    key: str
    name: str
    maximize: bool = True

    def __call__(self, trial: FrozenTrial) -> float:
        """The objective's value of ``trial``."""
        return trial.values[self.index]


@dataclass(frozen=True)
class OptunaInput:
    """An in-memory Optuna study of (at most :data:`MAX_OPTUNA_TRIALS`) completed trials.

    Attributes:
        study: The study, one direction per objective (the stored study's).
        targets: One per objective.
        note: How many trials it holds, if it was thinned.
    """

    study: optuna.Study
    targets: tuple[Target, ...]
    note: str | None

    @property
    def multi_objective(self) -> bool:
        """Whether the study has several objectives."""
        return len(self.targets) > 1

    def objective_study(self, target: Target) -> optuna.Study:
        """A single-objective study (in the objective's direction) of one objective, for Optuna's charts.

        Its trials are those of :attr:`study`, numbered alike, with the same
        parameters and user attributes; each trial's one value is ``target``'s
        objective value, unchanged (not negated). Drawn without ``target=``,
        Optuna's charts then take the study's direction, so they treat higher
        (or, minimized, lower) as better. For a single-objective study this is :attr:`study` itself.

        Args:
            target: One of :attr:`targets`.

        Returns:
            The study (built once per objective, then reused).
        """
        if not 0 <= target.index < len(self.targets):
            raise ValueError(f"objective {target.index} of a study with {len(self.targets)} objectives")
        return self._objective_studies[target.index]

    @cached_property
    def _objective_studies(self) -> tuple[optuna.Study, ...]:
        """One single-objective study per objective, in its direction (:meth:`objective_study`)."""
        if not self.multi_objective:
            return (self.study,)
        trials = self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        studies = []
        for target in self.targets:
            study = _study(f"{self.study.study_name}: {target.key}", ["maximize" if target.maximize else "minimize"])
            study.add_trials(
                [
                    optuna.trial.create_trial(
                        state=TrialState.COMPLETE,
                        params=t.params,
                        distributions=t.distributions,
                        values=[target(t)],
                        user_attrs=t.user_attrs,
                    )
                    for t in trials
                ]
            )
            studies.append(study)
        return tuple(studies)


def targets(results: StudyResults) -> tuple[Target, ...]:
    """One :class:`Target` per objective of the study."""
    return tuple(
        Target(i, name, f"mean {words(name)}", optuna_direction(name) == "maximize") for i, name in enumerate(results.objectives)
    )


def searched_params(results: StudyResults) -> dict[str, int]:
    """Each parameter the sampler chose in completed trials, with its number of distinct values."""
    seen: dict[str, set[object]] = {}
    for trial in results.completed:
        for name, value in trial.params.items():
            seen.setdefault(name, set()).add(value)
    return {name: len(values) for name, values in seen.items()}


def param_chart_check(results: StudyResults, min_trials: int = 1) -> Unavailable | None:
    """Whether Optuna's parameter charts (importances, parallel coordinates, slice) can be drawn.

    Args:
        results: The study.
        min_trials: Completed trials the chart needs (2 for importances).

    Returns:
        ``None`` if the chart can be drawn, else why not.
    """
    completed = results.completed
    if not completed:
        return nothing_completed(results)
    if len(completed) < min_trials:
        return Unavailable(f"Needs at least {min_trials} completed trials; the study has {len(completed)}.")
    params = searched_params(results)
    if not params:
        return Unavailable("The sampler chose no parameter: every value is fixed by the study file.")
    if min_trials > 1 and max(params.values()) < 2:
        return Unavailable("Every completed trial has the same parameters, so none can matter more than another.")
    return None


def _study(name: str, directions: list[str]) -> optuna.Study:
    """An empty in-memory study of objectives in these directions (without Optuna's log line)."""
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        return optuna.create_study(storage=optuna.storages.InMemoryStorage(), study_name=name, directions=directions)
    finally:
        optuna.logging.set_verbosity(verbosity)


def _frozen(trial: TrialRecord) -> FrozenTrial:
    distributions = {name: d for name, d in trial.distributions.items() if name in trial.params}
    return optuna.trial.create_trial(
        state=TrialState.COMPLETE,
        params={name: trial.params[name] for name in distributions},
        distributions=distributions,
        values=list(trial.values),
        user_attrs={NUMBER_ATTR: trial.number},
    )


def optuna_input(results: StudyResults, limit: int = MAX_OPTUNA_TRIALS) -> OptunaInput | Unavailable:
    """An in-memory Optuna study of the completed trials, for Optuna's charts.

    Args:
        results: The study (only completed trials with every objective's finite value are used).
        limit: The most trials it holds: the Pareto front (several objectives)
            or the best, then an evenly spaced sample.

    Returns:
        The study, or why there is none.
    """
    n = len(results.objectives)
    completed = [t for t in results.completed if len(t.values) == n and all(math.isfinite(v) for v in t.values)]
    if not completed:
        return nothing_completed(results)
    keep = [t.number for t in results.leading(1)]
    if results.multi_objective:  # the front, one trial per point of it first (copied trials share points)
        front = [t for t in completed if t.number in results.pareto_numbers]
        keep = [*{t.values: t.number for t in reversed(front)}.values(), *(t.number for t in front)]
    chosen = sample(completed, limit, keep=keep)
    study = _study(results.name, [optuna_direction(name) for name in results.objectives])
    study.add_trials([_frozen(t) for t in chosen.trials])
    return OptunaInput(study=study, targets=targets(results), note=chosen.note("completed trials"))
