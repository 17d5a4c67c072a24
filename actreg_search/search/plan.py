"""How far a study runs: its target of finished trials, and for a grid how many configs it has left.

The target counts the study's finished (complete or pruned) trials across
reruns and workers; :meth:`Plan.room` says how many trials a worker may start
now so that the study ends with exactly its target, and never draws a grid's
config twice.
"""

from __future__ import annotations

from dataclasses import dataclass

import optuna
from optuna.trial import FrozenTrial, TrialState

from actreg_search.search.space import grid_size
from actreg_search.spec.specs import StudySpec
from actreg_search.spec.vocab import SamplerName
from actreg_search.store.reader import interrupted

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
"""The states that count toward a study's target."""


@dataclass(frozen=True)
class Plan:
    """How far a run goes: the target, and for grids the number of distinct configs."""

    target: int
    grid_size: int | None

    @classmethod
    def of(cls, spec: StudySpec) -> Plan:
        """The plan of a study file."""
        if spec.study.sampler is SamplerName.GRID:
            size = grid_size(spec)
            return cls(target=min(spec.study.n_trials, size), grid_size=size)
        return cls(target=spec.study.n_trials, grid_size=None)

    def exhausted(self, study: optuna.Study) -> bool:
        """Whether every config of the grid was tried (finished or failed, not interrupted)."""
        if self.grid_size is None:
            return False
        tried = study.get_trials(deepcopy=False, states=(*FINISHED, TrialState.FAIL))
        return len({_config(t) for t in tried if not interrupted(t)}) >= self.grid_size

    def room(self, study: optuna.Study) -> int:
        """How many trials may start now: the target less the finished and running ones.

        For a grid, also no more than the configs neither tried nor running,
        so that a batch never draws a config twice.
        """
        trials = study.get_trials(deepcopy=False, states=(*FINISHED, TrialState.RUNNING, TrialState.FAIL))
        room = self.target - sum(t.state is not TrialState.FAIL for t in trials)
        if self.grid_size is not None:
            taken = {
                _config(t)
                for t in trials
                if (t.state in FINISHED)
                or (t.state is TrialState.RUNNING and t.params)
                or (t.state is TrialState.FAIL and not interrupted(t))
            }
            room = min(room, self.grid_size - len(taken))
        return room


def _config(trial: FrozenTrial) -> tuple[tuple[str, object], ...]:
    return tuple(sorted(trial.params.items()))


def finished(study: optuna.Study) -> int:
    """The study's finished trials: what counts toward its target."""
    return len(study.get_trials(deepcopy=False, states=FINISHED))


__all__ = ["FINISHED", "Plan", "finished"]
