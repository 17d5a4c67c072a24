from __future__ import annotations

import numpy as np
import pytest

from actreg_search.data.datasets import load_dataset
from actreg_search.engine import Monitor, NonFiniteLoss
from actreg_search.engine.base import curve_epochs
from actreg_search.engine.keras_engine import KerasEngine
from actreg_search.spec.specs import ON_TEST, DataSpec
from actreg_search.spec.trial import TrialConfig
from actreg_search.spec.vocab import Placement, Regularizer

DATA = load_dataset(DataSpec(validation=ON_TEST))
CONFIG = TrialConfig(Regularizer.L1, Placement.PRE_ACTIVATION, 1e-3, 0.0, hidden_units=8, epochs=6)


def test_same_config_and_seed_give_the_same_result():
    first = KerasEngine().train(CONFIG, DATA, [3])
    again = KerasEngine().train(CONFIG, DATA, [3])
    assert first.seeds == again.seeds
    other = KerasEngine().train(CONFIG, DATA, [4])
    assert other.seeds[0].train_loss != first.seeds[0].train_loss


def test_result_holds_every_seed_with_curves_and_activation_stats():
    progress = []

    class Recorder(Monitor):
        def on_epochs(self, done, total):
            progress.append((done, total))

    result = KerasEngine().train(CONFIG, DATA, [0, 1], Recorder())
    assert [s.seed for s in result.seeds] == [0, 1]
    assert result.curve_epochs == curve_epochs(6) == (1, 2, 3, 4, 5, 6)
    for seed in result.seeds:
        assert len(seed.train_curve) == len(seed.test_curve) == 6
        assert 0.0 <= seed.sparsity <= 1.0 and seed.activation_mean >= 0.0
        assert seed.gap == pytest.approx(seed.train_accuracy - seed.test_accuracy)
    assert progress[-1] == (12, 12)


def test_fit_records_the_curves_beside_the_model_not_on_it():
    model, recorder = KerasEngine.fit_recorded(CONFIG, DATA, 3, points=(2, 4, 6))
    assert len(recorder.train_curve) == len(recorder.test_curve) == 3 and recorder.validation_curve == []
    assert recorder.model is model and not hasattr(model, "recorder")
    np.testing.assert_array_equal(KerasEngine.fit(CONFIG, DATA, 3).get_weights()[0], model.get_weights()[0])


def test_overflowing_loss_raises_with_the_seed():
    # With Adam a coefficient of 1e12 stays finite (steps are normalized, the loss is
    # ~1e12); an L2 activity penalty of 1e36 overflows float32.
    config = TrialConfig(Regularizer.L2, Placement.PRE_ACTIVATION, 0.0, 1e36, hidden_units=8, epochs=5)
    with pytest.raises(NonFiniteLoss) as info:
        KerasEngine().train(config, DATA, [2])
    assert info.value.seed == 2
