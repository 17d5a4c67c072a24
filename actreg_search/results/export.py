"""Exports: the best configs, every trial as a table, and the best model as ``.keras``.

Every file is written to a temporary name beside its target and renamed into
place, so a failed export never leaves a half-written file.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import io
import json
import os
import statistics
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import yaml

from actreg_search.errors import UserError
from actreg_search.results.figures import has_gap
from actreg_search.results.records import StudyResults, TrialRecord
from actreg_search.spec.measures import CLASS_FIGURES, GAP, PER_SEED, RESTORED_EPOCH, VALIDATION, mean_std, task_of

if TYPE_CHECKING:
    from actreg_search.engine.base import Monitor
    from actreg_search.spec.trial import TrialConfig


class Format(str, enum.Enum):
    """Formats for the best configs."""

    JSON = "json"
    YAML = "yaml"
    CSV = "csv"


TABLE_SUFFIXES = (".csv", ".parquet")


def format_named(name: str | Format) -> Format:
    """The :class:`Format` called ``name``.

    Raises:
        UserError: No format has that name (the message lists them).
    """
    try:
        return Format(name)
    except ValueError:
        raise UserError(f"unknown format {name!r}; allowed: {', '.join(f.value for f in Format)}") from None


def best_entries(results: StudyResults, k: int) -> list[dict[str, Any]]:
    """The ``k`` best completed trials, each with its config and per-seed figures.

    ``space`` holds the trial's values as they would be written as fixed values
    in a study file's ``[space]`` table. For a multi-objective study these are
    the Pareto front's trials, ranked as every other command ranks them (on
    validation accuracy under a validation protocol; the lowest validation RMSE
    of a regression). Each entry has the mean and std of the study's headline
    figure on the test set (``test_accuracy_mean``, ``test_rmse_mean``...), its
    mean on the training samples, and (a classification's) the gap. A study
    with validation figures also gets their mean and std beside the test
    figures', as do the figures of the predictions besides accuracy
    (``test_log_loss_mean``, ``test_r2_mean``...).

    Raises:
        UserError: The study has no completed trial.
    """
    top = results.leading(k)
    if not top:
        raise UserError(f"study {results.name!r} has no completed trial to export")
    return [_entry(results, rank, trial) for rank, trial in enumerate(top, start=1)]


def _entry(results: StudyResults, rank: int, trial: TrialRecord) -> dict[str, Any]:
    assert trial.config is not None
    test, train = results.headline("test"), results.headline("train")
    per_seed = [
        {"seed": seed, **{name: trial.per_seed[name][i] for name in PER_SEED if name in trial.per_seed}}
        for i, seed in enumerate(trial.seeds)
    ]
    validation = {
        f"{name}_{kind}": getattr(trial, kind)(name)
        for name in (*VALIDATION, *(n for n in CLASS_FIGURES if n not in VALIDATION))
        if name in trial.per_seed
        for kind in ("mean", "std")
    }
    return {
        "rank": rank,
        "trial": trial.number,
        "objective_values": list(trial.values),
        **validation,
        f"{test}_mean": trial.mean(test),
        f"{test}_std": trial.std(test),
        f"{train}_mean": trial.mean(train),
        **({f"{GAP}_mean": trial.mean(GAP)} if has_gap(results.task) else {}),
        "sparsity_mean": trial.mean("sparsity"),
        "activation_mean": trial.mean("activation_mean"),
        "space": trial.config.space_values(),
        "config": trial.config.to_dict(),
        "per_seed": per_seed,
    }


def render_best(entries: list[dict[str, Any]], fmt: Format) -> str:
    """The best configs as text in a format."""
    if fmt is Format.JSON:
        return json.dumps(entries, indent=2) + "\n"
    if fmt is Format.YAML:
        return yaml.safe_dump(entries, sort_keys=False)
    rows = []
    for entry in entries:
        row = {k: v for k, v in entry.items() if k not in ("space", "config", "per_seed")}
        row.update({f"space.{k}": v for k, v in entry["space"].items()})
        for seed_row in entry["per_seed"]:
            for name, value in seed_row.items():
                if name != "seed":
                    row[f"{name}.seed{seed_row['seed']}"] = value
        rows.append(row)
    buffer = io.StringIO()
    pd.DataFrame(rows).to_csv(buffer, index=False)
    return buffer.getvalue()


def best_text(results: StudyResults, k: int, format: str | Format) -> str:
    """The ``k`` best configs (:func:`best_entries`) as text in ``format`` (``export``'s output).

    Raises:
        UserError: An unknown format, or no completed trial.
    """
    return render_best(best_entries(results, k), format_named(format))


def trials_frame(results: StudyResults) -> pd.DataFrame:
    """Every trial as one row: state, params, the per-seed figures of the study's task with mean and std, and its
    headline figure (accuracy, RMSE, reconstruction MSE) of each seed on the test set, the training samples and the
    validation samples (``test_rmse_seed0``...).

    A model with several marked layers also gets each layer's mean sparsity and
    activation mean (``sparsity[h1]_mean``...); the overall figures are all
    marked layers together.
    """
    figures = [name for name in PER_SEED if results.task in task_of(name)]
    seeded = [results.headline(split) for split in ("test", "train", "validation")]
    rows = []
    for t in results.trials:
        row: dict[str, Any] = {"number": t.number, "state": t.state.name, "value": t.value}
        row.update({f"params_{k}": v for k, v in t.params.items()})
        if t.config is not None:  # a table's column a value: the builder's hyperparameters and the stopping rule flattened
            for key, value in t.config.to_dict().items():
                row.update({f"config_{key}.{k}": v for k, v in value.items()} if isinstance(value, dict) else {f"config_{key}": value})
        for name in figures:
            row[f"{name}_mean"] = t.mean(name)
            row[f"{name}_std"] = t.std(name)
        for name in seeded:
            for seed, value in zip(t.seeds, t.per_seed.get(name, ()), strict=False):
                row[f"{name}_seed{seed}"] = value
        for name, layers in t.per_layer.items():
            if len(layers) > 1:
                row.update({f"{name}[{layer}]_mean": mean_std(values)[0] for layer, values in layers.items() if values})
        row.update(wall_time_s=t.wall_time_s, duration_s=t.duration_s, fail_reason=t.fail_reason)
        rows.append(row)
    return pd.DataFrame(rows)


def check_table_path(path: Path) -> None:
    """Refuse a trials-table path with an unknown suffix, before any work."""
    if path.suffix not in TABLE_SUFFIXES:
        raise UserError(f"--trials {path}: unknown table format {path.suffix!r}; allowed: .csv, .parquet")
    _check_parent(path, "--trials")


def check_model_path(path: Path) -> None:
    """Refuse a model path that is not ``.keras``, before any work."""
    if path.suffix != ".keras":
        raise UserError(f"--model {path}: must end in .keras (the only format saved)")
    _check_parent(path, "--model")


def check_out_path(path: Path) -> None:
    """Refuse an output path whose folder does not exist."""
    _check_parent(path, "--out")


def _check_parent(path: Path, flag: str) -> None:
    if not path.parent.exists():
        raise UserError(f"{flag} {path}: folder {path.parent} does not exist")


def write_text(path: Path, text: str) -> None:
    """Write text atomically."""
    with _atomic(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_trials(results: StudyResults, path: Path) -> int:
    """Write every trial to ``.csv`` or ``.parquet``; returns the number of rows."""
    check_table_path(path)
    frame = trials_frame(results)
    with _atomic(path) as tmp:
        if path.suffix == ".csv":
            frame.to_csv(tmp, index=False)
        else:
            frame.to_parquet(tmp, index=False)
    return len(frame)


def model_trial(results: StudyResults) -> TrialRecord:
    """The trial whose config :func:`save_model` retrains: the best (:meth:`StudyResults.best`).

    Raises:
        UserError: No completed trial, or a study not made by actreg-search (no dataset to retrain on).
    """
    if results.spec is None:
        raise UserError(f"study {results.name!r} was not created by actreg-search; no dataset to retrain on")
    best = results.leading(1)
    if not best or best[0].config is None:
        raise UserError(f"study {results.name!r} has no completed trial to export")
    return best[0]


def retrain_config(trial: TrialRecord) -> tuple[TrialConfig, str]:
    """The config ``export --model`` retrains, and how many epochs in words.

    Under ``[model] early_stopping`` nothing is left to stop on (the
    validation samples train too): it trains for the median over the trial's
    seeds of the epoch each kept (``restored_epoch``), rounded, without the rule.
    """
    config = trial.config
    assert config is not None
    if config.early_stopping is None:
        return config, f"{config.epochs} epochs"
    restored = trial.per_seed.get(RESTORED_EPOCH, ())
    epochs = max(1, round(statistics.median(restored))) if restored else config.epochs
    kept = f"the median epoch its {len(restored)} seeds kept under early stopping" if restored else "no stopping epoch was recorded"
    return dataclasses.replace(config, epochs=epochs, early_stopping=None), f"{epochs} epochs ({kept})"


def save_model(results: StudyResults, trial: TrialRecord, path: Path, monitor: Monitor | None = None) -> str:
    """Retrain a trial's config on its first seed, on the whole training split, and save it as ``.keras``.

    The final model trains on every training sample, the validation samples
    included (they chose the config; the model is to use them too), for the
    config's epochs (:func:`retrain_config`: under early stopping, the median
    epoch its seeds kept): the model (the built-in family, or the user's builder or
    ``.keras`` file, with the trial's penalty in place) on the study's own
    dataset (``results.spec``), through the fused engine where it can train the
    model (one seed of the tutorial's 4000 epochs in about 2 s), else the
    keras engine; the file is checked to load with ``safe_mode=True``. A
    user's builder is run here, as ``run`` ran it. TensorFlow is imported here,
    quietly (:func:`actreg_search.engine.quiet.import_tensorflow`).

    Args:
        results: The study.
        trial: The trial whose config to retrain.
        path: The ``.keras`` file.
        monitor: Receives the training's progress (the fused engine's).

    Returns:
        The engine that trained it (``"fused"`` or ``"keras"``).

    Raises:
        UserError: Bad path, or a study not made by actreg-search.
    """
    check_model_path(path)
    if results.spec is None:
        raise UserError(f"study {results.name!r} was not created by actreg-search; no dataset to retrain on")
    if trial.config is None or not trial.seeds:
        raise UserError(f"trial {trial.number} of study {results.name!r} has no config or seeds to retrain")
    spec = results.spec

    from actreg_search.engine.quiet import import_tensorflow

    import_tensorflow()
    import keras

    from actreg_search.data.datasets import dataset_for
    from actreg_search.engine.fused import FusedEngine
    from actreg_search.engine.keras_engine import KerasEngine
    from actreg_search.engine.targets import in_target_units
    from actreg_search.models.penalties import without_user_penalties

    data = dataset_for(spec).without_validation()
    seed = trial.seeds[0]
    config, _ = retrain_config(trial)
    try:  # a user's model keeps its own architecture either way
        model, engine = FusedEngine().fit_models(config, data, [seed], monitor, spec.model).models[0], "fused"
    except ValueError:  # a model the fused engine cannot train
        model, engine = KerasEngine.fit(config, data, seed, model=spec.model), "keras"
    model = in_target_units(model, data)  # a regression's prediction in the target's units, not standardized
    with _atomic(path) as tmp:
        without_user_penalties(model).save(tmp)  # a penalty of your own shaped the training; the file needs none of your code
        keras.saving.load_model(tmp, safe_mode=True)
    return engine


def save_best_model(results: StudyResults, path: Path) -> TrialRecord:
    """Retrain the best config (:func:`model_trial`) on its first seed and save it as ``.keras``.

    Returns:
        The trial whose config was saved.

    Raises:
        UserError: Bad path, no completed trial, or a study not made by actreg-search.
    """
    check_model_path(path)
    trial = model_trial(results)
    save_model(results, trial, path)
    return trial


@contextlib.contextmanager
def _atomic(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path`` that replaces it only on success."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o666 & ~umask)  # as an ordinary open() would have made it, not mkstemp's 0600
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
