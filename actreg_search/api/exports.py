"""Exports of a loaded study: the best configs to a file, and a trial's config retrained and saved as ``.keras``.

:class:`~actreg_search.api.results.Results` is the door (``write_best``,
``save_model``); :mod:`actreg_search.results.export` renders, trains and
writes. Here: the format by suffix, which trial, and the checks that the
study's code and spec can be had (a builder or loader that was a Python
function is stored by name only).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from actreg_search.errors import UserError
from actreg_search.results.records import StudyResults, TrialRecord
from actreg_search.spec.specs import StudySpec

if TYPE_CHECKING:
    from actreg_search.engine.base import Monitor


#: Best-config formats by file suffix, for :func:`write_best`.
BEST_SUFFIXES = {".json": "json", ".yaml": "yaml", ".yml": "yaml", ".csv": "csv"}


def write_best(results: StudyResults, path: Path, k: int = 1, format: str | None = None) -> Path:
    """Write the ``k`` best configs to ``path`` as ``json``, ``yaml`` or ``csv`` (``export --out``).

    Raises:
        UserError: No format and a suffix other than :data:`BEST_SUFFIXES`'s, a missing folder, or no completed trial.
    """
    from actreg_search.results import export as ex

    if format is None:
        format = BEST_SUFFIXES.get(path.suffix)
        if format is None:
            raise UserError(f"{path}: unknown format {path.suffix!r}; allowed: {', '.join(BEST_SUFFIXES)}")
    ex.check_out_path(path)
    ex.write_text(path, ex.best_text(results, k, format))
    return path


@dataclass(frozen=True)
class SavedModel:
    """A retrained model, saved.

    Attributes:
        trial: The trial whose config was retrained.
        seed: The seed it was retrained on (the trial's first).
        engine: The engine that trained it: ``"fused"`` or ``"keras"``.
        path: The ``.keras`` file.
    """

    trial: TrialRecord
    seed: int
    engine: str
    path: Path


def save_model(
    results: StudyResults, path: Path, trial: TrialRecord | None, spec: StudySpec | None, monitor: Monitor | None = None
) -> SavedModel:
    """Retrain a trial's config on its first seed and save the model as ``.keras`` (``export --model``).

    It trains on the study's whole training split, the validation samples
    included, for the config's epochs, through the fused engine where it can
    train the model (else the keras engine); the file loads with
    ``safe_mode=True``. This imports TensorFlow and runs the study's builder or
    loader, as ``run`` did.

    Args:
        results: The study.
        path: A ``.keras`` file in an existing folder.
        trial: The trial to retrain (default: the best, :func:`actreg_search.results.export.model_trial`).
        spec: The spec the study was run with, for a study whose builder or
            loader was a Python function or arrays: the storage keeps only
            their names. It must match the stored spec (``n_trials``, ``batch`` aside).
        monitor: Receives the training's progress (``export --model`` shows it as a bar).

    Returns:
        What was saved: the trial, the seed, the engine that trained it and the path.

    Raises:
        UserError: A bad path, no completed trial, a study not made by
            actreg_search, a spec that does not match, or a Python function
            the storage does not keep and no ``spec`` to give it.
    """
    from actreg_search.results import export as ex

    ex.check_model_path(path)
    chosen = ex.model_trial(results) if trial is None else trial
    if spec is not None:
        results = dataclasses.replace(results, spec=_matching(results, spec))
    _check_code_is_kept(results)
    engine = ex.save_model(results, chosen, path, monitor)
    return SavedModel(chosen, chosen.seeds[0], engine, path)

def retrain_epochs(trial: TrialRecord) -> str:
    """How long ``export --model`` retrains ``trial``, in words: its epochs, or under early stopping the median
    epoch its seeds kept (:func:`actreg_search.results.export.retrain_config`)."""
    from actreg_search.results.export import retrain_config

    return retrain_config(trial)[1]


def _matching(results: StudyResults, spec: StudySpec) -> StudySpec:
    """``spec``, checked, if it is the stored spec with its functions (run settings and name may differ)."""
    from actreg_search.api.building import check_spec
    from actreg_search.spec.differences import spec_differences
    from actreg_search.spec.specs import RUN_SETTINGS

    checked = check_spec(spec)
    if results.spec is None:
        return checked
    checked = checked.resolved(results.spec.validation)  # no protocol said: the study's (as run resumes it)
    differences = spec_differences(checked, results.spec, ignore=(*RUN_SETTINGS, "name"))
    if differences:
        where = ", ".join(d.describe() for d in differences)
        raise UserError(f"the spec given is not the one study {results.name!r} was run with ({where} differ)")
    return checked


def _check_code_is_kept(results: StudyResults) -> None:
    """Refuse to retrain a study whose builder or loader was a Python function the storage kept only by name."""
    spec = results.spec
    if spec is None:
        return
    for what, value in (("[model] builder", spec.model.builder), ("[data] loader", spec.data.loader)):
        if isinstance(value, str) and not value.rpartition(":")[0].endswith(".py"):
            raise UserError(
                f"study {results.name!r}: its {what} was a Python function or arrays ({value}), which the storage "
                "keeps only by name; pass the spec it was run with: save_model(path, spec=spec)"
            )
