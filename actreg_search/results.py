"""Trial results in storage, both ways.

:func:`result_attrs` turns an engine's :class:`TrialResult` into the Optuna
trial user attributes that are stored; :func:`load_results` reads a stored
study back into typed :class:`TrialRecord` objects. The attribute keys are
defined here and nowhere else.
"""

from __future__ import annotations

import platform
import statistics
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from actreg_search.config import TrialConfig
from actreg_search.engine.base import TrialResult, sample_std
from actreg_search.storage import load_study

#: Per-seed figures stored for every completed trial (each also as ``_mean`` and ``_std``).
PER_SEED = ("test_accuracy", "train_accuracy", "train_loss", "gap", "activation_mean", "sparsity")

CONFIG = "config"
SEEDS = "seeds"
ENGINE = "engine"
CURVE_EPOCHS = "curve_epochs"
TRAIN_CURVE = "train_curve"
TEST_CURVE = "test_curve"
WALL_TIME = "wall_time_s"
VERSIONS = "versions"
REGULARIZED_LAYER = "regularized_layer"
FAIL_REASON = "fail_reason"
FAIL_SEED = "fail_seed"
INTERRUPTED = "interrupted"
WORKER = "worker"
WORKER_RSS_MB = "worker_rss_mb"
WORKER_CPUS = "worker_cpus"

_PACKAGES = ("actreg-search", "keras", "tensorflow-cpu", "tensorflow", "optuna", "numpy", "scikit-learn")


@cache
def library_versions() -> dict[str, str]:
    """Versions of Python and of the libraries that decide a trial's numbers."""
    versions = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def result_attrs(result: TrialResult) -> dict[str, Any]:
    """The user attributes recording a completed trial."""
    attrs: dict[str, Any] = {
        SEEDS: [s.seed for s in result.seeds],
        ENGINE: result.engine,
        REGULARIZED_LAYER: "hidden",
        CURVE_EPOCHS: list(result.curve_epochs),
        TRAIN_CURVE: [_rounded(s.train_curve) for s in result.seeds],
        TEST_CURVE: [_rounded(s.test_curve) for s in result.seeds],
        WALL_TIME: round(result.wall_time_s, 3),
        VERSIONS: library_versions(),
    }
    for name in PER_SEED:
        values = result.values(name)
        attrs[name] = values
        attrs[f"{name}_mean"] = statistics.fmean(values)
        attrs[f"{name}_std"] = sample_std(values)
    return attrs


def _rounded(values: tuple[float, ...]) -> list[float]:
    return [round(v, 4) for v in values]


@dataclass(frozen=True)
class TrialRecord:
    """One stored trial, typed.

    Attributes:
        number: Optuna's trial number.
        state: COMPLETE, FAIL, PRUNED, RUNNING or WAITING.
        params: What the sampler chose.
        config: The full config trained (``None`` if the trial failed before sampling).
        value: Mean test accuracy over seeds (the first objective), if complete.
        values: Every objective's value (one for single-objective studies).
        seeds: The seeds trained.
        per_seed: Each of :data:`PER_SEED` to its per-seed values.
        curve_epochs: Epochs at which curves were recorded.
        train_curves: Per seed, train accuracy at ``curve_epochs``.
        test_curves: Per seed, test accuracy at ``curve_epochs``.
        wall_time_s: Training time of all seeds.
        duration_s: Optuna's start-to-end time.
        fail_reason: Why the trial failed, if it did.
        user_attrs: Everything stored, as is.
    """

    number: int
    state: TrialState
    params: dict[str, Any]
    config: TrialConfig | None
    value: float | None
    seeds: tuple[int, ...]
    per_seed: dict[str, tuple[float, ...]]
    curve_epochs: tuple[int, ...]
    train_curves: tuple[tuple[float, ...], ...]
    test_curves: tuple[tuple[float, ...], ...]
    wall_time_s: float | None
    duration_s: float | None
    fail_reason: str | None
    user_attrs: dict[str, Any] = field(repr=False)
    values: tuple[float, ...] = ()

    @classmethod
    def from_frozen(cls, trial: FrozenTrial) -> TrialRecord:
        """Read a trial's stored attributes."""
        attrs = trial.user_attrs
        raw_config = attrs.get(CONFIG)
        reason = attrs.get(FAIL_REASON)
        if reason is None and trial.state is TrialState.FAIL:
            reason = trial.system_attrs.get("fail_reason", "unknown")
        return cls(
            number=trial.number,
            state=trial.state,
            params=dict(trial.params),
            config=TrialConfig.from_dict(raw_config) if raw_config else None,
            value=trial.values[0] if trial.state is TrialState.COMPLETE and trial.values else None,
            values=tuple(trial.values) if trial.state is TrialState.COMPLETE and trial.values else (),
            seeds=tuple(attrs.get(SEEDS, ())),
            per_seed={name: tuple(attrs[name]) for name in PER_SEED if name in attrs},
            curve_epochs=tuple(attrs.get(CURVE_EPOCHS, ())),
            train_curves=tuple(tuple(c) for c in attrs.get(TRAIN_CURVE, ())),
            test_curves=tuple(tuple(c) for c in attrs.get(TEST_CURVE, ())),
            wall_time_s=attrs.get(WALL_TIME),
            duration_s=trial.duration.total_seconds() if trial.duration else None,
            fail_reason=reason,
            user_attrs=dict(attrs),
        )

    @property
    def complete(self) -> bool:
        """Whether the trial finished with a value."""
        return self.state is TrialState.COMPLETE and self.value is not None

    def mean(self, name: str) -> float | None:
        """Mean over seeds of a per-seed figure, if recorded."""
        values = self.per_seed.get(name)
        return statistics.fmean(values) if values else None

    def std(self, name: str) -> float | None:
        """Sample std over seeds of a per-seed figure, if recorded."""
        values = self.per_seed.get(name)
        return sample_std(values) if values else None


@dataclass(frozen=True)
class StudyResults:
    """A stored study, read back.

    Attributes:
        name: The study's name.
        trials: Every trial, by number.
        spec: The study file the study was created from, as TOML-shaped dict
            (``None`` for studies not made by actreg_search).
        objectives: The objectives' names, e.g. ``("test_accuracy", "sparsity")``.
        pareto_front: Numbers of the Pareto-optimal trials (multi-objective studies).
    """

    name: str
    trials: tuple[TrialRecord, ...]
    spec: dict[str, Any] | None
    objectives: tuple[str, ...] = ("test_accuracy",)
    pareto_front: frozenset[int] = frozenset()

    @property
    def multi_objective(self) -> bool:
        """Whether the study has several objectives."""
        return len(self.objectives) > 1

    def best(self, k: int) -> list[TrialRecord]:
        """The top ``k`` trials; for a multi-objective study, the Pareto front's (by test accuracy)."""
        if not self.multi_objective:
            return self.top(k)
        return [t for t in self.top(len(self.trials)) if t.number in self.pareto_front][:k]

    @property
    def completed(self) -> list[TrialRecord]:
        """Completed trials, by number."""
        return [t for t in self.trials if t.complete]

    def top(self, k: int) -> list[TrialRecord]:
        """The ``k`` best completed trials, best first (ties: the lower std, then the earlier)."""
        ranked = sorted(self.completed, key=lambda t: (-(t.value or 0.0), t.std("test_accuracy") or 0.0, t.number))
        return ranked[:k]

    def count(self, state: TrialState) -> int:
        """Number of trials in a state."""
        return sum(1 for t in self.trials if t.state is state)


SPEC_ATTR = "actreg_spec"


def load_results(storage: optuna.storages.BaseStorage, name: str) -> StudyResults:
    """Read a stored study.

    Raises:
        StorageError: There is no study of that name.
    """
    study = load_study(storage, name)
    trials = tuple(TrialRecord.from_frozen(t) for t in study.get_trials(deepcopy=False))
    spec = study.user_attrs.get(SPEC_ATTR)
    objectives = tuple(spec["study"].get("objectives", ["test_accuracy"])) if spec else ("test_accuracy",)
    front = frozenset(t.number for t in study.best_trials) if len(study.directions) > 1 else frozenset()
    return StudyResults(name=name, trials=trials, spec=spec, objectives=objectives, pareto_front=front)


@dataclass(frozen=True)
class StudySummary:
    """One line of ``list``."""

    name: str
    complete: int
    failed: int
    pruned: int
    running: int
    best_value: float | None
    best_trial: int | None


def list_studies(storage: optuna.storages.BaseStorage) -> list[StudySummary]:
    """Every study in a storage with its trial counts and best value."""
    summaries = []
    for name in sorted(optuna.get_all_study_names(storage)):
        study = optuna.load_study(study_name=name, storage=storage)
        trials = study.get_trials(deepcopy=False)
        complete = [t for t in trials if t.state is TrialState.COMPLETE and t.values]
        best = max(complete, key=lambda t: t.values[0], default=None)
        summaries.append(
            StudySummary(
                name=name,
                complete=len(complete),
                failed=sum(t.state is TrialState.FAIL for t in trials),
                pruned=sum(t.state is TrialState.PRUNED for t in trials),
                running=sum(t.state is TrialState.RUNNING for t in trials),
                best_value=best.values[0] if best else None,
                best_trial=best.number if best else None,
            )
        )
    return summaries
