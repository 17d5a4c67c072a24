"""Property-based: no study file, however malformed, gives anything but a one-line SpecError."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from actreg_search.parser import parse_raw, parse_spec
from actreg_search.errors import SpecError

KEYS = {
    "study": ["name", "sampler", "n_trials", "seeds", "seed", "storage", "pruner", "bogus"],
    "data": ["name", "n_samples", "noise", "random_state", "train_size"],
    "model": ["family", "hidden_units", "activation", "epochs", "batch_size", "optimizer", "learning_rate", "engine"],
    "space": ["regularizer", "placement", "coefficient", "hidden_units", "l1_coefficient", "l2_coefficient"],
}
WORDS = ["tpe", "grid", "circles", "mlp", "relu", "adam", "l1", "none", "kernel", "pre_activation", "x", ""]
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
        st.dictionaries(st.sampled_from(["low", "high", "log", "step"]), inner, max_size=4),
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
@given(st.text(max_size=200))
def test_any_text_validates_or_fails_in_one_line(text):
    try:
        parse_spec(text, source="fuzz.toml")
    except SpecError as exc:
        assert str(exc).startswith("fuzz.toml: ")
