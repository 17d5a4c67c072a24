"""A rich progress display for ``run``: trials, best so far, the current trial's epochs.

When the display's output goes away mid-run (``run ... | tee log`` and Ctrl-C
kills ``tee`` too), the display goes quiet instead of taking the run down: its
console is a :class:`~actreg_search.console.PipeSafeConsole`, and the run
guards its observer anyway (:class:`~actreg_search.search.observer.GuardedObserver`).
"""

from __future__ import annotations

import contextlib

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from actreg_search import console as streams
from actreg_search.results.figures import metric_words, trial_task
from actreg_search.results.records import TrialRecord
from actreg_search.search.observer import RunObserver
from actreg_search.spec.measures import BY_NAME, POINTS, SPARSITY, headline
from actreg_search.spec.trial import TrialConfig
from actreg_search.spec.vocab import Task


class RichProgress(RunObserver):
    """Shows two bars (trials; epochs of the current trial) and one line per finished trial.

    Args:
        console: Where to draw; default: a pipe-safe console on stderr.
    """

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or streams.console(stderr=True)
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
        )
        self.trials = self.progress.add_task("trials", total=1, visible=False)
        self.epochs = self.progress.add_task("epochs", total=1, visible=False)

    def __enter__(self) -> RichProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress.live.is_started:
            with contextlib.suppress(OSError):  # the terminal or pipe is gone: nothing left to show
                self.progress.stop()

    def on_run_start(self, study_name: str, target: int, finished: int) -> None:
        self.progress.start()  # only now: errors before a run starts print no empty bars
        self.progress.update(
            self.trials, description=f"{study_name}: trials", total=target, completed=finished, visible=True
        )

    def on_trial_start(self, number: int, config: TrialConfig, total_epochs: int) -> None:
        self.progress.update(
            self.epochs,
            description=f"trial {number} ({config.label()}) seed-epochs",
            total=total_epochs,
            completed=0,
            visible=True,
        )

    def on_epochs(self, done: int, total: int) -> None:
        self.progress.update(self.epochs, completed=done)

    def on_trial_end(self, record: TrialRecord, best_value: float | None) -> None:
        label = record.config.label() if record.config else ""
        if record.complete:
            line = f"trial {record.number} {label}: {figures_line(record)}"
        else:
            line = f"trial {record.number} {label}: {record.state.name} ({record.fail_reason or 'no reason'})"
        self.progress.console.print(line, highlight=False)
        best = f"best {best_value:.3f}" if best_value is not None else "no best yet"
        task = self.progress.tasks[self.trials]
        description = task.description.split(" (")[0]
        completed = task.completed + (1 if record.state.name in ("COMPLETE", "PRUNED") else 0)
        self.progress.update(self.trials, completed=completed, description=f"{description} ({best})")


def figures_line(record: TrialRecord) -> str:
    """A completed trial's figures in brief: its task's headline (accuracy; a regression's RMSE, an autoencoder's
    reconstruction MSE, named) on validation (where measured) and test as mean±std, sparsity, training time:
    ``validation 0.812±0.010 test 0.800±0.020 sparsity 0.50 1.2s`` (a fraction to 3 decimals), ``RMSE validation
    0.5123±0.0100 test ...`` (another figure to its registry digits)."""
    task = trial_task(record)
    parts = [] if task is Task.CLASSIFICATION else [metric_words(headline(task, "test"))]
    for split in ("validation", "test"):
        name = headline(task, split)
        mean, std, digits = record.mean(name), record.std(name), BY_NAME[name].digits - (name in POINTS)  # 0.812, 0.5123
        if mean is not None:
            parts.append(f"{split} {mean:.{digits}f}±{std or 0.0:.{digits}f}")
    if (sparsity := record.mean(SPARSITY)) is not None:
        parts.append(f"sparsity {sparsity:.2f}")
    if record.wall_time_s is not None:
        parts.append(f"{record.wall_time_s:.1f}s")
    return " ".join(parts)


class EpochBar:
    """One bar of a single training's epochs (``export --model``'s retraining), on stderr.

    It is a :class:`~actreg_search.engine.base.Monitor` in all but name (the
    engine calls :meth:`on_epochs`, :meth:`on_curves` and :meth:`report`;
    this module stays free of TensorFlow by not importing the engine).

    Args:
        description: What the bar says it trains.
        console: Where to draw; default: a pipe-safe console on stderr.
    """

    wants_reports = False

    def __init__(self, description: str, console: Console | None = None) -> None:
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console or streams.console(stderr=True),
            transient=False,
        )
        self.task = self.progress.add_task(description, total=None)

    def __enter__(self) -> EpochBar:
        with contextlib.suppress(OSError):
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress.live.is_started:
            with contextlib.suppress(OSError):
                self.progress.stop()

    def on_epochs(self, done: int, total: int) -> None:
        """``done`` of ``total`` epochs are trained."""
        with contextlib.suppress(OSError):
            self.progress.update(self.task, completed=done, total=total)

    def on_curves(self, *args: object) -> None:
        """Curves are not shown."""

    def report(self, epoch: int, value: float) -> None:
        """Intermediate values are not shown."""
