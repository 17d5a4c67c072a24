"""What the benchmarks measure the fused engine against, kept out of the package: a program of its own for every trial,
and the probes' penalty as it was before ``kl_sparsity`` and ``decov``.

:class:`OwnProgramEngine` trains as every trial trained before programs were
shared (``benchmarks/study.py``'s "one program per trial" path): each trial in
a program of its own, its penalty and width baked in, compiled for it alone.
Workers (spawned) import this module by name: run the benchmarks from the
repository root (``python benchmarks/study.py``), whose folder is then on
``sys.path`` in them too.
"""

from __future__ import annotations

from collections.abc import Sequence

from actreg_search.engine.quiet import import_tensorflow

import_tensorflow()

import numpy as np  # noqa: E402

from actreg_search.data.datasets import Dataset  # noqa: E402
from actreg_search.data.splits import Fold  # noqa: E402
from actreg_search.engine.fused import FusedEngine  # noqa: E402
from actreg_search.engine.stacked import StackedLoop  # noqa: E402
from actreg_search.models.build import build_model  # noqa: E402
from actreg_search.spec.specs import ModelSpec  # noqa: E402
from actreg_search.spec.trial import TrialConfig  # noqa: E402


def plain_probe_penalty(
    x: object, coefs: object, squash: bool | None, kl: bool, decov: bool, user: object = None, tar: bool = False
) -> object:
    """The probes' penalty before ``kl_sparsity`` and ``decov`` (issue 21): ``Σ (l1·|x| + l2·x²)`` per row, nothing
    else (``benchmarks/study.py --penalty-terms`` sets it in place of :func:`~actreg_search.models.probes.probe_penalty`)."""
    import keras  # noqa: PLC0415

    rank = len(x.shape)
    l1 = keras.ops.reshape(keras.ops.cast(coefs[:, 0], x.dtype), (-1, *([1] * (rank - 1))))
    l2 = keras.ops.reshape(keras.ops.cast(coefs[:, 1], x.dtype), (-1, *([1] * (rank - 1))))
    return keras.ops.sum(l1 * keras.ops.absolute(x) + l2 * keras.ops.square(x), axis=tuple(range(1, rank)))


class OwnProgramEngine(FusedEngine):
    """The fused engine without shared programs: every trial compiles a program of its own (its penalty and width baked in)."""

    def __reduce__(self) -> tuple[object, tuple[bool | None, str | None]]:
        return OwnProgramEngine, (self.merge, self.profile_path)

    def _group_key(self, config: TrialConfig, data: Dataset, seeds: Sequence[int], model: ModelSpec | None, merge: bool) -> object:
        return object()  # every trial a group of its own

    def _program(
        self, group: list[int], configs: Sequence[TrialConfig], data: Dataset, model: ModelSpec | None, folds: Sequence[Fold]
    ) -> tuple[StackedLoop, np.ndarray | None, bool, int]:
        (index,) = group
        config = configs[index]
        template = build_model(config, data.input_shape, data.n_classes, model)  # the trial's penalty, not probes
        return StackedLoop(template, None, config, data, len(folds)), None, True, config.hidden_units


__all__ = ["OwnProgramEngine", "plain_probe_penalty"]
