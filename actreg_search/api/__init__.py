"""The public Python API: everything the ``actreg-search`` commands do, as functions and one class.

Its names are importable from :mod:`actreg_search` itself (``actreg_search.run``,
``actreg_search.load``...); ``docs/api.md`` is the tour.

* :func:`run`: run a study from a study file or a spec (``actreg-search run``);
* :func:`load_spec`, :func:`make_spec`, :func:`check_spec`, :class:`Arrays`:
  specs from a study file, from Python values, or from the spec dataclasses;
* :func:`load` → :class:`Results`: a stored study's trials as a pandas
  DataFrame, the best / top-k / Pareto front, paired comparisons, each
  dashboard view as a plotly figure, exports (``show``, ``compare``,
  ``export``, ``report``, ``dashboard``);
* :func:`run_suite`, :func:`load_suite` → :class:`Suite`: a folder of study
  files run one after the other and read side by side (``run DIR/``,
  ``report --suite``, ``dashboard --suite``);
* :func:`studies`, :func:`delete`: ``list`` and ``delete --yes``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: Each public name and the module that defines it, imported when the name is first used: the command
#: line imports this package for every command, and ``list`` must not pay for scipy, pandas or TensorFlow.
_LAZY: dict[str, str] = {
    **dict.fromkeys(("Arrays", "check_spec", "load_spec", "make_spec"), "actreg_search.api.building"),
    **dict.fromkeys(("Results", "load"), "actreg_search.api.results"),
    **dict.fromkeys(("SavedModel", "retrain_epochs"), "actreg_search.api.exports"),
    "run": "actreg_search.api.running",
    **dict.fromkeys(("Suite", "SuiteFile", "load_suite", "run_line", "run_suite", "suite_files"), "actreg_search.api.suites"),
    **dict.fromkeys(
        ("check_export_paths", "delete", "serve", "storage_name", "storage_url", "studies", "summary"),
        "actreg_search.api.storage",
    ),
    **dict.fromkeys(("VIEWS", "View"), "actreg_search.api.views"),
    "TrialRecord": "actreg_search.results.records",
    "figure_on": "actreg_search.results.stats",
    "EpochBar": "actreg_search.search.progress",
    **dict.fromkeys(("RunSummary", "StopReason"), "actreg_search.search.study"),
    **dict.fromkeys(("METRICS", "SPARSITY", "TEST_ACCURACY", "VALIDATION_ACCURACY"), "actreg_search.spec.measures"),
    "DEFAULT_RECYCLE_MB": "actreg_search.spec.vocab",
}

__all__ = sorted(_LAZY)

if TYPE_CHECKING:
    from actreg_search.api.building import Arrays, check_spec, load_spec, make_spec
    from actreg_search.api.results import Results, load
    from actreg_search.api.exports import SavedModel, retrain_epochs
    from actreg_search.api.running import run
    from actreg_search.api.suites import Suite, SuiteFile, load_suite, run_line, run_suite, suite_files
    from actreg_search.api.storage import check_export_paths, delete, serve, storage_name, storage_url, studies, summary
    from actreg_search.api.views import VIEWS, View
    from actreg_search.results.records import TrialRecord
    from actreg_search.results.stats import figure_on
    from actreg_search.search.progress import EpochBar
    from actreg_search.search.study import RunSummary, StopReason
    from actreg_search.spec.measures import METRICS, SPARSITY, TEST_ACCURACY, VALIDATION_ACCURACY
    from actreg_search.spec.vocab import DEFAULT_RECYCLE_MB


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use (PEP 562)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'actreg_search.api' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
