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
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import optuna
from optuna.trial import FrozenTrial, TrialState

from actreg_search.dashboard.data.base import Unavailable, nothing_completed
from actreg_search.dashboard.data.thinning import MAX_OPTUNA_TRIALS, sample
from actreg_search.results import StudyResults, TrialRecord

#: The user attribute holding a trial's stored number in the in-memory study.
NUMBER_ATTR = "trial"


@dataclass(frozen=True)
class Target:
    """One objective as Optuna's ``target=``: ``trial.values[index]``.

    Attributes:
        index: The objective's position.
        key: Its name, e.g. ``sparsity`` (used in chart ids).
        name: Its axis label, e.g. ``mean sparsity``.
    """

    index: int
    key: str
    name: str

    def __call__(self, trial: FrozenTrial) -> float:
        """The objective's value of ``trial``."""
        return trial.values[self.index]


@dataclass(frozen=True)
class OptunaInput:
    """An in-memory Optuna study of (at most :data:`MAX_OPTUNA_TRIALS`) completed trials.

    Attributes:
        study: The study, one direction (maximize) per objective.
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


def targets(results: StudyResults) -> tuple[Target, ...]:
    """One :class:`Target` per objective of the study."""
    return tuple(Target(i, name, f"mean {name.replace('_', ' ')}") for i, name in enumerate(results.objectives))


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
    keep = [t.number for t in results.best(1)]
    if results.multi_objective:  # the front, one trial per point of it first (copied trials share points)
        front = [t for t in completed if t.number in results.pareto_front]
        keep = [*{t.values: t.number for t in reversed(front)}.values(), *(t.number for t in front)]
    chosen = sample(completed, limit, keep=keep)
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = optuna.create_study(
            storage=optuna.storages.InMemoryStorage(), study_name=results.name, directions=["maximize"] * n
        )
    finally:
        optuna.logging.set_verbosity(verbosity)
    study.add_trials([_frozen(t) for t in chosen.trials])
    return OptunaInput(study=study, targets=targets(results), note=chosen.note("completed trials"))
