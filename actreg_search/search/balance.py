"""An equal budget per penalty group: ``[space] balance = true`` fixes each trial's penalty by its number.

TPE samples the penalty like any other parameter, so how many trials each
group gets (``none``, ``l1/pre_activation``, ``tar``...) is its choice: in
the atlas it gave ``none`` 89 trials of 100 in one study and 1 to 5 in others,
and in one study it never sampled the group that won under another sampler
seed. A cell of the suite table is the best of its group's trials, so an
unequal budget makes cells unequal: a group searched 5 times is less tuned
than one searched 50 times.

Under ``balance`` the groups take turns: trial ``n`` gets group
``n mod G`` (``none`` first, then the kinds in the space's order); the
sampler draws everything else (coefficients, width, training knobs), and
the group is still recorded as the trial's parameter. Under ``per_layer``
a group is the set of penalties the layers carry (as
:func:`actreg_search.results.suite.group_of` groups them), and the
assignments of a group (which layer carries which) take turns within it.

Optuna fixes parameters with :meth:`optuna.Study.enqueue_trial` or
:class:`optuna.samplers.PartialFixedSampler`; neither fits. Queued trials
must be queued exactly once across every worker and resume of a study, and
are taken by whichever worker asks first; the partial-fixed sampler fixes
one value for every trial. The trial number, which the storage hands out
uniquely to every process, fixes the design with no shared state: a study
resumed, recycled or run by several machines gets the same groups. A trial
that fails leaves its group one trial short.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass
from typing import Any

from optuna.trial import FrozenTrial

from actreg_search.spec.specs import Choice, StudySpec
from actreg_search.spec.vocab import Regularizer

#: The Optuna parameters a design fixes (a per-layer penalty's are ``<layer>.regularizer``...).
FIXED = ("regularizer", "placement")


@dataclass(frozen=True)
class Kind:
    """One penalty a layer can draw: the ``regularizer`` and ``placement`` values as Optuna records them
    (``placement`` ``None`` where none is drawn: ``none``, and the penalties that read the activated output)."""

    regularizer: str
    placement: str | None = None

    @property
    def none(self) -> bool:
        """Whether this is no penalty."""
        return self.regularizer == Regularizer.NONE.value


def kinds_of(spec: StudySpec) -> tuple[Kind, ...]:
    """Every penalty the space lets a layer draw, in the space's order (``none`` wherever it is listed)."""
    kinds: list[Kind] = []
    for value in spec.space.regularizer.values:
        raw = str(value.value if isinstance(value, Regularizer) else value)
        regularizer = value if isinstance(value, Regularizer) else Regularizer.CUSTOM
        if regularizer is Regularizer.NONE or regularizer.activated:
            kinds.append(Kind(raw))
        else:
            kinds.extend(Kind(raw, str(p.value)) for p in spec.space.placement.values)
    return tuple(kinds)


@dataclass(frozen=True)
class Design:
    """Which penalty each layer of trial ``n`` carries.

    Args:
        spec: The study: its space says what a layer may draw (:attr:`kinds`), and under ``per_layer`` it names the
            layers (:meth:`layers`).
    """

    spec: StudySpec

    @functools.cached_property
    def kinds(self) -> tuple[Kind, ...]:
        """What a layer may draw (:func:`kinds_of`)."""
        return kinds_of(self.spec)

    @property
    def per_layer(self) -> bool:
        """Whether each marked layer draws its own (``[space] per_layer``)."""
        return self.spec.space.per_layer

    def groups(self, depth: int = 1) -> tuple[tuple[tuple[Kind, ...], ...], ...]:
        """The groups of ``depth`` layers, in turn order: each the assignments (a kind per layer) that make it.

        A group is the set of penalties its layers carry (``none`` where no layer carries one): no penalty first,
        then one, then two..., each in the space's order.
        """
        return _groups(self.kinds, depth)

    def assignment(self, number: int, depth: int = 1) -> tuple[Kind, ...]:
        """The kind of each of ``depth`` layers in trial ``number``: group ``number mod G``, and within it the
        assignments in turn."""
        groups = self.groups(depth)
        group = groups[number % len(groups)]
        return group[(number // len(groups)) % len(group)]

    def layers(self, trial: FrozenTrial) -> tuple[str, ...]:
        """The marked layers a per-layer trial draws for, as :func:`~actreg_search.search.space.suggest_config`
        names them: a user's model's (once built), the built-in mlp's by the trial's depth.

        Raises:
            ValueError: A user's model whose marked layers are not known yet.
        """
        spec = self.spec
        if spec.model.user:
            if spec.marked is None:
                raise ValueError(f"[space] balance: the marked layers of {spec.model.origin} are not known; build the model first")
            return spec.marked
        depth = spec.model.hidden_layers
        searched = spec.space.hidden_layers
        if searched is not None:
            fixed = isinstance(searched, Choice) and searched.fixed
            depth = int(searched.values[0]) if fixed else int(trial.params["hidden_layers"])  # type: ignore[union-attr]
        return spec.model.family.marked_layers(depth)

    def fixes(self, name: str) -> bool:
        """Whether parameter ``name`` is one this design fixes (``regularizer``, ``placement``; under ``per_layer``
        ``<layer>.regularizer``...)."""
        layer, _, key = name.rpartition(".")
        return key in FIXED and bool(layer) == self.per_layer

    def value(self, trial: FrozenTrial, name: str) -> Any | None:
        """The value this design fixes for parameter ``name`` of ``trial``, or ``None`` if it fixes none."""
        if not self.fixes(name):
            return None
        layer, _, key = name.rpartition(".")
        if not self.per_layer:
            kind = self.assignment(trial.number)[0]
        else:
            layers = self.layers(trial)
            if layer not in layers:
                return None
            kind = self.assignment(trial.number, len(layers))[layers.index(layer)]
        return kind.regularizer if key == "regularizer" else kind.placement


@functools.lru_cache(maxsize=16)
def _groups(kinds: tuple[Kind, ...], depth: int) -> tuple[tuple[tuple[Kind, ...], ...], ...]:
    """:meth:`Design.groups`, worked out once per space and depth (it is asked for every parameter it fixes)."""
    order = {kind: index for index, kind in enumerate(kinds)}
    by_group: dict[tuple[Kind, ...], list[tuple[Kind, ...]]] = {}
    for assignment in itertools.product(kinds, repeat=depth):
        carried = tuple(sorted({k for k in assignment if not k.none}, key=order.__getitem__))
        by_group.setdefault(carried, []).append(assignment)
    keys = sorted(by_group, key=lambda g: (len(g), [order[k] for k in g]))
    return tuple(tuple(by_group[key]) for key in keys)


__all__ = ["Design", "Kind", "kinds_of"]
