"""Two trials of a study compared seed by seed on one per-seed figure: the paired difference and its tests.

Every trial of a study trains its config on the same seeds, so two trials can
be compared pairwise: seed ``s`` of one against seed ``s`` of the other.

Conventions:
    * Differences are always ``b - a``: ``a`` is the reference (the baseline,
      or the best trial), ``b`` the trial measured against it.
    * Seeds are matched by value, so trials that list their seeds in another
      order, or trained only some seeds in common, still pair up correctly.
    * Whether a difference is a win depends on the figure
      (:data:`~actreg_search.spec.measures.HIGHER_IS_BETTER`): a lower
      ``train_loss``, ``gap``, RMSE or reconstruction MSE wins.

The tests are scipy's (``wilcoxon``, ``ttest_rel``), the interval of the mean
difference the paired t-interval. Nothing here prints.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy import stats as sps

from actreg_search.errors import UserError
from actreg_search.results.figures import words
from actreg_search.results.intervals import check_level
from actreg_search.results.records import TrialRecord
from actreg_search.spec.measures import GAP, HIGHER_IS_BETTER, PER_SEED, POINTS, SPLIT_OF, TEST_ACCURACY

#: Differences whose spread is below this (relative to their size) count as identical.
_CONSTANT_TOL = 1e-12

#: What :meth:`PairedComparison.describe` and ``compare`` say when every seed differs by the same nonzero amount.
CONSTANT_NOTE = "constant difference on every seed"


@dataclass(frozen=True)
class PairedComparison:
    """Trial ``b`` against trial ``a``, seed by seed, on one metric.

    Attributes:
        a: The reference trial's number.
        b: The number of the trial measured against it.
        metric: The per-seed figure compared (one of ``PER_SEED``).
        confidence: Level of the confidence interval, e.g. 0.95.
        seeds: The seeds both trials trained, ascending.
        differences: ``b - a`` for each of ``seeds``.
        mean_difference: Mean of ``differences``.
        sd_difference: Their sample standard deviation (ddof=1); exactly 0.0
            when all differences are identical.
        ci_low: Lower bound of the t-based confidence interval of the mean
            difference (``n - 1`` degrees of freedom). Equal to the mean when
            all differences are identical.
        ci_high: Upper bound of that interval.
        wilcoxon_p: Two-sided Wilcoxon signed-rank p-value
            (``scipy.stats.wilcoxon`` with its defaults: zero differences are
            dropped). When *every* difference is zero the test is undefined;
            this is then 1.0 (no evidence of any difference).
        t_p: Two-sided paired t-test p-value (``scipy.stats.ttest_rel``).
            ``nan`` when all differences are identical (zero spread), whether
            they are all zero or not: see "Degenerate cases" below.
        d_z: Cohen's d_z, ``mean_difference / sd_difference``. ``nan`` when
            every difference is zero; ``+inf``/``-inf`` (the sign of the
            difference) when the differences are identical but not zero.
        wins: Seeds where ``b`` is better than ``a`` (by :data:`HIGHER_IS_BETTER`;
            higher, for metrics with no better direction).
        ties: Seeds where the two are exactly equal.
        losses: Seeds where ``b`` is worse.

    Degenerate cases:
        *Identical trials* (every difference 0): no test has anything to
        test; ``wilcoxon_p`` is 1.0, ``t_p`` and ``d_z`` are undefined
        (``nan``, shown as "n/a").

        *A constant difference* (every seed differs by the same nonzero
        amount, e.g. one more correct test sample on every seed): the
        differences have no spread, so the t statistic is a division by
        zero. Its limit is ±∞ with p → 0, but that limit says only "no
        spread": the t-test's model (normal differences whose variance is
        estimated from the data) does not hold, and R's
        ``t.test`` refuses such data as "essentially constant". So ``t_p`` is
        ``nan``, shown as "n/a" with the note "constant difference on every
        seed"; the Wilcoxon signed-rank p-value (exact, from signs and ranks
        only) stays defined and is the test to read. ``d_z`` is the signed
        limit ``±inf``, shown as "+∞"/"-∞": every seed moved the same way by
        the same amount. The confidence interval collapses to the difference
        itself. :meth:`describe`, :func:`format_p` and :func:`format_d` never
        print ``nan`` or ``inf``.
    """

    a: int
    b: int
    metric: str
    confidence: float
    seeds: tuple[int, ...]
    differences: tuple[float, ...]
    mean_difference: float
    sd_difference: float
    ci_low: float
    ci_high: float
    wilcoxon_p: float
    t_p: float
    d_z: float
    wins: int
    ties: int
    losses: int

    @property
    def n(self) -> int:
        """Number of shared seeds compared."""
        return len(self.seeds)

    @property
    def identical(self) -> bool:
        """Whether the two trials are equal on every shared seed."""
        return self.ties == self.n

    @property
    def constant_difference(self) -> bool:
        """Whether every seed differs by the same nonzero amount (the t-test is then undefined)."""
        return self.sd_difference == 0.0 and not self.identical

    @property
    def ci_excludes_zero(self) -> bool:
        """Whether the confidence interval lies wholly above or below zero."""
        return self.ci_low > 0 or self.ci_high < 0

    @property
    def p_value(self) -> float:
        """The comparison's one p-value, for a correction over several (:func:`holm`).

        The paired t-test's, the test that matches the confidence interval; where
        the t-test is undefined (every seed differs by the same amount, or not
        at all) the Wilcoxon signed-rank test's, the one that stays defined
        (1.0 for identical trials). Never ``nan``.
        """
        return self.wilcoxon_p if math.isnan(self.t_p) else self.t_p

    def describe(self) -> str:
        """One plain-language line, e.g.

        ``trial 7 beats trial 3 on test accuracy by 3.1 points, 95% CI [1.2, 5.0]
        (excludes 0), ahead in 27 of 30 seeds, tied in 2 (Wilcoxon p=0.0004,
        paired t p=0.0002, d_z=0.91)``.

        The difference and its interval are given as a size in the direction of
        the verb ("trails by 2.0 points, 95% CI [-0.1, 4.1]" means ``b - a`` has
        the interval [-4.1, 0.1]); d_z keeps the sign of ``b - a``. Fractions
        are in percentage points, other metrics in their own units. A constant
        difference ends the parenthesis with ``; constant difference on every
        seed: the t-test is undefined`` and shows ``paired t p=n/a,
        d_z=+∞`` (see the class's "Degenerate cases").
        """
        what = words(self.metric)
        tests = f"Wilcoxon p{_p(self.wilcoxon_p)}, paired t p{_p(self.t_p)}, d_z={format_d(self.d_z)}"
        if self.constant_difference:
            tests += f"; {CONSTANT_NOTE}: the t-test is undefined"
        if self.identical:
            return f"no difference: trial {self.b} and trial {self.a} have the same {what} in all {self.n} seeds ({tests})"
        direction = HIGHER_IS_BETTER.get(self.metric)
        good, bad = ("higher", "lower") if direction is None else ("ahead", "behind")
        counts = {good: self.wins, bad: self.losses}
        if self.mean_difference == 0:
            head = f"no difference on average between trial {self.b} and trial {self.a} on {what}:"
            subject = f"trial {self.b} "
        else:
            better = (self.mean_difference > 0) == (direction is not False)
            if direction is None:
                verb = "is above" if better else "is below"
            else:
                verb = "beats" if better else "trails"
            head = f"trial {self.b} {verb} trial {self.a} on {what} by"
            subject = ""
            if not better:
                counts = {bad: self.losses, good: self.wins}
        counts["tied"] = self.ties
        (lead, lead_n), *rest = counts.items()
        tail = "".join(f", {label} in {count}" for label, count in rest if count)
        sign = -1.0 if self.mean_difference < 0 else 1.0
        low, high = sorted((sign * self.ci_low, sign * self.ci_high))
        unit = " points" if self.metric in POINTS else ""
        num = self._number
        return (
            f"{head} {num(abs(self.mean_difference))}{unit}, {self.confidence * 100:g}% CI [{num(low)}, {num(high)}]"
            f" ({'excludes' if self.ci_excludes_zero else 'includes'} 0),"
            f" {subject}{lead} in {lead_n} of {self.n} seeds{tail} ({tests})"
        )

    #: The columns of :meth:`cells`, the ``compare`` table's.
    HEADERS: ClassVar[tuple[str, ...]] = (
        "A", "B", "seeds", "mean B−A", "95% CI", "Wilcoxon p", "paired t p", "d_z", "B ahead / tied / behind",
    )

    @property
    def title(self) -> str:
        """What was compared, where: ``test accuracy (test split), paired by seed``."""
        where = "train minus test" if self.metric == GAP else f"{SPLIT_OF[self.metric]} split"
        return f"{words(self.metric)} ({where}), paired by seed"

    def cells(self) -> tuple[str, ...]:
        """The comparison as the ``compare`` table's row (:data:`HEADERS`), p-values to 4 significant digits."""
        return (
            str(self.a), str(self.b), str(self.n), f"{self.mean_difference:+.4f}", f"[{self.ci_low:+.4f}, {self.ci_high:+.4f}]",
            format_p(self.wilcoxon_p, 4), format_p(self.t_p, 4), format_d(self.d_z), f"{self.wins} / {self.ties} / {self.losses}",
        )

    def _number(self, x: float) -> str:
        """A difference for :meth:`describe`: fractions as percentage points."""
        if self.metric not in POINTS:
            return f"{x + 0.0:.3g}"
        x = 100 * x + 0.0  # + 0.0 turns -0.0 into 0.0
        return f"{x:.1f}" if x == 0 or abs(x) >= 0.1 else f"{x:.2g}"


def paired_comparison(
    a: TrialRecord,
    b: TrialRecord,
    metric: str = TEST_ACCURACY,
    confidence: float = 0.95,
    min_shared: int = 5,
) -> PairedComparison:
    """Compare trial ``b`` with trial ``a`` over the seeds both trained.

    Args:
        a: The reference trial.
        b: The trial measured against it; differences are ``b - a``.
        metric: One of ``PER_SEED``.
        confidence: Level of the confidence interval, in (0, 1).
        min_shared: Fewest shared seeds to compare (at least 2).

    Returns:
        The comparison; see :class:`PairedComparison` for the degenerate cases.

    Raises:
        UserError: An unknown metric, a bad ``confidence`` or ``min_shared``, a
            trial without that metric, or fewer than ``min_shared`` shared seeds.
    """
    check_level(confidence)
    if min_shared < 2:
        raise UserError(f"min_shared must be at least 2 for a paired comparison, got {min_shared}")
    xa, xb = by_seed(a, metric), by_seed(b, metric)
    seeds = tuple(sorted(xa.keys() & xb.keys()))
    if len(seeds) < min_shared:
        raise UserError(
            f"trial {a.number} and trial {b.number} share {len(seeds)} seed(s) "
            f"(trial {a.number} has {len(xa)}, trial {b.number} has {len(xb)}); "
            f"a paired comparison needs at least {min_shared}"
        )
    va = np.array([xa[s] for s in seeds], dtype=float)
    vb = np.array([xb[s] for s in seeds], dtype=float)
    d = vb - va
    n = len(d)
    mean = float(d.mean())
    if abs(mean) <= _CONSTANT_TOL * max(1.0, float(np.abs(d).max())):
        mean = 0.0  # differences that cancel exactly, but for float round-off (1/70 - 1/70 + ...): no lead
    constant = float(np.ptp(d)) <= _CONSTANT_TOL * max(1.0, float(np.abs(d).max()))
    if constant:
        sd, t_p = 0.0, math.nan
        d_z = math.nan if not d.any() else math.copysign(math.inf, mean)
    else:
        sd = float(d.std(ddof=1))
        t_p = float(sps.ttest_rel(vb, va).pvalue)
        d_z = mean / sd
    wilcoxon_p = float(sps.wilcoxon(d).pvalue) if d.any() else 1.0
    half = float(sps.t.ppf((1 + confidence) / 2, n - 1)) * sd / math.sqrt(n)
    higher, lower = int((d > 0).sum()), int((d < 0).sum())
    wins, losses = (lower, higher) if HIGHER_IS_BETTER[metric] is False else (higher, lower)
    return PairedComparison(
        a=a.number,
        b=b.number,
        metric=metric,
        confidence=confidence,
        seeds=seeds,
        differences=tuple(float(x) for x in d),
        mean_difference=mean,
        sd_difference=sd,
        ci_low=mean - half,
        ci_high=mean + half,
        wilcoxon_p=wilcoxon_p,
        t_p=t_p,
        d_z=d_z,
        wins=wins,
        ties=n - higher - lower,
        losses=losses,
    )


def by_seed(trial: TrialRecord, metric: str) -> dict[int, float]:
    """A trial's per-seed values of ``metric``, keyed by seed."""
    if metric not in PER_SEED:
        raise UserError(f"unknown metric {metric!r}; choose one of {', '.join(PER_SEED)}")
    values = trial.per_seed.get(metric)
    if not values:
        raise UserError(f"trial {trial.number} ({trial.state.name}) has no per-seed {metric} recorded")
    if len(values) != len(trial.seeds) or len(set(trial.seeds)) != len(trial.seeds):
        raise UserError(
            f"trial {trial.number} stores {len(trial.seeds)} seeds ({len(set(trial.seeds))} distinct) "
            f"but {len(values)} {metric} values; its record is inconsistent"
        )
    return dict(zip(trial.seeds, values, strict=True))


def format_p(p: float, digits: int = 2) -> str:
    """A p-value for people: ``0.012``, ``<0.0001``, or ``n/a`` when undefined (``nan``).

    Args:
        p: The p-value.
        digits: Significant digits.
    """
    if math.isnan(p):
        return "n/a"
    return "<0.0001" if p < 1e-4 else f"{p:.{digits}g}"


def format_d(d: float) -> str:
    """An effect size for people: ``1.41``, ``+∞``/``-∞`` for a constant difference, ``n/a`` when undefined."""
    if math.isnan(d):
        return "n/a"
    if math.isinf(d):
        return "+∞" if d > 0 else "-∞"
    return f"{d:.2f}"


def _p(p: float) -> str:
    """A p-value with its relation sign: ``=0.012``, ``<0.0001`` or ``=n/a``."""
    text = format_p(p)
    return text if text.startswith("<") else f"={text}"
