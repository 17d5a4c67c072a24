"""Property-based: no study file, however malformed, gives anything but a one-line SpecError."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from actreg_search.spec.parser import parse_raw, parse_spec
from actreg_search.errors import SpecError
from actreg_search.spec.specs import spec_to_raw
from actreg_search.spec.vocab import Metric

KEYS = {
    "study": ["name", "sampler", "n_trials", "seeds", "seed", "storage", "pruner", "objectives", "bogus"],
    "data": ["name", "n_samples", "noise", "random_state", "train_size", "validation"],
    "model": ["family", "hidden_units", "activation", "epochs", "batch_size", "optimizer", "learning_rate", "engine"],
    "space": ["regularizer", "placement", "coefficient", "hidden_units", "l1_coefficient", "l2_coefficient"],
}
WORDS = [
    "tpe", "grid", "circles", "mlp", "relu", "adam", "l1", "none", "kernel", "pre_activation", "x", "",
    "accuracy", "sparsity", "test_accuracy", "test",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-10**6, max_value=10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(WORDS),
    st.text(max_size=8),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(["low", "high", "log", "step", "folds"]), inner, max_size=4),
    ),
    max_leaves=8,
)
tables = st.fixed_dictionaries(
    {},
    optional={
        table: st.one_of(st.dictionaries(st.sampled_from(keys), values, max_size=len(keys)), scalars)
        for table, keys in KEYS.items()
    },
)


@settings(max_examples=300, deadline=None)
@given(tables)
def test_any_structure_validates_or_fails_in_one_line(raw):
    try:
        parse_raw(raw, source="fuzz.toml")
    except SpecError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("fuzz.toml: ")


@settings(max_examples=200, deadline=None)
@given(tables)
def test_any_stored_structure_validates_or_fails_in_one_line(raw):
    """A stored spec reads by its own rules (a missing protocol is the test set, test_accuracy is accuracy)."""
    try:
        spec = parse_raw(raw)
    except SpecError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("<stored spec>: ")
    else:
        assert spec.data.validation is not None


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(values.filter(lambda v: v is not None), st.sampled_from(["test", 0.2, 0.5, {"folds": 2}, {"folds": 10}])),
    st.sampled_from([None, ["accuracy"], ["test_accuracy"], ["accuracy", "sparsity"], ["test_accuracy", "sparsity"]]),
)
def test_any_validation_round_trips_or_fails_in_one_line(validation, objectives):
    study = {"name": "v", **({} if objectives is None else {"objectives": objectives, "sampler": "nsga2"})}
    try:
        spec = parse_raw({"study": study, "data": {"validation": validation}}, source="fuzz.toml")
    except SpecError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("fuzz.toml: ")
        return
    assert spec.data.validation is not None  # said, so never left to the default
    assert parse_raw(spec_to_raw(spec)) == spec
    assert spec.study.objectives[0] is Metric.ACCURACY


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_any_text_validates_or_fails_in_one_line(text):
    try:
        parse_spec(text, source="fuzz.toml")
    except SpecError as exc:
        assert str(exc).startswith("fuzz.toml: ")
