"""The vocabulary of a study: regularizers, placements, families and the other named choices.

Every name a study file may use for a choice is an enum member here; the study
file's parser (:mod:`actreg_search.spec.parser`), the search space and the engines all
speak these types. Nothing here imports beyond the standard library.
"""

from __future__ import annotations

import enum


class Regularizer(str, enum.Enum):
    """Which penalty is applied."""

    NONE = "none"
    L1 = "l1"
    L2 = "l2"
    L1_L2 = "l1_l2"
    KL_SPARSITY = "kl_sparsity"
    DECOV = "decov"
    TAR = "tar"
    CUSTOM = "custom"
    """A penalty of the user's own: a study file names its function (``"penalties.py:my_penalty"``, :class:`PenaltyName`)."""

    @property
    def activated(self) -> bool:
        """Whether the penalty reads a layer's activated output only (its placement is not searched:
        ``post_activation``, an LSTM's ``output``, or the rnn's ``sequence`` for ``tar``): ``kl_sparsity``, ``decov``,
        ``tar`` and a penalty of your own."""
        return self in (Regularizer.KL_SPARSITY, Regularizer.DECOV, Regularizer.TAR, Regularizer.CUSTOM)


class PenaltyName(str):
    """A ``[space] regularizer`` value naming a penalty of the user's own: ``"file.py:function"`` (the path resolved
    against the study file) or ``"module:function"``; its trials are :attr:`Regularizer.CUSTOM`."""

    __slots__ = ()

    @property
    def value(self) -> str:
        """The reference itself (as an enum member's ``value``, so a regularizer choice reads alike)."""
        return str(self)

    activated = True
    """A penalty of your own reads the activated output, as :attr:`Regularizer.activated` says of ``custom``."""

    @property
    def short(self) -> str:
        """``file.py:function`` without the folders, for labels."""
        path, _, name = self.rpartition(":")
        return f"{path.rsplit('/', 1)[-1]}:{name}"


CLASSIC_REGULARIZERS = (Regularizer.NONE, Regularizer.L1, Regularizer.L2, Regularizer.L1_L2)
"""What ``[space] regularizer`` searches when a study file leaves it out: the tutorial's question."""

KL_ACTIVATIONS = ("relu", "sigmoid")
"""The activations ``kl_sparsity`` reads: a mean activation in [0, 1) (a ReLU's through tanh, see models/penalties.py)."""

RHO_RANGE = (0.01, 0.2)
"""``kl_sparsity``'s target mean activation ``rho`` when ``[space]`` does not say (uniform)."""


class Task(str, enum.Enum):
    """What the model learns (``[study] task``): a class, a number, or its own input back."""

    CLASSIFICATION = "classification"
    REGRESSION = "regression"
    """A continuous target: a linear head, mean squared error on targets standardized on the rows each model trains on."""
    AUTOENCODER = "autoencoder"
    """The model reconstructs its input: mean squared error between its output and ``x``."""

    @property
    def headline(self) -> Metric:
        """The figure the task's curves and tables lead with: accuracy, RMSE, or the reconstruction MSE."""
        return _HEADLINES[self]


class Placement(str, enum.Enum):
    """Where the penalty is applied (see ``docs/placements.md``)."""

    PRE_ACTIVATION = "pre_activation"
    POST_ACTIVATION = "post_activation"
    KERNEL = "kernel"
    OUTPUT = "output"
    RECURRENT = "recurrent"
    SEQUENCE = "sequence"
    """The built-in rnn's LSTM returning its whole sequence (its last step goes on): where ``tar`` applies."""


class SamplerName(str, enum.Enum):
    """Optuna samplers a study can use."""

    TPE = "tpe"
    RANDOM = "random"
    GRID = "grid"
    CMAES = "cmaes"
    NSGA2 = "nsga2"


class Metric(str, enum.Enum):
    """What a study can optimize: a figure without a split, averaged over seeds.

    The study's :class:`Protocol` decides where it is measured: on each seed's
    validation samples, or on the test set under ``"test"``
    (:func:`actreg_search.spec.specs.selection_field`). Each is maximized but
    ``log_loss``, which is minimized (its direction is the registry's,
    :mod:`actreg_search.spec.measures`). ``test_accuracy``, the spelling of
    studies made before validation existed, reads as ``accuracy`` where the
    study selects on the test set.
    """

    ACCURACY = "accuracy"
    SPARSITY = "sparsity"
    BALANCED_ACCURACY = "balanced_accuracy"
    MACRO_F1 = "macro_f1"
    ROC_AUC = "roc_auc"
    LOG_LOSS = "log_loss"
    RMSE = "rmse"
    """Regression: root mean squared error, in the target's units."""
    MAE = "mae"
    """Regression: mean absolute error, in the target's units."""
    R2 = "r2"
    """Regression: the coefficient of determination (scikit-learn's ``r2_score``)."""
    MSE = "mse"
    """Autoencoder: the reconstruction's mean squared error over samples and features."""

    @property
    def of_predictions(self) -> bool:
        """Whether it scores the model's predictions (every metric but ``sparsity``): a study's first objective must."""
        return self is not Metric.SPARSITY

    @property
    def needs_probabilities(self) -> bool:
        """Whether it reads the predicted probabilities, not only the predicted class (``roc_auc``, ``log_loss``)."""
        return self in (Metric.ROC_AUC, Metric.LOG_LOSS)

    @property
    def tasks(self) -> tuple[Task, ...]:
        """The tasks it is measured in (``sparsity`` in all)."""
        if self is Metric.SPARSITY:
            return tuple(Task)
        if self in (Metric.RMSE, Metric.MAE, Metric.R2):
            return (Task.REGRESSION,)
        return (Task.AUTOENCODER,) if self is Metric.MSE else (Task.CLASSIFICATION,)


_HEADLINES = {Task.CLASSIFICATION: Metric.ACCURACY, Task.REGRESSION: Metric.RMSE, Task.AUTOENCODER: Metric.MSE}


class Protocol(str, enum.Enum):
    """How a study measures the figures it selects on (``[data] validation``)."""

    HOLDOUT = "holdout"
    """Each seed holds out its own stratified fraction of the training split."""
    KFOLD = "kfold"
    """Each seed trains k times, once on each k-1 folds of the training split, and validates on the k-th."""
    TEST = "test"
    """The tutorial's protocol: selection on the test set."""


class PrunerName(str, enum.Enum):
    """Optuna pruners a study can use."""

    NONE = "none"
    MEDIAN = "median"
    HYPERBAND = "hyperband"


class DatasetName(str, enum.Enum):
    """Datasets that can be loaded without a download."""

    CIRCLES = "circles"
    MOONS = "moons"
    DIGITS = "digits"
    DIABETES = "diabetes"
    """scikit-learn's bundled diabetes progression table (442 patients, 10 features): regression."""
    FRIEDMAN1 = "friedman1"
    """scikit-learn's ``make_friedman1`` (10 features, 5 of them used): a generated regression task."""
    MAKE_CLASSIFICATION = "make_classification"
    """scikit-learn's ``make_classification``: 40 features of which 4 are informative (the rest noise), two classes."""
    BREAST_CANCER = "breast_cancer"
    """scikit-learn's bundled Wisconsin breast cancer table (569 samples, 30 features, two classes)."""
    WINE = "wine"
    """scikit-learn's bundled wine table (178 samples, 13 features, three classes)."""
    SEQUENCES = "sequences"
    """Generated series of 20 steps: a noisy sine whose frequency is low or high (two classes); rnn or mlp."""

    @property
    def tasks(self) -> tuple[Task, ...]:
        """The tasks it can be learned as (a user's npz or python arrays: any; a CSV has a target column)."""
        return _DATASET_TASKS.get(self, tuple(Task))
    CSV = "csv"
    NPZ = "npz"
    PYTHON = "python"


_C, _R, _A = Task.CLASSIFICATION, Task.REGRESSION, Task.AUTOENCODER
_DATASET_TASKS = {
    DatasetName.CIRCLES: (_C,), DatasetName.MOONS: (_C,), DatasetName.DIABETES: (_R,), DatasetName.FRIEDMAN1: (_R,),
    DatasetName.DIGITS: (_C, _A), DatasetName.CSV: (_C, _R), DatasetName.MAKE_CLASSIFICATION: (_C,),
    DatasetName.BREAST_CANCER: (_C,), DatasetName.WINE: (_C,), DatasetName.SEQUENCES: (_C,),
}
GENERATORS = (DatasetName.CIRCLES, DatasetName.MOONS, DatasetName.FRIEDMAN1, DatasetName.MAKE_CLASSIFICATION, DatasetName.SEQUENCES)
"""The generated datasets: ``[data] n_samples`` and ``noise`` are theirs."""
TABULAR = (DatasetName.MAKE_CLASSIFICATION, DatasetName.BREAST_CANCER, DatasetName.WINE, DatasetName.CSV)
"""Tables of many features whose ``[model] family`` must be mlp (``sequences`` is the rnn's or the mlp's, flattened)."""


class Family(str, enum.Enum):
    """Model families: which layer is regularized."""

    MLP = "mlp"
    CNN = "cnn"
    RNN = "rnn"

    @property
    def size_key(self) -> str:
        """The study-file key (and Optuna parameter) for the regularized layer's size."""
        return _SIZE_KEYS[self]

    @property
    def placements(self) -> tuple[Placement, ...]:
        """Placements that apply to this family's regularized layer."""
        return _PLACEMENTS[self]

    @property
    def default_size(self) -> int:
        """The regularized layer's size when the study file gives none."""
        return _DEFAULT_SIZES[self]

    def marked_layers(self, hidden_layers: int = 1) -> tuple[str, ...]:
        """The built-in model's marked layers, in order: the mlp's ``hidden``, ``hidden_2``, ... (``hidden_layers``
        of them), the cnn's and rnn's one ``hidden`` (:func:`actreg_search.models.build.hidden_name` names by it)."""
        depth = hidden_layers if self is Family.MLP else 1
        return tuple("hidden" if index == 1 else f"hidden_{index}" for index in range(1, depth + 1))


_SIZE_KEYS = {Family.MLP: "hidden_units", Family.CNN: "filters", Family.RNN: "units"}
_DEFAULT_SIZES = {Family.MLP: 500, Family.CNN: 16, Family.RNN: 32}
_PLACEMENTS = {
    Family.MLP: (Placement.PRE_ACTIVATION, Placement.POST_ACTIVATION, Placement.KERNEL),
    Family.CNN: (Placement.PRE_ACTIVATION, Placement.POST_ACTIVATION, Placement.KERNEL),
    Family.RNN: (Placement.OUTPUT, Placement.KERNEL, Placement.RECURRENT),
}
SIZE_KEYS = tuple(_SIZE_KEYS.values())


class EngineName(str, enum.Enum):
    """Training engines."""

    KERAS = "keras"
    FUSED = "fused"


class OptimizerName(str, enum.Enum):
    """Keras optimizers a model can be trained with."""

    ADAM = "adam"
    SGD = "sgd"
    RMSPROP = "rmsprop"


ACTIVATIONS = ("relu", "elu", "selu", "gelu", "tanh", "sigmoid", "swish", "softplus")
#: ``run`` replaces a worker once its resident memory has grown this much since
#: its first trial. TensorFlow keeps every XLA program it compiled for the life
#: of the process; with a worker's compiled programs reused across batches of
#: trials this is only a safety valve.
DEFAULT_RECYCLE_MB = 1000
