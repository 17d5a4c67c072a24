"""What every engine takes and returns: curve epochs, per-seed figures across seeds, the default batch training."""

from __future__ import annotations

import pytest

from actreg_search.engine.base import Engine, Monitor, NonFiniteLoss, SeedResult, TrialResult, curve_epochs, sample_std
from actreg_search.spec.measures import TEST_ACCURACY, VALIDATION_ACCURACY
from actreg_search.spec.trial import TrialConfig
from actreg_search.spec.vocab import Placement, Regularizer


def seed_result(seed: int, test: float, validation: float | None = None, layers: tuple = ()) -> SeedResult:
    return SeedResult(seed, 0.9, test, 0.1, 0.5, 0.2, (), (), layer_sparsity=layers, validation_accuracy=validation)


def test_curves_are_thinned_to_200_points() -> None:
    assert len(curve_epochs(4000)) == 200 and curve_epochs(4000)[-1] == 4000
    assert len(curve_epochs(300)) == 150
    assert curve_epochs(6) == (1, 2, 3, 4, 5, 6)


def test_a_trials_figures_across_seeds() -> None:
    result = TrialResult(
        (seed_result(0, 0.7, 0.6, (("a", 0.1), ("b", 0.3))), seed_result(1, 0.8, None, (("a", 0.2), ("b", 0.4)))), (1,), 1.0, "keras"
    )
    assert result.values(TEST_ACCURACY) == [0.7, 0.8]
    assert result.mean(TEST_ACCURACY) == pytest.approx(0.75)
    assert result.std(TEST_ACCURACY) == pytest.approx(sample_std([0.7, 0.8])) and sample_std([0.7]) == 0.0
    assert result.values(VALIDATION_ACCURACY) == []  # not measured on every seed
    assert result.values("gap") == pytest.approx([0.9 - 0.7, 0.9 - 0.8])
    assert result.layer_values("layer_sparsity") == {"a": [0.1, 0.2], "b": [0.3, 0.4]}


class OneByOne(Engine):
    """Trains nothing: seed 13 diverges, others give a result."""

    name = "one-by-one"

    def train(self, config, data, seeds, monitor=None, model=None) -> TrialResult:  # noqa: ANN001
        if config.hidden_units == 13:
            raise NonFiniteLoss(seeds[0], 1)
        return TrialResult((seed_result(seeds[0], config.hidden_units / 100),), (1,), 0.0, self.name)


def test_the_default_train_many_ends_every_trial_once_in_order() -> None:
    configs = [TrialConfig(Regularizer.L1, Placement.KERNEL, 1e-3, 0.0, hidden_units=w) for w in (8, 13, 21)]
    ended: list[tuple[int, object]] = []
    OneByOne().train_many(configs, None, [5], [Monitor() for _ in configs], lambda i, outcome: ended.append((i, outcome)))  # type: ignore[arg-type]
    assert [i for i, _ in ended] == [0, 1, 2]
    assert isinstance(ended[1][1], NonFiniteLoss) and ended[1][1].seed == 5
    assert [o.mean(TEST_ACCURACY) for i, o in ended if i != 1] == [0.08, 0.21]  # type: ignore[union-attr]


def test_an_engine_trains_any_model_unless_it_says_why_not() -> None:
    assert OneByOne().unfit_reason(object()) is None  # type: ignore[arg-type]
    assert OneByOne().default_batch() == 1
