"""A penalty of your own in [space] regularizer: parsing, sampling, labels and the one-line refusals."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from click.testing import CliRunner

from actreg_search.cli import app
from actreg_search.errors import SpecError
from actreg_search.search.space import suggest_config
from actreg_search.spec.parser import parse_raw, parse_spec
from actreg_search.spec.specs import ON_TEST, spec_to_raw
from actreg_search.spec.vocab import PenaltyName, Placement, Regularizer

PENALTIES = """
import keras

def mean_abs(x):
    return keras.ops.mean(keras.ops.abs(x))

def per_unit(x):
    return keras.ops.mean(x, axis=0)

def broken(x):
    raise RuntimeError("no penalty today")

not_a_function = 3
"""


def _spec(tmp_path: Path, regularizers: str):
    (tmp_path / "penalties.py").write_text(PENALTIES)
    return parse_spec(f'[study]\nname = "u"\n[space]\nregularizer = {regularizers}\n', source=str(tmp_path / "s.toml"))


def test_a_penalty_of_your_own_is_resolved_drawn_and_labelled(tmp_path: Path):
    spec = _spec(tmp_path, '["none", "penalties.py:mean_abs"]')
    name = PenaltyName(f"{tmp_path}/penalties.py:mean_abs")
    assert spec.space.regularizer.values == (Regularizer.NONE, name)
    assert parse_raw(spec_to_raw(spec)) == spec.resolved(ON_TEST)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    drawn = set()
    for _ in range(10):
        trial = study.ask()
        config = suggest_config(trial, spec)
        drawn.add(config.regularizer)
        if config.regularizer is Regularizer.CUSTOM:
            assert trial.params["regularizer"] == name and config.penalty == name
            assert config.placement is Placement.POST_ACTIVATION and config.coefficient == trial.params["coefficient"]
            assert config.label().startswith(f"penalties.py:mean_abs · post_activation {config.coefficient:.1e}")
            assert config.space_values()["regularizer"] == name
        study.tell(trial, 0.5)
    assert drawn == {Regularizer.NONE, Regularizer.CUSTOM}


@pytest.mark.parametrize(
    ("regularizers", "message"),
    [
        ('["custom"]', r"unknown value 'custom'; allowed: none, .*, or a penalty of your own 'file.py:function'"),
        ('["penalties.py:"]', r"a penalty of your own is 'file.py:function' or 'module:function', got 'penalties.py:'"),
    ],
)
def test_a_malformed_penalty_name_is_refused_by_the_parser(tmp_path: Path, regularizers: str, message: str):
    with pytest.raises(SpecError, match=message):
        _spec(tmp_path, regularizers)


@pytest.mark.parametrize(
    ("function", "message"),
    [
        ("missing", r"\[space\] regularizer: .*penalties.py has no function 'missing'"),
        ("not_a_function", r"\[space\] regularizer: .*penalties.py:not_a_function is a int, not a function"),
        ("broken", r"\[space\] regularizer.*broken.* raised RuntimeError: no penalty today"),
        ("per_unit", r"\[space\] regularizer: penalties.py:per_unit returned shape \(5,\) on activations of shape \(8, 5\); "
                     r"a penalty returns a scalar"),
    ],
)
def test_a_bad_penalty_is_one_line_exit_2_and_nothing_written(tmp_path: Path, function: str, message: str):
    (tmp_path / "penalties.py").write_text(PENALTIES)
    study = tmp_path / "s.toml"
    study.write_text(f'[study]\nname = "u"\n[model]\nepochs = 2\n[space]\nregularizer = ["none", "penalties.py:{function}"]\n')
    database = tmp_path / "u.db"
    result = CliRunner().invoke(app, ["run", str(study), "--storage", f"sqlite:///{database}"])
    assert result.exit_code == 2, result.output
    (line,) = [x for x in result.output.splitlines() if x.strip()]
    assert __import__("re").search(message, line), line
    assert not database.exists()
