"""Each seed's validation split of the training split: the samples its models train on and validate on.

The study's protocol (:class:`~actreg_search.spec.specs.Validation`) decides:

* **hold-out** (``validation = 0.2``): each seed holds out its own stratified
  fraction of the training split, drawn from the seed (scikit-learn's
  ``StratifiedShuffleSplit`` with ``random_state=seed``: ``ceil(fraction·n)``
  validation samples). The same seed gets the same split in every trial, so
  trials stay paired seed by seed.
* **k-fold** (``validation = {folds = k}``): each seed trains k models, once on
  each k−1 folds, folds drawn from the seed (``StratifiedKFold(shuffle=True,
  random_state=seed)``). The fused engine trains all of them as rows of one
  compiled program, whose shapes are fixed: so every fold validates on ``m``
  samples, the size of the seed's smallest fold, and a larger fold's surplus
  (its last samples in index order, at most a few) trains in that fold
  instead; every model trains on ``n − m`` samples. scikit-learn's folds of
  ``n`` samples differ in size by at most the number of classes, so a fold
  gives up at most that many samples.
* **test**: one model per seed trains on the whole training split; nothing is
  held out (the study selects on the test set).

A regression or an autoencoder has no classes to stratify: its splits are plain
random ones (``ShuffleSplit``, ``KFold(shuffle=True)``, ``stratify=False``), and
the rules of :func:`check_splits` are on sample counts.

Indices are sorted, into the training split (``Dataset.x_train``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import KFold, ShuffleSplit, StratifiedKFold, StratifiedShuffleSplit

from actreg_search.errors import SpecError
from actreg_search.spec.specs import Validation
from actreg_search.spec.vocab import Protocol


@dataclass(frozen=True, eq=False)
class Fold:
    """One model's samples: indices into the training split.

    Attributes:
        fit: The samples it trains on.
        val: The samples it validates on (empty under ``validation = "test"``).
    """

    fit: np.ndarray
    val: np.ndarray


def seed_folds(y: np.ndarray, validation: Validation, seed: int, stratify: bool = True) -> tuple[Fold, ...]:
    """A seed's folds of a training split with labels ``y``: one under hold-out and ``"test"``, k under k-fold.

    Args:
        y: The training split's labels (or targets).
        validation: The protocol.
        seed: The seed (draws the split).
        stratify: Whether to stratify by ``y``'s classes (``False``: a regression's or an autoencoder's plain split).

    Returns:
        The folds, every one of the same sizes.
    """
    n = len(y)
    if validation.protocol is Protocol.TEST:
        return (Fold(np.arange(n), np.zeros(0, np.int64)),)
    if validation.protocol is Protocol.HOLDOUT:
        shuffled = StratifiedShuffleSplit if stratify else ShuffleSplit
        fit, val = next(shuffled(n_splits=1, test_size=validation.fraction, random_state=seed).split(np.zeros(n), y))
        return (Fold(np.sort(fit), np.sort(val)),)
    folded = StratifiedKFold if stratify else KFold
    splitter = folded(n_splits=validation.folds, shuffle=True, random_state=seed)
    tests = [np.sort(test) for _, test in splitter.split(np.zeros(n), y if stratify else None)]
    m = min(len(t) for t in tests)
    folds = []
    for test in tests:
        val = test[:m]
        fit = np.setdiff1d(np.arange(n), val)  # sorted; the fold's surplus trains
        folds.append(Fold(fit, val))
    return tuple(folds)


def fold_sizes(y: np.ndarray, validation: Validation, stratify: bool = True) -> tuple[int, int, int]:
    """``(train, validation, folds)``: samples each model trains and validates on, and models per seed."""
    folds = seed_folds(y, validation, 0, stratify)
    return len(folds[0].fit), len(folds[0].val), len(folds)


def check_splits(
    y: np.ndarray, validation: Validation, seeds: tuple[int, ...], source: str = "[data] validation", stratify: bool = True
) -> None:
    """Refuse a protocol that leaves a class with fewer than 2 samples on a side of a seed's split
    (without classes, ``stratify=False``: fewer than 2 samples on a side, or a fold).

    Args:
        y: The training split's labels.
        validation: The protocol.
        seeds: The study's seeds (each draws its own split).
        source: What the message names.

    Raises:
        SpecError: A fraction that leaves a class with fewer than 2
            validation or training samples on some seed; more folds than the
            smallest class has training samples.
    """
    if validation.protocol is Protocol.TEST:
        return
    if not stratify:
        _check_counts(len(y), validation, source)
        return
    classes, counts = np.unique(y, return_counts=True)
    smallest = int(counts.min())
    label = classes[int(counts.argmin())]
    if validation.protocol is Protocol.KFOLD:
        if validation.folds > smallest:
            raise SpecError(
                f"{source}: {validation.folds} folds, but class {_label(label)} has only {smallest} of the "
                f"{len(y)} training samples; use at most {smallest} folds, or a hold-out fraction"
            )
        return
    assert validation.fraction is not None
    n, need = len(y), 2 * len(classes)
    n_val = math.ceil(validation.fraction * n)
    if n_val < need or n - n_val < need:
        # Fractions whose ceil(f·n) validation samples leave both sides `need`, rounded inward to 2 decimals.
        low, high = math.ceil(100 * need / n) / 100, math.floor(100 * (n - need) / n) / 100
        way = f"use a fraction between {low:.2f} and {high:.2f}, or k-fold" if low <= high else "use k-fold"
        raise SpecError(
            f"{source}: {validation.fraction} of {n} training samples is {n_val} for validation and "
            f"{n - n_val} for training; each side needs at least 2 of each of the {len(classes)} classes: {way}"
        )
    for seed in seeds:
        (fold,) = seed_folds(y, validation, seed)
        for side, indices in (("validation", fold.val), ("training", fold.fit)):
            present, have = np.unique(y[indices], return_counts=True)
            short = [c for c in classes if c not in present or have[np.searchsorted(present, c)] < 2]
            if short:
                found = int(have[np.searchsorted(present, short[0])]) if short[0] in present else 0
                raise SpecError(
                    f"{source}: {validation.fraction} leaves class {_label(short[0])} with {found} {side} sample(s) "
                    f"on seed {seed} ({len(y)} training samples, {int(counts[list(classes).index(short[0])])} of that "
                    f"class); each side needs at least 2 of each class: use a {'larger' if side == 'validation' else 'smaller'} "
                    "fraction, or k-fold"
                )


def _check_counts(n: int, validation: Validation, source: str) -> None:
    """A split without classes: every fold, and each side of a hold-out, keeps at least 2 samples."""
    if validation.protocol is Protocol.KFOLD:
        if 2 * validation.folds > n:
            raise SpecError(
                f"{source}: {validation.folds} folds of {n} training samples leave a fold fewer than 2; "
                f"use at most {n // 2} folds, or a hold-out fraction"
            )
        return
    assert validation.fraction is not None
    n_val = math.ceil(validation.fraction * n)
    if n_val < 2 or n - n_val < 2:
        low, high = math.ceil(100 * 2 / n) / 100, math.floor(100 * (n - 2) / n) / 100
        way = f"use a fraction between {low:.2f} and {high:.2f}" if low <= high else "use more training samples"
        raise SpecError(
            f"{source}: {validation.fraction} of {n} training samples is {n_val} for validation and {n - n_val} "
            f"for training; each side needs at least 2 samples: {way}"
        )


def _label(value: object) -> str:
    number = float(value)  # type: ignore[arg-type]
    return str(int(number)) if number.is_integer() else repr(value)


__all__ = ["Fold", "check_splits", "fold_sizes", "seed_folds"]
