"""Output that outlives its reader: the console and the plain writes of the command line and the run display.

A reader that goes away (``actreg-search list | head -1``, a ``tee`` killed by
the same Ctrl-C as ``run``) must cost neither a traceback nor the command's own
exit code. As the Python docs' note on SIGPIPE advises, a broken stream is
pointed at ``/dev/null`` and the command finishes as it would have. Rich's own
console answers a broken pipe with ``SystemExit(1)`` (skipping a run's
bookkeeping, and turning an interrupted run's 130 into 1), so every console here
is a :class:`PipeSafeConsole`.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import IO, Any

from rich.console import Console

PIPED_WIDTH = 160
"""Columns of tables and progress lines written to a file or a pipe (rich would wrap them at 80)."""


def width(stream: IO[str]) -> int | None:
    """Rich's own width on a terminal or when COLUMNS is set; else :data:`PIPED_WIDTH`."""
    return None if stream.isatty() or "COLUMNS" in os.environ else PIPED_WIDTH


def to_devnull(stream: IO[str]) -> None:
    """Point a stream whose reader went away at ``/dev/null``, so that later writes and the final flush succeed.

    Streams without a file descriptor (Click's ``CliRunner``, pytest's capture)
    are left as they are.
    """
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, stream.fileno())
        finally:
            os.close(devnull)


def emit(text: str, stream: IO[str] | None = None) -> None:
    """Write and flush text (stdout by default); a broken pipe sends the stream to ``/dev/null`` instead of raising."""
    target = stream if stream is not None else sys.stdout
    try:
        target.write(text)
        target.flush()
    except BrokenPipeError:
        to_devnull(target)


def note(line: str) -> None:
    """One line on stderr (what was written where, an error), never failing on a broken pipe."""
    emit(line + "\n", sys.stderr)


def flush_streams() -> None:
    """Flush stdout and stderr before exit; one whose reader is gone goes to ``/dev/null``.

    Otherwise Python's own final flush would fail, print "Exception ignored"
    and turn any exit status into 120.
    """
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except ValueError:  # closed
            continue
        except OSError:
            to_devnull(stream)


class PipeSafeConsole(Console):
    """A rich console that outlives its reader: on a broken pipe it goes quiet and points its stream at ``/dev/null``."""

    def on_broken_pipe(self) -> None:
        """Go quiet and send this console's stream to ``/dev/null``; raise nothing."""
        self.quiet = True
        to_devnull(self.file)


def console(stderr: bool = False, **kwargs: Any) -> PipeSafeConsole:
    """A console on today's stdout (or stderr), as wide as :func:`width` says."""
    stream = sys.stderr if stderr else sys.stdout
    return PipeSafeConsole(stderr=stderr, width=width(stream), **kwargs)
