"""``[space] per_layer``: how a study file asks for a penalty per marked layer, what it refuses, and a per-layer
trial's config: its stored form, its label and its ``[space]`` values."""

from __future__ import annotations

import pytest

from actreg_search.api.building import make_spec
from actreg_search.errors import SpecError
from actreg_search.spec.parser import parse_raw, parse_spec
from actreg_search.spec.specs import spec_tables, spec_to_raw
from actreg_search.spec.trial import LayerPenalty, TrialConfig
from actreg_search.spec.vocab import Family, Placement, Regularizer

DEEP = '[study]\nname = "p"\n{study}[model]\nhidden_layers = 2\n{model}[space]\nper_layer = {value}\n{space}'


def _spec(value: str = "true", *, study: str = "", model: str = "", space: str = ""):
    return parse_spec(DEEP.format(value=value, study=study, model=model, space=space))


def test_per_layer_is_off_unless_asked_and_read_from_a_file_or_from_python():
    assert not parse_spec('[study]\nname = "p"\n').space.per_layer
    assert _spec().space.per_layer
    assert not _spec("false").space.per_layer
    assert make_spec("p", model={"hidden_layers": 3}, space={"per_layer": True}).space.per_layer


def test_a_stored_spec_keeps_per_layer_and_leaves_it_out_when_off():
    spec = _spec()
    assert spec_tables(spec)["space"]["per_layer"] is True
    assert parse_raw(spec_to_raw(spec)).space == spec.space
    assert "per_layer" not in spec_tables(_spec("false"))["space"]  # as a study stored before per_layer: it resumes


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"value": '"yes"'}, "[space] per_layer: must be true or false, got 'yes' (str)"),
        ({"value": "1"}, "[space] per_layer: must be true or false, got 1 (int)"),
    ],
)
def test_refusals_name_the_key_and_what_is_allowed(kwargs, message):
    with pytest.raises(SpecError) as caught:
        _spec(**kwargs)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_per_layer_and_layers_contradict(tmp_path):
    (tmp_path / "b.py").write_text("def build(reg, input_shape, n_classes): ...\n")
    text = '[study]\nname = "p"\n[model]\nbuilder = "b.py:build"\n[space]\nper_layer = true\nlayers = ["h1", "all"]\n'
    with pytest.raises(SpecError, match=r"\[space\] per_layer: each marked layer draws its own penalty.*use one or the other"):
        parse_spec(text, source=str(tmp_path / "s.toml"))
    with pytest.raises(SpecError, match=r"\[space\] per_layer: .*use one or the other"):
        make_spec("p", builder=f"{tmp_path}/b.py:build", space={"per_layer": True, "layers": "h1"})


def test_the_grid_refusal_says_which_samplers_take_it():
    with pytest.raises(SpecError, match='use sampler = "tpe" or "random"'):
        _spec(study='sampler = "grid"\n', space='regularizer = ["none", "l1"]\ncoefficient = [1e-4]\nhidden_units = [8]\n')


@pytest.mark.parametrize(
    ("model", "space", "has"),
    [
        ("hidden_layers = 1\n", "", "the built-in mlp has one: 'hidden'"),
        ('family = "cnn"\n', "", "the built-in cnn has one: 'hidden'"),
        ('family = "rnn"\n', "", "the built-in rnn has one: 'hidden'"),
        ("hidden_layers = 1\n", "hidden_layers = [1]\n", "the built-in mlp has one: 'hidden'"),
    ],
)
def test_a_built_in_model_with_one_marked_layer_is_refused(model, space, has):
    text = f'[study]\nname = "p"\n[model]\n{model}[space]\nper_layer = true\n{space}'
    with pytest.raises(SpecError, match="needs a model with several marked layers") as caught:
        parse_spec(text)
    assert has in str(caught.value)


def test_a_searched_depth_that_reaches_two_layers_is_taken():
    spec = parse_spec('[study]\nname = "p"\n[space]\nper_layer = true\nhidden_layers = [1, 2]\n')
    assert spec.space.per_layer


def test_a_keras_file_regularizing_one_layer_is_refused(tmp_path):
    (tmp_path / "m.keras").write_bytes(b"")
    text = '[study]\nname = "p"\n[model]\nfile = "m.keras"\nregularize = ["dense"]\n[space]\nper_layer = true\n'
    with pytest.raises(SpecError, match=r"\[space\] per_layer: needs a model with several marked layers; .*m.keras has one: 'dense'"):
        parse_spec(text, source=str(tmp_path / "s.toml"))


def _base(**kwargs) -> TrialConfig:
    return TrialConfig(Regularizer.NONE, None, 0.0, 0.0, hidden_units=64, hidden_layers=2, **kwargs)


L1 = LayerPenalty(Regularizer.L1, Placement.PRE_ACTIVATION, l1=1e-4)
KL = LayerPenalty(Regularizer.KL_SPARSITY, Placement.POST_ACTIVATION, coefficient=1e-2, rho=0.05)
OWN = LayerPenalty(Regularizer.CUSTOM, Placement.POST_ACTIVATION, coefficient=1e-3, penalty="/x/penalties.py:mine")


def test_a_per_layer_config_holds_its_first_real_penalty_on_top():
    config = _base().with_layers((("hidden", LayerPenalty()), ("hidden_2", KL)))
    assert (config.regularizer, config.placement, config.coefficient, config.rho) == (Regularizer.KL_SPARSITY, Placement.POST_ACTIVATION, 1e-2, 0.05)
    assert config.layers is None and config.penalties == (LayerPenalty(), KL)
    assert [config.penalizes(name) for name in ("hidden", "hidden_2")] == [False, True]
    assert config.for_layer("hidden_2").regularizer is Regularizer.KL_SPARSITY
    unregularized = _base().with_layers((("hidden", LayerPenalty()), ("hidden_2", LayerPenalty())))
    assert unregularized.regularizer is Regularizer.NONE and unregularized.placement is None
    with pytest.raises(ValueError, match="once"):
        _base().with_layers((("hidden", L1), ("hidden", KL)))


def test_a_per_layer_config_round_trips_through_its_stored_form():
    config = _base(family=Family.MLP).with_layers((("hidden", L1), ("hidden_2", KL), ("hidden_3", OWN)))
    stored = config.to_dict()
    assert list(stored["per_layer"]) == ["hidden", "hidden_2", "hidden_3"]
    assert stored["per_layer"]["hidden_2"] == {
        "regularizer": "kl_sparsity", "placement": "post_activation", "l1": 0.0, "l2": 0.0, "coefficient": 1e-2, "rho": 0.05, "penalty": None,
    }
    assert TrialConfig.from_dict(stored) == config
    single = _base()
    assert "per_layer" not in single.to_dict() and TrialConfig.from_dict(single.to_dict()) == single


def test_the_label_names_each_layers_penalty():
    config = _base().with_layers((("hidden", L1), ("hidden_2", KL)))
    assert config.label() == "hidden: l1 · pre_activation 1.0e-04; hidden_2: kl_sparsity · post_activation 1.0e-02, rho 0.05, 64 units × 2 layers"
    config = _base(learning_rate=0.01).with_layers((("hidden", LayerPenalty()), ("hidden_2", OWN)))
    assert config.label() == "hidden: none; hidden_2: penalties.py:mine · post_activation 1.0e-03, 64 units × 2 layers, lr 1.0e-02"


def test_space_values_give_each_layers_values_under_its_parameter_names():
    config = _base().with_layers((("hidden", L1), ("hidden_2", KL), ("hidden_3", LayerPenalty())))
    values = config.space_values()
    assert values == {
        "per_layer": True,
        "hidden.regularizer": "l1", "hidden.placement": "pre_activation", "hidden.coefficient": 1e-4,
        "hidden_2.regularizer": "kl_sparsity", "hidden_2.placement": "post_activation", "hidden_2.coefficient": 1e-2, "hidden_2.rho": 0.05,
        "hidden_3.regularizer": "none",
        "hidden_units": 64, "hidden_layers": 2, "learning_rate": 0.001, "batch_size": 32, "activation": "relu",
    }


def test_the_built_in_marked_layers_are_named_by_depth():
    assert Family.MLP.marked_layers(3) == ("hidden", "hidden_2", "hidden_3")
    assert Family.CNN.marked_layers(3) == Family.RNN.marked_layers() == ("hidden",)
