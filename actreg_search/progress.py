"""A rich progress display for ``run``: trials, best so far, the current trial's epochs.

When the display's output goes away mid-run (``run ... | tee log`` and Ctrl-C
kills ``tee`` too), the display goes quiet instead of taking the run down:
rich's own console answers a broken pipe with ``SystemExit(1)``, which would
skip the run's bookkeeping; :class:`DisplayConsole` raises ``BrokenPipeError``
instead, which the run's guard (:class:`~actreg_search.objective.GuardedObserver`)
takes as the end of the display. :func:`print_last` prints the run's summary
line the same way.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from typing import IO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from actreg_search.config import TrialConfig
from actreg_search.objective import RunObserver
from actreg_search.results import TrialRecord


class DisplayConsole(Console):
    """A rich console that goes quiet on a broken pipe and raises ``BrokenPipeError`` (rich exits the program)."""

    def on_broken_pipe(self) -> None:
        """Stop writing; tell the caller (an ``OSError``, which a guard can take)."""
        self.quiet = True
        raise BrokenPipeError(errno.EPIPE, "the display's output is closed")


class RichProgress(RunObserver):
    """Shows two bars (trials; epochs of the current trial) and one line per finished trial.

    Args:
        console: Where to draw; default: a :class:`DisplayConsole` on stderr, ``width`` columns.
        width: The default console's width (``None``: rich's own).
    """

    def __init__(self, console: Console | None = None, width: int | None = None) -> None:
        self.console = console or DisplayConsole(stderr=True, width=width)
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
            line = (
                f"trial {record.number} {label}: test {record.mean('test_accuracy'):.3f}"
                f"±{record.std('test_accuracy'):.3f} sparsity {record.mean('sparsity'):.2f} "
                f"{record.wall_time_s:.1f}s"
            )
        else:
            line = f"trial {record.number} {label}: {record.state.name} ({record.fail_reason or 'no reason'})"
        self.progress.console.print(line, highlight=False)
        best = f"best {best_value:.3f}" if best_value is not None else "no best yet"
        task = self.progress.tasks[self.trials]
        description = task.description.split(" (")[0]
        completed = task.completed + (1 if record.state.name in ("COMPLETE", "PRUNED") else 0)
        self.progress.update(self.trials, completed=completed, description=f"{description} ({best})")


def print_last(text: str) -> None:
    """Print a run's last line on stdout, then make sure no stream whose reader is gone can fail the exit.

    After Ctrl-C under ``run ... | tee log``, ``tee`` may be dead too: writing
    raises ``BrokenPipeError``, and so would Python's final flush of
    ``stdout``/``stderr`` (which turns any exit status into 120). The line is
    dropped then, and each broken stream is pointed at ``/dev/null``, so the
    command still exits with its own status. The text is written as is (no
    rich markup: a study name may hold brackets).
    """
    with contextlib.suppress(OSError, ValueError):
        sys.stdout.write(text + "\n")
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except ValueError:  # closed
            continue
        except OSError:
            _to_devnull(stream)


def _to_devnull(stream: IO[str]) -> None:
    """Point a stream's file descriptor at ``/dev/null`` and drop what it still buffers."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, stream.fileno())
        finally:
            os.close(devnull)
    with contextlib.suppress(OSError, ValueError):
        stream.flush()
