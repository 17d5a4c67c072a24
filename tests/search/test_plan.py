"""How far a study runs: the target, the room left for new trials, a grid's configs tried."""

from __future__ import annotations

import optuna
from optuna.distributions import CategoricalDistribution
from optuna.trial import TrialState, create_trial

from actreg_search.search.plan import Plan, finished
from actreg_search.spec.parser import load_spec
from actreg_search.store import keys

GRID = """
regularizer = ["none", "l1"]
placement = ["pre_activation", "post_activation"]
coefficient = [1e-4]
"""
CHOICES = CategoricalDistribution(["a", "b", "c", "d"])


def _study(*trials: tuple[TrialState, str | None, bool]) -> optuna.Study:
    """A study of trials given as (state, the config's parameter or None, whether interrupted)."""
    study = optuna.create_study()
    for state, config, interrupted in trials:
        params = {"x": config} if config else {}
        study.add_trial(create_trial(
            state=state, value=0.5 if state is TrialState.COMPLETE else None, params=params,
            distributions={"x": CHOICES} if config else {}, user_attrs={keys.INTERRUPTED: True} if interrupted else {},
        ))
    return study


def test_the_plan_of_a_study_file(write_study):
    assert Plan.of(load_spec(write_study(n_trials=7))) == Plan(target=7, grid_size=None)
    grid = load_spec(write_study(filename="grid.toml", sampler="grid", n_trials=10, space=GRID))
    assert Plan.of(grid) == Plan(target=3, grid_size=3)  # the grid's size caps the target
    assert Plan.of(grid.with_overrides(n_trials=2)) == Plan(target=2, grid_size=3)


def test_room_leaves_out_finished_and_running_trials():
    study = _study((TrialState.COMPLETE, "a", False), (TrialState.PRUNED, "b", False), (TrialState.RUNNING, None, False),
                   (TrialState.FAIL, "c", False), (TrialState.WAITING, None, False))
    assert finished(study) == 2
    assert Plan(target=6, grid_size=None).room(study) == 6 - 2 - 1  # a failed trial leaves its room
    assert not Plan(target=6, grid_size=None).exhausted(study)


def test_a_grid_leaves_out_configs_tried_or_running_but_not_interrupted_ones():
    study = _study((TrialState.COMPLETE, "a", False), (TrialState.FAIL, "b", False), (TrialState.FAIL, "c", True),
                   (TrialState.RUNNING, "d", False))
    plan = Plan(target=4, grid_size=4)
    assert plan.room(study) == 4 - 3  # a, b and d taken; c was interrupted and may run again
    assert not plan.exhausted(study)  # d is still running, c not yet tried
    study.add_trial(create_trial(state=TrialState.COMPLETE, value=0.5, params={"x": "c"}, distributions={"x": CHOICES}))
    assert not plan.exhausted(study)
    study.add_trial(create_trial(state=TrialState.FAIL, params={"x": "d"}, distributions={"x": CHOICES}))
    assert plan.exhausted(study) and plan.room(study) == 0
