"""Running a study from Python: what ``actreg-search run`` does, as a function.

:func:`run` takes a study file or a :class:`~actreg_search.spec.specs.StudySpec`
(e.g. from :func:`~actreg_search.api.building.make_spec`), applies the same
overrides as the command's options and runs the study loop
(:func:`actreg_search.search.study.run_study`). The CLI's ``run`` is this function
plus its one-line summary.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from actreg_search.errors import SpecError, UserError
from actreg_search.spec.specs import StudySpec
from actreg_search.usercode import import_qualname
from actreg_search.spec.vocab import EngineName

if TYPE_CHECKING:
    from actreg_search.engine.base import Engine
    from actreg_search.search.observer import RunObserver
    from actreg_search.search.study import RunSummary


def run(
    study: str | Path | StudySpec,
    storage: str | None = None,
    n_trials: int | None = None,
    *,
    epochs: int | None = None,
    seeds: int | None = None,
    jobs: int = 1,
    batch: int | None = None,
    name: str | None = None,
    recycle_mb: int | None = None,
    engine: str | EngineName | Engine | None = None,
    progress: bool | RunObserver = True,
) -> RunSummary:
    """Create or resume a study and run it until it has ``n_trials`` finished trials.

    A study that exists is resumed (it must have the same settings, except
    ``n_trials``); one already at its target returns at once, training nothing.

    Args:
        study: A study file's path, or a spec (:func:`actreg_search.make_spec`,
            :func:`actreg_search.load_spec`, or the spec dataclasses).
        storage: Storage URL (default: ``ACTREG_STORAGE``, then the spec's
            ``[study] storage``, then ``sqlite:///actreg.db``).
        n_trials: Total finished trials to reach (overrides ``[study] n_trials``).
        epochs: Epochs per seed (overrides ``[model] epochs``).
        seeds: Use seeds ``0..seeds-1`` (overrides ``[study] seeds``).
        jobs: Worker processes running trials in parallel, each on its own
            share of the CPUs. With ``jobs=1`` and no ``recycle_mb`` the trials
            run in this process (a builder or loader defined in a notebook can
            only run this way: worker processes cannot import it).
        batch: Trials a worker trains together (overrides ``[study] batch``;
            ``None``: the file's, else the engine's default). Like ``n_trials``
            it may differ from the stored study's.
        name: Run under this study name instead of ``[study] name``.
        recycle_mb: Replace a worker once its memory grew this many MB
            (``None`` or 0: never; ``actreg-search run`` uses 1000, a safety
            valve: a worker reuses its compiled programs).
        engine: ``"fused"`` or ``"keras"`` (overrides ``[model] engine``), or
            an :class:`~actreg_search.engine.base.Engine` object to train with.
        progress: ``True``: the CLI's progress display (on stderr);
            ``False``: none; or your own :class:`~actreg_search.search.observer.RunObserver`.

    Returns:
        What the run did: ``study_name``, ``finished``, ``ran``, ``failed``,
        ``best_value``, ``best_trial`` and ``reason`` (why it stopped).

    Raises:
        UserError: Bad input (a study file, a value, a storage, the model or
            data failing its check before anything is stored); the message is
            one line naming what is wrong and what is allowed.
    """
    import optuna

    from actreg_search.search import study as study_loop
    from actreg_search.api.building import check_spec, load_spec
    from actreg_search.search.progress import RichProgress
    from actreg_search.settings import Settings

    spec = load_spec(study) if isinstance(study, (str, Path)) else check_spec(study)
    if batch is not None and (isinstance(batch, bool) or not isinstance(batch, int) or batch < 1):
        raise UserError(f"batch: must be a whole number ≥ 1 (None: the study's or the engine's), got {batch!r}")
    spec = spec.with_overrides(n_trials=n_trials, epochs=epochs, seeds=seeds, name=name, batch=batch)
    trainer = None
    if isinstance(engine, (str, EngineName)):
        spec = _with_engine(spec, engine)
    elif engine is not None:
        trainer = engine
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise UserError(f"jobs: must be a whole number ≥ 1, got {jobs!r}")
    if recycle_mb is not None and (isinstance(recycle_mb, bool) or not isinstance(recycle_mb, int) or recycle_mb < 0):
        raise UserError(f"recycle_mb: must be a whole number of MB ≥ 0 (0 or None: never), got {recycle_mb!r}")
    recycle_mb = recycle_mb or None
    if jobs > 1 or recycle_mb is not None:
        _check_portable(spec, trainer, jobs, recycle_mb)
    settings = Settings.from_environ()
    url = settings.storage_url(storage, spec.study.storage)
    with _optuna_quiet(optuna), _observer(progress, RichProgress) as observer:
        return study_loop.run_study(
            spec, url, observer, jobs=jobs, recycle_mb=recycle_mb, engine=trainer, settings=settings
        )


def _with_engine(spec: StudySpec, engine: str | EngineName) -> StudySpec:
    import dataclasses

    try:
        chosen = EngineName(engine)
    except ValueError:
        raise UserError(f"engine: unknown engine {engine!r}; allowed: {', '.join(e.value for e in EngineName)}") from None
    return dataclasses.replace(spec, model=dataclasses.replace(spec.model, engine=chosen))


def _check_portable(spec: StudySpec, engine: object, jobs: int, recycle_mb: int | None) -> None:
    """Refuse, before anything runs, Python objects that worker processes could not import.

    Workers are started fresh (``spawn``): a builder, loader or engine goes
    to them by its module and name, so one defined in a notebook, in an
    interactive session or inside another function cannot.
    """
    pieces: list[tuple[str, Any]] = [("[model] builder", spec.model.builder), ("[data] loader", spec.data.loader)]
    if engine is not None:
        pieces.append(("engine", engine))
    for what, value in pieces:
        if value is None or isinstance(value, str) or _portable(value):
            continue
        raise UserError(
            f"{what} {_name(value)}: worker processes (jobs={jobs}, recycle_mb={recycle_mb}) cannot import it "
            "(defined in a notebook, interactively or inside a function); run with jobs=1 and recycle_mb=None, "
            "or put it in a file and name it as 'file.py:function'"
        )


def _portable(value: object) -> bool:
    """Whether a spawned worker can import ``value`` (a function) or its class (any other object) by name.

    A spawned worker rebuilds what it is sent by importing ``module`` and
    looking up ``qualname``: that fails for a notebook's or an interactive
    session's ``__main__``, and for anything defined inside a function.
    """
    target = value if callable(value) and hasattr(value, "__qualname__") else type(value)
    module, qualname = getattr(target, "__module__", None), getattr(target, "__qualname__", "")
    if module is None or "<locals>" in qualname or "<lambda>" in qualname:
        return False
    if module == "__main__":
        return hasattr(sys.modules.get("__main__"), "__file__")  # a script's main module is re-run by path
    try:
        return import_qualname(module, qualname, "worker import") is target
    except SpecError:
        return False


def _name(value: object) -> str:
    from actreg_search.usercode import describe

    return describe(value) if callable(value) else type(value).__name__


@contextlib.contextmanager
def _optuna_quiet(optuna: Any) -> Iterator[None]:
    """Optuna's per-trial log lines off while the run shows its own; the caller's level restored after."""
    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(level)


@contextlib.contextmanager
def _observer(progress: bool | RunObserver, display: Callable[[], Any]) -> Iterator[RunObserver | None]:
    if progress is True:
        with display() as shown:
            yield shown
    elif progress is False or progress is None:
        yield None
    else:
        yield progress
