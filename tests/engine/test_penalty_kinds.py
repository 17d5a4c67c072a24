"""kl_sparsity and decov on the fused engine against the keras engine, and which trials share a program.

A study that searches kl_sparsity trains all its elementwise trials (none, l1, l2, l1_l2, kl_sparsity) in programs
carrying KL's terms (:meth:`FusedEngine.prepare`); a study of L1 and L2 pays nothing for them, nor for DeCov's.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from actreg_search.data.datasets import load_dataset
from actreg_search.engine.fused import FusedEngine
from actreg_search.engine.metrics import training_loss
from actreg_search.spec.parser import parse_spec
from actreg_search.spec.specs import ON_TEST, DataSpec
from actreg_search.spec.trial import LayerPenalty, TrialConfig
from actreg_search.spec.vocab import Placement, Regularizer
from tests.engine.helpers import KeepingEngine, fit_many, keras_full_batch_fit
from tests.engine.test_rowwise import assert_same_weights

SEEDS = [0, 1]
POST = Placement.POST_ACTIVATION
PENALTY = "import keras\n\ndef spread(x):\n    return keras.ops.mean(keras.ops.square(x - keras.ops.mean(x)))\n"


def kl_engine(**kw) -> KeepingEngine:
    """An engine prepared for a study that searches kl_sparsity among other kinds (its programs carry KL's terms)."""
    engine = KeepingEngine(**kw)
    engine.prepare(parse_spec('[study]\nname = "kl"\n[space]\nregularizer = ["none", "l1", "l2", "l1_l2", "kl_sparsity"]\n'))
    return engine


def kl(width: int, coefficient: float, rho: float, epochs: int = 30, **kw) -> TrialConfig:
    return TrialConfig(Regularizer.KL_SPARSITY, POST, 0.0, 0.0, width, epochs=epochs, hidden_layers=2, coefficient=coefficient, rho=rho, **kw)


def per_layer(width: int, epochs: int = 30, **layers: LayerPenalty) -> TrialConfig:
    """A two-layer mlp whose marked layers each take their own penalty ([space] per_layer), as the sampler makes it."""
    return TrialConfig(Regularizer.NONE, None, 0.0, 0.0, width, epochs=epochs, hidden_layers=2).with_layers(tuple(layers.items()))


def test_kl_sparsity_and_l1_at_two_widths_share_one_program_and_match_keras_and_a_padded_kl_trials_loss_counts_its_real_units():
    """A two-layer mlp: KL at 10 and 13 units (bucket 16: the padded units never enter the KL sum, whose
    term for a unit of mean 0 would otherwise be large), L1 and L1_L2 beside them, and a penalty per layer
    ([space] per_layer: L1 before hidden's ReLU, kl_sparsity on hidden_2); one program, Keras' weights.

    And the 10-unit KL trial's final training loss (penalty included), as the program counted it, is the keras
    engine's (its ``training_loss``) at 10 units: the 6 padded units, mean activation 0, would each add
    ~0.05 log(0.05 / 1e-7). (One test with the weights: the same trial, trained once.)"""
    data, engine = load_dataset(DataSpec(validation=ON_TEST)), kl_engine()
    mix = per_layer(12, hidden=LayerPenalty(Regularizer.L1, Placement.PRE_ACTIVATION, l1=1e-2),
                    hidden_2=LayerPenalty(Regularizer.KL_SPARSITY, POST, coefficient=0.2, rho=0.05))
    configs = [
        kl(10, 0.05, 0.05),
        kl(13, 0.2, 0.1, learning_rate=0.01),
        TrialConfig(Regularizer.L1, Placement.PRE_ACTIVATION, 1e-3, 0.0, 12, epochs=30, hidden_layers=2),
        TrialConfig(Regularizer.L1_L2, POST, 1e-3, 1e-2, 16, epochs=30, hidden_layers=2),
        mix,
    ]
    fits = fit_many(engine, configs, data, SEEDS)
    (loop, _), = engine.cache.programs.values()
    assert loop.vectorize and loop.program.experimental_get_tracing_count() == 1
    model = fits[-1][0]  # the seed's own model carries each layer's own penalty
    assert type(model.get_layer("hidden").activity_regularizer).__name__ == "L1"
    assert type(model.get_layer("hidden_2").activity_regularizer).__name__ == "KLSparsity"
    for index, (config, models) in enumerate(zip(configs, fits)):
        reference = keras_full_batch_fit(config, data, SEEDS[0])
        assert_same_weights(reference, models[0])
        if index == 0:  # kl(10, ...), 10 units in the bucket of 16: the loss the keras engine reports for it
            padded = engine.results[0]
            assert padded.seeds[0].seed == SEEDS[0]
            assert padded.values("train_loss")[0] == pytest.approx(training_loss(reference, data), rel=1e-4)


def test_kl_sparsity_on_a_sigmoid_reads_the_activations_untouched():
    data = load_dataset(DataSpec(validation=ON_TEST))
    config = kl(12, 0.5, 0.2, activation="sigmoid")
    (models,) = fit_many(FusedEngine(), [config], data, SEEDS[:1])
    assert_same_weights(keras_full_batch_fit(config, data, SEEDS[0]), models[0])


def test_decov_trains_in_a_program_of_its_own_and_matches_keras():
    """DeCov at two widths, and per layer (DeCov on hidden, L2 on hidden_2's kernel): a program with DeCov's terms."""
    data, engine = load_dataset(DataSpec(validation=ON_TEST)), FusedEngine()
    decov = [TrialConfig(Regularizer.DECOV, POST, 0.0, 0.0, width, epochs=30, hidden_layers=2, coefficient=c)
             for width, c in ((10, 0.1), (14, 1.0))]
    fits = fit_many(engine, decov, data, SEEDS)
    for config, models in zip(decov, fits):
        assert_same_weights(keras_full_batch_fit(config, data, SEEDS[1]), models[1])
    mix = per_layer(10, hidden=LayerPenalty(Regularizer.DECOV, POST, coefficient=1.0),
                    hidden_2=LayerPenalty(Regularizer.L2, Placement.KERNEL, l2=1e-2))
    (models,) = fit_many(engine, [mix], data, SEEDS[:1])
    assert_same_weights(keras_full_batch_fit(mix, data, SEEDS[0]), models[0])
    assert all(probes.decov and not probes.kl for _, probes in engine.cache.programs.values())
    (_, probes), *_ = engine.cache.programs.values()
    assert probes.decov and not probes.kl
    plain = TrialConfig(Regularizer.L2, POST, 0.0, 1e-3, 10, epochs=30, hidden_layers=2)
    assert engine.cache.key(plain, data, None, 1, 2).config.regularizer is Regularizer.NONE  # L2 pays for no other term


def test_twenty_trials_differing_in_elementwise_kind_coefficient_and_rho_compile_one_program(tmp_path):
    data = load_dataset(DataSpec(validation=ON_TEST))
    engine = kl_engine(profile_path=str(tmp_path / "profile.jsonl"))
    kinds = [
        lambda k: kl(9 + k % 8, 10 ** (-3 + k % 3), 0.01 + 0.01 * k, epochs=2),
        lambda k: TrialConfig(Regularizer.L1, Placement.PRE_ACTIVATION, 10 ** (-5 + k % 4), 0.0, 9 + k % 8, epochs=2, hidden_layers=2),
        lambda k: TrialConfig(Regularizer.L2, Placement.KERNEL, 0.0, 10 ** (-5 + k % 4), 9 + k % 8, epochs=2, hidden_layers=2),
        lambda k: TrialConfig(Regularizer.L1_L2, POST, 1e-4, 1e-3 * k, 9 + k % 8, epochs=2, hidden_layers=2),
        lambda k: per_layer(9 + k % 8, epochs=2, hidden=LayerPenalty(Regularizer.L2, POST, l2=1e-3 * k),
                            hidden_2=LayerPenalty(Regularizer.KL_SPARSITY, POST, coefficient=1e-2, rho=0.01 * k)),
    ]
    for k in range(20):
        engine.train(kinds[k % 5](k), data, SEEDS[:1])  # one seed a trial: what varies is the penalty
    records = [line for line in (tmp_path / "profile.jsonl").read_text().splitlines()]
    assert len(records) == 20 and sum('"compiled": true' in r for r in records) == 1


def test_a_study_of_kl_sparsity_decov_and_your_own_runs_shows_and_exports_a_loadable_model(tmp_path):
    """From the CLI (the keras engine trains these penalties in the tests above): every trial completes, show
    names the kinds, and the best trial's model loads with safe_mode=True carrying its penalty (not your own)."""
    import keras
    from click.testing import CliRunner

    import actreg_search
    from actreg_search.cli import app
    from actreg_search.models.penalties import DeCov, KLSparsity

    (tmp_path / "p.py").write_text(PENALTY)
    study = tmp_path / "s.toml"
    study.write_text(
        '[study]\nname = "kinds"\nn_trials = 5\nseeds = 2\nsampler = "random"\n[data]\nvalidation = 0.2\n'
        '[model]\nhidden_units = 8\nepochs = 5\n'
        '[space]\nregularizer = ["kl_sparsity", "decov", "p.py:spread"]\ncoefficient = { low = 1e-3, high = 1e-1, log = true }\n'
    )
    url = f"sqlite:///{tmp_path / 'k.db'}"
    ran = CliRunner().invoke(app, ["run", str(study), "--storage", url, "--recycle-mb", "0"])
    assert ran.exit_code == 0, ran.output
    results = actreg_search.load("kinds", storage=url)
    assert [t.state.name for t in results.trials] == ["COMPLETE"] * 5
    assert {t.config.penalty for t in results.trials} >= {f"{tmp_path}/p.py:spread"}  # the random draws include your own
    shown = CliRunner().invoke(app, ["show", "kinds", "--storage", url])
    assert shown.exit_code == 0 and ("kl_sparsity · post_activation" in shown.output or "decov · post_activation" in shown.output)
    path = tmp_path / "best.keras"
    exported = CliRunner().invoke(app, ["export", "kinds", "--storage", url, "--model", str(path), "--out", str(tmp_path / "b.json")])
    assert exported.exit_code == 0, exported.output
    loaded = keras.saving.load_model(path, safe_mode=True)
    best = results.best.config
    carried = [layer.activity_regularizer for layer in loaded.layers if layer.activity_regularizer is not None]
    if best.regularizer is Regularizer.CUSTOM:
        assert carried == []  # taken off: loading the file must not import p.py
    else:
        kind = KLSparsity if best.regularizer is Regularizer.KL_SPARSITY else DeCov
        assert [type(r) for r in carried] == [kind] and carried[0].coefficient == pytest.approx(best.coefficient)


def test_a_penalty_of_your_own_trains_like_keras_in_a_program_per_function(tmp_path):
    """A program of its own at the trial's width (a user's function sees every unit: no padding), Keras' weights."""
    (tmp_path / "p.py").write_text(PENALTY)
    data, engine = load_dataset(DataSpec(validation=ON_TEST)), FusedEngine()
    configs = [TrialConfig(Regularizer.CUSTOM, POST, 0.0, 0.0, width, epochs=30, hidden_layers=2, coefficient=0.5,
                           penalty=f"{tmp_path}/p.py:spread") for width in (10,)]
    (models,) = fit_many(engine, configs, data, SEEDS[:1])
    assert_same_weights(keras_full_batch_fit(configs[0], data, SEEDS[0]), models[0])
    (key,) = engine.cache.programs
    assert (key.config.hidden_units, key.padded) == (10, False)
    # what export --model saves: the model without the function, loadable with safe_mode=True
    import keras

    from actreg_search.models.build import build_model
    from actreg_search.models.penalties import UserPenalty, without_user_penalties

    built = build_model(configs[0], data.input_shape, data.n_classes)
    assert any(isinstance(layer.activity_regularizer, UserPenalty) for layer in built.layers)
    without_user_penalties(built).save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    assert all(layer.activity_regularizer is None for layer in loaded.layers)


def test_tar_on_a_builders_sequence_lstm_matches_keras_at_padded_widths_and_is_refused_without_a_time_axis():
    """TAR on an LSTM returning its sequence, 5 and 7 units in the bucket of 8 (padded units are 0 at every step):
    one program, Keras' weights; on a Dense layer, a one-line SpecError."""
    from actreg_search.errors import SpecError
    from actreg_search.models.build import build_model
    from actreg_search.spec.vocab import Family
    from tests.engine.test_rowwise import builder, digits

    data, model, engine = digits(Family.RNN), builder("sequence_lstm"), FusedEngine()
    configs = [TrialConfig(Regularizer.TAR, Placement.OUTPUT, 0.0, 0.0, width, epochs=15, family=Family.RNN, coefficient=c)
               for width, c in ((5, 0.5), (7, 2.0))]
    fits = fit_many(engine, configs, data, SEEDS[:1], model)
    (loop, probes), = engine.cache.programs.values()
    assert probes.tar and loop.vectorize
    for config, models in zip(configs, fits):
        assert_same_weights(keras_full_batch_fit(config, data, SEEDS[0], model=model), models[0])
    dense = replace(configs[0], family=Family.MLP, placement=POST)
    with pytest.raises(SpecError, match=r"tar needs a layer whose output has a time axis; the Dense layer's has none"):
        build_model(dense, (64,), 10, builder("dropout_mlp"))


def test_tar_on_the_built_in_rnns_sequence_matches_keras_and_its_last_step_is_the_plain_rnns():
    """The built-in rnn for tar returns its LSTM's sequence, then its last step: at coefficient 0 the same weights as
    the plain rnn; with tar, 6 and 8 units in the bucket of 8 (one program), Keras' weights."""
    import numpy as np

    from actreg_search.spec.vocab import Family
    from tests.engine.test_rowwise import digits

    data, engine = digits(Family.RNN), FusedEngine()
    tar = [TrialConfig(Regularizer.TAR, Placement.SEQUENCE, 0.0, 0.0, width, epochs=12, family=Family.RNN, coefficient=c)
           for width, c in ((6, 1.0), (8, 0.0))]
    fits = fit_many(engine, tar, data, SEEDS[:1])
    (loop, probes), = engine.cache.programs.values()
    assert probes.tar and loop.vectorize and tar[0].label() == "tar · sequence 1.0e+00, 6 units"
    assert_same_weights(keras_full_batch_fit(tar[0], data, SEEDS[0]), fits[0][0])
    plain = keras_full_batch_fit(TrialConfig(Regularizer.NONE, None, 0.0, 0.0, 8, epochs=12, family=Family.RNN), data, SEEDS[0])
    for want, got in zip(plain.get_weights(), fits[1][0].get_weights(), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)
