from __future__ import annotations

import numpy as np
from sklearn.datasets import make_circles

from actreg_search.spec import DataSpec
from actreg_search.vocab import DatasetName
from actreg_search.data import load_dataset


def test_circles_split_is_the_tutorials():
    data = load_dataset(DataSpec())
    x, y = make_circles(n_samples=100, noise=0.1, random_state=1)
    assert data.x_train.shape == (30, 2) and data.x_test.shape == (70, 2)
    np.testing.assert_allclose(data.x_train, x[:30].astype("float32"))
    np.testing.assert_array_equal(data.y_test, y[30:].astype("float32"))
    assert data.binary and data.input_shape == (2,)


def test_loaded_once_per_worker():
    spec = DataSpec(name=DatasetName.MOONS, n_samples=50, train_size=20)
    assert load_dataset(spec) is load_dataset(DataSpec(name=DatasetName.MOONS, n_samples=50, train_size=20))
    assert load_dataset(spec).x_test.shape == (30, 2)


import pytest

from actreg_search.vocab import Family
from actreg_search.errors import SpecError

DIGITS = DataSpec(name=DatasetName.DIGITS, n_samples=None, noise=None, train_size=0.3, random_state=1)


@pytest.mark.parametrize(("family", "shape"), [(Family.MLP, (64,)), (Family.CNN, (8, 8, 1)), (Family.RNN, (8, 8))])
def test_digits_shaped_per_family(family, shape):
    data = load_dataset(DIGITS, family)
    assert data.input_shape == shape and data.n_classes == 10
    assert len(data.x_train) + len(data.x_test) == 1797
    assert len(data.x_train) == pytest.approx(0.3 * 1797, abs=1)
    assert data.y_train.dtype == np.int32 and 0.0 <= data.x_train.min() and data.x_train.max() <= 1.0


def test_digits_split_is_stratified():
    data = load_dataset(DIGITS, Family.MLP)
    train = np.bincount(data.y_train, minlength=10) / len(data.y_train)
    test = np.bincount(data.y_test, minlength=10) / len(data.y_test)
    np.testing.assert_allclose(train, test, atol=0.01)


def _csv(tmp_path, text: str, **kw) -> DataSpec:
    path = tmp_path / "t.csv"
    path.write_text(text)
    return DataSpec(name=DatasetName.CSV, n_samples=None, noise=None, train_size=kw.pop("train_size", 0.5), path=str(path), target=kw.pop("target", "y"), **kw)


ROWS = "a,b,y\n" + "".join(f"{i},{10 * i % 7},{'yes' if i % 2 else 'no'}\n" for i in range(20))


def test_csv_binary_standardised_on_train_only(tmp_path):
    data = load_dataset(_csv(tmp_path, ROWS))
    assert data.n_classes == 2 and data.y_train.dtype == np.float32
    np.testing.assert_allclose(data.x_train.mean(axis=0), 0.0, atol=1e-6)
    np.testing.assert_allclose(data.x_train.std(axis=0), 1.0, atol=1e-5)
    assert not np.allclose(data.x_test.mean(axis=0), 0.0, atol=1e-6)


def test_csv_multiclass_and_feature_subset(tmp_path):
    text = "a,b,y\n" + "".join(f"{i},{i * i},{i % 3}\n" for i in range(30))
    data = load_dataset(_csv(tmp_path, text, features=("b",)))
    assert data.n_classes == 3 and data.input_shape == (1,) and data.y_train.dtype == np.int32


def test_shipped_csv_example_loads():
    from pathlib import Path

    from actreg_search.parser import load_spec

    spec = load_spec(Path(__file__).resolve().parents[1] / "studies" / "csv_example.toml")
    data = load_dataset(spec.data, spec.model.family)
    assert data.n_classes == 3 and data.input_shape == (6,) and len(data.x_train) == 90


@pytest.mark.parametrize(
    ("text", "kwargs", "fragment"),
    [
        (None, {}, "no such CSV file"),
        (ROWS, {"target": "label"}, "no column 'label'; columns: a, b, y"),
        (ROWS, {"features": ("a", "zz")}, "no column(s) 'zz'"),
        (ROWS.replace("3,2,yes", "3,two,yes"), {}, "column 'b' is not numeric (value 'two')"),
        (ROWS.replace("3,2,yes", "3,,yes"), {}, "missing value in column 'b' (line 5)"),
        ("a,y\n" + "".join(f"{i},same\n" for i in range(10)), {}, "has one class ('same')"),
        ("", {}, "cannot read as CSV"),
    ],
)
def test_csv_errors_are_one_line(tmp_path, text, kwargs, fragment):
    spec = _csv(tmp_path, text or "", **kwargs)
    if text is None:
        (tmp_path / "t.csv").unlink()
    with pytest.raises(SpecError) as info:
        load_dataset(spec)
    assert fragment in str(info.value) and "\n" not in str(info.value)
