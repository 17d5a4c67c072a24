"""The pruner registry."""

from __future__ import annotations

import optuna

from actreg_search.spec.parser import load_spec
from actreg_search.search.pruners import PRUNERS, make_pruner
from actreg_search.spec.vocab import PrunerName


def test_every_pruner_name_has_a_factory():
    assert set(PRUNERS) == set(PrunerName)



def test_pruners_by_name(write_study):
    expected = {"none": optuna.pruners.NopPruner, "median": optuna.pruners.MedianPruner, "hyperband": optuna.pruners.HyperbandPruner}
    for name, kind in expected.items():
        path = write_study(f"{name}.toml", epochs=100)
        path.write_text(path.read_text().replace('sampler = "random"', f'sampler = "random"\npruner = "{name}"'))
        assert isinstance(make_pruner(load_spec(path)), kind)


def test_hyperband_starts_at_the_first_report(write_study):
    """Values are reported after each twentieth of the epochs: the first rung is the first report."""
    path = write_study(epochs=100)
    path.write_text(path.read_text().replace('sampler = "random"', 'sampler = "random"\npruner = "hyperband"'))
    pruner = make_pruner(load_spec(path))
    assert (pruner._min_resource, pruner._max_resource) == (5, 100)
