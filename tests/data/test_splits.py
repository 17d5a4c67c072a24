"""Each seed's validation split of the training split (:mod:`actreg_search.data.splits`) and a fold's view of the data."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.model_selection import StratifiedKFold, StratifiedShuffleSplit

from actreg_search.data.datasets import Dataset, load_dataset
from actreg_search.errors import SpecError
from actreg_search.spec.specs import ON_TEST, DataSpec, Validation
from actreg_search.data.splits import check_splits, fold_sizes, seed_folds
from actreg_search.spec.vocab import DatasetName, Protocol

SEEDS = (0, 1, 2, 3, 7, 42)


def holdout(fraction: float) -> Validation:
    return Validation(Protocol.HOLDOUT, fraction=fraction)


def kfold(k: int) -> Validation:
    return Validation(Protocol.KFOLD, folds=k)


def labels(*counts: int, seed: int = 0) -> np.ndarray:
    """A shuffled label vector with ``counts[c]`` samples of class ``c``."""
    y = np.concatenate([np.full(n, c, np.int32) for c, n in enumerate(counts)])
    return np.random.default_rng(seed).permutation(y)


#: 23 samples of 3 classes: StratifiedKFold's folds of it differ in size for k = 3, 4 and 5.
Y23 = labels(10, 8, 5)


@pytest.fixture(scope="module")
def digits() -> Dataset:
    """Half of digits as the training split: 898 samples of 10 classes, sizes divisible by none of 3, 4, 5, 7."""
    return load_dataset(DataSpec(name=DatasetName.DIGITS, train_size=0.5, validation=kfold(5)))


def check_partition(n: int, fit: np.ndarray, val: np.ndarray) -> None:
    """fit and val: sorted, disjoint, together every sample once."""
    assert fit.dtype.kind == "i" and val.dtype.kind == "i"
    assert np.all(np.diff(fit) > 0) and np.all(np.diff(val) > 0)  # sorted, no repeats
    assert not np.intersect1d(fit, val).size
    np.testing.assert_array_equal(np.sort(np.concatenate([fit, val])), np.arange(n))


# --------------------------------------------------------------------------- hold-out


@pytest.mark.parametrize("fraction", [0.1, 0.2, 0.25, 0.33, 0.5])
@pytest.mark.parametrize("y", [Y23, labels(14, 16), labels(60, 25, 9, 3, seed=5)], ids=["23x3", "30x2", "97x4"])
def test_holdout_holds_out_ceil_fraction_stratified_as_stratified_shuffle_split(y: np.ndarray, fraction: float) -> None:
    n = len(y)
    for seed in SEEDS:
        (fold,) = seed_folds(y, holdout(fraction), seed)
        assert len(fold.val) == math.ceil(fraction * n) and len(fold.fit) == n - math.ceil(fraction * n)
        check_partition(n, fold.fit, fold.val)
        # exactly scikit-learn's split for that seed: so its class counts are the stratified ones
        fit, val = next(StratifiedShuffleSplit(n_splits=1, test_size=fraction, random_state=seed).split(np.zeros(n), y))
        np.testing.assert_array_equal(fold.val, np.sort(val))
        np.testing.assert_array_equal(fold.fit, np.sort(fit))
        counts, val_counts = np.bincount(y), np.bincount(y[fold.val], minlength=y.max() + 1)
        # stratified: each class within one sample of its share of the validation samples
        assert np.all(np.abs(val_counts - counts * len(fold.val) / n) <= 1)


def test_holdout_the_same_seed_splits_the_same_way_and_another_seed_another() -> None:
    y = labels(14, 16)
    first = [seed_folds(y, holdout(0.2), seed)[0] for seed in SEEDS]
    again = [seed_folds(y, holdout(0.2), seed)[0] for seed in SEEDS]
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a.val, b.val)
        np.testing.assert_array_equal(a.fit, b.fit)
    distinct = {tuple(f.val.tolist()) for f in first}
    assert len(distinct) == len(SEEDS)  # every seed its own validation samples


# --------------------------------------------------------------------------- k-fold


@pytest.mark.parametrize("k", [2, 3, 4, 5])
def test_kfold_gives_k_folds_of_equal_sizes_each_validating_on_the_smallest_folds_size(k: int) -> None:
    y, n = Y23, len(Y23)
    for seed in SEEDS:
        folds = seed_folds(y, kfold(k), seed)
        sklearn = [np.sort(test) for _, test in StratifiedKFold(k, shuffle=True, random_state=seed).split(np.zeros(n), y)]
        m = min(len(t) for t in sklearn)
        assert len(folds) == k
        assert {len(f.val) for f in folds} == {m} and {len(f.fit) for f in folds} == {n - m}
        for fold, test in zip(folds, sklearn, strict=True):
            check_partition(n, fold.fit, fold.val)
            # the fold's first m samples in index order validate; its surplus (the last ones) trains
            np.testing.assert_array_equal(fold.val, test[:m])
            assert set(test[m:]) <= set(fold.fit)
        validated = np.concatenate([f.val for f in folds])
        assert len(np.unique(validated)) == len(validated) == k * m  # each sample validated at most once a seed
        assert n - len(validated) == sum(len(t) for t in sklearn) - k * m  # only the surplus is never validated


def test_kfold_sizes_do_exercise_the_surplus_rule() -> None:
    """Y23's folds are not all of one size (else the tests above would not test the rule)."""
    for k in (3, 4, 5):
        sizes = {len(t) for _, t in StratifiedKFold(k, shuffle=True, random_state=0).split(np.zeros(23), Y23)}
        assert len(sizes) > 1


@pytest.mark.parametrize("k", [3, 5, 7])
def test_kfold_on_digits_whose_training_split_no_k_divides(digits: Dataset, k: int) -> None:
    y, n = digits.y_train, len(digits.y_train)
    assert n % k
    m = n // k  # StratifiedKFold of n samples: smallest fold floor(n / k) here
    for seed in (0, 5):
        folds = seed_folds(y, kfold(k), seed)
        assert len(folds) == k and all(len(f.val) == m and len(f.fit) == n - m for f in folds)
        validated = np.concatenate([f.val for f in folds])
        assert len(np.unique(validated)) == k * m
        for fold in folds:
            check_partition(n, fold.fit, fold.val)
            # still stratified: each class within a few samples of its share
            share = np.bincount(y) * m / n
            assert np.all(np.abs(np.bincount(y[fold.val], minlength=10) - share) <= 2)


def test_kfold_another_seed_draws_other_folds_and_the_same_seed_the_same() -> None:
    a, b, c = seed_folds(Y23, kfold(3), 1), seed_folds(Y23, kfold(3), 1), seed_folds(Y23, kfold(3), 2)
    assert all(np.array_equal(x.val, y.val) and np.array_equal(x.fit, y.fit) for x, y in zip(a, b, strict=True))
    assert any(not np.array_equal(x.val, y.val) for x, y in zip(a, c, strict=True))


# --------------------------------------------------------------------------- test, sizes


def test_the_test_protocol_is_one_fold_training_on_everything_validating_on_nothing() -> None:
    for seed in SEEDS:
        (fold,) = seed_folds(Y23, ON_TEST, seed)
        np.testing.assert_array_equal(fold.fit, np.arange(23))
        assert fold.val.shape == (0,) and fold.val.dtype.kind == "i"


@pytest.mark.parametrize(
    ("validation", "expected"),
    [
        (ON_TEST, (23, 0, 1)),
        (holdout(0.2), (18, 5, 1)),  # ceil(4.6) = 5
        (holdout(0.5), (11, 12, 1)),  # ceil(11.5) = 12
        (kfold(3), (16, 7, 3)),  # folds of 8, 8, 7
        (kfold(4), (18, 5, 4)),  # 6, 6, 6, 5
        (kfold(5), (19, 4, 5)),  # 5, 5, 5, 4, 4
    ],
)
def test_fold_sizes(validation: Validation, expected: tuple[int, int, int]) -> None:
    assert fold_sizes(Y23, validation) == expected
    # every seed's folds have those sizes (the fused engine's shapes are fixed)
    for seed in SEEDS:
        folds = seed_folds(Y23, validation, seed)
        assert (len(folds[0].fit), len(folds[0].val), len(folds)) == expected
        assert all((len(f.fit), len(f.val)) == expected[:2] for f in folds)


# --------------------------------------------------------------------------- check_splits

#: 43 samples: 20, 20 and 3 of the classes.
Y43 = labels(20, 20, 3, seed=1)


@pytest.mark.parametrize(
    ("y", "validation", "fragments"),
    [
        # 0.2 of 43 is 9 validation samples: class 2 (3 samples) gets at most 1 of them
        (Y43, holdout(0.2), ["0.2 leaves class 2 with", "validation sample(s) on seed", "43 training samples, 3 of that class",
                             "each side needs at least 2 of each class", "use a larger fraction, or k-fold"]),
        # 0.8 of 43: 35 validate, 8 train, class 2 gets at most 1 of them
        (Y43, holdout(0.8), ["0.8 leaves class 2 with", "training sample(s) on seed"]),
        # 0.5 of 43: class 2's 3 samples split 2 / 1 (or 1 / 2)
        (Y43, holdout(0.5), ["0.5 leaves class 2 with 1 ", "each side needs at least 2 of each class"]),
        # 0.05 of 43 is 3 validation samples: fewer than 2 a class for 3 classes whatever the seed
        (Y43, holdout(0.05), ["0.05 of 43 training samples is 3 for validation and 40 for training",
                              "at least 2 of each of the 3 classes", "use a fraction between 0.14 and 0.86, or k-fold"]),
        (Y43, holdout(0.95), ["is 41 for validation and 2 for training"]),
        (Y43, kfold(4), ["4 folds, but class 2 has only 3 of the 43 training samples", "use at most 3 folds, or a hold-out fraction"]),
        (labels(14, 16), kfold(15), ["15 folds, but class 0 has only 14 of the 30 training samples", "use at most 14 folds"]),
    ],
    ids=["few-validation", "few-training", "odd-class-halved", "fraction-too-small", "fraction-too-large", "folds-43", "folds-30"],
)
def test_check_splits_refuses_a_protocol_leaving_a_class_too_few_samples(y, validation, fragments) -> None:
    with pytest.raises(SpecError) as caught:
        check_splits(y, validation, (0, 1, 2))
    message = str(caught.value)
    assert message.startswith("[data] validation: ")
    for fragment in fragments:
        assert fragment in message
    assert "\n" not in message


def test_check_splits_names_the_seed_that_fails_and_the_source() -> None:
    # 0.3 of 21 is 7 validation samples; the shares are 1.67, 2.67, 2.67: two of the three classes get one
    # more, drawn by the seed, so class 0 has 2 validation samples on some seeds and 1 on others.
    y = labels(5, 8, 8)
    validation = holdout(0.3)
    short = [s for s in range(20) if np.bincount(y[seed_folds(y, validation, s)[0].val], minlength=3)[0] < 2]
    fine = [s for s in range(20) if s not in short]
    assert short and fine
    check_splits(y, validation, tuple(fine))
    with pytest.raises(SpecError, match=rf"^study\.toml: 0\.3 leaves class 0 with 1 validation sample\(s\) on seed {short[0]} "):
        check_splits(y, validation, (*fine, short[0]), source="study.toml")


@pytest.mark.parametrize(
    ("y", "validation"),
    [
        (Y43, ON_TEST),
        (Y43, kfold(3)),  # as many folds as class 2 has samples
        (Y43, kfold(2)),
        (labels(20, 20, 8), holdout(0.5)),
        (labels(14, 16), holdout(0.2)),  # the tutorial's circles: 6 of 30 validate
        (labels(14, 16), kfold(14)),
        (Y23, holdout(0.5)),
    ],
)
def test_check_splits_accepts_a_protocol_leaving_every_class_enough(y, validation) -> None:
    check_splits(y, validation, SEEDS)
    for seed in SEEDS:
        for fold in seed_folds(y, validation, seed):
            trained = np.bincount(y[fold.fit], minlength=y.max() + 1)
            if validation.protocol is Protocol.HOLDOUT:  # 2 of each class on each side
                assert np.bincount(y[fold.val], minlength=y.max() + 1).min() >= 2 and trained.min() >= 2
            else:  # k-fold: every class trains in every fold (k <= the smallest class)
                assert trained.min() >= 1


def test_check_splits_refuses_float_labels_by_their_integer_names() -> None:
    y = labels(30, 2).astype("float32")  # a binary task's labels are float 0/1
    with pytest.raises(SpecError, match=r"3 folds, but class 1 has only 2 of the 32 training samples"):
        check_splits(y, kfold(3), (0,))


# --------------------------------------------------------------------------- Dataset.fold


@pytest.mark.parametrize("validation", [holdout(0.2), kfold(3)])
def test_a_folds_view_holds_its_indexed_rows_of_the_training_split_and_the_whole_test_set(validation: Validation) -> None:
    data = load_dataset(DataSpec(validation=validation))
    assert data.validation == validation and data.x_val is None and data.y_val is None
    for seed in (0, 3):
        folds = data.folds(seed)
        assert folds is data.folds(seed)  # cached: every trial the same folds
        assert len(folds) == validation.folds
        for fold, expected in zip(folds, seed_folds(data.y_train, validation, seed), strict=True):
            np.testing.assert_array_equal(fold.fit, expected.fit)
            np.testing.assert_array_equal(fold.val, expected.val)
            view = data.fold(fold)
            np.testing.assert_array_equal(view.x_train, data.x_train[fold.fit])
            np.testing.assert_array_equal(view.y_train, data.y_train[fold.fit])
            np.testing.assert_array_equal(view.x_val, data.x_train[fold.val])
            np.testing.assert_array_equal(view.y_val, data.y_train[fold.val])
            assert view.x_test is data.x_test and view.y_test is data.y_test  # the test set untouched
            assert view.n_classes == data.n_classes and view.x_train.dtype == data.x_train.dtype
            assert view.validation.on_test  # a view is not split again
            assert len(view.x_train) + len(view.x_val) == len(data.x_train)
            assert view.y_train.dtype == data.y_train.dtype == view.y_val.dtype


def test_under_the_test_protocol_a_folds_view_is_the_whole_dataset() -> None:
    data = load_dataset(DataSpec(validation=ON_TEST))
    (fold,) = data.folds(0)
    view = data.fold(fold)
    assert view is data and view.x_val is None
    np.testing.assert_array_equal(fold.fit, np.arange(len(data.x_train)))


def test_without_validation_trains_on_the_whole_split() -> None:
    data = load_dataset(DataSpec(validation=kfold(3)))
    whole = data.without_validation()
    assert whole.validation.on_test and whole.x_train is data.x_train and whole.x_test is data.x_test
    (fold,) = whole.folds(0)
    assert len(fold.fit) == len(data.x_train) and not len(fold.val)


def test_the_suggested_fraction_range_is_one_the_check_accepts() -> None:
    """The range a refusal suggests, rounded inward: both its ends pass the same check (12 samples, 2 classes: 0.34-0.66)."""
    y = np.arange(12) % 2
    with pytest.raises(SpecError) as refused:
        check_splits(y, Validation(Protocol.HOLDOUT, fraction=0.1), (0,))
    low, high = (float(x) for x in str(refused.value).split("between ")[1].split(", or")[0].split(" and "))
    assert (low, high) == (0.34, 0.66)
    for fraction in (low, high):
        check_splits(y, Validation(Protocol.HOLDOUT, fraction=fraction), (0,))


def test_a_short_training_side_asks_for_a_smaller_fraction() -> None:
    y = np.array([0] * 5 + [1] * 19 + [2] * 19)  # 0.8 of 43: class 0 keeps 1 training sample
    with pytest.raises(SpecError, match="1 training sample.*use a smaller fraction"):
        check_splits(y, Validation(Protocol.HOLDOUT, fraction=0.8), (0,))
