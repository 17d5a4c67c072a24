"""Dashboard test set-up: synthetic studies (studies.py), one tiny real study, headless Chromium (browser.py)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import optuna
import pytest
from optuna.trial import FrozenTrial

from actreg_search.results.records import StudyResults
from actreg_search.search.study import run_study
from actreg_search.spec.parser import load_spec
from actreg_search.store.reader import load_results
from actreg_search.store.storage import open_storage
from tests.dashboard.browser import Chromium, find_chromium
from tests.dashboard.studies import make_big_study, make_study, make_trial
from tests.fakes import FakeEngine

@pytest.fixture(scope="session")
def big_study_factory() -> Callable[..., StudyResults]:
    """:func:`make_big_study`."""
    return make_big_study


@pytest.fixture(scope="session")
def trial_factory() -> Callable[..., FrozenTrial]:
    """:func:`make_trial`."""
    return make_trial


@pytest.fixture(scope="session")
def study_factory() -> Callable[..., StudyResults]:
    """:func:`make_study`."""
    return make_study


# --------------------------------------------------------------------------- a tiny real study


@dataclass(frozen=True)
class RealStudy:
    """A tiny study trained for real, stored in SQLite."""

    folder: Path
    study_file: Path
    url: str
    name: str
    n_trials: int

    def results(self) -> StudyResults:
        """The study's results, with the curves the dashboard draws."""
        return load_results(open_storage(self.url, create=False), self.name, curves="drawn")

    def study(self) -> optuna.Study:
        return optuna.load_study(study_name=self.name, storage=self.url)

    def copy(self, folder: Path) -> RealStudy:
        """The same study in another database, to add trials to."""
        db = folder / "copy.db"
        shutil.copy(self.folder / "real.db", db)
        return RealStudy(folder, self.study_file, f"sqlite:///{db}", self.name, self.n_trials)


@pytest.fixture(scope="session")
def real_study(tmp_path_factory: pytest.TempPathFactory, study_text) -> RealStudy:
    """Four trials (random sampler, seed 0: three regularized, one not), two seeds, four epochs.

    The study runs for real (sampler, study loop, recorder, SQLite); only the
    training is the fake engine's, since the dashboard checks what is stored,
    not how it was trained (tests/engine does that).
    """
    folder = tmp_path_factory.mktemp("dashboard-real")
    study_file = folder / "study.toml"
    study_file.write_text(study_text(name="dash", n_trials=4, seeds=2, epochs=4))
    url = f"sqlite:///{folder / 'real.db'}"
    run_study(load_spec(study_file), url, engine=FakeEngine())
    return RealStudy(folder, study_file, url, "dash", 4)


# --------------------------------------------------------------------------- headless Chromium


@pytest.fixture
def chromium(tmp_path: Path):
    """A headless Chromium; the test is skipped only when no binary is installed."""
    binary = find_chromium()
    if binary is None:
        pytest.skip("no Chromium binary found (Debian: apt-get install -y chromium; or set $CHROMIUM)")
    browser = Chromium(binary, tmp_path / "profile", tmp_path / "chromium.log")
    try:
        yield browser
    finally:
        browser.close()
