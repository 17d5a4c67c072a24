"""The study's pruner, by name: a registry of factories from the study file to an Optuna pruner.

A pruner stops a trial whose intermediate values (the mean accuracy over
seeds where the study selects, reported after each chunk of epochs) trail the
others'. Those are accuracies, so the parser allows a pruner only with the
objective accuracy (a ``log_loss`` study, minimized, would prune its best
trials). A new pruner is one entry in :data:`PRUNERS`.
"""

from __future__ import annotations

from collections.abc import Callable

import optuna

from actreg_search.spec.specs import StudySpec
from actreg_search.spec.vocab import PrunerName

PrunerFactory = Callable[[StudySpec], optuna.pruners.BasePruner]


def _median(spec: StudySpec) -> optuna.pruners.BasePruner:
    return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=0)


def _hyperband(spec: StudySpec) -> optuna.pruners.BasePruner:
    # Values are reported after each chunk (about a twentieth of the epochs): the first rung is the first report.
    first_report = max(1, spec.model.epochs // 20)
    return optuna.pruners.HyperbandPruner(min_resource=first_report, max_resource=spec.model.epochs)


def _none(spec: StudySpec) -> optuna.pruners.BasePruner:
    return optuna.pruners.NopPruner()


PRUNERS: dict[PrunerName, PrunerFactory] = {
    PrunerName.NONE: _none,
    PrunerName.MEDIAN: _median,
    PrunerName.HYPERBAND: _hyperband,
}
"""Each ``[study] pruner`` name's factory."""


def make_pruner(spec: StudySpec) -> optuna.pruners.BasePruner:
    """The Optuna pruner the study file asks for."""
    return PRUNERS[spec.study.pruner](spec)
