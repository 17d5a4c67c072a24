"""Activity penalties of the literature that Keras does not ship: KL sparsity, DeCov and TAR, and a user's own function.

Each is a ``keras.regularizers.Regularizer`` registered with Keras
(``actreg_search>KLSparsity``, ...), so a model that carries one saves with
its settings (floats only, never code) and loads with
``keras.saving.load_model(..., safe_mode=True)`` once this module is imported.
They are written here because neither Keras nor TensorFlow provides them.

Keras 3.15 divides an ``activity_regularizer``'s value by the batch size
(keras PR #22021), which suits a penalty that sums over the batch (L1, L2):
it becomes a per-sample mean. KL sparsity and DeCov are statistics *of* the
batch (a mean activation, a covariance), so they return ``batch × value``:
after Keras' division the loss gains ``coefficient × value`` at any batch
size. TAR sums over the batch like L1 and is left to the division.

The formulas, for activations ``a`` of shape ``(batch, ..., units)``, every
axis but the last flattened into ``n`` samples:

* **KL sparsity** (sparse autoencoders): the mean activation of each unit
  ``ρ̂_j = mean_i s(a_ij)``, kept inside ``[1e-7, 1 - 1e-7]``, and the penalty
  ``β Σ_j [ρ log(ρ/ρ̂_j) + (1-ρ) log((1-ρ)/(1-ρ̂_j))]``, with ``s`` the identity
  for a sigmoid and ``tanh`` for a ReLU (a ReLU's output is unbounded: ``tanh``
  maps it into ``[0, 1)``, equals it to first order near 0, and keeps a gradient
  for any activation, where clipping the mean at 1 would leave units above it
  unpenalized).
* **DeCov** (Cogswell et al., ICLR 2016): the units' covariance over the batch
  ``C = (a - ā)ᵀ(a - ā) / n`` and ``β · ½ (‖C‖²_F - ‖diag C‖²)``.
* **TAR** (Merity et al. 2017): on a sequence ``(batch, time, units)``,
  ``β Σ_i Σ_t ‖a_{i,t+1} - a_{i,t}‖²`` (a mean over the batch after Keras'
  division); AR, the L2 of the activations, is ``l2``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras

from actreg_search.usercode import load_function

EPSILON = 1e-7
"""How close the KL penalty lets a unit's mean activation come to 0 or 1."""


def row_samples(x: Any) -> Any:
    """Row-stacked activations ``(rows, batch, ..., units)`` as ``(rows, samples, units)``: the batch and every
    position flattened into samples."""
    return keras.ops.reshape(x, (keras.ops.shape(x)[0], -1, x.shape[-1]))


def kl_divergences(a: Any, rho: Any, squash: bool, real: Any = None) -> Any:
    """Each row's ``Σ_j KL(ρ ‖ ρ̂_j)`` of activations ``a`` ``(rows, samples, units)``, without the coefficient.

    Args:
        a: Row-stacked activations (:func:`row_samples`).
        rho: The target, a number or one per row ``(rows, 1)``.
        squash: Read ``tanh(a)`` (a ReLU's output).
        real: Which units count, ``(rows, units)`` of 0 and 1 (``None``: all).
    """
    if squash:
        a = keras.ops.tanh(a)
    rho_hat = keras.ops.clip(keras.ops.mean(a, axis=1), EPSILON, 1.0 - EPSILON)
    per_unit = rho * keras.ops.log(rho / rho_hat) + (1.0 - rho) * keras.ops.log((1.0 - rho) / (1.0 - rho_hat))
    return keras.ops.sum(per_unit if real is None else per_unit * real, axis=1)


def decovs(a: Any) -> Any:
    """Each row's DeCov ``½ (‖C‖²_F - ‖diag C‖²)`` of activations ``a`` ``(rows, samples, units)``, without the coefficient."""
    centered = a - keras.ops.mean(a, axis=1, keepdims=True)
    covariance = keras.ops.einsum("rbi,rbj->rij", centered, centered) / keras.ops.cast(keras.ops.shape(a)[1], a.dtype)
    diagonal = keras.ops.diagonal(covariance, axis1=1, axis2=2)
    return 0.5 * (keras.ops.sum(keras.ops.square(covariance), axis=(1, 2)) - keras.ops.sum(keras.ops.square(diagonal), axis=1))


def tars(x: Any) -> Any:
    """Each row's TAR of sequences ``x`` ``(rows, batch, time, units)``: ``Σ ‖x_{t+1} - x_t‖²``, without the coefficient."""
    return keras.ops.sum(keras.ops.square(x[:, :, 1:] - x[:, :, :-1]), axis=(1, 2, 3))


def _batch(x: Any) -> Any:
    return keras.ops.cast(keras.ops.shape(x)[0], x.dtype)


@keras.saving.register_keras_serializable(package="actreg_search")
class KLSparsity(keras.regularizers.Regularizer):
    """``coefficient × Σ_j KL(ρ ‖ ρ̂_j)`` on a layer's activations, for Keras' batch division (module docstring).

    Args:
        coefficient: β.
        rho: The target mean activation, in (0, 1).
        squash: ``tanh`` the activations first (a ReLU's; ``False`` for a sigmoid's).
    """

    def __init__(self, coefficient: float, rho: float, squash: bool = False) -> None:
        if not 0.0 < rho < 1.0:
            raise ValueError(f"rho must be in (0, 1), got {rho}")
        self.coefficient = float(coefficient)
        self.rho = float(rho)
        self.squash = bool(squash)

    def __call__(self, x: Any) -> Any:
        return self.coefficient * _batch(x) * kl_divergences(row_samples(x[None]), self.rho, self.squash)[0]

    def get_config(self) -> dict[str, Any]:
        return {"coefficient": self.coefficient, "rho": self.rho, "squash": self.squash}


@keras.saving.register_keras_serializable(package="actreg_search")
class DeCov(keras.regularizers.Regularizer):
    """``coefficient × ½ (‖C‖²_F - ‖diag C‖²)`` of the activations' batch covariance ``C``, for Keras' batch division."""

    def __init__(self, coefficient: float) -> None:
        self.coefficient = float(coefficient)

    def __call__(self, x: Any) -> Any:
        return self.coefficient * _batch(x) * decovs(row_samples(x[None]))[0]

    def get_config(self) -> dict[str, Any]:
        return {"coefficient": self.coefficient}


@keras.saving.register_keras_serializable(package="actreg_search")
class TAR(keras.regularizers.Regularizer):
    """``coefficient × Σ ‖x_{t+1} - x_t‖²`` on a sequence output ``(batch, time, units)``."""

    def __init__(self, coefficient: float) -> None:
        self.coefficient = float(coefficient)

    def __call__(self, x: Any) -> Any:
        if len(x.shape) != 3:
            raise ValueError(f"tar needs a sequence (batch, time, units); got activations of shape {tuple(x.shape)}")
        return self.coefficient * tars(x[None])[0]

    def get_config(self) -> dict[str, Any]:
        return {"coefficient": self.coefficient}


PENALTY = "[space] regularizer"
"""How messages name the setting a penalty of your own comes from."""


def load_penalty(reference: str) -> Callable[[Any], Any]:
    """The function a penalty of your own names (``"file.py:function"`` or ``"module:function"``), imported once per file.

    Raises:
        SpecError: The file or the function is missing, or not callable.
        UserCodeError: Importing the file raised.
    """
    return load_function(reference, PENALTY)


def without_user_penalties(model: keras.Model) -> keras.Model:
    """``model`` with every :class:`UserPenalty` taken off its layers (what ``export --model`` saves: it shaped the
    training; loading the file must not import the user's code)."""
    for layer in model.layers:
        if isinstance(getattr(layer, "activity_regularizer", None), UserPenalty):
            layer.activity_regularizer = None
    return model


class UserPenalty(keras.regularizers.Regularizer):
    """A user's function of a layer's activations, scaled by the coefficient: ``coefficient × f(x)``.

    Not registered for serialization: a model exported with it would have to
    import the user's file to load, so ``export --model`` writes the model
    without it (the penalty shapes training, not inference; see docs/security.md).

    Args:
        coefficient: The searched coefficient.
        function: ``f``, returning a scalar.
        name: How the study file named it (``penalties.py:my_penalty``).
    """

    def __init__(self, coefficient: float, function: Callable[[Any], Any], name: str) -> None:
        self.coefficient = float(coefficient)
        self.function = function
        self.name = name

    def __call__(self, x: Any) -> Any:
        value = keras.ops.convert_to_tensor(self.function(x))
        if len(value.shape) != 0:
            raise ValueError(f"penalty {self.name} returned shape {tuple(value.shape)}; it must return a scalar")
        return self.coefficient * keras.ops.cast(value, x.dtype)

    def get_config(self) -> dict[str, Any]:
        return {"coefficient": self.coefficient, "name": self.name}


__all__ = [
    "DeCov", "EPSILON", "KLSparsity", "PENALTY", "TAR", "UserPenalty", "decovs", "kl_divergences", "load_penalty", "row_samples",
    "tars", "without_user_penalties",
]
