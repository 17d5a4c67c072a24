"""The ``[data]`` table of a study file: raw TOML to a validated :class:`~actreg_search.spec.specs.DataSpec`.

Called by :mod:`actreg_search.spec.parser`, read with a
:class:`~actreg_search.spec.reading.TableReader`. Paths (``path``,
the file of ``loader``) are resolved relative to the study file; nothing here
opens them or runs user code: :mod:`actreg_search.data.datasets` does, on the training
side only, so the reading side can parse the spec of a study made elsewhere.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from actreg_search.spec.reading import STORED, TableReader, show
from actreg_search.spec.specs import ON_TEST, DataSpec, Validation
from actreg_search.spec.vocab import GENERATORS, TABULAR, DatasetName, Family, Protocol

#: Which keys apply to which dataset (``name``, ``random_state`` and ``train_size`` apply to all).
_APPLIES = {
    "n_samples": GENERATORS,
    "noise": GENERATORS,
    "path": (DatasetName.CSV, DatasetName.NPZ),
    "target": (DatasetName.CSV,),
    "features": (DatasetName.CSV,),
    "loader": (DatasetName.PYTHON,),
}
#: ``file.py:function``: a Python file and the name of a function defined at its top level.
_REFERENCE = re.compile(r"^(?P<file>.+\.py):(?P<function>[A-Za-z_]\w*)$")
#: What ``[data] validation`` takes, for the messages.
_VALIDATION_FORMS = 'a hold-out fraction in (0, 1) such as 0.2, a table { folds = k } with k ≥ 2, or "test"'


def parse_data(p: TableReader, t: Mapping[str, Any], family: Family) -> DataSpec:
    """Validate the ``[data]`` table.

    Args:
        p: The study file's parser (error messages name its source).
        t: The raw table.
        family: The ``[model]`` family (csv data is tabular: mlp only).

    Returns:
        The data spec.

    Raises:
        SpecError: A key that does not apply, or a bad value.
    """
    name = p.enum(t, "data", "name", DatasetName, DatasetName.CIRCLES)
    for key, datasets in _APPLIES.items():
        if key in t and name not in datasets:
            raise p.fail(f"[data] {key}", f"does not apply to dataset {name.value!r}")
    if name in TABULAR and family is not Family.MLP:
        raise p.fail("[data] name", f"{name.value} data is tabular: family must be mlp, not {family.value!r}")
    if name is DatasetName.SEQUENCES and family is Family.CNN:
        raise p.fail("[data] name", "sequences are series of one feature: family must be rnn or mlp, not 'cnn'")
    if name in GENERATORS:
        return _generated(p, t, name)
    train_size = t.get("train_size", 0.5)
    if isinstance(train_size, float):
        train_size = p.finite(train_size, "[data] train_size")
        if not 0 < train_size < 1:
            raise p.fail("[data] train_size", f"a fraction must be in (0, 1), got {train_size}")
    else:
        train_size = p.integer(t, "data", "train_size", 0, minimum=2)
    path = target = features = loader = None
    if name in (DatasetName.CSV, DatasetName.NPZ):
        path = p.resolve(p.string(t, "data", "path"))
    if name is DatasetName.CSV:
        target = p.string(t, "data", "target")
        raw = t.get("features")
        if raw is not None:
            if not isinstance(raw, list) or not raw or not all(isinstance(f, str) and f for f in raw):
                raise p.fail("[data] features", f"must be a non-empty list of column names, got {show(raw)}")
            if target in raw:
                raise p.fail("[data] features", f"must not include the target column {target!r}")
            features = tuple(raw)
    if name is DatasetName.PYTHON:
        loader = _loader(p, t.get("loader"))
    return DataSpec(
        name=name,
        n_samples=None,
        noise=None,
        random_state=p.integer(t, "data", "random_state", 1, minimum=0),
        train_size=train_size,
        path=path,
        target=target,
        features=features,
        loader=loader,
        validation=parse_validation(p, t.get("validation")),
    )


#: A generator's defaults: ``(n_samples, noise, train_size)`` (the tutorial's for circles and moons; friedman1's
#: noise is the standard deviation of the noise added to its target, which spans about 0 to 30).
_GENERATED_DEFAULTS = {
    DatasetName.FRIEDMAN1: (200, 1.0, 100),
    DatasetName.MAKE_CLASSIFICATION: (300, 0.05, 100),  # noise: the share of labels flipped at random
    DatasetName.SEQUENCES: (300, 0.5, 100),  # noise: the standard deviation of the noise on each step (the sine's is 0.71)
}


def _generated(p: TableReader, t: Mapping[str, Any], name: DatasetName) -> DataSpec:
    samples, noise, train = _GENERATED_DEFAULTS.get(name, (100, 0.1, 30))
    n_samples = p.integer(t, "data", "n_samples", samples, minimum=4)
    train_size = p.integer(t, "data", "train_size", train, minimum=2)
    if train_size >= n_samples - 1:
        raise p.fail(
            "[data] train_size",
            f"must leave at least 2 test samples: < {n_samples - 1} for n_samples={n_samples}, got {train_size}",
        )
    noise = p.number(t, "data", "noise", noise, positive=False)
    if name is DatasetName.MAKE_CLASSIFICATION and noise > 1:
        raise p.fail("[data] noise", f"make_classification's noise is the share of labels flipped, in [0, 1]; got {noise}")
    return DataSpec(
        name=name,
        n_samples=n_samples,
        noise=noise,
        random_state=p.integer(t, "data", "random_state", 1, minimum=0),
        train_size=train_size,
        validation=parse_validation(p, t.get("validation")),
    )


def parse_validation(p: TableReader, value: Any) -> Validation | None:
    """Validate ``[data] validation``: where the study measures the figures it selects on.

    Args:
        p: The study file's parser (error messages name its source).
        value: The raw value: a fraction in (0, 1) (hold-out), a table
            ``{folds = k}`` with integer ``k ≥ 2`` (k-fold), ``"test"``, a
            :class:`~actreg_search.spec.specs.Validation` (a spec built in Python),
            or ``None`` (the key is missing).

    Returns:
        The protocol; for a missing key ``None`` (the study file did not say:
        :meth:`~actreg_search.spec.specs.StudySpec.resolved` decides), except in a
        stored spec, where it is :data:`~actreg_search.spec.specs.ON_TEST`: studies
        stored before validation existed selected on the test set.

    Raises:
        SpecError: A value of none of these forms, a fraction outside (0, 1),
            folds that are not an integer ≥ 2, or a table with other keys.
    """
    key = "[data] validation"
    if value is None:
        return ON_TEST if p.source == STORED else None
    if isinstance(value, Validation):  # a spec built in Python: checked as its study-file form
        protocol = p.enum_value(value.protocol, key, Protocol)
        if protocol is Protocol.HOLDOUT:
            return _holdout(p, value.fraction)
        if protocol is Protocol.KFOLD:
            return _kfold(p, {"folds": value.folds})
        return ON_TEST
    if isinstance(value, bool):
        raise p.fail(key, f"must be {_VALIDATION_FORMS}; got {show(value)}")
    if isinstance(value, (int, float)):
        return _holdout(p, value)
    if isinstance(value, str):
        if value == "test":
            return ON_TEST
        raise p.fail(key, f"unknown value {value!r}; allowed: {_VALIDATION_FORMS}")
    if isinstance(value, Mapping):
        return _kfold(p, value)
    raise p.fail(key, f"must be {_VALIDATION_FORMS}; got {show(value)}")


def _holdout(p: TableReader, fraction: Any) -> Validation:
    key = "[data] validation"
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)):
        raise p.fail(key, f"a hold-out fraction must be a number in (0, 1), got {show(fraction)}")
    if not 0 < fraction < 1:  # NaN and the infinities too
        hint = ""
        if _whole(fraction) and fraction >= 2:  # a count of folds, written bare
            hint = f"; for {int(fraction)}-fold cross-validation write {{ folds = {int(fraction)} }}"
        raise p.fail(key, f"a hold-out fraction must be in (0, 1) (the share of the training split held out), got {fraction}{hint}")
    return Validation(Protocol.HOLDOUT, fraction=float(fraction))


def _kfold(p: TableReader, table: Mapping[str, Any]) -> Validation:
    key = "[data] validation"
    for k in table:
        if k != "folds":
            raise p.fail(f"{key}.{k}", "unknown key; allowed: folds (a table { folds = k } means k-fold cross-validation)")
    if "folds" not in table:
        raise p.fail(key, "a k-fold table needs 'folds': { folds = k } with an integer k ≥ 2")
    folds = table["folds"]
    if isinstance(folds, bool) or not isinstance(folds, int):
        raise p.fail(f"{key}.folds", f"must be an integer ≥ 2 (the folds per seed), got {show(folds)}")
    if folds < 2:
        raise p.fail(f"{key}.folds", f"must be ≥ 2 (each fold validates the model trained on the others), got {folds}")
    return Validation(Protocol.KFOLD, folds=folds)


def _whole(value: float) -> bool:
    return isinstance(value, int) or (math.isfinite(value) and value.is_integer())


def _loader(p: TableReader, value: Any) -> Any:
    key = "[data] loader"
    if value is None:
        raise p.fail(key, 'dataset "python" needs loader = "file.py:function" (a path relative to the study file)')
    if callable(value):  # a spec built in Python
        return value
    if not isinstance(value, str):
        raise p.fail(key, f'must be "file.py:function", got {show(value)}')
    if p.source == STORED:  # a stored spec may name a Python function as "module:qualname"; never run here
        if ":" not in value:
            raise p.fail(key, f'must be "file.py:function" or "module:function", got {value!r}')
        return value
    match = _REFERENCE.match(value.strip())
    if match is None:
        raise p.fail(key, f'must be "file.py:function" (a .py file relative to the study file, a function name), got {value!r}')
    return f"{p.resolve(match['file'])}:{match['function']}"
