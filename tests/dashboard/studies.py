"""Synthetic studies for the dashboard's tests, stored as actreg-search records them, without training."""

from __future__ import annotations

import dataclasses
import functools
import json
import random
import statistics
from collections.abc import Sequence
from typing import Any

import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import FrozenTrial, TrialState

from actreg_search.results.records import Curves, SplitCounts, StudyResults, TrialRecord
from actreg_search.spec.parser import parse_spec
from actreg_search.spec.specs import StudySpec
from actreg_search.spec.trial import TrialConfig
from actreg_search.spec.vocab import CLASSIC_REGULARIZERS, Family, Placement, Regularizer
from actreg_search.store import keys as attrs
from actreg_search.store.reader import record_of

REGULARIZERS = CategoricalDistribution([r.value for r in CLASSIC_REGULARIZERS])
PLACEMENTS = CategoricalDistribution([p.value for p in Placement])
COEFFICIENT = FloatDistribution(1e-6, 1e-2, log=True)
WIDTH = IntDistribution(4, 1024, log=True)
#: The training knobs' distributions, as ``[space]`` searching them gives (``make_trial(knobs=...)``).
KNOBS = {
    "learning_rate": FloatDistribution(1e-5, 1.0, log=True),
    "dropout": FloatDistribution(0.0, 0.9),
    "batch_size": IntDistribution(1, 1024, log=True),
    "activation": CategoricalDistribution(["relu", "elu", "tanh", "gelu"]),
}


def make_trial(
    state: TrialState = TrialState.COMPLETE,
    regularizer: str = "l1",
    placement: str | None = "kernel",
    coefficient: float = 1e-4,
    l2_coefficient: float | None = None,
    hidden_units: int = 32,
    test: Sequence[float] = (0.90, 0.92),
    train: Sequence[float] = (1.0, 1.0),
    sparsity: Sequence[float] = (0.5, 0.6),
    epochs: int = 4,
    fail_reason: str | None = None,
    grid: bool = False,
    objectives: int = 1,
    curves: bool = True,
    validation: Sequence[float] | None = None,
    validation_sparsity: Sequence[float] | None = None,
    family: str = "mlp",
    layer_sparsity: dict[str, Sequence[float]] | None = None,
    knobs: dict[str, Any] | None = None,
) -> FrozenTrial:
    """A stored trial as actreg-search records it, without training.

    ``grid`` leaves coefficient and width out of the params (fixed by the study
    file), as in ``studies/tutorial_grid.toml``; ``l1_l2`` uses ``coefficient``
    as l1 and ``l2_coefficient`` as l2. ``objectives=2`` gives the values of a
    ``["test_accuracy", "sparsity"]`` study; ``curves=False`` records no learning curves.
    ``validation`` gives per-seed validation accuracies (a study under a
    validation protocol): the values are then the validation means (with
    ``validation_sparsity``, default ``sparsity``), and a validation curve is recorded.
    ``family`` is the model family (``rnn``: placements ``output``, ``kernel``,
    ``recurrent``); ``layer_sparsity`` each marked layer's per-seed sparsity, as
    a model with several marked layers records it (``sparsity`` is then all of them pooled).
    ``knobs`` are searched training knobs and builder hyperparameters by Optuna parameter
    (``{"learning_rate": 1e-2, "builder.blocks": 2}``): in the config and among the params.
    """
    reg = Regularizer(regularizer)
    if reg is Regularizer.NONE:
        placement = None
    l1 = coefficient if reg in (Regularizer.L1, Regularizer.L1_L2) else 0.0
    l2 = (l2_coefficient or coefficient) if reg is Regularizer.L1_L2 else coefficient if reg is Regularizer.L2 else 0.0
    config = TrialConfig(
        regularizer=reg,
        placement=Placement(placement) if placement else None,
        l1=l1,
        l2=l2,
        hidden_units=hidden_units,
        epochs=epochs,
        family=Family(family),
    )
    knobs = dict(knobs or {})
    builder = {name.removeprefix("builder."): v for name, v in knobs.items() if name.startswith("builder.")}
    config = dataclasses.replace(
        config, **{k: v for k, v in knobs.items() if k in KNOBS}, builder=tuple(sorted(builder.items()))
    )
    params: dict[str, Any] = {"regularizer": regularizer}
    dists: dict[str, Any] = {"regularizer": REGULARIZERS}
    if placement:
        params["placement"], dists["placement"] = placement, PLACEMENTS
        if not grid:
            if reg is Regularizer.L1_L2:
                params.update(l1_coefficient=l1, l2_coefficient=l2)
                dists.update(l1_coefficient=COEFFICIENT, l2_coefficient=COEFFICIENT)
            else:
                params["coefficient"], dists["coefficient"] = coefficient, COEFFICIENT
    if not grid:
        size = Family(family).size_key  # hidden_units, filters or units
        params[size], dists[size] = hidden_units, WIDTH
    for name, value in knobs.items():
        params[name] = value
        dists[name] = KNOBS.get(name) or (
            CategoricalDistribution([False, True])
            if isinstance(value, bool)
            else CategoricalDistribution(["batch", "layer", "none"])
            if isinstance(value, str)
            else IntDistribution(1, 64)
            if isinstance(value, int)
            else FloatDistribution(0.0, 10.0)
        )
    user_attrs: dict[str, Any] = {attrs.CONFIG: config.to_dict(), attrs.SEEDS: list(range(len(test)))}
    if fail_reason:
        user_attrs[attrs.FAIL_REASON] = fail_reason
    values = None
    if state is TrialState.COMPLETE:
        gap = [a - b for a, b in zip(train, test, strict=True)]
        per_seed = {
            "test_accuracy": list(test),
            "train_accuracy": list(train),
            "train_loss": [0.1] * len(test),
            "gap": gap,
            "activation_mean": [0.2] * len(test),
            "sparsity": list(sparsity),
        }
        if validation is not None:
            per_seed["validation_accuracy"] = list(validation)
            per_seed["validation_sparsity"] = list(validation_sparsity or sparsity)
        for name, values in per_seed.items():
            user_attrs[name] = values
            user_attrs[f"{name}_mean"] = statistics.fmean(values)
        if layer_sparsity is not None:
            user_attrs[attrs.LAYER_SPARSITY] = {layer: list(v) for layer, v in layer_sparsity.items()}
        if curves:
            epochs_seen = list(range(1, epochs + 1))
            user_attrs[attrs.CURVE_EPOCHS] = epochs_seen
            user_attrs[attrs.TRAIN_CURVE] = [[t * e / epochs for e in epochs_seen] for t in train]
            user_attrs[attrs.TEST_CURVE] = [[t * e / epochs for e in epochs_seen] for t in test]
            if validation is not None:
                user_attrs[attrs.VALIDATION_CURVE] = [[v * e / epochs for e in epochs_seen] for v in validation]
        user_attrs[attrs.WALL_TIME] = 1.5
        if validation is not None:
            values = [statistics.fmean(validation), statistics.fmean(validation_sparsity or sparsity)][:objectives]
        else:
            values = [statistics.fmean(test), statistics.fmean(sparsity)][:objectives]
    return optuna.trial.create_trial(
        state=state, values=values, params=params, distributions=dists, user_attrs=user_attrs
    )


SPEC = """
[study]
name = "{name}"
sampler = "{sampler}"
seeds = [0, 1]
pruner = "{pruner}"
objectives = {objectives}

[data]
{data}

[model]
{model}
epochs = 4
"""


#: ``[data] validation`` of a study selecting on validation data (:func:`make_study` with ``validation=True``).
HOLDOUT = "0.2"


@functools.lru_cache(maxsize=64)
def make_spec(
    name: str = "synthetic",
    pruner: str = "none",
    objectives: tuple[str, ...] = ("test_accuracy",),
    data: str = 'name = "circles"\nn_samples = 100\ntrain_size = 30',
    validation: str = '"test"',
    model: str = 'family = "mlp"\nhidden_units = 32',
) -> StudySpec:
    """A typed spec from a small study file (nsga2 for several objectives).

    ``validation`` is the ``[data] validation`` value as written in the file:
    by default ``"test"`` (the tutorial's protocol, that of every study stored
    before validation existed, under which ``test_accuracy`` is the objective's name).
    ``model`` is the ``[model]`` section but its epochs (e.g. ``family = "rnn"``).
    """
    sampler = "nsga2" if len(objectives) > 1 else "random"
    data = f"{data}\nvalidation = {validation}"
    text = SPEC.format(
        name=name, sampler=sampler, pruner=pruner, objectives=json.dumps(list(objectives)), data=data, model=model
    )
    return parse_spec(text)


def make_study(
    *trials: FrozenTrial,
    name: str = "synthetic",
    pruner: str = "none",
    objectives: tuple[str, ...] = ("test_accuracy",),
    spec: StudySpec | None | str = "default",
    validation: bool = False,
    split: SplitCounts | None = None,
) -> StudyResults:
    """The :class:`StudyResults` of these trials, numbered from 0, as :func:`record_of` reads them.

    ``spec`` is the study's typed spec (``None``: a study not made by
    actreg-search); by default :func:`make_spec` of ``name``, ``pruner`` and
    ``objectives``, selecting on the test set, or with ``validation`` on a
    held-out 20% (give its trials ``validation=`` figures; ``test_accuracy``
    is then named ``accuracy``). The results' objectives are the spec's
    selection fields, as the reader gives them.
    """
    if spec == "default":
        if validation:
            names = tuple("accuracy" if o == "test_accuracy" else o for o in objectives)
            spec = make_spec(name, pruner, names, validation=HOLDOUT)
        else:
            spec = make_spec(name, pruner, tuple(objectives))
    fields = spec.selection_fields() if isinstance(spec, StudySpec) else tuple(objectives)
    records = tuple(dataclasses.replace(record_of(t), number=i) for i, t in enumerate(trials))
    return StudyResults(name=name, trials=records, spec=spec, objectives=fields, split=split)


def make_big_study(
    n: int, objectives: tuple[str, ...] = ("test_accuracy",), seeds: int = 5, seed: int = 0, validation: bool = False
) -> StudyResults:
    """A synthetic study of ``n`` trials (about 5% failed or pruned), built as records directly (fast).

    Accuracy falls and sparsity rises with the coefficient, plus noise; the
    best trial and the best unregularized one have learning curves, as
    ``load_results(..., curves="drawn")`` reads them. With ``validation`` the
    study selects on a held-out 20%: each trial also has validation figures
    (test accuracy plus noise), and its values are their means.
    """
    rng = random.Random(seed)
    records = []
    for number in range(n):
        reg = rng.choice(list(CLASSIC_REGULARIZERS))
        placement = None if reg is Regularizer.NONE else rng.choice(list(Placement))
        coefficient, units = 10 ** rng.uniform(-6, -2), int(2 ** rng.uniform(2, 10))
        config = TrialConfig(
            regularizer=reg,
            placement=placement,
            l1=coefficient if reg in (Regularizer.L1, Regularizer.L1_L2) else 0.0,
            l2=coefficient if reg in (Regularizer.L2, Regularizer.L1_L2) else 0.0,
            hidden_units=units,
            epochs=10,
        )
        params: dict[str, Any] = {"regularizer": reg.value, "hidden_units": units}
        dists: dict[str, Any] = {"regularizer": REGULARIZERS, "hidden_units": WIDTH}
        if placement is not None:
            params.update(placement=placement.value, coefficient=coefficient)
            dists.update(placement=PLACEMENTS, coefficient=COEFFICIENT)
        state = TrialState.COMPLETE if rng.random() < 0.95 else rng.choice([TrialState.FAIL, TrialState.PRUNED])
        complete = state is TrialState.COMPLETE
        level = 0.9 - 5 * coefficient + rng.gauss(0, 0.02)
        test = tuple(min(1.0, level + rng.gauss(0, 0.01)) for _ in range(seeds))
        sparsity = tuple(min(1.0, max(0.0, 0.3 + 30 * coefficient + rng.gauss(0, 0.05))) for _ in range(seeds))
        per_seed = {
            "test_accuracy": test,
            "train_accuracy": tuple(min(1.0, t + 0.05) for t in test),
            "gap": tuple(0.05 for _ in test),
            "sparsity": sparsity,
        }
        values = (statistics.fmean(test), statistics.fmean(sparsity))[: len(objectives)]
        if validation:
            per_seed["validation_accuracy"] = tuple(min(1.0, t + rng.gauss(0, 0.02)) for t in test)
            per_seed["validation_sparsity"] = sparsity
            values = (statistics.fmean(per_seed["validation_accuracy"]), statistics.fmean(sparsity))[: len(objectives)]
        records.append(
            TrialRecord(
                number=number,
                state=state,
                params=params,
                config=config,
                values=values if complete else (),
                seeds=tuple(range(seeds)),
                per_seed=per_seed if complete else {},
                wall_time_s=1.0,
                duration_s=1.0,
                fail_reason=None if complete else "ValueError: boom",
                distributions=dists,
            )
        )
    if validation:
        names = tuple("accuracy" if o == "test_accuracy" else o for o in objectives)
        spec = make_spec("big", "none", names, validation=HOLDOUT)
    else:
        spec = make_spec("big", "none", tuple(objectives))
    results = StudyResults("big", tuple(records), spec, spec.selection_fields())
    epochs = tuple(range(1, 11))
    curves = Curves(epochs, ((0.9,) * 10,) * seeds, ((0.85,) * 10,) * seeds)
    drawn = {t.number for t in (results.best, results.best_unregularized) if t is not None}
    trials = tuple(dataclasses.replace(t, curves=curves) if t.number in drawn else t for t in records)
    return dataclasses.replace(results, trials=trials)


def disagreeing_study(**kwargs: Any) -> StudyResults:
    """Three trials under a validation protocol where the best on validation and the best on test differ.

    #0: validation 0.95, test 0.80 (the chosen one); #1: validation 0.90, test 0.97 (best on test);
    #2 (unregularized): validation 0.85, test 0.86. ``kwargs`` go to :func:`make_study`.
    """
    return make_study(
        make_trial(coefficient=1e-4, validation=(0.96, 0.94), test=(0.81, 0.79), hidden_units=33),
        make_trial(coefficient=1e-3, validation=(0.91, 0.89), test=(0.98, 0.96), hidden_units=957),
        make_trial(regularizer="none", validation=(0.86, 0.84), test=(0.87, 0.85), hidden_units=64),
        validation=True,
        **kwargs,
    )


#: The rnn study's trials: (regularizer, placement, coefficient, units, validation = test accuracy).
RNN_TRIALS = (
    ("l1", "output", 1e-4, 32, 0.90),
    ("l1", "output", 1e-3, 32, 0.86),
    ("l2", "recurrent", 1e-4, 64, 0.88),
    ("l2", "recurrent", 1e-2, 64, 0.80),
    ("l1", "kernel", 1e-3, 16, 0.84),
    ("none", None, 0.0, 32, 0.83),
)


def rnn_study() -> StudyResults:
    """An rnn study under a validation protocol: trials penalize the ``output``, ``recurrent`` or input ``kernel``."""
    spec = make_spec("rnn", validation=HOLDOUT, objectives=("accuracy",), model='family = "rnn"\nunits = 32')
    trials = (
        make_trial(
            regularizer=reg, placement=placement, coefficient=coefficient or 1e-4, hidden_units=units,
            family="rnn", test=(accuracy, accuracy - 0.02), validation=(accuracy + 0.01, accuracy - 0.01),
            sparsity=(0.2 + 10 * coefficient, 0.3 + 10 * coefficient),
        )
        for reg, placement, coefficient, units, accuracy in RNN_TRIALS
    )
    return make_study(*trials, name="rnn", spec=spec, validation=True)


#: Per-seed sparsity of the two marked layers of :func:`layered_study`'s trials, and of both pooled.
LAYERED = (
    ("l1", {"h1": (0.1, 0.3), "h2": (0.7, 0.9)}, (0.45, 0.55), (0.95, 0.93)),
    ("none", {"h1": (0.05, 0.05), "h2": (0.2, 0.4)}, (0.1, 0.2), (0.90, 0.90)),
    ("l1", {"h1": (0.9, 0.9), "h2": (0.9, 0.9)}, (0.9, 0.9), (0.70, 0.72)),
)


def layered_study() -> StudyResults:
    """A model with two marked layers of very different sparsity (``layers = "all"``); the pooled figure is neither.

    #0 (l1 · kernel, the best): h1 0.2, h2 0.8, pooled 0.5; #1 (none): h1 0.05, h2 0.3, pooled 0.15;
    #2 (l1 · kernel, worse): 0.9 everywhere.
    """
    return make_study(
        *(
            make_trial(regularizer=reg, coefficient=10 ** -(4 - i), test=test, sparsity=pooled, layer_sparsity=layers)
            for i, (reg, layers, pooled, test) in enumerate(LAYERED)
        ),
        name="layered",
    )


