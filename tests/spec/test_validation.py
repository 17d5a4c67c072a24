"""``[data] validation`` and the objectives named without a split: parsing, storing, and the one-line refusals."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from click.testing import CliRunner

from actreg_search.api.building import check_spec, make_spec
from actreg_search.cli import app
from actreg_search.errors import SpecError
from actreg_search.spec.parser import parse_raw, parse_spec
from actreg_search.spec.specs import DEFAULT_VALIDATION, ON_TEST, DataSpec, Validation, spec_to_raw
from actreg_search.spec.vocab import DatasetName, Metric, Protocol

STUDY = '[study]\nname = "v"\n'


def study_text(validation: str | None = None, objectives: str | None = None, data: str = "") -> str:
    """A minimal study file: ``[data] validation = <validation>`` and ``[study] objectives = <objectives>`` where given."""
    text = STUDY
    if objectives is not None:
        text += f"objectives = {objectives}\n"
    if objectives is not None and "sparsity" in objectives:
        text += 'sampler = "nsga2"\n'
    text += "[data]\n" + data
    if validation is not None:
        text += f"validation = {validation}\n"
    return text


# --------------------------------------------------------------------------- the three forms

GOOD = [
    ("0.2", Validation(Protocol.HOLDOUT, fraction=0.2)),
    ("0.5", Validation(Protocol.HOLDOUT, fraction=0.5)),
    ("1e-3", Validation(Protocol.HOLDOUT, fraction=0.001)),
    ("{ folds = 5 }", Validation(Protocol.KFOLD, folds=5)),
    ("{ folds = 2 }", Validation(Protocol.KFOLD, folds=2)),
    ('"test"', ON_TEST),
]


@pytest.mark.parametrize(("value", "expected"), GOOD, ids=[v for v, _ in GOOD])
def test_each_form_reads_as_its_protocol(value, expected):
    assert parse_spec(study_text(value)).data.validation == expected


@pytest.mark.parametrize("data", ["", 'name = "digits"\n', 'name = "npz"\npath = "/abs/x.npz"\n',
                                  'name = "python"\nloader = "/abs/d.py:load"\n', 'name = "csv"\npath = "/abs/x.csv"\ntarget = "y"\n'])
def test_validation_applies_to_every_dataset(data):
    spec = parse_spec(study_text("{ folds = 3 }", data=data))
    assert spec.data.validation == Validation(Protocol.KFOLD, folds=3)


@pytest.mark.parametrize(("value", "expected"), GOOD, ids=[v for v, _ in GOOD])
def test_round_trip_through_raw_keeps_the_protocol(value, expected):
    spec = parse_spec(study_text(value))
    raw = spec_to_raw(spec)
    assert raw["data"]["validation"] == expected.raw()
    assert parse_raw(raw).data.validation == expected
    assert parse_raw(raw) == spec


def test_a_missing_key_is_none_in_a_new_spec_and_the_test_set_in_a_stored_one():
    """A study stored before validation existed selected on the test set; a new file's silence is decided on resume."""
    spec = parse_spec(study_text())
    assert spec.data.validation is None and spec.validation == DEFAULT_VALIDATION
    raw = spec_to_raw(spec)
    assert "validation" not in raw["data"]
    assert parse_raw(raw).data.validation == ON_TEST  # the default source: a stored spec
    assert parse_raw(raw, source="<spec built in Python>").data.validation is None
    assert make_spec("v").data.validation is None


# --------------------------------------------------------------------------- bad values: one line naming the key and what is allowed

BAD = [
    ("0", "[data] validation: a hold-out fraction must be in (0, 1)"),
    ("0.0", "[data] validation: a hold-out fraction must be in (0, 1)"),
    ("-0.2", "[data] validation: a hold-out fraction must be in (0, 1)"),
    ("1", "[data] validation: a hold-out fraction must be in (0, 1) (the share of the training split held out), got 1"),
    ("1.0", "[data] validation: a hold-out fraction must be in (0, 1)"),
    ("1.5", "got 1.5"),
    ("nan", "[data] validation: a hold-out fraction must be in (0, 1)"),
    ("inf", "[data] validation: a hold-out fraction must be in (0, 1)"),
    ("5", "for 5-fold cross-validation write { folds = 5 }"),
    ("true", '[data] validation: must be a hold-out fraction in (0, 1) such as 0.2, a table { folds = k } with k ≥ 2, or "test"; got True (bool)'),
    ('"holdout"', "[data] validation: unknown value 'holdout'; allowed: a hold-out fraction in (0, 1)"),
    ('"Test"', "[data] validation: unknown value 'Test'; allowed:"),
    ('""', "[data] validation: unknown value ''; allowed:"),
    ('"0.2"', "[data] validation: unknown value '0.2'; allowed:"),
    ("[0.2]", "[data] validation: must be a hold-out fraction in (0, 1)"),
    ("{ folds = 1 }", "[data] validation.folds: must be ≥ 2 (each fold validates the model trained on the others), got 1"),
    ("{ folds = 0 }", "[data] validation.folds: must be ≥ 2"),
    ("{ folds = -3 }", "[data] validation.folds: must be ≥ 2"),
    ("{ folds = 2.5 }", "[data] validation.folds: must be an integer ≥ 2 (the folds per seed), got 2.5 (float)"),
    ("{ folds = 5.0 }", "[data] validation.folds: must be an integer ≥ 2"),
    ("{ folds = true }", "[data] validation.folds: must be an integer ≥ 2 (the folds per seed), got True (bool)"),
    ('{ folds = "5" }', "[data] validation.folds: must be an integer ≥ 2 (the folds per seed), got '5' (str)"),
    ("{ folds = 5, fraction = 0.2 }", "[data] validation.fraction: unknown key; allowed: folds"),
    ("{ k = 5 }", "[data] validation.k: unknown key; allowed: folds"),
    ("{}", "[data] validation: a k-fold table needs 'folds': { folds = k } with an integer k ≥ 2"),
]
BAD_OBJECTIVES = [
    (None, '["test_accuracy"]', "[study] objectives: 'test_accuracy' would select on the test set; name the figure without a split: \"accuracy\""),
    (None, '"test_accuracy"', "by default 20% of the training split held out per seed"),
    ("0.2", '["test_accuracy"]', '(measured on the validation samples under [data] validation), or set [data] validation = "test"'),
    ("{ folds = 5 }", '["test_accuracy", "sparsity"]', "[study] objectives: 'test_accuracy' would select on the test set"),
    (None, '["sparsity"]', "[study] objectives: the first objective must be a figure of the predictions (accuracy, balanced_accuracy, macro_f1, roc_auc, log_loss), got 'sparsity'"),
    (None, '["sparsity", "accuracy"]', "[study] objectives: the first objective must be a figure of the predictions"),
    (None, '["validation_accuracy"]', "[study] objectives: unknown value 'validation_accuracy'; allowed: accuracy, sparsity"),
    ('"test"', '["test_accuracy", "accuracy"]', "[study] objectives: objectives must be distinct"),
]
CASES = [(study_text(value), fragment) for value, fragment in BAD] + [
    (study_text(validation, objectives), fragment) for validation, objectives, fragment in BAD_OBJECTIVES
]
IDS = [f"validation = {v}" for v, _ in BAD] + [f"objectives = {o} under {v or 'the default'}" for v, o, _ in BAD_OBJECTIVES]


@pytest.mark.parametrize(("text", "fragment"), CASES, ids=IDS)
def test_bad_values_are_one_line_naming_the_key(text, fragment):
    with pytest.raises(SpecError) as info:
        parse_spec(text, source="s.toml")
    message = str(info.value)
    assert message.startswith("s.toml: ") and fragment in message and "\n" not in message


@pytest.mark.parametrize(("text", "fragment"), CASES, ids=IDS)
def test_bad_values_through_the_cli_exit_2_and_write_nothing(text, fragment, tmp_path: Path):
    study = tmp_path / "study.toml"
    study.write_text(text)
    before = sorted(p.name for p in tmp_path.iterdir())
    done = CliRunner().invoke(app, ["run", str(study), "--storage", f"sqlite:///{tmp_path / 'test.db'}"], catch_exceptions=False)
    assert done.exit_code == 2
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("actreg-search: error: ")
    assert fragment in done.stderr and done.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no database, nothing else


# --------------------------------------------------------------------------- specs built in Python


@pytest.mark.parametrize(
    "value",
    [0.2, {"folds": 5}, "test", Validation(Protocol.KFOLD, folds=4), Validation("holdout", fraction=0.25), ON_TEST],
    ids=["0.2", "folds 5", "test", "Validation kfold", "Validation with a string protocol", "ON_TEST"],
)
def test_make_spec_takes_every_form(value):
    spec = make_spec("py", data={"validation": value})
    expected = value if isinstance(value, Validation) else parse_spec(study_text(_toml(value))).data.validation
    assert spec.data.validation == dataclasses.replace(expected, protocol=Protocol(expected.protocol))
    assert isinstance(spec.data.validation.protocol, Protocol)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (1.2, "[data] validation: a hold-out fraction must be in (0, 1)"),
        ({"folds": 1}, "[data] validation.folds: must be ≥ 2"),
        (("folds", 5), "[data] validation: must be a hold-out fraction in (0, 1)"),
        (Validation(Protocol.KFOLD, folds=1), "[data] validation.folds: must be ≥ 2"),
        (Validation(Protocol.HOLDOUT), "[data] validation: a hold-out fraction must be a number in (0, 1), got nothing"),
        (Validation("cv", folds=3), "[data] validation: unknown value 'cv'; allowed: holdout, kfold, test"),
    ],
    ids=["1.2", "folds 1", "a tuple", "Validation folds 1", "Validation holdout without a fraction", "Validation cv"],
)
def test_make_spec_refuses_what_a_file_would(value, fragment):
    with pytest.raises(SpecError) as info:
        make_spec("py", data={"validation": value})
    message = str(info.value)
    assert message.startswith("<spec built in Python>: ") and fragment in message and "\n" not in message


def test_check_spec_keeps_and_checks_the_protocol():
    base = parse_spec(study_text())
    kfold = dataclasses.replace(base, data=DataSpec(validation=Validation(Protocol.KFOLD, folds=3)))
    assert check_spec(kfold).data.validation == Validation(Protocol.KFOLD, folds=3)
    assert check_spec(base).data.validation is None  # not said: still to be decided on resume
    with pytest.raises(SpecError, match=r"\[data\] validation: a hold-out fraction must be in \(0, 1\)"):
        check_spec(dataclasses.replace(base, data=DataSpec(validation=Validation(Protocol.HOLDOUT, fraction=2.0))))


def test_make_spec_with_arrays_and_a_protocol():
    x = [[0.0, 1.0], [1.0, 0.0]] * 10
    y = [0, 1] * 10
    spec = make_spec("arrays", data={"loader": (x, y), "validation": {"folds": 4}})
    assert spec.data.name is DatasetName.PYTHON and spec.data.validation == Validation(Protocol.KFOLD, folds=4)


# --------------------------------------------------------------------------- objectives


@pytest.mark.parametrize("validation", [None, "0.2", "{ folds = 5 }", '"test"'])
def test_accuracy_and_sparsity_are_the_names_under_any_protocol(validation):
    spec = parse_spec(study_text(validation, '["accuracy", "sparsity"]'))
    assert spec.study.objectives == (Metric.ACCURACY, Metric.SPARSITY)
    assert parse_spec(study_text(validation)).study.objectives == (Metric.ACCURACY,)  # the default


def test_selection_fields_follow_the_protocol():
    assert parse_spec(study_text('"test"', '["accuracy", "sparsity"]')).selection_fields() == ("test_accuracy", "sparsity")
    held_out = ("validation_accuracy", "validation_sparsity")
    assert parse_spec(study_text("0.2", '["accuracy", "sparsity"]')).selection_fields() == held_out
    assert parse_spec(study_text(None, '["accuracy", "sparsity"]')).selection_fields() == held_out


@pytest.mark.parametrize("objectives", ['["test_accuracy"]', '"test_accuracy"', '["test_accuracy", "sparsity"]'])
def test_the_old_name_reads_as_accuracy_under_test(objectives):
    spec = parse_spec(study_text('"test"', objectives))
    assert spec.study.objectives[0] is Metric.ACCURACY
    assert spec_to_raw(spec)["study"]["objectives"][0] == "accuracy"  # written back in the new spelling
    assert make_spec("py", objectives=["test_accuracy"], data={"validation": "test"}).study.objectives == (Metric.ACCURACY,)


@pytest.mark.parametrize("validation", [None, "test", 0.2, {"folds": 5}])
def test_the_old_name_reads_in_a_stored_spec(validation):
    """A stored spec keeps its old spelling readable whatever it says (before validation existed it said nothing)."""
    raw = spec_to_raw(parse_spec(study_text('"test"', '["accuracy", "sparsity"]')))
    raw["study"]["objectives"] = ["test_accuracy", "sparsity"]
    raw["data"].pop("validation")
    if validation is not None:
        raw["data"]["validation"] = validation
    spec = parse_raw(raw)
    assert spec.study.objectives == (Metric.ACCURACY, Metric.SPARSITY)
    assert spec.validation == (ON_TEST if validation is None else parse_spec(study_text(_toml(validation))).data.validation)


def test_a_stored_spec_of_before_validation_selects_on_the_test_set():
    raw = {"study": {"name": "old", "objectives": ["test_accuracy"]}, "data": {"name": "circles", "train_size": 30}}
    spec = parse_raw(raw)
    assert spec.validation == ON_TEST and spec.selection_fields() == ("test_accuracy",)


@pytest.mark.parametrize("validation", [None, 0.2, {"folds": 5}])
def test_the_old_name_is_refused_in_python_under_a_protocol(validation):
    data = {} if validation is None else {"validation": validation}
    with pytest.raises(SpecError, match="'test_accuracy' would select on the test set"):
        make_spec("py", objectives=["test_accuracy"], data=data)


def _toml(value: object) -> str:
    """A Python value of ``[data] validation`` in TOML."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {v}" for k, v in value.items()) + " }"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)
