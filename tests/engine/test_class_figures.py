"""The figures of the predictions besides accuracy (:func:`class_figures`), each against a computation by hand.

Every case is one where the right figure and a plausible wrong one differ:
balanced accuracy against plain accuracy on imbalanced classes, the ROC AUC of
``p`` against that of ``1 - p``, a macro average against a weighted one, a
log loss over every class against one over the classes present.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import warnings

import keras
import numpy as np
import pytest
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import roc_auc_score

from actreg_search.engine.base import SeedResult
from actreg_search.engine.metrics import mean_of_folds
from actreg_search.engine.predictions import class_figures, gives_probabilities, on_split
from actreg_search.spec.measures import Split
from actreg_search.spec.vocab import Metric

BA, F1, AUC, LL = Metric.BALANCED_ACCURACY, Metric.MACRO_F1, Metric.ROC_AUC, Metric.LOG_LOSS


def pairs_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """The ROC AUC by its definition: the share of (positive, negative) pairs the score orders right, ties half."""
    pos, neg = scores[positive], scores[~positive]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in itertools.product(pos, neg))
    return wins / (len(pos) * len(neg))


# --------------------------------------------------------------------------- binary: one sigmoid unit


def test_balanced_accuracy_and_macro_f1_of_an_imbalanced_binary_split_by_hand():
    # 8 of class 0, 2 of class 1; the model calls 7 of the 0s right, and 1 of the 1s.
    y = np.array([0] * 8 + [1] * 2)
    p = np.array([0.1] * 7 + [0.7] + [0.9, 0.2], dtype=np.float32)[:, None]
    figures = class_figures(p, y, 2)
    accuracy = 8 / 10
    recall_0, recall_1 = 7 / 8, 1 / 2
    assert figures[BA] == pytest.approx((recall_0 + recall_1) / 2)  # 0.6875
    assert figures[BA] != pytest.approx(accuracy)
    precision_0, precision_1 = 7 / 8, 1 / 2  # predicted 0: 7 right of 8 (a 1 among them); predicted 1: 1 of 2
    f1_0 = 2 * precision_0 * recall_0 / (precision_0 + recall_0)
    f1_1 = 2 * precision_1 * recall_1 / (precision_1 + recall_1)
    assert figures[F1] == pytest.approx((f1_0 + f1_1) / 2)
    assert figures[F1] != pytest.approx((8 * f1_0 + 2 * f1_1) / 10)  # not the weighted average


def test_binary_roc_auc_reads_p_and_log_loss_reads_one_minus_p_and_p():
    y = np.array([0, 0, 0, 1, 1, 0, 1])
    p = np.array([0.2, 0.6, 0.1, 0.8, 0.4, 0.3, 0.9], dtype=np.float32)
    figures = class_figures(p[:, None], y, 2)
    assert figures[AUC] == pytest.approx(pairs_auc(p, y == 1))  # 11/12
    assert figures[AUC] != pytest.approx(pairs_auc(1 - p, y == 1))
    by_hand = -np.mean([math.log(q) if label else math.log(1 - q) for q, label in zip(p.astype(np.float64), y)])
    assert figures[LL] == pytest.approx(by_hand, rel=1e-12)


def test_the_predicted_class_is_the_accuracy_rule_p_above_one_half():
    y = np.array([0, 1, 1, 0])
    p = np.array([[0.5], [0.5000001], [0.9], [0.2]], dtype=np.float32)  # 0.5 exactly is class 0, as correct() says
    assert class_figures(p, y, 2)[BA] == pytest.approx(1.0)


def test_a_split_of_one_class_has_no_roc_auc_but_a_log_loss():
    y = np.ones(4, dtype=np.float32)  # binary labels are float32 in the datasets
    p = np.array([[0.9], [0.8], [0.4], [0.7]], dtype=np.float32)
    figures = class_figures(p, y, 2)
    assert figures[AUC] is None
    assert figures[LL] == pytest.approx(-np.mean(np.log(p[:, 0].astype(np.float64))))


# --------------------------------------------------------------------------- several classes: a softmax


def softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


RNG = np.random.default_rng(0)
Y3 = np.array([0, 1, 2, 0, 1, 2, 0, 0, 2, 1, 0, 2])
P3 = softmax(RNG.normal(size=(len(Y3), 3)) + 1.5 * np.eye(3)[Y3])


def test_one_vs_rest_roc_auc_is_the_mean_of_each_class_against_the_rest_by_hand():
    figures = class_figures(P3, Y3, 3)
    each = [pairs_auc(P3[:, c].astype(np.float64), Y3 == c) for c in range(3)]
    assert figures[AUC] == pytest.approx(np.mean(each))
    # with every class present it is scikit-learn's own one-vs-rest, macro-averaged
    assert figures[AUC] == pytest.approx(roc_auc_score(Y3, P3.astype(np.float64) / P3.sum(1, keepdims=True), multi_class="ovr"))


def test_a_class_missing_from_the_split_is_left_out_of_the_roc_auc_and_kept_in_the_log_loss():
    keep = Y3 != 1  # class 1 is missing from this small split, though the model still gives it probability
    y, p = Y3[keep], P3[keep]
    with pytest.raises(ValueError):  # what scikit-learn's one-vs-rest does with it: refuse it, or, told the labels, NaN
        roc_auc_score(y, p, multi_class="ovr")
    with pytest.warns(UndefinedMetricWarning):
        assert math.isnan(roc_auc_score(y, p / p.sum(1, keepdims=True), multi_class="ovr", labels=[0, 1, 2]))
    figures = class_figures(p, y, 3)
    present = [pairs_auc(p[:, c].astype(np.float64), y == c) for c in (0, 2)]
    assert figures[AUC] == pytest.approx(np.mean(present))
    rows = p.astype(np.float64) / p.astype(np.float64).sum(axis=1, keepdims=True)
    by_hand = -np.mean(np.log(rows[np.arange(len(y)), y]))
    assert figures[LL] == pytest.approx(by_hand, rel=1e-12)
    recalls = [np.mean(np.argmax(p[y == c], axis=1) == c) for c in (0, 2)]  # the classes present only
    assert figures[BA] == pytest.approx(np.mean(recalls))


def test_float32_rows_that_miss_one_are_normalized_without_a_warning():
    p = P3.copy()
    p[:, 0] += np.float32(3e-6)  # rows now sum to 1 + 3e-6: scikit-learn would warn (log loss) or refuse (roc auc)
    assert not np.allclose(p.astype(np.float64).sum(axis=1), 1.0, rtol=0, atol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        figures = class_figures(p, Y3, 3)
    rows = p.astype(np.float64) / p.astype(np.float64).sum(axis=1, keepdims=True)
    assert figures[LL] == pytest.approx(-np.mean(np.log(rows[np.arange(len(Y3)), Y3])), rel=1e-12)


def test_one_class_present_of_several_has_no_roc_auc():
    assert class_figures(P3[Y3 == 2], Y3[Y3 == 2], 3)[AUC] is None


def test_outputs_that_are_no_probabilities_get_no_roc_auc_or_log_loss():
    scores = RNG.normal(size=(len(Y3), 3)).astype(np.float32)  # a linear output layer's
    figures = class_figures(scores, Y3, 3, probabilities=False)
    assert figures[AUC] is None and figures[LL] is None
    assert figures[BA] == pytest.approx(np.mean([np.mean(np.argmax(scores[Y3 == c], 1) == c) for c in range(3)]))


def test_on_split_names_the_seed_result_fields():
    fields = on_split(class_figures(P3, Y3, 3), Split.VALIDATION)
    assert set(fields) == {"validation_balanced_accuracy", "validation_macro_f1", "validation_roc_auc", "validation_log_loss"}


# --------------------------------------------------------------------------- which models give probabilities


def head(layer_maker) -> keras.Model:
    inputs = keras.Input((4,))
    return keras.Model(inputs, layer_maker(keras.layers.Dense(5, activation="relu")(inputs)))


@pytest.mark.parametrize(("make", "gives"), [
    (lambda x: keras.layers.Dense(3, activation="softmax")(x), True),
    (lambda x: keras.layers.Dense(1, activation="sigmoid")(x), True),
    (lambda x: keras.layers.Activation("sigmoid")(keras.layers.Dense(1)(x)), True),
    (lambda x: keras.layers.Softmax()(keras.layers.Dense(3)(x)), True),
    (lambda x: keras.layers.Dense(3)(x), False),  # logits
    (lambda x: keras.layers.Dense(1, activation="tanh")(x), False),
    (lambda x: keras.layers.Dense(3, activation="sigmoid")(x), False),  # several sigmoids: no distribution
    (lambda x: keras.layers.Dense(1, activation="softmax")(x), False),  # a softmax of one unit is always 1
], ids=["softmax", "sigmoid", "activation-layer", "softmax-layer", "linear", "tanh", "3-sigmoids", "1-softmax"])
def test_gives_probabilities_reads_the_output_layer(make, gives):
    assert gives_probabilities(head(make)) is gives


def test_a_sequential_models_output_layer_is_read_too():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(5), keras.layers.Dense(3, activation="softmax")])
    assert gives_probabilities(model)


def test_a_seeds_fold_models_average_the_figures_and_one_a_fold_lacks_stays_missing():
    base = SeedResult(seed=0, train_accuracy=0.5, test_accuracy=0.5, train_loss=0.1, activation_mean=0.1, sparsity=0.1,
                      train_curve=(), test_curve=())
    a = dataclasses.replace(base, test_log_loss=0.2, validation_macro_f1=0.6, validation_roc_auc=0.7)
    b = dataclasses.replace(base, test_log_loss=0.4, validation_macro_f1=0.8, validation_roc_auc=None)
    seed = mean_of_folds([a, b])
    assert seed.test_log_loss == pytest.approx(0.3) and seed.validation_macro_f1 == pytest.approx(0.7)
    assert seed.validation_roc_auc is None and seed.test_roc_auc is None
