"""The typed study spec: frozen dataclasses for a study file's four tables.

:mod:`actreg_search.spec.parser` builds a :class:`StudySpec` from TOML (or from the
study-file-shaped dict stored with a study) and :func:`spec_to_raw` writes one
back as that dict. The reading side gets the typed spec from
:class:`~actreg_search.results.records.StudyResults`, never the raw dict.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from actreg_search.errors import SpecError
from actreg_search.usercode import describe
from actreg_search.spec.measures import ON_SPLIT
from actreg_search.spec.trial import EarlyStopping
from actreg_search.spec.vocab import (
    CLASSIC_REGULARIZERS, GENERATORS, DatasetName, EngineName, Family, Metric, OptimizerName, Protocol, PrunerName, SamplerName, Task,
)


# --------------------------------------------------------------------------- params


@dataclass(frozen=True)
class Choice:
    """A parameter taking one of listed values; a single value means fixed."""

    values: tuple[Any, ...]

    @property
    def fixed(self) -> bool:
        """Whether there is nothing to search."""
        return len(self.values) == 1


@dataclass(frozen=True)
class Range:
    """A numeric range searched by the sampler."""

    low: float
    high: float
    log: bool
    integer: bool


Param = Choice | Range


# --------------------------------------------------------------------------- validation


@dataclass(frozen=True)
class Validation:
    """The ``[data] validation`` protocol: where the figures a study selects on are measured.

    Attributes:
        protocol: Hold-out, k-fold, or the test set.
        fraction: The held-out share of the training split (hold-out only).
        folds: Folds per seed (k-fold only; 1 otherwise).
    """

    protocol: Protocol
    fraction: float | None = None
    folds: int = 1

    @property
    def on_test(self) -> bool:
        """Whether the study selects on the test set (the tutorial's protocol)."""
        return self.protocol is Protocol.TEST

    def raw(self) -> float | dict[str, int] | str:
        """The study-file value: ``0.2``, ``{folds = 5}`` or ``"test"``."""
        if self.protocol is Protocol.HOLDOUT:
            assert self.fraction is not None
            return self.fraction
        if self.protocol is Protocol.KFOLD:
            return {"folds": self.folds}
        return "test"

    def describe(self) -> str:
        """The protocol in words, e.g. ``"20% of the training split held out per seed"``."""
        if self.protocol is Protocol.HOLDOUT:
            assert self.fraction is not None
            return f"{self.fraction:.0%} of the training split held out per seed"
        if self.protocol is Protocol.KFOLD:
            return f"{self.folds}-fold cross-validation per seed"
        return "selected on the test set (the tutorial's protocol)"


DEFAULT_VALIDATION = Validation(Protocol.HOLDOUT, fraction=0.2)
"""A new study that names no protocol: each seed holds out its own stratified 20% of the training split."""
ON_TEST = Validation(Protocol.TEST)
"""The tutorial's protocol, and that of every study stored before validation existed."""


def selection_field(metric: Metric, validation: Validation) -> str:
    """The per-seed figure (a :class:`~actreg_search.engine.base.SeedResult` field) an objective selects on.

    ``accuracy`` is ``validation_accuracy`` under a validation protocol and ``test_accuracy`` under ``"test"``,
    ``log_loss`` ``validation_log_loss`` or ``test_log_loss`` (and so on); ``sparsity`` ``validation_sparsity``
    or ``sparsity`` (on the test inputs). Which way each is optimized: :func:`~actreg_search.spec.measures.maximized`.
    """
    return ON_SPLIT[Metric(metric).value]["test" if validation.on_test else "validation"]


# --------------------------------------------------------------------------- specs


RUN_SETTINGS = ("n_trials", "batch")
"""``[study]`` keys that say how a run goes, not what a trial is: a stored study resumes whatever they are."""


@dataclass(frozen=True)
class StudySection:
    """The ``[study]`` table.

    ``batch`` is how many trials a worker trains together (``None``: the
    engine's :meth:`~actreg_search.engine.base.Engine.default_batch`); like
    ``n_trials`` it is a run setting (:data:`RUN_SETTINGS`). ``task`` says what
    the model learns; a task other than classification that names no
    objectives optimizes its headline figure (RMSE, reconstruction MSE).
    """

    name: str
    sampler: SamplerName = SamplerName.TPE
    n_trials: int = 20
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    seed: int = 0
    storage: str | None = None
    pruner: PrunerName = PrunerName.NONE
    objectives: tuple[Metric, ...] = (Metric.ACCURACY,)
    batch: int | None = None
    task: Task = Task.CLASSIFICATION

    def __post_init__(self) -> None:
        if self.task is not Task.CLASSIFICATION and self.objectives == (Metric.ACCURACY,):  # the default: the task's own
            object.__setattr__(self, "objectives", (self.task.headline,))

    @property
    def multi_objective(self) -> bool:
        """Whether the study has more than one objective (a Pareto front, no single best)."""
        return len(self.objectives) > 1


@dataclass(frozen=True)
class DataSpec:
    """The ``[data]`` table: which dataset and how it is split.

    ``n_samples`` and ``noise`` apply to the generators (circles, moons);
    ``path``, ``target`` and ``features`` to ``csv``; ``path`` to ``npz``;
    ``loader`` to ``python``: ``"file.py:function"`` (from a study file: an
    absolute path) or, for a spec built in Python, the function itself.
    ``train_size`` is a count of training samples, or for ``digits``, ``csv``,
    ``npz`` and ``python`` also a fraction in (0, 1) (for the last two it splits
    ``x, y`` only; four arrays are used as given).

    ``validation`` is the protocol the study selects with; ``None``: the file
    did not say, which :meth:`StudySpec.resolved` turns into the stored
    study's protocol on a resume, or :data:`DEFAULT_VALIDATION` for a new one
    (:attr:`protocol` gives the default meanwhile).
    """

    name: DatasetName = DatasetName.CIRCLES
    n_samples: int | None = 100
    noise: float | None = 0.1
    random_state: int = 1
    train_size: float = 30
    path: str | None = None
    target: str | None = None
    features: tuple[str, ...] | None = None
    loader: str | Callable[[], Any] | None = None
    validation: Validation | None = None

    @property
    def protocol(self) -> Validation:
        """The validation protocol, the default where none was said."""
        return self.validation or DEFAULT_VALIDATION

    def __post_init__(self) -> None:
        if self.name not in GENERATORS:  # the generators' keys, left at their defaults
            object.__setattr__(self, "n_samples", None)
            object.__setattr__(self, "noise", None)


@dataclass(frozen=True)
class ModelSpec:
    """The ``[model]`` table: the fixed parts of the model and its training.

    ``hidden_units`` is the size of the regularized layer, whatever the family:
    written ``hidden_units`` (Dense units), ``filters`` (Conv2D) or ``units``
    (LSTM) in the study file.

    A model is the built-in ``family``, or the user's: ``builder`` (a
    ``"file.py:function"`` reference, its path absolute once parsed from a
    study file, or a Python callable) or ``file`` (a ``.keras`` file) with the
    layer names to ``regularize``. For a user's model ``family`` names the
    layer type whose size the study searches (Dense: mlp, Conv2D: cnn, LSTM:
    rnn). ``hidden_layers`` is the built-in mlp's number of regularized layers.
    ``dropout`` is the rate of the model's trial Dropout layers (``None``: no
    such layer, unless ``[space] dropout`` searches one); ``early_stopping``
    stops each seed on its validation loss (``None``: every epoch is trained).
    """

    family: Family = Family.MLP
    hidden_units: int = 500
    builder: str | Callable[..., Any] | None = None
    file: str | None = None
    regularize: tuple[str, ...] | None = None
    hidden_layers: int = 1
    activation: str = "relu"
    epochs: int = 4000
    batch_size: int = 32
    optimizer: OptimizerName = OptimizerName.ADAM
    learning_rate: float = 0.001
    engine: EngineName = EngineName.FUSED
    dropout: float | None = None
    early_stopping: EarlyStopping | None = None

    @property
    def user(self) -> bool:
        """Whether the model is the user's (a builder or a ``.keras`` file), not a built-in family."""
        return self.builder is not None or self.file is not None

    @property
    def origin(self) -> str:
        """The model in words: the builder, the file, or the built-in family."""
        if self.builder is not None:
            return describe(self.builder)
        if self.file is not None:
            return self.file
        return f"built-in {self.family.value}"


@dataclass(frozen=True)
class SpaceSpec:
    """The ``[space]`` table: what the sampler searches.

    The training knobs (``learning_rate``, ``dropout``, ``batch_size``,
    ``activation``) are ``None`` when not searched: the trial takes
    ``[model]``'s value. ``builder`` is ``[space.builder]``: a builder's own
    hyperparameters, ``(name, value, list or range)`` pairs in name order.
    ``rho`` is ``kl_sparsity``'s target mean activation (``None`` where the
    study searches no ``kl_sparsity``; filled with its default range where it does).
    ``per_layer``: each marked layer draws its own regularizer, placement and
    coefficients (Optuna parameters ``<layer>.regularizer``...; written only when on).
    ``balance``: the penalty groups take turns by trial number (:mod:`actreg_search.search.balance`).
    """

    regularizer: Choice = Choice(CLASSIC_REGULARIZERS)
    placement: Choice = Choice(Family.MLP.placements)
    coefficient: Param = Range(1e-6, 1e-2, log=True, integer=False)
    hidden_units: Param | None = None
    l1_coefficient: Param | None = None
    l2_coefficient: Param | None = None
    layers: Choice | None = None
    hidden_layers: Param | None = None
    learning_rate: Param | None = None
    dropout: Param | None = None
    batch_size: Param | None = None
    activation: Choice | None = None
    builder: tuple[tuple[str, Param], ...] | None = None
    rho: Param | None = None
    per_layer: bool = False
    balance: bool = False

    def l1_l2_params(self) -> tuple[Param, Param]:
        """The two coefficients of ``l1_l2``; each defaults to ``coefficient``."""
        return (self.l1_coefficient or self.coefficient, self.l2_coefficient or self.coefficient)


@dataclass(frozen=True)
class StudySpec:
    """A whole, validated study file; ``marked``: its user model's marked layers, in order, once a build has shown them
    (:func:`~actreg_search.search.modelcheck.with_marked_layers`: what ``[space] per_layer`` draws for; not a study-file key)."""

    study: StudySection
    data: DataSpec
    model: ModelSpec
    space: SpaceSpec
    source: str = dataclasses.field(default="<memory>", compare=False)
    marked: tuple[str, ...] | None = dataclasses.field(default=None, compare=False)

    @property
    def validation(self) -> Validation:
        """The study's validation protocol (:attr:`DataSpec.protocol`)."""
        return self.data.protocol

    def selection_fields(self) -> tuple[str, ...]:
        """The per-seed figure each objective selects on (:func:`selection_field`)."""
        return tuple(selection_field(m, self.validation) for m in self.study.objectives)

    def resolved(self, stored: Validation | None) -> StudySpec:
        """The spec with its protocol said: the file's, else the stored study's (``stored``), else the default."""
        if self.data.validation is not None:
            return self
        chosen = stored or DEFAULT_VALIDATION
        return dataclasses.replace(self, data=dataclasses.replace(self.data, validation=chosen))

    def with_overrides(
        self,
        *,
        n_trials: int | None = None,
        epochs: int | None = None,
        seeds: int | None = None,
        name: str | None = None,
        batch: int | None = None,
    ) -> StudySpec:
        """Return a copy with command-line overrides applied and validated."""
        study, model = self.study, self.model
        if name is not None:
            if not name.strip():
                raise SpecError(f"--name: must be a non-empty study name, got {name!r}")
            study = dataclasses.replace(study, name=name)
        if n_trials is not None:
            study = dataclasses.replace(study, n_trials=_positive(n_trials, "--n-trials"))
        if batch is not None:
            study = dataclasses.replace(study, batch=_positive(batch, "--batch"))
        if seeds is not None:
            study = dataclasses.replace(study, seeds=tuple(range(_positive(seeds, "--seeds"))))
        if epochs is not None:
            model = dataclasses.replace(model, epochs=_positive(epochs, "--epochs"))
        return dataclasses.replace(self, study=study, model=model)


def _positive(value: int, flag: str) -> int:
    if value < 1:
        raise SpecError(f"{flag}: must be ≥ 1, got {value}")
    return value


def spec_tables(spec: StudySpec, *, plain: bool = True) -> dict[str, dict[str, Any]]:
    """A spec as a study file's four tables, one key a field (``hidden_units`` under the family's size key).

    Args:
        spec: The spec; its ``model.family`` must be a :class:`Family` (it names the size key).
        plain: Values as a study file writes them (enums as strings, a
            function as its ``module:qualname``, a protocol as its study-file
            form); ``False`` keeps enums, functions and protocols as they are,
            for :func:`actreg_search.spec.parser.check_spec` to check a spec
            built in Python without losing its functions. Either way tuples
            are lists, a choice its values (one value when fixed) and a range
            ``{low, high, log}``, as the parser reads them.

    The storage URL is left out: it may hold a password, and it is where the
    tables get stored anyway.
    """

    def value_of(value: Any) -> Any:
        if isinstance(value, enum.Enum) and plain:
            return value.value
        if callable(value) and plain:  # a builder or loader given as a function: its name, never its code
            return describe(value)
        if isinstance(value, tuple):
            return [value_of(v) for v in value]
        if isinstance(value, Choice):
            return value_of(value.values[0]) if value.fixed else value_of(value.values)
        if isinstance(value, Range):
            return {"low": value.low, "high": value.high, "log": value.log}
        if isinstance(value, Validation) and plain:
            return value.raw()
        if isinstance(value, dict):
            return {k: value_of(v) for k, v in value.items()}
        if isinstance(value, EarlyStopping):
            return dataclasses.asdict(value)
        return value

    def table(obj: Any, skip: tuple[str, ...] = ()) -> dict[str, Any]:
        return {
            f.name: value_of(dict(value) if f.name == "builder" and isinstance(obj, SpaceSpec) else value)
            for f in dataclasses.fields(obj)
            if f.name not in skip
            for value in [getattr(obj, f.name)]
            if value is not None and not (f.name in ("per_layer", "balance") and value is False)  # as stored before them
        }

    size = spec.model.family.size_key
    sized = spec.model.file is None  # a .keras file fixes every size: no size key to write

    def renamed(values: dict[str, Any]) -> dict[str, Any]:
        return {(size if k == "hidden_units" else k): v for k, v in values.items() if sized or k != "hidden_units"}

    return {
        "study": table(spec.study, skip=("storage",)),
        "data": table(spec.data),
        "model": renamed(table(spec.model)),
        "space": renamed(table(spec.space)),
    }


def spec_to_raw(spec: StudySpec) -> dict[str, Any]:
    """The study-file-shaped dict of a spec, as stored with its study; :func:`actreg_search.spec.parser.parse_raw` reads it back."""
    return spec_tables(spec)
