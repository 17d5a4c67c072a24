"""Each chart's data, computed by a pure function over :class:`StudyResults`.

Every function here takes the study's results and returns a frozen dataclass
holding exactly what its chart draws, or :class:`Unavailable` with the reason
the chart cannot be drawn (no completed trial, one trial, no unregularized
trial...). Nothing here renders, reads storage or raises for a study's shape,
so the data of every chart is tested without a browser. Big studies are
thinned to fixed limits (:mod:`~actreg_search.dashboard.data.thinning`).

* :mod:`~actreg_search.dashboard.data.base`: the note, groups, trial labels, usable trials;
* :mod:`~actreg_search.dashboard.data.thinning`: the limits and the sampling rule;
* :mod:`~actreg_search.dashboard.data.accuracy`: history, regularization path (the task's headline figure);
* :mod:`~actreg_search.dashboard.data.sparsity`: headline figure (accuracy, RMSE...) × sparsity;
* :mod:`~actreg_search.dashboard.data.layers`: sparsity per marked layer;
* :mod:`~actreg_search.dashboard.data.selection`: validation against test of the headline figure;
* :mod:`~actreg_search.dashboard.data.seeds`: learning curves, per-seed boxes;
* :mod:`~actreg_search.dashboard.data.surface`: coefficient × hidden width;
* :mod:`~actreg_search.dashboard.data.rate`: coefficient × learning rate, per placement;
* :mod:`~actreg_search.dashboard.data.params`: the in-memory Optuna study Optuna's charts are drawn from.
"""

from __future__ import annotations

from actreg_search.dashboard.data.accuracy import (
    PATH_ENCODING,
    HistoryData,
    PathData,
    PathLine,
    ReferenceBand,
    optimization_history,
    regularization_path,
)
from actreg_search.dashboard.data.base import (
    PLACEMENTS,
    REGULARIZERS,
    Group,
    Unavailable,
    describe,
    group_of,
    interval,
    nothing_completed,
    rank,
    selection_values,
    selection_words,
    strength,
    usable,
    words,
)
from actreg_search.dashboard.data.layers import (
    LayerData,
    LayerTrial,
    layer_means,
    layer_names,
    layer_sparsity,
    layer_values,
)
from actreg_search.dashboard.data.params import (
    OptunaInput,
    Target,
    optuna_input,
    param_chart_check,
    searched_params,
    targets,
)
from actreg_search.dashboard.data.seeds import (
    BoxData,
    BoxKey,
    BoxGroup,
    CurveBand,
    CurvesData,
    TrialCurves,
    learning_curves,
    seed_distributions,
)
from actreg_search.dashboard.data.rate import (
    LEARNING_RATE,
    RateData,
    RatePanel,
    RatePoint,
    coefficient_learning_rate,
    searches_learning_rate,
)
from actreg_search.dashboard.data.selection import SelectionData, SelectionPoint, validation_vs_test
from actreg_search.dashboard.data.sparsity import SparsityData, SparsityPoint, sparsity_tradeoff
from actreg_search.dashboard.data.surface import (
    GRID_POINTS,
    SurfaceGrid,
    WidthData,
    WidthPoint,
    coefficient_width,
    interpolate_surface,
)
from actreg_search.dashboard.data.thinning import (
    MAX_BOX_POINTS,
    MAX_OPTUNA_TRIALS,
    MAX_OTHER_ROWS,
    MAX_POINTS,
    MAX_TABLE_ROWS,
    Sample,
    evenly,
    quantile_sample,
    sample,
)

__all__ = [
    "GRID_POINTS",
    "LEARNING_RATE",
    "MAX_BOX_POINTS",
    "MAX_OPTUNA_TRIALS",
    "MAX_OTHER_ROWS",
    "MAX_POINTS",
    "MAX_TABLE_ROWS",
    "PATH_ENCODING",
    "PLACEMENTS",
    "REGULARIZERS",
    "BoxData",
    "BoxGroup",
    "BoxKey",
    "CurveBand",
    "CurvesData",
    "Group",
    "HistoryData",
    "LayerData",
    "LayerTrial",
    "OptunaInput",
    "PathData",
    "PathLine",
    "RateData",
    "RatePanel",
    "RatePoint",
    "ReferenceBand",
    "Sample",
    "SelectionData",
    "SelectionPoint",
    "SparsityData",
    "SparsityPoint",
    "SurfaceGrid",
    "Target",
    "TrialCurves",
    "Unavailable",
    "WidthData",
    "WidthPoint",
    "coefficient_learning_rate",
    "coefficient_width",
    "describe",
    "evenly",
    "group_of",
    "interpolate_surface",
    "interval",
    "layer_means",
    "layer_names",
    "layer_sparsity",
    "layer_values",
    "learning_curves",
    "nothing_completed",
    "optimization_history",
    "optuna_input",
    "param_chart_check",
    "quantile_sample",
    "rank",
    "regularization_path",
    "sample",
    "searched_params",
    "searches_learning_rate",
    "seed_distributions",
    "selection_values",
    "selection_words",
    "sparsity_tradeoff",
    "strength",
    "targets",
    "usable",
    "validation_vs_test",
    "words",
]
