"""The spec dataclasses: a spec as a study file's tables, plain or typed, and what two specs set differently."""

from __future__ import annotations

import dataclasses

import actreg_search
from actreg_search.spec.parser import parse_raw
from actreg_search.spec.differences import spec_differences
from actreg_search.spec.specs import RUN_SETTINGS, Range, spec_tables, spec_to_raw
from actreg_search.spec.vocab import Family, Regularizer


def _loader():
    raise AssertionError("never called: a spec only names it")


SPEC = actreg_search.make_spec(
    "tables", data={"loader": _loader, "validation": 0.2}, model={"family": "cnn", "filters": 6, "epochs": 3},
    space={"regularizer": ["none", "l1"], "placement": ["kernel"], "coefficient": {"low": 1e-5, "high": 1e-2, "log": True}},
)


def test_plain_tables_are_what_a_study_file_writes_and_read_back_to_the_same_spec():
    raw = spec_to_raw(SPEC)
    assert raw["model"]["family"] == "cnn" and raw["model"]["filters"] == 6 and "hidden_units" not in raw["model"]
    assert raw["space"]["regularizer"] == ["none", "l1"] and raw["space"]["placement"] == "kernel"
    assert raw["space"]["coefficient"] == {"low": 1e-5, "high": 1e-2, "log": True}
    assert raw["data"]["loader"].endswith("_loader")  # a function: its name, never its code
    back = parse_raw(raw)  # as a stored spec: a function named "module:qualname" is read, never run
    assert spec_differences(back, SPEC) == []


def test_typed_tables_keep_enums_and_functions():
    typed = spec_tables(SPEC, plain=False)
    assert typed["model"]["family"] is Family.CNN
    assert typed["space"]["regularizer"] == [Regularizer.NONE, Regularizer.L1]
    assert typed["data"]["loader"] is _loader
    assert "storage" not in typed["study"]


def test_differences_name_each_key_and_both_values_and_leave_run_settings_out():
    other = dataclasses.replace(
        SPEC,
        study=dataclasses.replace(SPEC.study, n_trials=99, seeds=(0, 1)),
        space=dataclasses.replace(SPEC.space, coefficient=Range(1e-4, 1e-2, log=True, integer=False)),
    )
    found = spec_differences(other, SPEC, ignore=RUN_SETTINGS)
    assert [(d.describe(), d.ours, d.theirs) for d in found] == [
        ("[study] seeds", [0, 1], list(SPEC.study.seeds)),
        ("[space] coefficient", {"low": 1e-4, "high": 1e-2, "log": True}, {"low": 1e-5, "high": 1e-2, "log": True}),
    ]
    assert [d.describe() for d in spec_differences(other, SPEC)][:1] == ["[study] n_trials"]
