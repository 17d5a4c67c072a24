"""Sparsity per marked layer: how sparse each penalized layer is, not only all of them pooled.

A trial's ``sparsity`` pools the outputs of every marked layer; a model with
several marked layers (``layers = "all"``, or a deeper mlp) also records each
layer's own per-seed sparsity (:attr:`TrialRecord.per_layer`). The chart shows,
for the best trial of each regularizer × placement and the best unregularized
trial (best on the figure the study selects on), each layer's mean sparsity
over seeds with its 95% interval; the table of all trials lists each layer's
mean for every trial (:func:`layer_values`).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from actreg_search.dashboard.data.base import (
    Group,
    Unavailable,
    describe,
    group_of,
    interval,
    nothing_completed,
    rank,
    selection_words,
    usable,
)
from actreg_search.results.records import StudyResults, TrialRecord
from actreg_search.spec.measures import SPARSITY


def layer_values(trial: TrialRecord) -> Mapping[str, tuple[float, ...]]:
    """A trial's per-seed sparsity of each marked layer (empty for a model with one marked layer)."""
    return {layer: values for layer, values in trial.per_layer.get(SPARSITY, {}).items() if values}


def layer_means(trial: TrialRecord) -> dict[str, float]:
    """A trial's mean sparsity over seeds of each marked layer (empty for a model with one marked layer)."""
    return {layer: statistics.fmean(values) for layer, values in layer_values(trial).items()}


def layer_names(trials: Sequence[TrialRecord]) -> tuple[str, ...]:
    """Every layer with a recorded sparsity in ``trials``, in the order they were first recorded."""
    return tuple(dict.fromkeys(layer for t in trials for layer in layer_values(t)))


@dataclass(frozen=True)
class LayerTrial:
    """One trial's mean sparsity over seeds in each layer.

    Attributes:
        number: The trial.
        group: Its regularizer and placement.
        label: :func:`describe` of it.
        means: Per layer of :attr:`LayerData.layers`, its mean sparsity over seeds (``nan`` where not recorded).
        lows: Lower end of each mean's 95% interval over seeds (never below 0).
        highs: Upper end of that interval (never above 1).
        overall: Its sparsity over every marked layer pooled (the figure of the other charts), if recorded.
    """

    number: int
    group: Group
    label: str
    means: tuple[float, ...]
    lows: tuple[float, ...]
    highs: tuple[float, ...]
    overall: float | None


@dataclass(frozen=True)
class LayerData:
    """Sparsity per marked layer of the best trial of each group.

    Attributes:
        layers: Every marked layer, in the model's order.
        trials: The best trial of each regularizer × placement with per-layer
            figures (and the best unregularized one), by group.
        note: Said under the chart: which trials are drawn.
    """

    layers: tuple[str, ...]
    trials: tuple[LayerTrial, ...]
    note: str | None = None


def layer_sparsity(results: StudyResults) -> LayerData | Unavailable:
    """Data of the per-layer sparsity chart: the best trial of each group, each marked layer's sparsity."""
    done = usable(results)
    trials = [t for t in done if layer_values(t)]
    if not trials:
        if done:
            return Unavailable(
                "No completed trial recorded a sparsity per layer: the model has one marked layer, whose sparsity "
                "is the one drawn above."
            )
        return nothing_completed(results)
    best: dict[Group, TrialRecord] = {}
    for trial in rank(trials):
        best.setdefault(group_of(trial.config), trial)  # type: ignore[arg-type]
    layers = layer_names(trials)
    chosen = [best[g] for g in sorted(best, key=lambda g: g.order)]
    note = (
        f"Each bar is the best trial (on mean {selection_words(results)}) of its regularizer × placement: its mean "
        f"sparsity over seeds in that layer alone, with its 95% interval."
    )
    return LayerData(layers=layers, trials=tuple(_layer_trial(t, layers) for t in chosen), note=note)


def _layer_trial(trial: TrialRecord, layers: Sequence[str]) -> LayerTrial:
    values = layer_values(trial)
    means, lows, highs = [], [], []
    for layer in layers:
        seeds = values.get(layer, ())
        low, high = interval(seeds) if seeds else (math.nan, math.nan)
        means.append(statistics.fmean(seeds) if seeds else math.nan)
        lows.append(low)
        highs.append(high)
    return LayerTrial(
        number=trial.number,
        group=group_of(trial.config),  # type: ignore[arg-type]
        label=describe(trial),
        means=tuple(means),
        lows=tuple(lows),
        highs=tuple(highs),
        overall=trial.mean(SPARSITY),
    )
