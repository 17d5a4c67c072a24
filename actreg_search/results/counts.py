"""How many: samples per split, and trials per state (:mod:`actreg_search.results.records` re-exports both)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from optuna.trial import TrialState


@dataclass(frozen=True)
class SplitCounts:
    """How many samples a study's seeds train on, validate on and are tested on.

    Attributes:
        train: Samples each seed's model trains on (the training split less its validation samples).
        validation: Samples each model validates on (0 under ``validation = "test"``).
        test: Samples in the test set.
        folds: Models per seed (k under k-fold cross-validation, else 1).
    """

    train: int
    validation: int
    test: int
    folds: int = 1

    def describe(self) -> str:
        """E.g. ``24 train / 6 validation / 70 test``, with ``× 5 folds`` under k-fold."""
        parts = [f"{self.train} train"]
        if self.validation:
            parts.append(f"{self.validation} validation")
        parts.append(f"{self.test} test")
        text = " / ".join(parts)
        return f"{text} (per fold, {self.folds} folds a seed)" if self.folds > 1 else text


@dataclass(frozen=True)
class StateCounts:
    """How many trials are in each state."""

    complete: int = 0
    pruned: int = 0
    failed: int = 0
    running: int = 0
    waiting: int = 0

    @classmethod
    def of(cls, states: Sequence[TrialState]) -> StateCounts:
        """Count a sequence of states."""
        return cls(
            complete=sum(s is TrialState.COMPLETE for s in states),
            pruned=sum(s is TrialState.PRUNED for s in states),
            failed=sum(s is TrialState.FAIL for s in states),
            running=sum(s is TrialState.RUNNING for s in states),
            waiting=sum(s is TrialState.WAITING for s in states),
        )

    @property
    def total(self) -> int:
        """Every trial."""
        return self.complete + self.pruned + self.failed + self.running + self.waiting

    @property
    def finished(self) -> int:
        """Complete and pruned trials: what counts toward a study's target."""
        return self.complete + self.pruned

    def of_state(self, state: TrialState) -> int:
        """The count of one state."""
        return {
            TrialState.COMPLETE: self.complete,
            TrialState.PRUNED: self.pruned,
            TrialState.FAIL: self.failed,
            TrialState.RUNNING: self.running,
            TrialState.WAITING: self.waiting,
        }[state]

    def describe(self) -> str:
        """E.g. ``3 complete, 1 failed, 0 pruned, 0 running``."""
        return f"{self.complete} complete, {self.failed} failed, {self.pruned} pruned, {self.running} running"
