"""The study dashboard: a self-contained HTML report, and a live page that follows a running study.

* :func:`render_report` / :func:`write_report`: every chart of a study in one
  HTML file (plotly.js embedded, works offline).
* :func:`serve` (blocking) / :func:`start_server` (returns a stoppable server):
  the same report on a local web page that reloads as trials finish.
* :func:`load_dashboard`: a study's results, with the curves the report draws, from a storage URL.

Each chart's data is a pure function of :class:`~actreg_search.results.records.StudyResults`
in :mod:`actreg_search.dashboard.data` (big studies thinned to fixed limits);
:mod:`~actreg_search.dashboard.charts` draws it with plotly, and
:mod:`~actreg_search.dashboard.optuna_charts` draws Optuna's own charts from an
in-memory Optuna study built from the same results (one per objective).
:mod:`~actreg_search.dashboard.html` assembles the page from
:mod:`~actreg_search.dashboard.page`'s pieces and
:mod:`~actreg_search.dashboard.server` serves it.
"""

from __future__ import annotations

from actreg_search.dashboard.html import LivePage, build_sections, render_report, write_report
from actreg_search.dashboard.server import DashboardServer, serve, start_server
from actreg_search.store.reader import load_results
from actreg_search.results.records import StudyResults
from actreg_search.store.storage import open_reader


def load_dashboard(storage_url: str, name: str) -> StudyResults:
    """A stored study's results, with the curves the report draws, for :func:`render_report`.

    Raises:
        StorageError: The storage or the study does not exist.
    """
    return load_results(open_reader(storage_url), name, curves="drawn")


__all__ = [
    "DashboardServer",
    "LivePage",
    "build_sections",
    "load_dashboard",
    "render_report",
    "serve",
    "start_server",
    "write_report",
]
