"""A probed model: a probe at every placement of every marked layer, the trial's coefficients as an input."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from actreg_search.models.build import build_model
from actreg_search.models.probes import UNITS, ProbePoint, Probes, penalty_rows
from actreg_search.spec.trial import TrialConfig
from actreg_search.spec.vocab import Placement, Regularizer


def config(regularizer: Regularizer, placement: Placement | None, **extra: object) -> TrialConfig:
    l1 = 1e-2 if regularizer in (Regularizer.L1, Regularizer.L1_L2) else 0.0
    l2 = 5e-3 if regularizer in (Regularizer.L2, Regularizer.L1_L2) else 0.0
    return TrialConfig(regularizer, placement, l1=l1, l2=l2, hidden_units=8, **extra)


def test_penalty_rows_put_the_coefficients_on_the_trials_placement_only() -> None:
    probes = Probes()
    build_model(config(Regularizer.NONE, None), (2,), 2, None, probes)
    assert [(p.layer, p.placement) for p in probes.points] == [
        ("hidden", Placement.PRE_ACTIVATION), ("hidden", Placement.KERNEL), ("hidden", Placement.POST_ACTIVATION),
    ]
    rows = penalty_rows(config(Regularizer.L1_L2, Placement.KERNEL), probes.points)
    np.testing.assert_array_equal(rows[:, :UNITS], np.array([[0, 0, 0, 0, 0], [1e-2, 5e-3, 0, 0, 0], [0, 0, 0, 0, 0]], np.float32))
    assert (rows[:, UNITS] == 2**24).all()  # no widths given: every unit is real
    assert not penalty_rows(config(Regularizer.NONE, None), probes.points)[:, :UNITS].any()
    # an l1 trial's l2 stays zero whatever the config holds
    l1 = TrialConfig(Regularizer.L1, Placement.PRE_ACTIVATION, l1=1e-3, l2=0.5, hidden_units=8)
    np.testing.assert_array_equal(penalty_rows(l1, probes.points)[0, :2], np.array([1e-3, 0], np.float32))


def test_kl_and_decov_sit_on_the_activated_output_with_the_rows_real_units() -> None:
    points = [ProbePoint("h", Placement.PRE_ACTIVATION), ProbePoint("h", Placement.KERNEL), ProbePoint("h", Placement.POST_ACTIVATION)]
    kl = TrialConfig(Regularizer.KL_SPARSITY, Placement.POST_ACTIVATION, 0.0, 0.0, 5, coefficient=0.3, rho=0.05)
    rows = penalty_rows(kl, points, [5, 5, 5])
    np.testing.assert_array_equal(rows[2], np.array([0, 0, 0.3, 0.05, 0, 5, 0, 0], np.float32))
    assert not rows[:2, :UNITS].any()
    decov = TrialConfig(Regularizer.DECOV, Placement.POST_ACTIVATION, 0.0, 0.0, 5, coefficient=2.0)
    np.testing.assert_array_equal(penalty_rows(decov, points)[2, :UNITS], np.array([0, 0, 0, 0, 2.0], np.float32))


def test_only_the_trials_layers_get_coefficients() -> None:
    points = [ProbePoint("a", Placement.KERNEL), ProbePoint("b", Placement.KERNEL)]
    rows = penalty_rows(config(Regularizer.L1, Placement.KERNEL, layers=("b",)), points)
    np.testing.assert_array_equal(rows[:, :2], np.array([[0, 0], [1e-2, 0]], np.float32))


def test_a_probe_computes_l1l2_while_read_and_nothing_otherwise() -> None:
    probes = Probes()
    probe = probes.probe("h", Placement.KERNEL)
    x = keras.ops.convert_to_tensor(np.array([[1.0, -2.0], [0.5, 0.0]], np.float32))
    assert float(probe(x)) == 0.0
    with probes.reading(np.array([[0.1, 0.2, 0, 0, 0, 2, 0, 0]], np.float32)):
        expected = float(keras.regularizers.L1L2(l1=0.1, l2=0.2)(x))
        assert float(probe(x)) == pytest.approx(expected, rel=1e-6)
    assert probes.coefs is None and probe.get_config() == {"index": 0}


def test_a_probes_kl_and_decov_are_the_penalties_on_the_real_units_only() -> None:
    """Activities of 5 units of which the last 2 are padding (zeros): the probe reading 3 real units gives
    KLSparsity and DeCov of the first 3 columns (the padding's mean of 0 would add to KL)."""
    from actreg_search.models.penalties import DeCov, KLSparsity

    rng = np.random.default_rng(1)
    a = np.zeros((6, 5), np.float32)
    a[:, :3] = np.maximum(rng.normal(0.2, 1.0, (6, 3)), 0)
    probes = Probes(decov=True, kl=True)
    probe = probes.probe("h", Placement.POST_ACTIVATION, "relu")
    row = np.array([[0, 0, 0.4, 0.1, 0.7, 3, 0, 0]], np.float32)
    with probes.reading(row):
        got = float(probe(keras.ops.convert_to_tensor(a)))
    real = keras.ops.convert_to_tensor(a[:, :3])
    expected = float(KLSparsity(0.4, 0.1, squash=True)(real)) + float(DeCov(0.7)(real))
    assert got == pytest.approx(expected, rel=1e-5)
    padded = float(KLSparsity(0.4, 0.1, squash=True)(keras.ops.convert_to_tensor(a)))
    assert abs(padded - float(KLSparsity(0.4, 0.1, squash=True)(real))) > 1.0
