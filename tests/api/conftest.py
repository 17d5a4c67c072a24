"""The API tests' stored study: run once per test process through the API, on the fake engine."""

from __future__ import annotations

import pytest

import actreg_search
from tests.api.stored import SPACE, arrays
from tests.fakes import FakeEngine


@pytest.fixture(scope="session")
def stored(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, actreg_search.Results]:
    """A 6-trial study run through the API on the fake engine, and its loaded results (read-only)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('stored') / 'api.db'}"
    spec = actreg_search.make_spec(
        "arrays", data={"loader": arrays(), "train_size": 0.7}, model={"hidden_units": 8, "epochs": 4},
        space=SPACE, n_trials=6, seeds=5, sampler="random",
    )
    engine = FakeEngine()
    summary = actreg_search.run(spec, url, engine=engine, batch=4, progress=False)
    assert (summary.finished, summary.ran, summary.failed) == (6, 6, 0)
    assert engine.batches == [4, 2]
    return url, actreg_search.load("arrays", url)
