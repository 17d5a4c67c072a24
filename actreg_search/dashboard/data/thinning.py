"""How big studies are thinned before drawing: every limit, and the sampling rule.

A 10,000-trial study would make a page of hundreds of megabytes and a browser
that cannot scroll it. So each chart draws at most a fixed number of trials:
the best ones always (and the Pareto front, and the best unregularized trial),
the rest an evenly spaced sample by trial number, and says so under the
chart ("Drawn from 2,000 of 10,000 trials"). Numbers computed over the whole
study (the best so far, the Pareto front, the interpolated surface, box
quartiles) are computed before thinning, so they do not change.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from actreg_search.dashboard.data.base import rank
from actreg_search.results.records import TrialRecord

#: Completed trials given to Optuna's charts (importances, parallel coordinates, slice, Pareto front).
MAX_OPTUNA_TRIALS = 1_000
#: Markers per scatter chart (history, regularization path, sparsity, coefficient × width).
MAX_POINTS = 2_000
#: Seed runs drawn as points per box (the box itself is drawn from evenly spaced quantiles of all runs).
MAX_BOX_POINTS = 500
#: Completed trials listed in the table of all trials (the best ones).
MAX_TABLE_ROWS = 1_000
#: Trials in other states (failed, pruned, running) listed in the table (the latest ones).
MAX_OTHER_ROWS = 200
#: Share of a sample always given to the best trials.
BEST_SHARE = 0.1

T = TypeVar("T")


@dataclass(frozen=True)
class Sample:
    """The trials a chart draws, out of how many it could.

    Attributes:
        trials: The trials drawn, by number.
        total: How many there were.
    """

    trials: tuple[TrialRecord, ...]
    total: int

    @property
    def thinned(self) -> bool:
        """Whether trials were left out."""
        return len(self.trials) < self.total

    def note(self, what: str = "trials") -> str | None:
        """E.g. ``Drawn from 1,000 of 9,800 completed trials: ...``; ``None`` if nothing was left out."""
        if not self.thinned:
            return None
        return (
            f"Drawn from {len(self.trials):,} of {self.total:,} {what}: the best ones and an evenly spaced "
            "sample of the rest (by trial number)."
        )


def evenly(items: Sequence[T], k: int) -> list[T]:
    """``k`` items at evenly spaced positions, the first and the last included (all if ``k >= len(items)``)."""
    n = len(items)
    if k >= n:
        return list(items)
    if k <= 0:
        return []
    if k == 1:
        return [items[n // 2]]
    return [items[round(i * (n - 1) / (k - 1))] for i in range(k)]


def sample(trials: Sequence[TrialRecord], limit: int, keep: Iterable[int] = ()) -> Sample:
    """At most ``limit`` of ``trials``: ``keep`` first, then the best, then an evenly spaced sample.

    Args:
        trials: The candidates, by number.
        limit: How many to draw at most.
        keep: Numbers drawn whatever happens (while they fit), e.g. the Pareto front.

    Returns:
        The sample, by number.
    """
    if len(trials) <= limit:
        return Sample(tuple(trials), len(trials))
    present = {t.number for t in trials}
    chosen = dict.fromkeys(n for n in keep if n in present)
    chosen = dict.fromkeys(list(chosen)[:limit])
    for trial in rank(trials)[: max(1, int(limit * BEST_SHARE))]:
        if len(chosen) >= limit:
            break
        chosen.setdefault(trial.number)
    rest = [t for t in trials if t.number not in chosen]
    chosen.update(dict.fromkeys(t.number for t in evenly(rest, limit - len(chosen))))
    return Sample(tuple(t for t in trials if t.number in chosen), len(trials))


def quantile_sample(values: Sequence[float], k: int = MAX_BOX_POINTS) -> tuple[float, ...]:
    """At most ``k`` of ``values`` at evenly spaced ranks (min and max included): the same distribution, fewer points."""
    return tuple(evenly(sorted(values), k)) if len(values) > k else tuple(values)
