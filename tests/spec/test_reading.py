"""Reading typed values out of a study file's tables: each problem one line naming the file and the key."""

from __future__ import annotations

import pytest

from actreg_search.errors import SpecError
from actreg_search.spec.reading import STORED, TableReader, show
from actreg_search.spec.vocab import Family

READER = TableReader("study.toml")


@pytest.mark.parametrize(
    ("read", "message"),
    [
        (lambda: READER.integer({"epochs": 0}, "model", "epochs", 1, minimum=1), "study.toml: [model] epochs: must be ≥ 1, got 0"),
        (lambda: READER.integer({"epochs": True}, "model", "epochs", 1, minimum=1), "must be an integer, got True (bool)"),
        (lambda: READER.number({"noise": -0.1}, "data", "noise", 0.1, positive=False), "[data] noise: must be ≥ 0, got -0.1"),
        (lambda: READER.finite(float("inf"), "[data] noise"), "must be finite, got inf"),
        (lambda: READER.enum_value("mlpp", "[model] family", Family), "unknown value 'mlpp'; allowed: mlp, cnn, rnn"),
        (lambda: READER.enum_value(3, "[model] family", Family), "must be a string, one of: mlp, cnn, rnn; got 3 (int)"),
        (lambda: READER.table({"model": {"epoch": 1}}, "model", ("epochs",), required=False), "[model] epoch: unknown key; allowed: epochs"),
        (lambda: READER.table({}, "study", ("name",), required=True), "[study]: missing table"),
        (lambda: READER.distinct_items([1, 1], "[space] units", int), "values must be distinct, got [1, 1]"),
        (lambda: READER.distinct_items([], "[space] units", int), "must not be an empty list"),
    ],
)
def test_each_problem_is_one_line_naming_file_and_key(read, message):
    with pytest.raises(SpecError) as error:
        read()
    assert message in str(error.value) and str(error.value).startswith("study.toml: ") and "\n" not in str(error.value)


def test_typed_values_pass_and_paths_resolve_against_the_study_file(tmp_path):
    assert READER.enum_value(Family.CNN, "[model] family", Family) is Family.CNN
    assert READER.enum_value("rnn", "[model] family", Family) is Family.RNN
    assert READER.distinct_items(3, "[space] units", int) == (3,)
    assert TableReader(str(tmp_path / "s.toml")).resolve("m.py") == str(tmp_path / "m.py")
    assert TableReader(STORED).resolve("m.py") == "m.py"  # a stored spec's paths are kept as they are
    assert (show(None), show("x")) == ("nothing", "'x' (str)")
