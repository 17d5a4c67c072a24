"""Compiled training programs shared by trials: which trials can share one, and the per-process cache.

A trial's penalty (regularizer, placement, coefficients, which marked layers
carry it) is not part of its program: the program's template model is built
*probed* (:class:`~actreg_search.models.probes.Probes`) and each row reads its
coefficients from an input. Its width is not either, where the model allows:
the template is built at the width's *bucket* (:func:`bucket_of`), and a
narrower trial's weights are zero-padded into it where
:mod:`~actreg_search.engine.layouts` says (a Dense layer's first units, each
LSTM gate's first units, a flattened convolution's channels at each position).
Padded units then stay exactly zero through training:
their pre-activations are ``x·0 + 0 = 0``, their activations ``f(0) = 0``
(only activations with ``f(0) = 0`` are bucketed), the weights leaving them are
zero so their gradients are too, the probes' L1 and L2 terms have zero
gradient at zero, and Adam, SGD and RMSprop step by zero on a weight whose
gradient and slots are zero. The real units compute what the exact width
computes, up to the order of floating-point sums (see docs/performance.md).

So one program serves every trial of the same :class:`ProgramKey`: the model
(built-in family or the user's), its depth and activation, the bucket, the
training settings but the learning rate and dropout rate (each row's are
inputs of the program, :mod:`~actreg_search.engine.stacked`; the dropout rate
only on the rows' path), the dataset and the number of rows (trials × seeds).
:class:`ProgramCache` keeps each worker's programs for the rest of the study:
XLA's compiled code is cached per ``tf.function`` object, so reusing the object
is what avoids compiling again (a fresh but identical function recompiles and
keeps its code alive, about 6 MB a trial).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace

import keras

from actreg_search.data.datasets import Dataset
from actreg_search.engine.layouts import layout
from actreg_search.engine.rowwise import vectorizes
from actreg_search.engine.stacked import StackedLoop
from actreg_search.models.build import build_model
from actreg_search.models.marks import marks_of
from actreg_search.models.penalties import load_penalty
from actreg_search.models.probes import Probes
from actreg_search.spec.specs import ModelSpec
from actreg_search.spec.trial import PENALTY_FIELDS, LayerPenalty, TrialConfig
from actreg_search.spec.vocab import Placement, Regularizer

MAX_PROGRAMS = 64
"""Programs a worker keeps (least recently used dropped first): about 6 MB each for the mlp."""


def bucket_of(width: int) -> int:
    """The width a template is built at for a trial of ``width`` units.

    Up to 512 units the next power of two, above it the next of 768, 1024,
    1536, 2048, 3072, … (powers of two and 1.5× powers of two); widths up to 8
    share the bucket of 8. Each bucket is a program to compile (about 1.3 s and
    20 MB per worker for the mlp, 3–7 s for the digits cnn and rnn), and a width's training time is not monotone in it: on the
    2-core VM a warm 5-seed × 4000-epoch trial trained 0.30 s at 256 units but
    0.34–0.41 s at 128, 0.48 s at 512 but 0.48, 0.61 and 0.62 s at 320, 384
    and 400, then about linearly: 0.62 s at 640, 0.75 s at 768, 0.93 s at 1024
    (``benchmarks/widths.py``). So between 256 and 512 padding to 512 costs
    nothing, and above it padding is at most 1.5×; up to 1024 units that is
    7 programs where the earlier 1.25× steps made 10. Below 8 units a program
    of its own per width cost the digits cnn (filters 4–32) four more compiles
    of about 3.4 s each in a 9-trial run, for trials that trained in 0.26 s.
    """
    bucket = 8
    while bucket < min(width, 512):
        bucket *= 2
    if bucket >= width:
        return bucket
    power = 512
    while True:
        for step in (power * 3 // 2, power * 2):
            if step >= width:
                return step
        power *= 2


@dataclass(frozen=True)
class ProgramKey:
    """What decides a trial's compiled program.

    Attributes:
        model: The study's ``[model]`` (``None``: built-in).
        config: The trial's config with the penalty cleared and the width set
            to the template's (its bucket, or its own width where the model
            cannot be bucketed).
        data: Identity of the dataset the program holds.
        rows: Trials × seeds trained together.
        padded: Whether the width is a bucket (trials of any narrower width fit).
    """

    model: ModelSpec | None
    config: TrialConfig
    data: int
    rows: int
    padded: bool = False

    def family(self) -> ProgramKey:
        """The key with the width and rows left out: the programs a padded trial could train in."""
        return replace(self, config=replace(self.config, hidden_units=0), rows=0) if self.padded else self


OWN_PROGRAMS = (Regularizer.DECOV, Regularizer.TAR, Regularizer.CUSTOM)
"""Kinds whose trials train in programs of their own (a user's penalty: one per function)."""

TEMPLATE_DROPOUT = 0.5
"""The rate a template's trial dropout layers are built at when each row reads its own (never used on rows)."""


def template_config(config: TrialConfig, width: int, rows_dropout: bool = True, kl: bool = False) -> TrialConfig:
    """``config`` with everything a probed template does not depend on cleared, at ``width``: the penalty (but
    whether its program computes ``decov``, or ``kl_sparsity`` when ``kl``: a trial of a study that searches it),
    the learning rate and, where each row reads its own (``rows_dropout``), the dropout rate (kept ``None``
    when the trial has no dropout layer)."""
    dropout = config.dropout if config.dropout is None or not rows_dropout else TEMPLATE_DROPOUT
    general = replace(config, layers=None, hidden_units=width, learning_rate=1.0, dropout=dropout, per_layer=())
    if config.per_layer:  # each layer's own penalty: a kind of OWN_PROGRAMS on its layers, kl_sparsity's terms anywhere
        kl = kl or any(p.regularizer is Regularizer.KL_SPARSITY for p in config.penalties)
        if not any(p.regularizer in OWN_PROGRAMS for p in config.penalties):
            return template_config(general, width, rows_dropout, kl)
        layers = tuple((name, _template_penalty(p, kl)) for name, p in config.per_layer)
        first = next(p for _, p in layers if p.regularizer is not Regularizer.NONE)
        return replace(general, **{name: getattr(first, name) for name in PENALTY_FIELDS}, per_layer=layers)
    # Programs that carry a kind's terms: decov's O(batch × width²), tar's pass over the sequence (the rnn built to
    # return it), a user's function, and kl_sparsity's (1.3× an L1 trial, docs/performance.md) in a study that searches it.
    if config.regularizer in OWN_PROGRAMS:
        kind, placement = config.regularizer, config.placement
    elif kl:
        kind, placement = Regularizer.KL_SPARSITY, Placement.POST_ACTIVATION
    else:
        kind, placement = Regularizer.NONE, None
    return replace(
        config, regularizer=kind, placement=placement, l1=0.0, l2=0.0, coefficient=0.0,
        rho=0.5 if kind is Regularizer.KL_SPARSITY else None, penalty=config.penalty if kind is Regularizer.CUSTOM else None,
        layers=None, hidden_units=width, learning_rate=1.0, dropout=dropout,
    )


def _template_penalty(penalty: LayerPenalty, kl: bool) -> LayerPenalty:
    """A layer's penalty in a per-layer template: its kind if it has a program of its own, else kl_sparsity's terms
    (``kl``) or none; coefficients cleared."""
    if penalty.regularizer in OWN_PROGRAMS:
        return LayerPenalty(penalty.regularizer, penalty.placement, penalty=penalty.penalty)
    return LayerPenalty(Regularizer.KL_SPARSITY, Placement.POST_ACTIVATION, rho=0.5) if kl else LayerPenalty()


def paddable(narrow: keras.Model, wide: keras.Model) -> bool:
    """Whether ``wide`` can train ``narrow`` zero-padded (:func:`~actreg_search.engine.layouts.layout`)."""
    return layout(narrow, wide) is not None


class ProgramCache:
    """A worker's compiled programs, by :class:`ProgramKey`, and whether each model can be bucketed.

    Args:
        limit: Programs kept at most.
    """

    def __init__(self, limit: int = MAX_PROGRAMS) -> None:
        self.limit = limit
        self.programs: OrderedDict[ProgramKey, tuple[StackedLoop, Probes]] = OrderedDict()
        self.bucketable: dict[tuple[ModelSpec | None, TrialConfig, int], tuple[bool, bool]] = {}
        self.datasets: dict[int, Dataset] = {}  # keys hold ids: the datasets stay alive, so no id is reused
        self.kl_study = False  # the study searches kl_sparsity: its elementwise trials share programs with its terms

    def key(
        self, config: TrialConfig, data: Dataset, model: ModelSpec | None, trials: int, seeds: int, width: int | None = None
    ) -> ProgramKey:
        """The program a trial trains in, with ``trials`` trials of ``seeds`` seeds each.

        Args:
            config: The trial.
            data: The dataset.
            model: The study's ``[model]``.
            trials: Trials in the program.
            seeds: Seeds per trial.
            width: A wider bucket to pad to (several trials' widest), if the model pads.
        """
        self.datasets.setdefault(id(data), data)
        bucketable, on_rows = self._traits(config, data, model)
        kinds = {p.regularizer for p in config.penalties}
        padded = config.sized and bucketable and Regularizer.CUSTOM not in kinds  # a user's penalty sees every unit
        size = max(bucket_of(config.hidden_units), width or 0) if padded else config.hidden_units
        kl = self.kl_study or Regularizer.KL_SPARSITY in kinds
        return ProgramKey(model, template_config(config, size, rows_dropout=on_rows, kl=kl), id(data), trials * seeds, padded)

    def get(self, key: ProgramKey, data: Dataset) -> tuple[StackedLoop, Probes, bool]:
        """The program for ``key``: ``(loop, probes, new)``, built (and compiled on first use) when new."""
        if key in self.programs:
            self.programs.move_to_end(key)
            return (*self.programs[key], False)
        kinds = {p.regularizer for p in key.config.penalties}
        users = {p.penalty for p in key.config.penalties if p.penalty is not None}
        if len(users) > 1:
            raise ValueError(f"a trial's layers name {len(users)} penalties of your own; one program computes one")
        user = load_penalty(users.pop()) if users else None
        probes = Probes(Regularizer.DECOV in kinds, Regularizer.KL_SPARSITY in kinds, user, Regularizer.TAR in kinds)
        template = build_model(key.config, data.input_shape, data.n_classes, key.model, probes)
        if key.padded:
            probes.padded = frozenset(mark.name for mark in marks_of(template).layers if mark.sized)
        loop = StackedLoop(template, probes, key.config, data, key.rows)
        self.programs[key] = (loop, probes)
        while len(self.programs) > self.limit:
            self.programs.popitem(last=False)
        return loop, probes, True

    def _traits(self, config: TrialConfig, data: Dataset, model: ModelSpec | None) -> tuple[bool, bool]:
        """Whether the model of ``config`` trains zero-padded, and whether it trains on rows (each row then reads
        its own dropout rate); decided once per model, from two probed widths."""
        probe_key = (model, template_config(config, 0), id(data))
        if probe_key not in self.bucketable:
            try:
                narrow = build_model(template_config(config, 3), data.input_shape, data.n_classes, model, Probes())
                wide = build_model(template_config(config, 5), data.input_shape, data.n_classes, model, Probes())
            except Exception:  # noqa: BLE001 - a user's model that cannot be built that narrow trains at its own width
                self.bucketable[probe_key] = (False, False)
            else:
                self.bucketable[probe_key] = (paddable(narrow, wide), vectorizes(wide))
        return self.bucketable[probe_key]


__all__ = ["MAX_PROGRAMS", "OWN_PROGRAMS", "TEMPLATE_DROPOUT", "ProgramCache", "ProgramKey", "bucket_of", "paddable", "template_config"]

