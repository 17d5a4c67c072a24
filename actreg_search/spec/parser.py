"""Study files: TOML text to a validated :class:`~actreg_search.spec.specs.StudySpec`.

:func:`load_spec` reads and validates the whole file before anything touches
storage; every problem is a :class:`~actreg_search.errors.SpecError` whose
message names the file, the key, what was wrong and what is allowed.

The parser is written by hand rather than with a validation library (pydantic,
attrs+cattrs): their messages name a location path and a type, while a study
file's messages must also name the allowed values in the study file's own terms
("[space] placement: 'output' does not apply to family 'mlp'; allowed: ..."), and
the rules between tables (sizes by family, grid samplers and ranges) are most of
the work anyway.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from actreg_search.errors import SpecError
from actreg_search.spec.data_parser import parse_data
from actreg_search.spec.measures import TEST_ACCURACY
from actreg_search.spec.reading import STORED, TableReader, fields_of, show
from actreg_search.spec.space_parser import DROPOUT_IN_FILE, dropout_rate, parse_space
from actreg_search.spec.specs import (
    DEFAULT_VALIDATION,
    Choice,
    EarlyStopping,
    DataSpec,
    ModelSpec,
    SpaceSpec,
    StudySection,
    StudySpec,
    spec_tables,
)
from actreg_search.spec.vocab import (
    ACTIVATIONS,
    SIZE_KEYS,
    EngineName,
    Family,
    Metric,
    OptimizerName,
    PrunerName,
    SamplerName,
    Task,
)

#: The objective name of studies made before validation existed: ``accuracy`` measured on the test set.
OLD_ACCURACY = TEST_ACCURACY


def load_spec(path: str | Path) -> StudySpec:
    """Read and validate a study file.

    Args:
        path: A TOML study file.

    Returns:
        The validated spec.

    Raises:
        SpecError: The file is missing, unreadable, not TOML, or invalid.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"{path}: no such study file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: cannot read study file ({exc.__class__.__name__})") from None
    return parse_spec(text, source=str(path))


def parse_spec(text: str, source: str = "<memory>") -> StudySpec:
    """Validate a study file's TOML text.

    Args:
        text: TOML text.
        source: Name used in error messages.

    Returns:
        The validated spec.

    Raises:
        SpecError: The text is not TOML or does not describe a valid study.
    """
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{source}: not valid TOML ({exc})") from None
    return _Parser(source).spec(raw)


class _Parser(TableReader):
    """Turns raw TOML tables into specs, with errors that name file and key."""

    def spec(self, raw: Mapping[str, Any]) -> StudySpec:
        tables = ("study", "data", "model", "space")
        for key in raw:
            if key not in tables:
                raise self.fail(f"[{key}]", f"unknown table; allowed: {', '.join(tables)}")
        study_table = self.table(raw, "study", fields_of(StudySection), required=True)
        study = self.study(study_table)
        space_keys = tuple(k for k in fields_of(SpaceSpec) if k != "hidden_units") + SIZE_KEYS
        space_table = self.table(raw, "space", space_keys, required=False)
        model = self.model(self.table(raw, "model", _MODEL_KEYS, required=False), space_table)
        data = parse_data(self, self.table(raw, "data", fields_of(DataSpec), required=False), model.family)
        self.old_accuracy(study_table, data)
        self.task_fits(study.task, data, model)
        if model.early_stopping is not None and data.validation is not None and data.validation.on_test:
            raise self.fail(
                "[model] early_stopping", 'needs a validation protocol: stopping on the test set leaks it; set [data] validation'
            )
        space = parse_space(self, space_table, study.sampler, model)
        if space.hidden_units is None:
            space = dataclasses.replace(space, hidden_units=Choice((model.hidden_units,)))
        return StudySpec(study=study, data=data, model=model, space=space, source=self.source)



    def study(self, t: Mapping[str, Any]) -> StudySection:
        name = t.get("name")
        if not isinstance(name, str) or not name.strip():
            raise self.fail("[study] name", f"must be a non-empty string, got {show(name)}")
        seeds = self.seeds(t.get("seeds", 5))
        storage = t.get("storage")
        if storage is not None and (not isinstance(storage, str) or not storage.strip()):
            raise self.fail("[study] storage", f"must be a storage URL string, got {show(storage)}")
        task = self.enum(t, "study", "task", Task, Task.CLASSIFICATION)
        objectives = self.objectives(t.get("objectives", [task.headline.value]), task)
        multi = len(objectives) > 1
        pruner = self.enum(t, "study", "pruner", PrunerName, PrunerName.NONE)
        if multi and pruner is not PrunerName.NONE:
            raise self.fail("[study] pruner", "pruning needs a single objective; use pruner = \"none\" with several objectives")
        if objectives[0] is not Metric.ACCURACY and pruner is not PrunerName.NONE:
            raise self.fail(
                "[study] pruner",
                f"a pruner compares the accuracy the engines report while training, so it needs the objective accuracy, "
                f"not {objectives[0].value!r}; use pruner = \"none\"",
            )
        default_sampler = SamplerName.NSGA2 if multi else SamplerName.TPE
        return StudySection(
            name=name,
            sampler=self.enum(t, "study", "sampler", SamplerName, default_sampler),
            n_trials=self.integer(t, "study", "n_trials", 20, minimum=1),
            seeds=seeds,
            seed=self.integer(t, "study", "seed", 0, minimum=0),
            storage=storage,
            pruner=pruner,
            objectives=objectives,
            batch=None if "batch" not in t else self.integer(t, "study", "batch", 1, minimum=1),
            task=task,
        )

    def task_fits(self, task: Task, data: DataSpec, model: ModelSpec) -> None:
        """Refuse a task its data or model cannot give: a classification dataset under regression and the
        reverse, an autoencoder of a built-in family other than mlp."""
        allowed = data.name.tasks
        if task not in allowed:
            names = " or ".join(f'"{t.value}"' for t in allowed)
            raise self.fail("[study] task", f"{task.value!r} does not fit dataset {data.name.value!r}, whose task is {names}")
        if task is Task.AUTOENCODER and not model.user and model.family is not Family.MLP:
            raise self.fail(
                "[study] task", f'the built-in autoencoder is an mlp, not {model.family.value!r}; use family = "mlp" or a builder'
            )

    def objectives(self, value: Any, task: Task = Task.CLASSIFICATION) -> tuple[Metric, ...]:
        """``[study] objectives``: one name or a list, a figure of the predictions first.

        The first objective is what the study ranks its trials by: ``accuracy``,
        ``balanced_accuracy``, ``macro_f1``, ``roc_auc`` or ``log_loss`` (the
        last minimized; directions: :mod:`actreg_search.spec.measures`);
        ``sparsity`` may follow, never lead. Each must be a figure of the
        study's ``task`` (regression: ``rmse``, ``mae``, ``r2``; autoencoder:
        ``mse``; the default objective is the task's headline). Whether the model gives the
        probabilities ``roc_auc`` and ``log_loss`` read is checked where a
        user's model is built (:mod:`actreg_search.search.modelcheck`). The old
        spelling ``test_accuracy`` reads as ``accuracy`` here; whether the
        study may use it depends on ``[data] validation``, parsed later
        (:meth:`old_accuracy`).
        """
        key = "[study] objectives"

        def metric(name: Any) -> Metric:
            return Metric.ACCURACY if name == OLD_ACCURACY else self.enum_value(name, key, Metric)

        metrics = self.distinct_items(value, key, metric, "objectives")
        if not metrics[0].of_predictions:
            first = ", ".join(m.value for m in Metric if m.of_predictions and task in m.tasks)
            raise self.fail(key, f"the first objective must be a figure of the predictions ({first}), got {metrics[0].value!r}")
        for m in metrics:
            if task not in m.tasks:
                allowed = ", ".join(f.value for f in Metric if task in f.tasks)
                way = f'; for {m.value!r} set [study] task = "{m.tasks[0].value}"' if len(m.tasks) == 1 else ""
                raise self.fail(key, f"{m.value!r} is not a figure of a {task.value} task (its figures: {allowed}){way}")
        return metrics

    def old_accuracy(self, t: Mapping[str, Any], data: DataSpec) -> None:
        """Refuse the old objective name ``test_accuracy`` where the study does not select on the test set.

        A stored spec may name it (studies stored before validation existed;
        they read as ``validation = "test"``), and so may a new study that says
        ``[data] validation = "test"``; under a validation protocol, said or
        defaulted, the name would be a lie.

        Args:
            t: The raw ``[study]`` table (already validated by :meth:`study`).
            data: The parsed ``[data]`` table.

        Raises:
            SpecError: ``test_accuracy`` named under a validation protocol.
        """
        value = t.get("objectives")
        named = value == OLD_ACCURACY or (isinstance(value, list) and any(v == OLD_ACCURACY for v in value))
        if not named or self.source == STORED or (data.validation is not None and data.validation.on_test):
            return
        protocol = "" if data.validation is not None else f", by default {DEFAULT_VALIDATION.describe()}"
        raise self.fail(
            "[study] objectives",
            f"{OLD_ACCURACY!r} would select on the test set; name the figure without a split: \"accuracy\" "
            f"(measured on the validation samples under [data] validation{protocol}), "
            f'or set [data] validation = "test" to select on the test set as the tutorial does',
        )

    def seeds(self, value: Any) -> tuple[int, ...]:
        key = "[study] seeds"
        if isinstance(value, list):
            if not value:
                raise self.fail(key, "must not be an empty list")
            for s in value:
                if isinstance(s, bool) or not isinstance(s, int) or s < 0:
                    raise self.fail(key, f"seeds must be integers ≥ 0, got {show(s)}")
            if len(set(value)) != len(value):
                raise self.fail(key, f"seeds must be distinct, got {value}")
            return tuple(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"must be a count or a list of integers, got {show(value)}")
        if value < 1:
            raise self.fail(key, f"must be ≥ 1, got {value}")
        return tuple(range(value))


    def model(self, t: Mapping[str, Any], space: Mapping[str, Any]) -> ModelSpec:
        d = ModelSpec()
        builder, file, regularize = self.user_model(t)
        user = builder is not None or file is not None
        if user and "family" not in t:  # a user's model: the family is the searched size's layer type
            sized = [key for key in SIZE_KEYS if key in t or key in space]
            family = _FAMILY_OF_SIZE[sized[0]] if len(sized) == 1 else d.family
        else:
            family = self.enum(t, "model", "family", Family, d.family)
        for key in SIZE_KEYS:
            if key in t and key != family.size_key:
                raise self.fail(f"[model] {key}", f"does not apply to family {family.value!r}; use {family.size_key}")
        if file is not None and family.size_key in t:
            raise self.fail(f"[model] {family.size_key}", "does not apply to a model from a .keras file (the file fixes every size)")
        activation = t.get("activation", d.activation)
        if activation not in ACTIVATIONS:
            raise self.fail(
                "[model] activation", f"unknown value {show(activation)}; allowed: {', '.join(ACTIVATIONS)}"
            )
        dropout = None if t.get("dropout") is None else dropout_rate(self, t["dropout"], "[model] dropout")
        if dropout is not None and file is not None:
            raise self.fail("[model] dropout", DROPOUT_IN_FILE)
        hidden_layers = self.integer(t, "model", "hidden_layers", d.hidden_layers, minimum=1)
        if hidden_layers != 1 and (user or family is not Family.MLP):
            raise self.fail("[model] hidden_layers", "applies to the built-in mlp only")
        return ModelSpec(
            family=family,
            hidden_units=self.integer(t, "model", family.size_key, family.default_size, minimum=1),
            builder=builder,
            file=file,
            regularize=regularize,
            hidden_layers=hidden_layers,
            activation=activation,
            epochs=self.integer(t, "model", "epochs", d.epochs, minimum=1),
            batch_size=self.integer(t, "model", "batch_size", d.batch_size, minimum=1),
            optimizer=self.enum(t, "model", "optimizer", OptimizerName, d.optimizer),
            learning_rate=self.number(t, "model", "learning_rate", d.learning_rate, positive=True),
            engine=self.enum(t, "model", "engine", EngineName, d.engine),
            dropout=dropout,
            early_stopping=None if t.get("early_stopping") is None else self.early_stopping(t["early_stopping"]),
        )

    def early_stopping(self, value: Any) -> EarlyStopping:
        """``[model] early_stopping = { patience = P, min_delta = D }`` (``min_delta`` defaults to 0)."""
        key = "[model] early_stopping"
        if isinstance(value, EarlyStopping):
            value = dataclasses.asdict(value)
        if not isinstance(value, dict):
            raise self.fail(key, f"must be a table {{ patience = P, min_delta = D }}, got {show(value)}")
        for k in value:
            if k not in ("patience", "min_delta"):
                raise self.fail(f"{key}.{k}", "unknown key; allowed: patience, min_delta")
        if "patience" not in value:
            raise self.fail(key, "needs 'patience', the epochs without improvement before a seed stops")
        named = {f"early_stopping.{k}": v for k, v in value.items()}  # so the messages name the key in full
        return EarlyStopping(
            patience=self.integer(named, "model", "early_stopping.patience", 0, minimum=1),
            min_delta=self.number(named, "model", "early_stopping.min_delta", 0.0, positive=False),
        )

    def user_model(self, t: Mapping[str, Any]) -> tuple[str | Callable[..., Any] | None, str | None, tuple[str, ...] | None]:
        """``[model] builder``, ``file`` and ``regularize``, paths resolved against the study file.

        Nothing is imported or opened here: a stored spec is read on machines
        without the user's files, and the model is checked where it trains.
        """
        builder, file = t.get("builder"), t.get("file")
        if builder is not None and file is not None:
            raise self.fail("[model] builder", "give builder or file, not both")
        if builder is not None and not callable(builder):
            if not isinstance(builder, str) or not builder.strip():
                raise self.fail("[model] builder", f"must be 'file.py:function', got {show(builder)}")
            path, sep, name = builder.rpartition(":")
            if not sep or not path or not name.isidentifier():
                raise self.fail("[model] builder", f"must be 'file.py:function', got {builder!r}")
            builder = f"{self.resolve(path)}:{name}"
        if file is not None:
            if not isinstance(file, str) or not file.strip():
                raise self.fail("[model] file", f"must be the path of a .keras file, got {show(file)}")
            if not file.endswith(".keras"):
                raise self.fail("[model] file", f"must be a .keras file, got {file!r}")
            file = self.resolve(file)
        raw = t.get("regularize")
        if raw is not None and file is None:
            raise self.fail("[model] regularize", "applies to a model from a .keras file (a builder marks its layers with reg.*)")
        if file is not None and raw is None:
            raise self.fail("[model] regularize", "a model from a .keras file needs the names of the layers to regularize")
        regularize = None
        if raw is not None:
            regularize = self.distinct_items(raw, "[model] regularize", lambda v: self.layer_name(v, "[model] regularize"), "layer names")
            if "all" in regularize:
                raise self.fail("[model] regularize", "'all' is not a layer name; list the layers")
        return builder, file, regularize


_MODEL_KEYS = (
    "family",
    *SIZE_KEYS,
    "builder",
    "file",
    "regularize",
    "hidden_layers",
    "activation",
    "epochs",
    "batch_size",
    "optimizer",
    "learning_rate",
    "engine",
    "dropout",
    "early_stopping",
)
_FAMILY_OF_SIZE = {family.size_key: family for family in Family}




def parse_raw(raw: Mapping[str, Any], source: str = STORED) -> StudySpec:
    """Validate a study-file-shaped dict (as from :func:`spec_to_raw`).

    With the default ``source`` the dict is a stored spec, read as its study
    was made: a missing ``[data] validation`` is ``"test"`` and the objective
    ``test_accuracy`` reads as ``accuracy`` (studies stored before validation
    existed selected on the test set).
    """
    return _Parser(source).spec(raw)


def check_spec(spec: StudySpec, source: str) -> StudySpec:
    """Validate a spec built in Python (the dataclasses) with the rules a study file's tables get.

    Its tables are read as they are (:func:`~actreg_search.spec.specs.spec_tables`
    with ``plain=False``): plain strings are accepted where the dataclasses hold
    enums (``ModelSpec(family="cnn")``), and a builder or loader function is
    kept as is.

    Args:
        spec: The spec.
        source: What messages name it by, e.g. ``<make_spec>`` (a spec with a study file's path keeps that path).

    Returns:
        The validated spec (enums in place of their strings), its ``source`` kept.

    Raises:
        SpecError: A value the study file would refuse.
    """
    reader = _Parser(source if spec.source.startswith("<") else spec.source)
    family = reader.enum_value(spec.model.family, "[model] family", Family)  # it names the size key
    spec = dataclasses.replace(spec, model=dataclasses.replace(spec.model, family=family))
    tables = spec_tables(spec, plain=False)
    if spec.study.storage is not None:
        tables["study"]["storage"] = spec.study.storage
    return dataclasses.replace(reader.spec(tables), source=spec.source)
