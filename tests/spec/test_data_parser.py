"""The [data] table: npz and python datasets, their keys, and how a spec holding a loader is stored."""

from __future__ import annotations

import dataclasses

import pytest

from actreg_search.errors import SpecError
from actreg_search.spec.parser import load_spec, parse_raw, parse_spec
from actreg_search.spec.specs import DataSpec, spec_to_raw
from actreg_search.spec.vocab import DatasetName

VALID = '[study]\nname = "x"\n'


def load(tmp_path, data: str, model: str = ""):
    (tmp_path / "sub").mkdir(exist_ok=True)
    study = tmp_path / "sub" / "s.toml"
    study.write_text(VALID + "[data]\n" + data + "\n" + model)
    return load_spec(study)


def test_npz_path_is_relative_to_the_study_file(tmp_path):
    spec = load(tmp_path, 'name = "npz"\npath = "data/x.npz"\ntrain_size = 0.75\nrandom_state = 3')
    assert spec.data == DataSpec(
        name=DatasetName.NPZ, n_samples=None, noise=None, random_state=3, train_size=0.75,
        path=str(tmp_path / "sub" / "data" / "x.npz"),
    )


def test_python_loader_file_is_relative_to_the_study_file(tmp_path):
    spec = load(tmp_path, 'name = "python"\nloader = "../my_data.py:load"\ntrain_size = 40')
    assert spec.data.loader == f"{tmp_path / 'my_data.py'}:load" and spec.data.train_size == 40
    assert spec.data.path is None


def test_nothing_is_opened_or_run_while_parsing(tmp_path):
    """The files need not exist to parse: they are read (and the loader run) only by a run that trains."""
    assert load(tmp_path, 'name = "python"\nloader = "absent.py:load"').data.loader.endswith("absent.py:load")
    assert load(tmp_path, 'name = "npz"\npath = "absent.npz"').data.path.endswith("absent.npz")


def test_a_spec_holding_a_loader_function_stores_its_name_never_its_code():
    def make_arrays():
        return None

    spec = dataclasses.replace(parse_spec(VALID), data=DataSpec(name=DatasetName.PYTHON, loader=make_arrays, train_size=0.5))
    raw = spec_to_raw(spec)
    assert raw["data"]["loader"] == f"{__name__}:test_a_spec_holding_a_loader_function_stores_its_name_never_its_code.<locals>.make_arrays"
    back = parse_raw(raw)  # the reading side: a "module:qualname" text, never imported
    assert back.data.name is DatasetName.PYTHON and back.data.loader == raw["data"]["loader"]


@pytest.mark.parametrize(
    "data",
    ['name = "npz"\npath = "/abs/x.npz"', 'name = "python"\nloader = "/abs/my_data.py:load"\ntrain_size = 0.3'],
)
def test_round_trip_through_raw(data):
    spec = parse_spec(VALID + "[data]\n" + data).resolved(None)  # a study is stored with its protocol said
    assert parse_raw(spec_to_raw(spec)).data == spec.data


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ('name = "npz"', "[data] path: must be a non-empty string, got nothing"),
        ('name = "npz"\npath = 3', "[data] path: must be a non-empty string, got 3 (int)"),
        ('name = "npz"\npath = "x.npz"\ntarget = "y"', "[data] target: does not apply to dataset 'npz'"),
        ('name = "npz"\npath = "x.npz"\nloader = "a.py:f"', "[data] loader: does not apply to dataset 'npz'"),
        ('name = "npz"\npath = "x.npz"\nnoise = 0.1', "[data] noise: does not apply to dataset 'npz'"),
        ('name = "npz"\npath = "x.npz"\ntrain_size = 1.5', "[data] train_size: a fraction must be in (0, 1)"),
        ('name = "python"', '[data] loader: dataset "python" needs loader = "file.py:function"'),
        ('name = "python"\nloader = "my_data.py"', "[data] loader: must be \"file.py:function\""),
        ('name = "python"\nloader = "my_data:load"', "[data] loader: must be \"file.py:function\""),
        ('name = "python"\nloader = "my_data.py:load()"', "[data] loader: must be \"file.py:function\""),
        ('name = "python"\nloader = 1', "[data] loader: must be \"file.py:function\", got 1 (int)"),
        ('name = "python"\nloader = "d.py:load"\npath = "x.npz"', "[data] path: does not apply to dataset 'python'"),
        ('name = "circles"\nloader = "d.py:load"', "[data] loader: does not apply to dataset 'circles'"),
        ('name = "csv"\npath = "x.csv"\ntarget = "y"\nloader = "d.py:f"', "[data] loader: does not apply to dataset 'csv'"),
        ('name = "mnist"', "[data] name: unknown value 'mnist'; allowed: circles, moons, digits, diabetes, friedman1, make_classification, breast_cancer, wine, sequences, csv, npz, python"),
    ],
)
def test_data_errors_name_the_key_and_what_is_allowed(data, fragment):
    with pytest.raises(SpecError) as info:
        parse_spec(VALID + "[data]\n" + data)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_npz_and_python_data_go_with_any_built_in_family():
    """The shape of the arrays is checked against the family when they are loaded, not here."""
    for family in ("mlp", "cnn", "rnn"):
        spec = parse_spec(VALID + f'[data]\nname = "npz"\npath = "x.npz"\n[model]\nfamily = "{family}"\n')
        assert spec.data.name is DatasetName.NPZ
