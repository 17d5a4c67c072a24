"""The figures of a model's predictions besides its headline, per task: a classification's, a regression's, an autoencoder's.

Besides accuracy, the figures of the predictions (:func:`class_figures`) are
scikit-learn's, from each sample's predicted probabilities on the validation
samples and on the test set. Their edge cases, decided here:

* *Binary models* have one sigmoid unit, ``p`` the probability of class 1:
  ``log_loss`` reads ``[1 - p, p]``, ``roc_auc`` reads ``p``; the predicted
  class is ``p > 0.5``, the accuracy's rule (:func:`~actreg_search.engine.rows.correct`),
  as it is the arg-max of a softmax.
* *float32 probabilities* that do not sum exactly to 1 (a softmax's rows are
  off by about 1e-7) are taken to float64 and each row divided by its sum, so
  scikit-learn neither warns (``log_loss``) nor refuses (``roc_auc``).
* ``log_loss`` is over every class of the data (``labels=``), also one the
  split lacks; scikit-learn clips the probabilities to [eps, 1 - eps] of float64.
* ``roc_auc`` with several classes is one-vs-rest, macro-averaged over the
  classes present in the split: a class missing from a small validation split
  (where scikit-learn refuses, or gives NaN) is left out, and with all present it is
  scikit-learn's ``multi_class="ovr"``. With fewer than two classes present
  it is undefined: ``None``, the figure is not recorded for the trial.
* ``balanced_accuracy`` is the mean recall over the classes present in the
  split; ``macro_f1`` the F1 averaged over the classes present in the split
  or predicted (a class predicted but absent scores 0: ``zero_division=0``).
* A regression's figures are :func:`~actreg_search.engine.targets.regression_figures`
  (RMSE, MAE, R² in the target's units), an autoencoder's the reconstruction
  MSE; the classification figures are then not measured (``None``).
* A model whose output is not probabilities (:func:`gives_probabilities`: its
  output layer is no sigmoid or softmax) has no ``roc_auc`` or ``log_loss``
  (``None``); :mod:`actreg_search.search.modelcheck` refuses either as its objective.
"""

from __future__ import annotations

import warnings

import keras
import numpy as np
from sklearn.metrics import balanced_accuracy_score, f1_score, log_loss, roc_auc_score

from actreg_search.data.datasets import Dataset
from actreg_search.engine.targets import regression_figures
from actreg_search.spec.measures import Split, measure_name
from actreg_search.spec.vocab import Metric, Task


def gives_probabilities(model: keras.Model) -> bool:
    """Whether ``model``'s output is probabilities: its output layer is one sigmoid unit, or a softmax over several.

    The output layer is the one whose output is the model's; its activation is
    a layer's ``activation`` (``Dense(..., activation="softmax")``, an
    ``Activation`` layer) or a ``Softmax`` layer. A model whose output layer is
    not found so (a nested model as the last layer) counts as giving none.
    """
    output = model.outputs[0]
    for layer in reversed(model.layers):
        try:
            if layer.output is not output:
                continue
        except (AttributeError, ValueError, RuntimeError):  # a layer called several times has no one output
            continue
        name = "softmax" if isinstance(layer, keras.layers.Softmax) else getattr(getattr(layer, "activation", None), "__name__", None)
        return name == ("sigmoid" if output.shape[-1] == 1 else "softmax")
    return False


def class_figures(probs: np.ndarray, y: np.ndarray, n_classes: int, probabilities: bool = True) -> dict[Metric, float | None]:
    """``balanced_accuracy``, ``macro_f1``, ``roc_auc`` and ``log_loss`` of predicted probabilities, by scikit-learn.

    Args:
        probs: Each sample's output: ``(n, 1)`` (or ``(n,)``) sigmoid probabilities of class 1, or ``(n, n_classes)``.
        y: The samples' classes.
        n_classes: The data's classes (``log_loss`` is over all of them).
        probabilities: Whether ``probs`` are probabilities (:func:`gives_probabilities`); if not, ``roc_auc`` and
            ``log_loss`` are ``None``.

    Returns:
        Each figure (the module's docstring says the edge cases); ``roc_auc`` ``None`` where undefined.
    """
    raw = np.asarray(probs)
    y = np.asarray(y).astype(np.int64).reshape(-1)
    if raw.ndim == 1 or raw.shape[-1] == 1:
        positive = np.clip(raw.reshape(-1).astype(np.float64), 0.0, 1.0)
        predicted = (raw.reshape(-1) > 0.5).astype(np.int64)
        table = np.stack([1.0 - positive, positive], axis=1)
    else:
        predicted = np.argmax(raw, axis=-1)
        table = raw.astype(np.float64)
        table = table / table.sum(axis=1, keepdims=True) if probabilities else table
    with warnings.catch_warnings():  # "y_pred contains classes not in y_true": the rule above, said once
        warnings.simplefilter("ignore", UserWarning)
        figures: dict[Metric, float | None] = {
            Metric.BALANCED_ACCURACY: float(balanced_accuracy_score(y, predicted)),
            Metric.MACRO_F1: float(f1_score(y, predicted, average="macro", zero_division=0.0)),
            Metric.ROC_AUC: None,
            Metric.LOG_LOSS: None,
        }
    if not probabilities:
        return figures
    present = np.unique(y)
    if len(present) >= 2:
        if table.shape[1] == 2 and n_classes == 2:
            figures[Metric.ROC_AUC] = float(roc_auc_score(y, table[:, 1]))
        else:  # one-vs-rest, each present class against the rest, macro-averaged
            figures[Metric.ROC_AUC] = float(roc_auc_score((y[:, None] == present[None, :]).astype(np.int64), table[:, present]))
    figures[Metric.LOG_LOSS] = float(log_loss(y, table, labels=list(range(n_classes))))
    return figures


def on_split(figures: dict[Metric, float | None], split: Split) -> dict[str, float | None]:
    """:func:`class_figures`' figures as :class:`~actreg_search.engine.base.SeedResult` fields on ``split``."""
    return {measure_name(metric, split): value for metric, value in figures.items()}


def task_figures(outputs: np.ndarray, y: np.ndarray, data: Dataset, probabilities: bool, split: Split) -> dict[str, float | None]:
    """The figures of a model's ``outputs`` on ``(x, y)`` of ``split`` besides the headline, as
    :class:`~actreg_search.engine.base.SeedResult` fields: :func:`class_figures`, or a regression's RMSE, MAE and R²,
    or an autoencoder's reconstruction MSE (``data``: the model's view, its task and scale)."""
    if data.task is Task.REGRESSION:
        return on_split(regression_figures(outputs, y, data.center, data.spread), split)  # type: ignore[arg-type]
    if data.task is Task.AUTOENCODER:
        error = np.square(np.asarray(outputs, np.float64) - np.asarray(y, np.float64))
        return {measure_name(Metric.MSE, split): float(error.mean())}
    return on_split(class_figures(outputs, y, data.n_classes, probabilities), split)


__all__ = ["class_figures", "gives_probabilities", "on_split", "task_figures"]
