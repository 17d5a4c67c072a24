from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sklearn.datasets import make_circles

from actreg_search.spec.specs import DataSpec
from actreg_search.spec.vocab import DatasetName
from actreg_search.data.datasets import load_dataset


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

from actreg_search.spec.vocab import Family
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

    from actreg_search.spec.parser import load_spec

    spec = load_spec(Path(__file__).resolve().parents[2] / "studies" / "csv_example.toml")
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


# --------------------------------------------------------------------------- a user's arrays: npz and python

from click.testing import CliRunner

from actreg_search.cli import app
from actreg_search.data.datasets import dataset_for
from actreg_search.errors import UserCodeError

STUDIES = Path(__file__).resolve().parents[2] / "studies"
RNG = np.random.default_rng(0)


def _arrays(n_train: int = 24, n_test: int = 12, shape: tuple[int, ...] = (3,), classes: int = 2) -> dict[str, np.ndarray]:
    return {
        "x_train": RNG.normal(size=(n_train, *shape)),
        "y_train": np.arange(n_train) % classes,
        "x_test": RNG.normal(size=(n_test, *shape)),
        "y_test": np.arange(n_test) % classes,
    }


def _npz(tmp_path, arrays: dict, name: str = "d.npz", **kw) -> DataSpec:
    path = tmp_path / name
    np.savez(path, **arrays)
    return DataSpec(name=DatasetName.NPZ, n_samples=None, noise=None, path=str(path), train_size=kw.pop("train_size", 0.5), **kw)


def test_npz_four_arrays_used_as_given(tmp_path):
    arrays = _arrays()
    data = load_dataset(_npz(tmp_path, arrays))
    np.testing.assert_array_equal(data.x_train, arrays["x_train"].astype("float32"))
    assert data.x_train.dtype == np.float32 and data.x_test.shape == (12, 3)
    assert data.binary and data.y_train.dtype == np.float32  # one sigmoid output
    np.testing.assert_array_equal(data.y_test, arrays["y_test"].astype("float32"))


def test_npz_string_labels_encoded_in_sorted_order_over_both_splits(tmp_path):
    arrays = _arrays(classes=3)
    names = np.array(["cat", "dog", "emu"])
    arrays["y_train"], arrays["y_test"] = names[arrays["y_train"]], names[arrays["y_test"]]
    data = load_dataset(_npz(tmp_path, arrays))
    assert data.n_classes == 3 and data.y_train.dtype == np.int32  # softmax
    np.testing.assert_array_equal(data.y_train, np.arange(24) % 3)


def test_npz_x_y_split_stratified_like_digits(tmp_path):
    x, y = RNG.normal(size=(40, 2)), np.repeat([0.0, 1.0, 2.0, 3.0], 10)  # whole-number floats are classes
    spec = _npz(tmp_path, {"x": x, "y": y}, train_size=0.5, random_state=3)
    data = load_dataset(spec)
    assert len(data.x_train) == 20 and data.n_classes == 4
    np.testing.assert_array_equal(np.bincount(data.y_train), [5, 5, 5, 5])
    again = load_dataset(dataclasses.replace(spec, train_size=0.5000001, random_state=3))
    np.testing.assert_array_equal(again.y_train, data.y_train)  # random_state fixes the split


@pytest.mark.parametrize(("family", "shape"), [(Family.MLP, (5,)), (Family.CNN, (4, 4, 1)), (Family.RNN, (6, 2))])
def test_npz_samples_keep_their_shape(tmp_path, family, shape):
    assert load_dataset(_npz(tmp_path, _arrays(shape=shape)), family).input_shape == shape


def test_users_model_takes_any_shape(tmp_path):
    spec = _npz(tmp_path, _arrays(shape=(4, 4, 1)))
    assert load_dataset(spec, Family.MLP, builtin=False).input_shape == (4, 4, 1)
    with pytest.raises(SpecError, match="built-in 'mlp' model needs 2-D x"):
        load_dataset(spec, Family.MLP)


def _set(arrays: dict, **changes) -> dict:
    out = {**arrays, **changes}
    return {k: v for k, v in out.items() if v is not None}


def _with(name: str, index, value) -> Callable:
    def change(arrays: dict) -> dict:
        array = arrays[name].astype("float64")
        array[index] = value
        return {**arrays, name: array}

    return change


BASE = _arrays()
BAD_NPZ = [
    (_set(BASE, y_test=None), "missing array(s) y_test; the file holds x_train, y_train, x_test; allowed: x_train"),
    ({"x": BASE["x_train"]}, "missing array(s) y; the file holds x"),
    (_set(BASE, extra=np.zeros(3)), "unexpected array(s) extra"),
    ({**BASE, "x": BASE["x_train"], "y": BASE["y_train"]}, "unexpected array(s) x, y"),
    (_set(BASE, y_train=BASE["y_train"][:-1]), "x_train has 24 samples but y_train has 23; they must match"),
    (_set(BASE, y_test=np.zeros(13)), "x_test has 12 samples but y_test has 13"),
    (_with("x_train", (3, 1), np.nan)(BASE), "x_train holds NaN (sample 3); features must be finite"),
    (_with("x_test", (5, 0), -np.inf)(BASE), "x_test holds inf (sample 5)"),
    (_with("x_test", (2, 0), 1e300)(BASE), "x_test holds a value beyond float32's range (sample 2)"),
    (_set(BASE, y_train=np.zeros(24)), "y_train has one class (0); need at least 2"),
    (_set(BASE, y_train=np.linspace(0, 1, 24)), "not a whole number: a continuous target"),
    (_set(BASE, y_train=np.arange(24), y_test=np.arange(12) + 24), "36 distinct labels in 36 samples"),
    (_with("y_train", 4, np.nan)(BASE), "y_train holds nan (sample 4); labels must be class labels"),
    (_set(BASE, x_train=np.zeros(24)), "x_train has shape (24,); features need one row per sample"),
    (_set(BASE, y_train=np.eye(2)[BASE["y_train"]]), "labels must be one class per sample, shape (samples,) (one-hot"),
    (_set(BASE, x_test=np.full((12, 3), "a")), "x_test must hold numbers (int, float or bool), got dtype <U1"),
    (_set(BASE, x_test=np.zeros((12, 4))), "x_train samples have shape (3,) but x_test samples (4,)"),
    (_set(BASE, y_test=np.array(["a", "b"] * 6)), "y_train and y_test hold labels of different kinds"),
    ({"x": np.zeros((3, 2)), "y": np.array([0, 1, 1])}, "[data] train_size 0.5: cannot split 3 rows"),
    (_set(BASE, x_train=np.zeros((1, 3)), y_train=np.zeros(1)), "x_train has 1 sample(s); need at least 2"),
    (_set(BASE, x_test=np.zeros((0, 3)), y_test=np.zeros(0)), "x_test has no samples; need at least 1"),
]


@pytest.mark.parametrize(("arrays", "fragment"), BAD_NPZ)
def test_bad_npz_is_one_line_naming_file_and_array(tmp_path, arrays, fragment):
    spec = _npz(tmp_path, arrays)
    with pytest.raises(SpecError) as info:
        load_dataset(spec)
    message = str(info.value)
    assert fragment in message and "\n" not in message and message.startswith(str(tmp_path / "d.npz"))


def test_npz_files_that_are_not_npz(tmp_path):
    spec = DataSpec(name=DatasetName.NPZ, n_samples=None, noise=None, path=str(tmp_path / "gone.npz"), train_size=0.5)
    with pytest.raises(SpecError, match=r"gone.npz: \[data\] path: no such .npz file"):
        load_dataset(spec)
    (tmp_path / "text.npz").write_text("x,y\n1,2\n")
    with pytest.raises(SpecError, match="not an .npz file"):
        load_dataset(dataclasses.replace(spec, path=str(tmp_path / "text.npz")))
    objects = _npz(tmp_path, {**BASE, "y_train": np.array([{"a": 1}] * 24, dtype=object)}, name="objects.npz")
    with pytest.raises(SpecError, match=r"holds object \(pickled\) arrays"):  # never unpickled
        load_dataset(objects)
    with pytest.raises(SpecError, match="holds no arrays"):
        load_dataset(_npz(tmp_path, {}, name="empty.npz"))


def _loader(tmp_path, body: str, name: str = "load") -> DataSpec:
    path = tmp_path / "my_data.py"
    path.write_text("import numpy as np\n\n" + body)
    return DataSpec(name=DatasetName.PYTHON, n_samples=None, noise=None, train_size=0.5, loader=f"{path}:{name}")


def test_python_loader_file_and_function(tmp_path):
    body = "def load():\n    rng = np.random.default_rng(0)\n    return rng.normal(size=(30, 8, 8)), np.arange(30) % 3\n"
    data = load_dataset(_loader(tmp_path, body), Family.RNN)
    assert data.input_shape == (8, 8) and data.n_classes == 3 and len(data.x_train) == 15


def test_python_loader_callable_and_dict():
    arrays = _arrays()
    spec = DataSpec(name=DatasetName.PYTHON, n_samples=None, noise=None, train_size=0.5, loader=lambda: arrays)
    np.testing.assert_array_equal(load_dataset(spec).x_test, arrays["x_test"].astype("float32"))
    listed = DataSpec(name=DatasetName.PYTHON, loader=lambda: [arrays[k] for k in ("x_train", "y_train", "x_test", "y_test")])
    assert load_dataset(listed).input_shape == (3,)


BAD_LOADERS = [
    ("def other():\n    pass\n", SpecError, "my_data.py has no function 'load'"),
    ("def load():\n    raise ValueError('no such table\\nsecond line')\n", UserCodeError,
     "my_data.py:load raised ValueError: no such table second line"),
    ("raise ImportError('module top fails')\n", UserCodeError, "raised ImportError: module top fails"),
    ("def load():\n    return np.zeros((4, 2)), np.zeros(4), np.zeros(4)\n", SpecError,
     "my_data.py:load: the loader returned a tuple of 3; it must return (x_train, y_train, x_test, y_test), (x, y)"),
    ("def load():\n    return None\n", SpecError, "the loader returned a NoneType"),
    ("def load():\n    return {'x': np.zeros((4, 2))}\n", SpecError, "missing array(s) y; the loader returned x"),
    ("def load():\n    return np.full((4, 2), np.nan), np.array([0, 1, 0, 1])\n", SpecError, "x holds NaN (sample 0)"),
    ("def load():\n    return np.zeros((4, 2)), np.array([0.5, 1.5, 0, 1])\n", SpecError, "a continuous target"),
]


@pytest.mark.parametrize(("body", "error", "fragment"), BAD_LOADERS)
def test_bad_loader_is_one_line_naming_file_and_function(tmp_path, body, error, fragment):
    with pytest.raises(error) as info:
        load_dataset(_loader(tmp_path, body))
    assert fragment in str(info.value) and "\n" not in str(info.value) and "Traceback" not in str(info.value)


def test_loader_file_missing(tmp_path):
    spec = DataSpec(name=DatasetName.PYTHON, loader=f"{tmp_path / 'nowhere.py'}:load")
    with pytest.raises(SpecError, match=r"\[data\] loader: no such file .*nowhere.py"):
        load_dataset(spec)


@pytest.mark.parametrize("study", ["npz_example.toml", "python_loader.toml"])
def test_shipped_user_data_examples_load(study):
    from actreg_search.spec.parser import load_spec

    spec = load_spec(STUDIES / study)
    data = dataset_for(spec)
    assert len(data.x_train) >= 200 and data.x_train.dtype == np.float32
    assert data.input_shape == {"npz_example.toml": (8, 8, 1), "python_loader.toml": (30,)}[study]


def test_shipped_npz_is_what_its_script_makes(tmp_path, monkeypatch):
    import runpy

    script = runpy.run_path(str(STUDIES / "data" / "make_npz_example.py"))  # defines, does not run, main()
    monkeypatch.setitem(script["main"].__globals__, "OUT", tmp_path / "again.npz")
    script["main"]()
    with np.load(tmp_path / "again.npz") as made, np.load(STUDIES / "data" / "digits_images.npz") as shipped:
        assert sorted(made.files) == sorted(shipped.files) == sorted(["x_train", "y_train", "x_test", "y_test"])
        for key in made.files:
            np.testing.assert_array_equal(made[key], shipped[key])


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ('name = "npz"\npath = "d.npz"', "d.npz: missing array(s) y_test; the file holds x_train, y_train, x_test"),
        ('name = "python"\nloader = "my_data.py:load"', "my_data.py:load raised RuntimeError: no data"),
        ('name = "python"\nloader = "my_data.py:absent"', "has no function 'absent'"),
    ],
)
def test_run_refuses_bad_data_before_storage_is_touched(tmp_path, data, fragment):
    np.savez(tmp_path / "d.npz", **{k: v for k, v in BASE.items() if k != "y_test"})
    (tmp_path / "my_data.py").write_text("def load():\n    raise RuntimeError('no data')\n")
    study = tmp_path / "study.toml"
    study.write_text(f'[study]\nname = "bad"\nseeds = 1\nn_trials = 1\n[data]\n{data}\n[model]\nhidden_units = 2\nepochs = 1\n')
    db = tmp_path / "never.db"
    done = CliRunner().invoke(app, ["run", str(study), "--storage", f"sqlite:///{db}"], catch_exceptions=False)
    assert done.exit_code == 2, done.output
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("actreg-search: error: ") and fragment in lines[0], lines
    assert not db.exists() and done.stdout == ""


def test_a_spec_built_in_python_needs_its_path_or_loader():
    with pytest.raises(SpecError, match='dataset "npz" needs the path'):
        load_dataset(DataSpec(name=DatasetName.NPZ))
    with pytest.raises(SpecError, match='dataset "python" needs a loader'):
        load_dataset(DataSpec(name=DatasetName.PYTHON))
    assert DataSpec(name=DatasetName.PYTHON).n_samples is None  # the generators' keys do not apply


def test_a_users_model_gets_the_arrays_as_given(tmp_path):
    """dataset_for (what run and export --model load): a builder's Dense layers may take images; a built-in mlp may not."""
    from actreg_search.spec.parser import parse_spec

    np.savez(tmp_path / "d.npz", **_arrays(shape=(4, 4, 1)))
    text = f'[study]\nname = "x"\n[data]\nname = "npz"\npath = "{tmp_path / "d.npz"}"\n'
    assert dataset_for(parse_spec(text + '[model]\nbuilder = "/nowhere/b.py:build"\n')).input_shape == (4, 4, 1)
    with pytest.raises(SpecError, match="the built-in 'mlp' model needs 2-D x"):
        dataset_for(parse_spec(text))


# -- regression and autoencoder tasks

from sklearn.datasets import load_diabetes, make_friedman1

from actreg_search.data.splits import check_splits
from actreg_search.data.user_arrays import call_loader
from actreg_search.spec.parser import parse_spec
from actreg_search.spec.specs import Validation
from actreg_search.spec.vocab import Protocol, Task


def test_regression_data_keeps_its_targets_units_and_each_fold_standardizes_on_its_own_samples():
    diabetes = load_dataset(DataSpec(name=DatasetName.DIABETES, train_size=0.5, validation=Validation(Protocol.KFOLD, folds=4)), task=Task.REGRESSION)
    assert diabetes.n_classes == 1 and diabetes.y_train.dtype == np.float32 and not diabetes.stratified
    assert sorted(np.concatenate([diabetes.y_train, diabetes.y_test])) == pytest.approx(sorted(load_diabetes().target))
    fold = diabetes.folds(3)[1]
    view = diabetes.fold(fold)
    own = diabetes.y_train[fold.fit].astype(np.float64)
    assert (view.center, view.spread) == pytest.approx((own.mean(), own.std()))  # never the validation samples'
    assert view.center != pytest.approx(diabetes.y_train.astype(np.float64).mean(), abs=1e-3)
    friedman = load_dataset(DataSpec(name=DatasetName.FRIEDMAN1, n_samples=80, noise=1.0, train_size=50), task=Task.REGRESSION)
    x, y = make_friedman1(n_samples=80, noise=1.0, random_state=1)
    np.testing.assert_allclose(friedman.y_test, y[50:].astype(np.float32))
    assert friedman.scale() == pytest.approx((y[:50].mean(), y[:50].std()), rel=1e-6)


def test_an_autoencoders_targets_are_its_inputs_and_user_arrays_may_give_x_alone():
    spec = parse_spec('[study]\nname = "ae"\ntask = "autoencoder"\n[data]\nname = "digits"\nvalidation = 0.25\n')
    data = dataset_for(spec)
    assert data.n_classes == 0 and data.y_train is data.x_train and data.fold(data.folds(0)[0]).spread == 1.0
    x = np.random.default_rng(0).random((20, 5))
    arrays = call_loader(lambda: {"x_train": x[:15], "x_test": x[15:]}, Task.AUTOENCODER)
    assert arrays.split and arrays.y[1] is arrays.x[1]


def test_regression_targets_from_user_arrays_and_csv_and_the_refusals_that_name_the_task(tmp_path: Path):
    x = np.random.default_rng(1).random((30, 3))
    y = x @ np.array([1.5, -2.0, 0.5]) + 0.25
    arrays = call_loader(lambda: (x, y), Task.REGRESSION)
    assert arrays.y[0].dtype == np.float32 and arrays.y[0] == pytest.approx(y)
    with pytest.raises(SpecError, match=r'a continuous target; set \[study\] task = "regression" for one'):
        call_loader(lambda: (x, y))
    with pytest.raises(SpecError, match="targets must be finite numbers"):
        call_loader(lambda: (x, np.where(np.arange(30) == 4, np.nan, y)), Task.REGRESSION)
    table = tmp_path / "t.csv"
    table.write_text("a,b,c,price\n" + "\n".join(f"{r[0]},{r[1]},{r[2]},{v}" for r, v in zip(x, y)))
    csv = load_dataset(DataSpec(name=DatasetName.CSV, path=str(table), target="price", train_size=20), task=Task.REGRESSION)
    assert sorted(np.concatenate([csv.y_train, csv.y_test])) == pytest.approx(sorted(y), rel=1e-6)


def test_splits_without_classes_are_checked_on_sample_counts():
    y = np.linspace(0.0, 1.0, 9)
    check_splits(y, Validation(Protocol.KFOLD, folds=4), (0,), stratify=False)
    with pytest.raises(SpecError, match="5 folds of 9 training samples leave a fold fewer than 2; use at most 4 folds"):
        check_splits(y, Validation(Protocol.KFOLD, folds=5), (0,), stratify=False)
    with pytest.raises(SpecError, match="each side needs at least 2 samples: use a fraction between 0.23 and 0.77"):
        check_splits(y, Validation(Protocol.HOLDOUT, fraction=0.1), (0,), stratify=False)


# -- the atlas' datasets

from sklearn.datasets import load_wine, make_classification

from actreg_search.data.datasets import SEQUENCE_STEPS, make_sequences


def test_generated_and_bundled_classifications_are_scikit_learns():
    generated = load_dataset(DataSpec(name=DatasetName.MAKE_CLASSIFICATION, n_samples=120, noise=0.0, train_size=80))
    x, y = make_classification(n_samples=120, n_features=40, n_informative=4, n_redundant=0, flip_y=0.0, random_state=1)
    np.testing.assert_allclose(generated.x_test, x[80:].astype(np.float32))
    np.testing.assert_array_equal(generated.y_train, y[:80].astype(np.float32))
    wine = load_dataset(DataSpec(name=DatasetName.WINE, train_size=0.5))
    assert wine.n_classes == 3 and wine.x_train.shape[1] == 13 and len(wine.y_train) + len(wine.y_test) == len(load_wine().target)
    np.testing.assert_allclose(wine.x_train.mean(axis=0), 0.0, atol=1e-5)  # standardized on the training split only
    assert abs(float(wine.x_test.mean())) > 1e-4


def test_sequences_carry_their_class_in_their_frequency():
    """Noise-free series: the strongest frequency of each (a NumPy FFT, zero-padded for resolution) falls in its
    class's band, 1-2 cycles for class 0 and 2.5-3.5 for class 1; the classes are balanced; rnn-shaped by family."""
    x, y = make_sequences(200, 0.0, random_state=3)
    assert x.shape == (200, SEQUENCE_STEPS) and np.bincount(y).tolist() == [100, 100]
    spectrum = np.abs(np.fft.rfft(x, n=40 * SEQUENCE_STEPS, axis=1))
    cycles = np.fft.rfftfreq(40 * SEQUENCE_STEPS, d=1 / SEQUENCE_STEPS)[spectrum.argmax(axis=1)]
    assert np.all(cycles[y == 0] < 2.3) and np.all(cycles[y == 1] > 2.2)
    spec = DataSpec(name=DatasetName.SEQUENCES, n_samples=60, noise=0.5, train_size=40)
    assert load_dataset(spec, Family.RNN).input_shape == (SEQUENCE_STEPS, 1) and load_dataset(spec).input_shape == (SEQUENCE_STEPS,)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('name = "wine"\n[model]\nfamily = "cnn"', "[data] name: wine data is tabular: family must be mlp, not 'cnn'"),
        ('name = "sequences"\n[model]\nfamily = "cnn"', "sequences are series of one feature: family must be rnn or mlp"),
        ('name = "make_classification"\nnoise = 1.5', "the share of labels flipped, in [0, 1]; got 1.5"),
    ],
)
def test_the_atlas_datasets_refuse_what_they_cannot_serve(text, fragment):
    with pytest.raises(SpecError, match=re.escape(fragment)):
        parse_spec('[study]\nname = "d"\n[data]\n' + text + "\n")
