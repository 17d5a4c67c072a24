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
* :func:`studies`, :func:`delete`: ``list`` and ``delete --yes``.
"""

from __future__ import annotations

from actreg_search.api.building import Arrays, check_spec, load_spec, make_spec
from actreg_search.api.results import Results, load, studies
from actreg_search.api.running import delete, run
from actreg_search.api.views import VIEWS, View

__all__ = [
    "VIEWS",
    "Arrays",
    "Results",
    "View",
    "check_spec",
    "delete",
    "load",
    "load_spec",
    "make_spec",
    "run",
    "studies",
]
