"""The per-trial config: everything one trial trains, with no Optuna in it."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from actreg_search.spec.vocab import Family, OptimizerName, PenaltyName, Placement, Regularizer


@dataclass(frozen=True)
class EarlyStopping:
    """``[model] early_stopping``: stop a seed once its validation loss has not improved by more than
    ``min_delta`` for ``patience`` epochs, and keep its best epoch's weights (Keras' ``EarlyStopping(monitor="val_loss",
    restore_best_weights=True)``)."""

    patience: int
    min_delta: float = 0.0


ALL_LAYERS = "all"
"""The ``[space] layers`` value meaning every marked layer (a trial that drew it keeps it: it is labelled "on all")."""


@dataclass(frozen=True)
class LayerPenalty:
    """One marked layer's own penalty under ``[space] per_layer = true``: the penalty fields of a :class:`TrialConfig`."""

    regularizer: Regularizer = Regularizer.NONE
    placement: Placement | None = None
    l1: float = 0.0
    l2: float = 0.0
    coefficient: float = 0.0
    rho: float | None = None
    penalty: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {f.name: (v.value if isinstance(v, enum.Enum) else v) for f in dataclasses.fields(self) for v in [getattr(self, f.name)]}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> LayerPenalty:
        """Inverse of :meth:`to_dict`."""
        placement = raw.get("placement")
        return cls(
            Regularizer(raw["regularizer"]), Placement(placement) if placement else None, float(raw.get("l1", 0.0)),
            float(raw.get("l2", 0.0)), float(raw.get("coefficient", 0.0)),
            None if raw.get("rho") is None else float(raw["rho"]), None if raw.get("penalty") is None else str(raw["penalty"]),
        )


PENALTY_FIELDS = tuple(f.name for f in dataclasses.fields(LayerPenalty))
"""The fields of a :class:`TrialConfig` a :class:`LayerPenalty` holds per layer."""


@dataclass(frozen=True)
class TrialConfig:
    """Everything needed to build and train one trial's model (no Optuna here).

    ``layers`` names the marked layers that carry the penalty (``None``: every
    marked layer); ``hidden_layers`` is the built-in mlp's depth; ``dropout``
    is the rate of the model's trial Dropout layers (the built-in families',
    a builder's ``reg.Dropout``; ``None``: the model has none); ``builder``
    holds a builder's own hyperparameters, ``(name, value)`` pairs in name
    order (``[space.builder]``); ``early_stopping`` stops each seed on its
    validation loss (``[model] early_stopping``); ``coefficient`` is the
    weight of a ``kl_sparsity``, ``decov``, ``tar`` or ``custom`` penalty
    (``l1`` and ``l2`` hold Keras' own) and ``rho`` the target mean
    activation of ``kl_sparsity``; ``penalty`` names the function of a
    ``custom`` trial (``"/path/penalties.py:my_penalty"``); ``sized`` is
    ``False`` when the model takes no size from the trial (a ``.keras`` file
    fixes every layer's size), so ``hidden_units`` means nothing. Which model
    the config is trained on (built-in or the user's) is the study's
    :class:`~actreg_search.spec.specs.ModelSpec`, not part of the config.
    """

    regularizer: Regularizer
    placement: Placement | None
    l1: float
    l2: float
    hidden_units: int
    activation: str = "relu"
    family: Family = Family.MLP
    epochs: int = 4000
    batch_size: int = 32
    optimizer: OptimizerName = OptimizerName.ADAM
    learning_rate: float = 0.001
    layers: tuple[str, ...] | None = None
    hidden_layers: int = 1
    sized: bool = True
    dropout: float | None = None
    builder: tuple[tuple[str, Any], ...] = ()
    early_stopping: EarlyStopping | None = None
    coefficient: float = 0.0
    rho: float | None = None
    penalty: str | None = None
    per_layer: tuple[tuple[str, LayerPenalty], ...] = ()

    @property
    def builder_kwargs(self) -> dict[str, Any]:
        """The builder's own hyperparameters (``[space.builder]``), as keyword arguments."""
        return dict(self.builder)

    def __post_init__(self) -> None:
        if (self.regularizer is Regularizer.NONE) != (self.placement is None):
            raise ValueError("placement must be None exactly when regularizer is none")
        if (self.regularizer is Regularizer.KL_SPARSITY) != (self.rho is not None):
            raise ValueError("rho is set exactly when the regularizer is kl_sparsity")
        if (self.regularizer is Regularizer.CUSTOM) != (self.penalty is not None):
            raise ValueError("penalty is named exactly when the regularizer is custom")
        if self.rho is not None and not 0.0 < self.rho < 1.0:
            raise ValueError(f"rho must be in (0, 1), got {self.rho}")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (enums as their values, the builder's hyperparameters a dict)."""
        out = {
            f.name: (v.value if isinstance(v, enum.Enum) else list(v) if isinstance(v, tuple) else v)
            for f in dataclasses.fields(self)
            for v in [getattr(self, f.name)]
        }
        out["builder"] = self.builder_kwargs
        out["early_stopping"] = None if self.early_stopping is None else dataclasses.asdict(self.early_stopping)
        del out["per_layer"]
        if self.per_layer:  # layer -> its penalty, in mark order; a single-penalty config stores no key, as before it
            out["per_layer"] = {name: penalty.to_dict() for name, penalty in self.per_layer}
        return out

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> TrialConfig:
        """Inverse of :meth:`to_dict`."""
        placement = raw.get("placement")
        layers = raw.get("layers")
        return cls(
            regularizer=Regularizer(raw["regularizer"]),
            placement=Placement(placement) if placement else None,
            l1=float(raw["l1"]),
            l2=float(raw["l2"]),
            hidden_units=int(raw["hidden_units"]),
            activation=str(raw["activation"]),
            family=Family(raw["family"]),
            epochs=int(raw["epochs"]),
            batch_size=int(raw["batch_size"]),
            optimizer=OptimizerName(raw["optimizer"]),
            learning_rate=float(raw["learning_rate"]),
            layers=None if layers is None else tuple(str(name) for name in layers),
            hidden_layers=int(raw.get("hidden_layers", 1)),
            sized=bool(raw.get("sized", True)),
            dropout=None if raw.get("dropout") is None else float(raw["dropout"]),
            builder=tuple(sorted(dict(raw.get("builder") or {}).items())),
            early_stopping=None if raw.get("early_stopping") is None else EarlyStopping(**raw["early_stopping"]),
            coefficient=float(raw.get("coefficient", 0.0)),
            rho=None if raw.get("rho") is None else float(raw["rho"]),
            penalty=None if raw.get("penalty") is None else str(raw["penalty"]),
            per_layer=tuple((str(name), LayerPenalty.from_dict(own)) for name, own in dict(raw.get("per_layer") or {}).items()),
        )

    def with_layers(self, per_layer: Sequence[tuple[str, LayerPenalty]]) -> TrialConfig:
        """This config with a penalty per marked layer (``[space] per_layer``): ``per_layer`` in the model's mark
        order; the penalty fields then hold the first layer's penalty that is not ``none`` (all ``none`` when every
        layer drew none), so code grouping trials by ``regularizer`` sees a real one, and ``layers`` is ``None``.

        Raises:
            ValueError: ``per_layer`` names no layer, or a layer twice.
        """
        names = [name for name, _ in per_layer]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"per_layer names each marked layer once, got {names}")
        first = next((own for _, own in per_layer if own.regularizer is not Regularizer.NONE), LayerPenalty())
        fields = {name: getattr(first, name) for name in PENALTY_FIELDS}
        return dataclasses.replace(self, **fields, layers=None, per_layer=tuple(per_layer))

    def label(self) -> str:
        """A short description, e.g. ``l1 · pre_activation 1.0e-04, 500 units``; under ``per_layer`` each layer's
        penalty, e.g. ``hidden: l1 · kernel 1.0e-04; hidden_2: none, 64 units × 2 layers``."""
        size = f"{self.hidden_units} {'filters' if self.family is Family.CNN else 'units'}" if self.sized else ""
        if self.hidden_layers != 1:
            size += f" × {self.hidden_layers} layers"
        if self.layers is not None and self.placement is not None:
            size += f", on {'+'.join(self.layers)}"
        size = (size + self._training_label()).removeprefix(", ")
        if self.per_layer:
            penalty = "; ".join(f"{name}: {_penalty_label(own)}" for name, own in self.per_layer)
        else:
            penalty = _penalty_label(self.penalties[0])
        return f"{penalty}, {size}" if size else penalty

    def _training_label(self) -> str:
        """The training knobs and builder hyperparameters that differ from the defaults, e.g. ``, lr 1.0e-02, dropout 0.2``."""
        parts = []
        if self.learning_rate != 0.001:
            parts.append(f"lr {self.learning_rate:.1e}")
        if self.dropout is not None:
            parts.append(f"dropout {self.dropout:.2g}")
        if self.batch_size != 32:
            parts.append(f"batch {self.batch_size}")
        if self.activation != "relu":
            parts.append(self.activation)
        parts += [f"{name}={value:.3g}" if isinstance(value, float) else f"{name}={value}" for name, value in self.builder]
        return "".join(f", {part}" for part in parts)

    def penalizes(self, layer: str) -> bool:
        """Whether the marked layer ``layer`` carries this trial's penalty (``layers`` ``None`` or ``all``: every one;
        under ``per_layer``, whether the layer drew one)."""
        if self.per_layer:
            return self.for_layer(layer).penalizes(layer)
        if self.regularizer is Regularizer.NONE:
            return False
        return self.layers is None or ALL_LAYERS in self.layers or layer in self.layers

    def for_layer(self, layer: str) -> TrialConfig:
        """The config the marked layer ``layer`` is built with: under ``per_layer`` its own penalty (none for a layer
        that drew none, or is not listed); otherwise the config itself."""
        if not self.per_layer:
            return self
        own = dict(self.per_layer).get(layer, LayerPenalty())
        return dataclasses.replace(self, **{name: getattr(own, name) for name in PENALTY_FIELDS}, per_layer=(), layers=None)

    @property
    def penalties(self) -> tuple[LayerPenalty, ...]:
        """Every penalty the trial applies: each layer's under ``per_layer``, else its one."""
        if self.per_layer:
            return tuple(p for _, p in self.per_layer)
        return (LayerPenalty(**{name: getattr(self, name) for name in PENALTY_FIELDS}),)

    def space_values(self) -> dict[str, Any]:
        """This config as fixed ``[space]`` values, ready to paste into a study file; under ``per_layer``, ``per_layer =
        true`` and each layer's values under its Optuna parameters' names (``hidden.regularizer``, ``hidden.coefficient``...),
        which ``study.enqueue_trial`` takes, in place of the one penalty's."""
        if self.per_layer:
            out: dict[str, Any] = {"per_layer": True}
            for name, own in self.per_layer:
                out.update(_penalty_values(own, f"{name}."))
        else:
            out = _penalty_values(self.penalties[0])
        if self.sized:
            out[self.family.size_key] = self.hidden_units
        if self.layers is not None:
            out["layers"] = self.layers[0] if len(self.layers) == 1 else list(self.layers)
        if self.hidden_layers != 1:
            out["hidden_layers"] = self.hidden_layers
        out["learning_rate"] = self.learning_rate
        out["batch_size"] = self.batch_size
        out["activation"] = self.activation
        if self.dropout is not None:
            out["dropout"] = self.dropout
        if self.builder:
            out["builder"] = self.builder_kwargs
        return out



def _penalty_label(own: LayerPenalty) -> str:
    """One penalty in a label: ``none``, ``l1 · pre_activation 1.0e-04``, ``kl_sparsity · post_activation 1.0e-02, rho 0.05``."""
    if own.placement is None:
        return "none"
    if own.regularizer is Regularizer.L1_L2:
        coefficient = f"l1 {own.l1:.1e} + l2 {own.l2:.1e}"
    elif own.regularizer is Regularizer.KL_SPARSITY:
        coefficient = f"{own.coefficient:.1e}, rho {own.rho:.3g}"
    elif own.regularizer.activated:
        coefficient = f"{own.coefficient:.1e}"
    else:
        coefficient = f"{own.l1 or own.l2:.1e}"
    kind = PenaltyName(own.penalty).short if own.penalty is not None else own.regularizer.value
    return f"{kind} · {own.placement.value} {coefficient}"


def _penalty_values(own: LayerPenalty, prefix: str = "") -> dict[str, Any]:
    """One penalty as ``[space]`` values, each key after ``prefix`` (a layer's ``"hidden."``): what it drew."""
    out: dict[str, Any] = {"regularizer": own.penalty or own.regularizer.value}
    if own.placement is not None:
        out["placement"] = own.placement.value
    if own.regularizer is Regularizer.L1_L2:
        out["l1_coefficient"] = own.l1
        out["l2_coefficient"] = own.l2
    elif own.regularizer is Regularizer.L1:
        out["coefficient"] = own.l1
    elif own.regularizer is Regularizer.L2:
        out["coefficient"] = own.l2
    elif own.regularizer.activated:
        out["coefficient"] = own.coefficient
    if own.rho is not None:
        out["rho"] = own.rho
    return {f"{prefix}{key}": value for key, value in out.items()}
