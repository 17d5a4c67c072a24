"""``run`` from Python: the study's settings kept, and bad arguments refused before storage."""

from __future__ import annotations

import re

import pytest

import actreg_search
from tests.fakes import FakeEngine
from tests.api.stored import SPACE, arrays


def test_a_study_resumed_with_other_arrays_is_refused(stored, tmp_path):
    url, _ = stored
    spec = actreg_search.make_spec(
        "arrays", data={"loader": arrays(seed=1), "train_size": 0.7}, model={"hidden_units": 8, "epochs": 4},
        space=SPACE, n_trials=7, seeds=5, sampler="random",
    )
    with pytest.raises(actreg_search.SpecError, match=r"already exists with other settings \(\[data\] loader"):
        actreg_search.run(spec, url, engine=FakeEngine(), progress=False)


def test_a_function_workers_cannot_import_is_refused_before_storage(tmp_path):
    def loader():  # defined inside a function: a spawned worker cannot import it
        return arrays()

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
