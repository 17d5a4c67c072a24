"""Specs from Python values and from the dataclasses, checked as a study file's tables are."""

from __future__ import annotations

import pytest

import actreg_search
from tests.api.stored import arrays


def test_a_bad_value_is_the_study_files_one_line():
    with pytest.raises(actreg_search.SpecError) as error:
        actreg_search.make_spec("bad", space={"placement": ["output"]})
    assert str(error.value).startswith("<spec built in Python>: [space] placement: 'output' does not apply")


def test_a_spec_from_the_dataclasses_is_checked_and_typed():
    from actreg_search.spec.vocab import Family, Regularizer

    spec = actreg_search.StudySpec(
        study=actreg_search.StudySection(name="hand", seeds=(0, 1)),
        data=actreg_search.DataSpec(),
        model=actreg_search.ModelSpec(family="cnn", hidden_units=4),
        space=actreg_search.SpaceSpec(regularizer=actreg_search.Choice(("none", "l1")), placement=actreg_search.Choice(("kernel",))),
    )
    checked = actreg_search.check_spec(spec)
    assert checked.model.family is Family.CNN and checked.space.regularizer.values == (Regularizer.NONE, Regularizer.L1)
    with pytest.raises(actreg_search.SpecError, match="csv data is tabular"):
        actreg_search.check_spec(
            actreg_search.StudySpec(
                study=spec.study, data=actreg_search.DataSpec(name="csv", path="x.csv", target="y"),
                model=spec.model, space=spec.space,
            )
        )


def test_arrays_are_named_by_shape_and_contents():
    x, y = arrays()
    same, other = actreg_search.Arrays(x, y), actreg_search.Arrays(x, 1 - y)
    assert same == actreg_search.Arrays(x.copy(), y.copy()) and hash(same) == hash(actreg_search.Arrays(x, y))
    assert same != other and same.__qualname__.startswith("Arrays(60x3, 60; sha1 ")
    assert same() == same.arrays
    with pytest.raises(actreg_search.SpecError, match="give \\(x, y\\) or"):
        actreg_search.Arrays(x)
