"""The public Python API: every example of docs/api.md runs, and the API's own promises hold.

The page's examples run in order, in a temporary folder holding a copy of
``studies/``, each as its own test (real TensorFlow, tiny settings), on a copy
of the namespace the examples before it left: an example that fails leaves
nothing half-done behind, and the examples after it are skipped naming it,
instead of failing on what it left undone. The other tests use the fake
engine: no TensorFlow.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import actreg_search
from actreg_search.api import views
from tests.fakes import FakeEngine

ROOT = Path(__file__).resolve().parents[2]
PAGE = (ROOT / "docs" / "api.md").read_text()
EXAMPLES = re.findall(r"```python\n(.*?)\n```", PAGE, flags=re.S)


def _example_id(index: int) -> str:
    first = next(line for line in EXAMPLES[index].splitlines() if line.strip() and not line.startswith("import"))
    return f"{index + 1}:{first.strip()[:40]}"


# --------------------------------------------------------------------------- the page


class Tour:
    """The page's examples run so far, in order, in one folder; the namespace the last success left."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.namespace: dict[str, Any] = {"__name__": "api_tour"}
        self.ran = 0
        self.failed: int | None = None

    def run(self, index: int) -> None:
        """Run the examples before ``index`` not run yet, then example ``index``, each on a copy of the namespace.

        A failing example's namespace is dropped; every later example is skipped, naming the one that failed.
        """
        while self.ran <= index:
            if self.failed is not None:
                pytest.skip(f"example {self.failed + 1} of docs/api.md failed, and this one runs on what it leaves")
            i, self.ran = self.ran, self.ran + 1
            namespace = dict(self.namespace)
            try:
                exec(compile(EXAMPLES[i], f"docs/api.md example {i + 1}", "exec"), namespace)
            except BaseException:
                self.failed = i
                raise
            self.namespace = namespace


@pytest.fixture(scope="module")
def tour(tmp_path_factory: pytest.TempPathFactory) -> Tour:
    folder = tmp_path_factory.mktemp("api-tour")
    shutil.copytree(ROOT / "studies", folder / "studies")
    return Tour(folder)


def test_the_page_has_examples():
    assert len(EXAMPLES) >= 8


@pytest.mark.parametrize("index", range(len(EXAMPLES)), ids=_example_id)
def test_every_example_of_the_page_runs(index: int, tour: Tour, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tour.folder)
    monkeypatch.delenv("ACTREG_STORAGE", raising=False)
    tour.run(index)


def test_the_readme_python_lines_name_the_api():
    """The README's "Your own model" Python lines call functions and methods that exist."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Your own model", 1)[1].split("\n## ", 1)[0]
    (code,) = [c for c in re.findall(r"```python\n(.*?)\n```", section, flags=re.S) if "import actreg_search" in c]
    assert len(code.splitlines()) == 3
    tree = ast.parse(code)
    called = {n.func.attr for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)}
    api = {n for n in called if hasattr(actreg_search, n)}
    methods = called - api - {"show", "write_html"}
    assert {"run", "load"} <= api
    assert all(hasattr(actreg_search.Results, m) for m in methods), methods


# --------------------------------------------------------------------------- the package


def test_importing_the_package_imports_no_heavy_library():
    """``actreg-search list`` imports the package: the API's names come only on first use."""
    code = (
        "import sys, actreg_search; "
        "heavy = [m for m in ('tensorflow', 'keras', 'pandas', 'plotly', 'optuna', 'sklearn') if m in sys.modules]; "
        "assert not heavy, heavy; "
        "assert callable(actreg_search.run) and callable(actreg_search.load); "
        "assert 'tensorflow' not in sys.modules and 'plotly' not in sys.modules"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_the_lazy_names_leave_submodules_alone():
    from actreg_search.search import study

    assert study.__name__ == "actreg_search.search.study"
    assert {"run", "load", "make_spec", "Results", "StudySpec"} <= set(dir(actreg_search))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        actreg_search.nope  # noqa: B018


# --------------------------------------------------------------------------- a stored study, fake engine

SPACE = {"regularizer": ["none", "l1", "l2"], "coefficient": {"low": 1e-5, "high": 1e-2, "log": True}}


def _arrays(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(60, 3)).astype("float32")
    return x, (x[:, 0] > 0).astype("int64")


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, actreg_search.Results]:
    """A 6-trial study run through the API on the fake engine, and its loaded results (read-only)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('stored') / 'api.db'}"
    spec = actreg_search.make_spec(
        "arrays", data={"loader": _arrays(), "train_size": 0.7}, model={"hidden_units": 8, "epochs": 4},
        space=SPACE, n_trials=6, seeds=5, sampler="random",
    )
    engine = FakeEngine()
    summary = actreg_search.run(spec, url, engine=engine, batch=4, progress=False)
    assert (summary.finished, summary.ran, summary.failed) == (6, 6, 0)
    assert engine.batches == [4, 2]
    return url, actreg_search.load("arrays", url)


def test_a_loaded_study_answers_what_the_cli_shows(stored):
    url, results = stored
    frame = results.frame()
    assert list(frame["number"]) == list(range(6))
    assert {f"test_accuracy_seed{s}" for s in range(5)} <= set(frame.columns)
    assert results.best is results.top(6)[0] and results.best.number == results.results.best.number
    assert [s.name for s in actreg_search.studies(url)] == ["arrays"]
    with pytest.raises(actreg_search.UserError, match="one objective"):
        results.pareto_front()


def test_a_comparison_is_the_one_compare_prints(stored):
    from actreg_search.results import stats

    _, results = stored
    a, b = results.top(2)
    assert results.compare(a.number, b) == stats.paired_comparison(a, b)
    assert results.best_vs_baseline().a == results.best_unregularized.number
    assert len(results.top_vs_best(3)) == 2


def test_an_unknown_view_is_one_line_listing_the_views(stored):
    _, results = stored
    with pytest.raises(actreg_search.UserError) as error:
        results.figure("histogram")
    assert str(error.value) == f"unknown view 'histogram'; allowed: {', '.join(views.VIEWS)}"
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("view", ["history", "sparsity", "curves", "seeds", "path", "slice"])
def test_each_view_is_a_plotly_figure(stored, view):
    import plotly.graph_objects as go

    _, results = stored
    assert isinstance(results.figure(view), go.Figure)


def test_a_view_the_study_cannot_draw_says_why(stored):
    _, results = stored
    with pytest.raises(actreg_search.UserError, match=r"view 'width' .* cannot be drawn: The hidden width is not searched"):
        results.figure("width")


def test_exports_write_what_export_writes(stored, tmp_path):
    import json

    _, results = stored
    results.write_best(tmp_path / "best.json", k=2)
    assert json.loads((tmp_path / "best.json").read_text()) == results.best_configs(2)
    results.write_trials(tmp_path / "trials.csv")
    assert (tmp_path / "trials.csv").read_text().count("\n") == 7
    with pytest.raises(actreg_search.UserError, match="allowed: .json, .yaml, .yml, .csv"):
        results.write_best(tmp_path / "best.txt")


def test_a_study_resumed_with_other_arrays_is_refused(stored, tmp_path):
    url, _ = stored
    spec = actreg_search.make_spec(
        "arrays", data={"loader": _arrays(seed=1), "train_size": 0.7}, model={"hidden_units": 8, "epochs": 4},
        space=SPACE, n_trials=7, seeds=5, sampler="random",
    )
    with pytest.raises(actreg_search.SpecError, match=r"already exists with other settings \(\[data\] loader"):
        actreg_search.run(spec, url, engine=FakeEngine(), progress=False)


# --------------------------------------------------------------------------- specs and refusals


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


def test_a_function_workers_cannot_import_is_refused_before_storage(tmp_path):
    def loader():  # defined inside a function: a spawned worker cannot import it
        return _arrays()

    spec = actreg_search.make_spec("local", data=loader, model={"epochs": 2}, n_trials=1, seeds=1)
    url = f"sqlite:///{tmp_path / 'never.db'}"
    with pytest.raises(actreg_search.UserError, match=r"\[data\] loader .*loader: worker processes \(jobs=2"):
        actreg_search.run(spec, url, jobs=2, progress=False)
    assert not (tmp_path / "never.db").exists()


def test_bad_run_arguments_are_one_line(tmp_path):
    url = f"sqlite:///{tmp_path / 'never.db'}"
    spec = actreg_search.make_spec("x", n_trials=1)
    for kwargs, message in (
        ({"engine": "turbo"}, "engine: unknown engine 'turbo'; allowed: keras, fused"),
        ({"jobs": 0}, "jobs: must be a whole number ≥ 1, got 0"),
        ({"recycle_mb": -1}, "recycle_mb: must be a whole number of MB ≥ 0"),
        ({"batch": 0}, "batch: must be a whole number ≥ 1 (None: the study's or the engine's), got 0"),
        ({"batch": 2.5}, "batch: must be a whole number ≥ 1"),
    ):
        with pytest.raises(actreg_search.UserError, match=re.escape(message)):
            actreg_search.run(spec, url, progress=False, **kwargs)
    with pytest.raises(actreg_search.SpecError, match="expected a study file path or a StudySpec, got dict"):
        actreg_search.run({"study": {}}, url)  # type: ignore[arg-type]
    assert not (tmp_path / "never.db").exists()


def test_arrays_are_named_by_shape_and_contents():
    x, y = _arrays()
    same, other = actreg_search.Arrays(x, y), actreg_search.Arrays(x, 1 - y)
    assert same == actreg_search.Arrays(x.copy(), y.copy()) and hash(same) == hash(actreg_search.Arrays(x, y))
    assert same != other and same.__qualname__.startswith("Arrays(60x3, 60; sha1 ")
    assert same() == same.arrays
    with pytest.raises(actreg_search.SpecError, match="give \\(x, y\\) or"):
        actreg_search.Arrays(x)


def test_retraining_arrays_the_storage_kept_by_name_needs_their_spec(stored, tmp_path):
    _, results = stored
    with pytest.raises(actreg_search.UserError, match=r"\[data\] loader was a Python function or arrays .*save_model\(path, spec=spec\)"):
        results.save_model(tmp_path / "best.keras")
    other = actreg_search.make_spec(
        "arrays", data={"loader": _arrays(seed=1), "train_size": 0.7}, model={"hidden_units": 8, "epochs": 4},
        space=SPACE, n_trials=6, seeds=5, sampler="random",
    )
    with pytest.raises(actreg_search.UserError, match=r"not the one study 'arrays' was run with \(\[data\] loader differ\)"):
        results.save_model(tmp_path / "best.keras", spec=other)
    assert not (tmp_path / "best.keras").exists()
