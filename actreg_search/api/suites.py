"""Suites: several studies run one after the other and read side by side (``run DIR/``, ``report --suite DIR/``).

A suite is a folder of study files (every ``*.toml`` in it, by name) or several
study files. :func:`run_suite` runs each as :func:`~actreg_search.api.running.run`
runs one file (resumable, with the same overrides); :func:`load_suite` reads the
studies that have run into a :class:`Suite`, whose :meth:`Suite.table` is
:func:`~actreg_search.results.suite.side_by_side` (each penalty's best trial on
validation against the study's best ``none``, on test, paired seed by seed,
the winner marked after Holm's correction).

Each study's storage is the one ``run FILE`` would use: ``storage`` (``--storage``),
else ``ACTREG_STORAGE``, else the file's ``[study] storage``, else
``sqlite:///actreg.db``; a suite's studies may live in different storages.
Every study file is read and checked before anything runs or is read: a
folder without study files, a file that is not a study, or two files naming
the same study in one storage are refused (:class:`~actreg_search.errors.UserError`).
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from actreg_search.errors import UserError
from actreg_search.settings import Settings

if TYPE_CHECKING:
    from actreg_search.api.results import Results
    from actreg_search.engine.base import Engine
    from actreg_search.results.records import StudyResults
    from actreg_search.results.suite import SuiteTable
    from actreg_search.search.observer import RunObserver
    from actreg_search.search.study import RunSummary
    from actreg_search.spec.specs import StudySpec

Paths = str | Path | Sequence[str | Path]


@dataclass(frozen=True)
class SuiteFile:
    """One study file of a suite, read and checked.

    Attributes:
        path: The study file.
        spec: Its spec, with the run's overrides applied.
        storage: The storage URL its study is in (as ``run FILE`` resolves it).
    """

    path: Path
    spec: StudySpec
    storage: str

    @property
    def name(self) -> str:
        """The study's name (``[study] name``)."""
        return self.spec.study.name


def suite_files(
    paths: Paths,
    storage: str | None = None,
    *,
    n_trials: int | None = None,
    epochs: int | None = None,
    seeds: int | None = None,
    batch: int | None = None,
) -> tuple[SuiteFile, ...]:
    """The study files of a suite, each read, checked and placed in its storage; nothing is run or read from storage.

    Args:
        paths: A folder (its ``*.toml`` files, sorted by name), a study file, or several of either.
        storage: The run's storage URL (``--storage``); see the module's docstring for the precedence.
        n_trials, epochs, seeds, batch: Overrides applied to every study, as :func:`~actreg_search.api.running.run`'s.

    Raises:
        UserError: No path, a folder without study files, a file that is not a study (its path and the parse
            error), a malformed storage URL, or two files naming the same study in one storage.
    """
    from actreg_search.spec.parser import load_spec
    from actreg_search.store.storage import parse_url, redact

    settings = Settings.from_environ()
    files: list[SuiteFile] = []
    seen: dict[tuple[str, str], Path] = {}
    for path in _study_paths(paths):
        spec = load_spec(path).with_overrides(n_trials=n_trials, epochs=epochs, seeds=seeds, batch=batch)
        url = settings.storage_url(storage, spec.study.storage)
        parse_url(url)
        other = seen.setdefault((url, spec.study.name), path)
        if other is not path and other == path:
            raise UserError(f"{path}: given twice; each study file of a suite runs once")
        if other is not path:
            raise UserError(
                f"{path}: names study {spec.study.name!r}, as {other} does, in storage {redact(url)}; each study of a "
                "suite needs its own [study] name (or its own storage)"
            )
        files.append(SuiteFile(path, spec, url))
    return tuple(files)


def _study_paths(paths: Paths) -> list[Path]:
    given = [Path(paths)] if isinstance(paths, (str, Path)) else [Path(p) for p in paths]
    if not given:
        raise UserError("suite: give a folder of study files (*.toml) or study files")
    found: list[Path] = []
    for path in given:
        if not path.is_dir():
            found.append(path)  # a missing file is load_spec's "no such study file"
            continue
        tomls = sorted((p for p in path.glob("*.toml") if p.is_file()), key=lambda p: p.name)
        if not tomls:
            what = "is empty" if not any(path.iterdir()) else "holds no study file (*.toml)"
            raise UserError(f"{path}: the folder {what}; a suite is a folder of study files (*.toml) or several study files")
        found += tomls
    return found


def command_paths(paths: Paths) -> str:
    """The paths as a command line writes them, a folder with its trailing ``/`` (for messages)."""
    given = [Path(paths)] if isinstance(paths, (str, Path)) else [Path(p) for p in paths]
    return " ".join(shlex.quote(f"{p.as_posix().rstrip('/')}/" if p.is_dir() else str(p)) for p in given)


# --------------------------------------------------------------------------- running


def run_suite(
    paths: Paths,
    storage: str | None = None,
    jobs: int = 1,
    n_trials: int | None = None,
    epochs: int | None = None,
    progress: bool | RunObserver = True,
    *,
    seeds: int | None = None,
    batch: int | None = None,
    recycle_mb: int | None = None,
    engine: str | Engine | None = None,
    after: Callable[[RunSummary], Any] | None = None,
) -> list[RunSummary]:
    """Run every study of a suite, one after the other, each as :func:`~actreg_search.api.running.run` runs its file.

    Every file is read and checked first (:func:`suite_files`): a refusal runs nothing. Each study is created or
    resumed and run to its ``n_trials``; one already there trains nothing. A study interrupted (Ctrl-C) ends the
    suite: the studies after it are not started.

    Args:
        paths: A folder (its ``*.toml`` files, by name), a study file, or several of either.
        storage: Storage URL for the studies (see the module's docstring for the precedence).
        jobs, n_trials, epochs, progress, seeds, batch, recycle_mb, engine: As :func:`~actreg_search.api.running.run`'s,
            for every study (``epochs`` overrides each file's ``[model] epochs``).
        after: Called with each study's summary as soon as it has run (``actreg-search run DIR/`` prints it).

    Returns:
        Each study's summary, in order (fewer than the files when one was interrupted).

    Raises:
        UserError: Bad input (see :func:`suite_files` and :func:`~actreg_search.api.running.run`).
    """
    from actreg_search.api.running import run
    from actreg_search.search.study import StopReason

    files = suite_files(paths, storage, n_trials=n_trials, epochs=epochs, seeds=seeds, batch=batch)
    summaries: list[RunSummary] = []
    for file in files:
        summary = run(
            file.path, storage, n_trials, epochs=epochs, seeds=seeds, jobs=jobs, batch=batch, recycle_mb=recycle_mb,
            engine=engine, progress=progress,
        )
        summaries.append(summary)
        if after is not None:
            after(summary)
        if summary.reason is StopReason.INTERRUPTED:
            break
    return summaries


def run_line(summary: RunSummary) -> str:
    """A run's one-line summary, as ``actreg-search run`` prints it: counts, best value with its figure, storage."""
    from actreg_search.results.figures import words

    where = " on validation" if summary.selects_on.startswith("validation") else ""
    what = words(summary.selects_on.removeprefix("validation_").removeprefix("test_"))  # "log loss", "RMSE"
    best = (
        f"best{'' if what == 'accuracy' else ' ' + what} {summary.best_value:.4f}{where} (trial {summary.best_trial})"
        if summary.best_value is not None else "no completed trial"
    )
    return (
        f"{summary.study_name}: {summary.reason.value}; {summary.finished}/{summary.target} finished, "
        f"{summary.ran} run now ({summary.failed} failed); {best}; storage {summary.storage}"
    )


# --------------------------------------------------------------------------- reading


class Suite:
    """A suite's studies, read (see :func:`load_suite`).

    Attributes:
        files: Every study file of the suite, in order.
        results: The loaded studies of those that have run (a stored study of the file's name), in order.
        not_run: The files whose study is not stored yet.
        paths: The suite as given, as a command line writes it (``studies/``).
    """

    def __init__(self, files: Sequence[SuiteFile], results: Sequence[Results], paths: str = "DIR/") -> None:
        self.files = tuple(files)
        self.results = tuple(results)
        loaded = {(r.storage, r.name) for r in self.results}
        self.not_run = tuple(f for f in self.files if (f.storage, f.name) not in loaded)
        self.paths = paths

    def __repr__(self) -> str:
        return f"<Suite: {len(self.results)} of {len(self.files)} studies run>"

    @property
    def studies(self) -> tuple[StudyResults, ...]:
        """The read models of the studies that have run (each :attr:`Results.results`)."""
        return tuple(r.results for r in self.results)

    def table(self, confidence: float = 0.95) -> SuiteTable:
        """The studies side by side (:func:`~actreg_search.results.suite.side_by_side`): a row per study that has run."""
        from actreg_search.results.suite import side_by_side

        return side_by_side(self.studies, confidence)

    def markdown(self, confidence: float = 0.95) -> str:
        """The suite's markdown (``actreg-search report --suite``): the table, then one line per study not run.

        Raises:
            UserError: No study of the suite has run (the message names the command to run first).
        """
        from actreg_search.results.suite import suite_markdown
        from actreg_search.store.storage import redact

        self._check_some_run()
        text = f"# Suite: {len(self.results)} of {len(self.files)} studies side by side\n\n" + suite_markdown(self.table(confidence))
        if self.not_run:
            text += "\n" + "".join(
                f"- {f.name} ({f.path}): not run (no such study in {redact(f.storage)}; `actreg-search run {shlex.quote(str(f.path))}`)\n"
                for f in self.not_run
            )
        return text

    def write_markdown(self, path: str | Path, confidence: float = 0.95) -> Path:
        """Write :meth:`markdown` to a file, atomically (``report --suite --out``).

        Raises:
            UserError: A missing folder, or any error of :meth:`markdown`.
        """
        from actreg_search.results.export import check_out_path, write_text

        path = Path(path)
        check_out_path(path)
        write_text(path, self.markdown(confidence))
        return path

    def write_dashboard(self, path: str | Path) -> Path:
        """Write the suite's offline HTML page (``dashboard --suite --out``): the paired differences vs none as a
        heatmap, studies × penalties, and each study's history.

        Raises:
            UserError: A missing folder, or no study of the suite has run.
        """
        from actreg_search.dashboard.suite import write_suite_page
        from actreg_search.results.export import check_out_path

        path = Path(path)
        check_out_path(path)
        self._check_some_run()
        write_suite_page(self.studies, path)
        return path

    def _check_some_run(self) -> None:
        if not self.results:
            names = ", ".join(f.name for f in self.files)
            raise UserError(
                f"no study of this suite has run yet ({names}); run them first: actreg-search run {self.paths}"
            )


def load_suite(paths: Paths, storage: str | None = None, *, curves: bool = False) -> Suite:
    """Read a suite's stored studies; those not stored yet are :attr:`Suite.not_run`.

    Args:
        paths: A folder (its ``*.toml`` files, by name), a study file, or several of either.
        storage: Storage URL, resolved for each file as ``run`` resolves it (see the module's docstring).
        curves: Read the learning curves the dashboard draws (``False``: tables only).

    Raises:
        UserError: Bad input (see :func:`suite_files`), or a storage that cannot be read (a missing SQLite file
            only means its studies have not run).
    """
    from actreg_search.api.results import Results
    from actreg_search.store.reader import list_studies, load_results
    from actreg_search.store.storage import open_reader, sqlite_path

    files = suite_files(paths, storage)
    loaded: dict[tuple[str, str], Results] = {}
    for url in dict.fromkeys(f.storage for f in files):
        path = sqlite_path(url)
        if path is not None and not path.exists():
            continue
        engine = open_reader(url)
        try:
            stored = {s.name for s in list_studies(engine)}
            for file in files:
                if file.storage == url and file.name in stored:
                    read = load_results(engine, file.name, curves="drawn" if curves else "none")
                    loaded[(url, file.name)] = Results(read, url)
        finally:
            engine.dispose()
    results = [loaded[(f.storage, f.name)] for f in files if (f.storage, f.name) in loaded]
    return Suite(files, results, command_paths(paths))


__all__ = ["Suite", "SuiteFile", "command_paths", "load_suite", "run_line", "run_suite", "suite_files"]
