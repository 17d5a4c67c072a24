"""Suites from Python: a folder of study files run one after the other, read side by side (fake engine, seconds)."""

from __future__ import annotations

from pathlib import Path

import pytest

import actreg_search
from actreg_search.api import suites
from actreg_search.errors import SpecError, UserError
from actreg_search.settings import STORAGE_VAR
from tests.conftest import tiny_study_text
from tests.fakes import FakeEngine

#: A grid of one unregularized config and two l1 ones: three trials, two groups (none, l1/pre_activation), five seeds.
SPACE = 'regularizer = ["none", "l1"]\nplacement = ["pre_activation"]\ncoefficient = [1e-4, 1e-3]\n'
L1 = "l1/pre_activation"


def study(folder: Path, filename: str, name: str, extra: str = "") -> Path:
    """Write a small grid study file (3 trials, 5 seeds, 2 epochs) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    text = tiny_study_text(name=name, sampler="grid", n_trials=4, seeds=5, epochs=2, space=SPACE)
    path = folder / filename
    path.write_text(text.replace("seed = 0\n", f"seed = 0\n{extra}"))
    return path


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    """A folder of two study files, ``b.toml`` sorting after ``a.toml``; and a file that is not TOML, skipped."""
    folder = tmp_path / "suite"
    study(folder, "b.toml", "beta")
    study(folder, "a.toml", "alpha")
    (folder / "notes.txt").write_text("not a study")
    return folder


def run(paths, url: str | None, **kwargs):
    return actreg_search.run_suite(paths, url, engine=FakeEngine(), progress=False, **kwargs)


def test_a_suite_runs_each_study_by_file_name_and_reads_side_by_side(suite, storage_url):
    seen = []
    summaries = run(suite, storage_url, after=seen.append)
    assert [s.study_name for s in summaries] == ["alpha", "beta"] and seen == summaries
    assert all((s.finished, s.ran) == (3, 3) for s in summaries)
    assert actreg_search.run_suite(suite, storage_url, engine=FakeEngine(), progress=False)[0].ran == 0  # resumed: done

    loaded = actreg_search.load_suite(suite, storage_url)
    assert [r.name for r in loaded.results] == ["alpha", "beta"] and loaded.not_run == ()
    assert [s.name for s in loaded.studies] == ["alpha", "beta"]
    table = loaded.table()
    assert [row.study for row in table.rows] == ["alpha", "beta"] and table.groups == ("none", L1)
    text = loaded.markdown()
    assert text.startswith("# Suite: 2 of 2 studies side by side\n") and "| alpha | circles | mlp |" in text
    assert "not run" not in text


def test_each_cell_is_compares_comparison_of_the_same_two_trials(suite, storage_url):
    """Each penalty's cell is ``compare``'s comparison of the same two trials: difference, interval, p-values."""
    run(suite, storage_url)
    loaded = actreg_search.load_suite(suite, storage_url)
    for results in loaded.results:
        row = loaded.table().row(results.name)
        none, l1 = row.cell("none"), row.cell(L1)
        assert none is not None and l1 is not None and l1.comparison is not None
        assert none.trial.number == results.best_unregularized.number
        compared = results.compare(none.trial.number, l1.trial.number)
        assert compared == results.best_vs_baseline()  # one penalty group: its best is the best regularized trial
        got = l1.comparison
        assert (got.a, got.b, got.metric) == (compared.a, compared.b, compared.metric) == (
            none.trial.number, l1.trial.number, "test_accuracy"
        )
        assert got.mean_difference == pytest.approx(compared.mean_difference)
        assert (got.ci_low, got.ci_high) == pytest.approx((compared.ci_low, compared.ci_high))
        assert (got.wilcoxon_p, got.p_value) == pytest.approx((compared.wilcoxon_p, compared.p_value))
        assert (got.wins, got.ties, got.losses) == (compared.wins, compared.ties, compared.losses)


def test_a_partial_suite_lists_the_study_not_run(suite, storage_url):
    run([suite / "a.toml"], storage_url)
    loaded = actreg_search.load_suite(suite, storage_url)
    assert [r.name for r in loaded.results] == ["alpha"]
    assert [(f.name, f.path.name) for f in loaded.not_run] == [("beta", "b.toml")]
    text = loaded.markdown()
    assert text.startswith("# Suite: 1 of 2 studies side by side\n")
    assert "| alpha |" in text and "| beta |" not in text
    not_run = [line for line in text.splitlines() if "not run" in line]
    assert not_run == [f"- beta ({suite / 'b.toml'}): not run (no such study in {storage_url}; `actreg-search run {suite / 'b.toml'}`)"]


def test_each_study_uses_its_own_storage_unless_one_is_given(suite, tmp_path, monkeypatch):
    """As ``run FILE``: the given storage, else ACTREG_STORAGE, else the file's ``[study] storage``, else the default."""
    monkeypatch.delenv(STORAGE_VAR, raising=False)
    monkeypatch.chdir(tmp_path)
    own = f"sqlite:///{tmp_path / 'own.db'}"
    study(suite, "b.toml", "beta", extra=f'storage = "{own}"\n')
    files = suites.suite_files(suite)
    assert [(f.name, f.storage) for f in files] == [("alpha", "sqlite:///actreg.db"), ("beta", own)]
    summaries = run(suite, None)
    assert [s.storage for s in summaries] == ["sqlite:///actreg.db", own]
    assert (tmp_path / "actreg.db").exists() and (tmp_path / "own.db").exists()
    loaded = actreg_search.load_suite(suite)
    assert [(r.name, r.storage) for r in loaded.results] == [("alpha", "sqlite:///actreg.db"), ("beta", own)]
    given = f"sqlite:///{tmp_path / 'given.db'}"
    assert {f.storage for f in suites.suite_files(suite, given)} == {given}
    elsewhere = actreg_search.load_suite(suite, given)  # none stored there: not run, not an error
    assert elsewhere.results == () and [f.name for f in elsewhere.not_run] == ["alpha", "beta"]


def test_epochs_and_n_trials_override_every_study(suite, storage_url):
    files = suites.suite_files(suite, storage_url, epochs=1, n_trials=2)
    assert [(f.spec.model.epochs, f.spec.study.n_trials) for f in files] == [(1, 2), (1, 2)]
    assert [s.target for s in run(suite, storage_url, epochs=1, n_trials=2)] == [2, 2]


def test_an_interrupted_study_ends_the_suite(suite, storage_url):
    engine = FakeEngine(interrupt=lambda config: True)
    summaries = actreg_search.run_suite(suite, storage_url, engine=engine, progress=False)
    assert [(s.study_name, s.reason) for s in summaries] == [("alpha", actreg_search.api.StopReason.INTERRUPTED)]
    assert [f.name for f in actreg_search.load_suite(suite, storage_url).not_run] == ["beta"]


# --------------------------------------------------------------------------- refusals


def _refused(paths, storage_url: str, fragment: str, error: type[Exception] = UserError) -> None:
    """A suite refused with one line naming ``fragment``, before anything ran (no storage created)."""
    with pytest.raises(error) as raised:
        run(paths, storage_url)
    assert fragment in str(raised.value) and "\n" not in str(raised.value)
    assert not Path(storage_url.removeprefix("sqlite:///")).exists()


def test_an_empty_folder_or_one_without_study_files_is_refused(tmp_path, storage_url):
    (tmp_path / "empty").mkdir()
    _refused(tmp_path / "empty", storage_url, "empty: the folder is empty; a suite is a folder of study files (*.toml)")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("no study")
    _refused(tmp_path / "other", storage_url, "other: the folder holds no study file (*.toml)")
    _refused([], storage_url, "suite: give a folder of study files (*.toml) or study files")


def test_a_file_that_is_not_a_study_is_named_with_its_error(suite, storage_url):
    (suite / "c.toml").write_text('[tool]\nname = "not a study"\n')
    _refused(suite, storage_url, f"{suite / 'c.toml'}: [tool]: unknown table; allowed: study, data, model, space", SpecError)
    (suite / "c.toml").write_text("not = [toml")
    _refused(suite, storage_url, f"{suite / 'c.toml'}: not valid TOML", SpecError)
    (suite / "c.toml").unlink()
    _refused([suite / "a.toml", suite / "nope.toml"], storage_url, "nope.toml: no such study file", SpecError)


def test_two_files_naming_one_study_in_one_storage_are_refused(suite, storage_url, tmp_path):
    study(suite, "c.toml", "alpha")
    _refused(suite, storage_url, f"{suite / 'c.toml'}: names study 'alpha', as {suite / 'a.toml'} does, in storage {storage_url}")
    _refused([suite / "b.toml", suite / "b.toml"], storage_url, "b.toml: given twice")
    other = f"sqlite:///{tmp_path / 'other.db'}"
    study(suite, "c.toml", "alpha", extra=f'storage = "{other}"\n')  # another storage: allowed
    assert [f.storage for f in suites.suite_files(suite)][-1] == other


def test_reading_a_suite_none_of_whose_studies_ran_names_the_command_to_run(suite, storage_url, tmp_path):
    loaded = actreg_search.load_suite(suite, storage_url)
    assert loaded.results == () and [f.name for f in loaded.not_run] == ["alpha", "beta"]
    with pytest.raises(UserError, match=rf"no study of this suite has run yet \(alpha, beta\); run them first: actreg-search run {suite}/$"):
        loaded.markdown()
    with pytest.raises(UserError, match="run them first"):
        loaded.write_markdown(tmp_path / "suite.md")
    assert not (tmp_path / "suite.md").exists()


def test_the_names_are_exported_lazily():
    assert {"run_suite", "load_suite", "Suite"} <= set(dir(actreg_search))
    assert actreg_search.Suite is suites.Suite and actreg_search.api.run_suite is suites.run_suite
