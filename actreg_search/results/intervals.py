"""Intervals of a mean over seeds, and Holm's correction for a family of comparisons.

Intervals of a mean over seeds (:func:`accuracy_interval`, :func:`t_interval`):
    * *Unbounded figures* (``train_loss``, ``activation_mean``), the ``gap``
      (train minus test, in [-1, 1]) and every paired *difference* get the
      t-interval ``mean ± t(n-1) · sd / √n``.
    * *Fractions* (:data:`BOUNDED`: accuracies and sparsities, in [0, 1]) get
      :func:`accuracy_interval`: the same t-interval built on the logit
      scale around the logit of the mean, with the delta-method standard
      error ``(sd / √n) / (m (1 - m))``, and mapped back: the construction of
      the "logit" interval that Stata's ``proportion`` (its default) and R's
      ``survey::svyciprop(method = "logit")`` give a mean proportion with an
      estimated standard error. Why this one:

      - It stays inside (0, 1) by construction, without clipping: the plain
        t-interval printed "99.3% ± 1.5%, [97.5%, 101.2%]" on the circles,
        and clipping that to 100% would keep its symmetric, too-short lower
        arm. The logit interval is asymmetric the way a mean near a bound is
        uncertain: short toward the bound, long away from it.
      - It is centred on the arithmetic mean (the "mean ± std" printed beside
        it) and always contains it. A t-interval of the seeds' own logits
        would describe the back-transformed mean of logits instead, a
        different and smaller number near 1, and can exclude the mean: on
        (1, 1, 1, 1, 69/70) it gives [98.8%, 99.4%] for a mean of 99.7%.
      - Seeds at exactly 0 or 1 need no smoothing: only the *mean* enters the
        logit, and the mean is 0 or 1 only when every seed is, when the
        spread is zero. A zero spread (every seed equal, at a bound or not)
        gives the point ``(m, m)``, as the t-interval does: with no spread
        there is nothing to scale (the same convention as a constant paired
        difference). The seeds' logits would need a smoothing such as
        ``(k + ½) / (n + 1)``, which needs the number of samples behind each
        fraction, which a bare list of per-seed fractions does not carry.
      - Its coverage stays near 95% where the t-interval's falls short. A
        simulation of the circles setting (5 seeds; each seed's accuracy a
        Binomial(70, p)/70 with p logit-normal across seeds, σ = 1 on the
        logit scale; 20,000 studies per row; the seeds' logits clipped at
        1/140 from the bounds) gave these coverages of the true mean at 95%:

        ==============  ==========  ======  ===================
        true mean       t-interval  logit   t on seeds' logits
        ==============  ==========  ======  ===================
        50.0%           0.94        0.95    0.95
        89.5%           0.89        0.94    0.92
        95.5%           0.87        0.94    0.87
        98.3%           0.86        0.97    0.82
        ==============  ==========  ======  ===================

        Near 50% it is the t-interval (the logit is nearly linear there). At
        a true 99.3% every method falls short (0.77-0.84): in 16% of the
        studies every seed is at 100%, and an interval drawn from the spread
        then collapses to a point. A bootstrap percentile interval over 5 seeds
        was not considered: it is narrower than the t-interval (it behaves
        like a normal interval, a factor near 1.96 where t(4) gives 2.78, and
        5 values have at most 126 distinct resamples).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats as sps
from scipy.special import expit

from actreg_search.errors import UserError


def accuracy_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """Confidence interval of the mean of per-seed fractions (accuracies, sparsities), within [0, 1].

    The t-interval built on the logit scale: with ``m`` the mean of the ``n``
    values and ``sd`` their sample standard deviation,
    ``expit(logit(m) ± t(n-1) · (sd / √n) / (m (1 - m)))``. It lies inside
    (0, 1), contains ``m``, is short toward the nearer bound and long away from
    it, and is the t-interval to first order near 0.5. The module docstring
    ("Intervals of a mean over seeds") says why this interval and not another,
    with its coverage in a simulation.

    Args:
        values: One fraction per seed, each in [0, 1]; seeds at exactly 0 or 1
            need no smoothing (only the mean is transformed).
        confidence: Level of the interval, in (0, 1).

    Returns:
        ``(low, high)``. ``(m, m)`` when every value is the same (no spread,
        as the t-interval; this includes every seed at 0 or at 1), and
        ``(nan, nan)`` for a single value, which has no interval.

    Raises:
        UserError: No values, a value outside [0, 1] or not finite, or a bad ``confidence``.
    """
    check_level(confidence)
    x = np.asarray(values, dtype=float)
    if x.ndim != 1 or len(x) == 0:
        raise UserError("accuracy_interval needs a flat sequence of at least one fraction")
    if not np.all(np.isfinite(x)) or np.any(x < 0) or np.any(x > 1):
        raise UserError(f"accuracy_interval takes fractions in [0, 1], got {[float(v) for v in x]}")
    n = len(x)
    if n == 1:
        return math.nan, math.nan
    mean = float(x.mean())
    if float(np.ptp(x)) == 0.0:  # every seed the same: no spread; also the only way the mean is 0 or 1
        return mean, mean
    se_logit = float(x.std(ddof=1)) / math.sqrt(n) / (mean * (1.0 - mean))
    half = float(sps.t.ppf((1 + confidence) / 2, n - 1)) * se_logit
    centre = math.log(mean / (1.0 - mean))
    return float(expit(centre - half)), float(expit(centre + half))


def t_interval(values: np.ndarray, confidence: float) -> tuple[float, float]:
    """The t-interval of the mean, ``(nan, nan)`` for a single value."""
    n = len(values)
    if n < 2:
        return math.nan, math.nan
    mean = float(values.mean())
    half = float(sps.t.ppf((1 + confidence) / 2, n - 1)) * float(values.std(ddof=1)) / math.sqrt(n)
    return mean - half, mean + half


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given.

    With the ``m`` p-values sorted, ``p(1) ≤ ... ≤ p(m)``, the ``i``-th adjusted
    value is ``max over j ≤ i of min(1, (m - j + 1) · p(j))``: a hypothesis is
    rejected at level α when its adjusted p-value is ≤ α, which controls the
    probability of *any* false rejection in the family at α, under any
    dependence between the tests (Holm 1979), and rejects everything
    Bonferroni does and more. Here the tests are dependent (every comparison
    with the best shares the best's seeds), so Holm rather than a
    false-discovery-rate method (``scipy.stats.false_discovery_control`` is
    Benjamini-Hochberg, which controls another error and assumes positive
    dependence). scipy has no Holm, and statsmodels
    (``multipletests(method="holm")``) is not a dependency of this project; the
    step-down is these few lines, checked against a hand-computed example in
    the tests.

    Args:
        p_values: The family's p-values, each in [0, 1].

    Returns:
        The adjusted p-values, each ≥ its own p-value and ≤ 1; ties keep equal values.

    Raises:
        UserError: A p-value that is ``nan`` or outside [0, 1].
    """
    values = [float(p) for p in p_values]
    if any(not 0.0 <= p <= 1.0 for p in values):  # nan fails this too
        raise UserError(f"Holm's correction takes p-values in [0, 1], got {values}")
    m = len(values)
    adjusted = [0.0] * m
    running = 0.0
    for rank, index in enumerate(sorted(range(m), key=values.__getitem__)):
        running = max(running, min(1.0, (m - rank) * values[index]))
        adjusted[index] = running
    return adjusted


def check_level(confidence: float) -> None:
    """Refuse a confidence level outside (0, 1)."""
    if not 0 < confidence < 1:
        raise UserError(f"confidence must be between 0 and 1 (exclusive), got {confidence}")


__all__ = ["accuracy_interval", "check_level", "holm", "t_interval"]
