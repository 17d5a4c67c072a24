"""A storage's studies: list them, summarize or delete one, name the storage, serve a live page, check export paths.

The storage-level half of the API, beside :func:`~actreg_search.api.results.load`
(one study's trials) and :func:`~actreg_search.api.running.run`. Every
``actreg-search`` command but ``run`` reads through these and
:class:`~actreg_search.api.results.Results`; a notebook gets the same answers
under the same names. The environment (``ACTREG_STORAGE``) is read here, at
the edge (:class:`~actreg_search.settings.Settings`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from actreg_search.settings import Settings

if TYPE_CHECKING:
    from actreg_search.results.records import StateCounts, StudySummary


def storage_url(storage: str | None = None) -> str:
    """The storage URL ``storage`` resolves to: itself, else ``ACTREG_STORAGE``, else ``sqlite:///actreg.db``."""
    return Settings.from_environ().storage_url(storage)


def storage_name(storage: str | None = None) -> str:
    """The storage URL ``storage`` resolves to, with any password shown as ``***`` (for messages)."""
    from actreg_search.store.storage import redact

    return redact(storage_url(storage))


def summary(name: str, storage: str | None = None) -> StudySummary:
    """One study in brief, read without loading its trials: counts by state, best value and trial.

    Raises:
        StorageError: The storage or the study does not exist.
    """
    from actreg_search.store.reader import summarize
    from actreg_search.store.storage import open_reader

    engine = open_reader(storage_url(storage))
    try:
        return summarize(engine, name)
    finally:
        engine.dispose()


def studies(storage: str | None = None) -> list[StudySummary]:
    """Every study in a storage, with its trial counts and best value (``actreg-search list``).

    Raises:
        StorageError: The storage does not exist or holds no studies' tables.
    """
    from actreg_search.store.reader import list_studies
    from actreg_search.store.storage import open_reader

    engine = open_reader(storage_url(storage))
    try:
        return list_studies(engine)
    finally:
        engine.dispose()


def delete(name: str, storage: str | None = None) -> StateCounts:
    """Delete a stored study and every trial in it, without asking (``actreg-search delete --yes``).

    Returns:
        How many trials of each state were deleted.

    Raises:
        StorageError: The storage or the study does not exist.
    """
    import optuna

    from actreg_search.store.reader import summarize
    from actreg_search.store.storage import open_storage

    store = open_storage(storage_url(storage), create=False)
    counts = summarize(store, name).counts
    optuna.delete_study(study_name=name, storage=store)
    return counts


def serve(name: str, storage: str | None = None, host: str = "127.0.0.1", port: int = 8050, *, open_browser: bool = False) -> None:
    """Serve a study's live dashboard page until Ctrl-C (``actreg-search dashboard --serve``).

    Raises:
        StorageError: The storage or the study does not exist.
        UserError: The address cannot be bound.
    """
    from actreg_search.dashboard import serve as serve_page

    serve_page(storage_url(storage), name, host, port, open_browser=open_browser)


def check_export_paths(out: str | Path | None = None, trials: str | Path | None = None, model: str | Path | None = None) -> None:
    """Refuse, before anything is read or written, export paths that cannot be written.

    Args:
        out: The best configs' file (any suffix; its folder must exist).
        trials: The trials table: ``.csv`` or ``.parquet``.
        model: The retrained model: ``.keras``.

    Raises:
        UserError: A wrong suffix or a missing folder, naming the path and what is allowed.
    """
    from actreg_search.results import export as ex

    for path, check in ((out, ex.check_out_path), (trials, ex.check_table_path), (model, ex.check_model_path)):
        if path is not None:
            check(Path(path))


__all__ = ["check_export_paths", "delete", "serve", "storage_name", "storage_url", "studies", "summary"]
