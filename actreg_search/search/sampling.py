"""The study's sampler, seeded per trial so that resumes and parallel workers never repeat a draw.

Optuna keeps a study's trials in storage but not its sampler's random state.
A sampler built afresh with the study file's seed — as every ``run``, every
recycled worker and every machine of a distributed study must build it —
starts its random stream over and proposes the parameters it proposed
before (optuna/optuna#3255): a random search resumed from 3 to 6 trials ran
trials 0-2 again. Seeding by worker index fixes the parallel case only
within one ``run``.

Here the random stream belongs to the trial instead: trial ``n`` is sampled
by a fresh sampler seeded from ``(seed, n)``. Trial numbers are unique
across every process sharing the storage, so no two trials share a stream;
and a trial's parameters depend only on the seed, its number and the trials
before it, so a ``--jobs 1`` study draws the same sequence whether it ran
in one go, was resumed, or had its worker recycled.

The study loop asks for trials in batches (:meth:`optuna.Study.ask`), each
trial's parameters drawn before the next is asked, so that each is drawn by
its own sampler and sees the ones before it. TPE uses Optuna's constant
liar: a running trial counts as a bad one, so a batch spreads out instead of
drawing the same promising region several times.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler
from optuna.trial import FrozenTrial, TrialState

from actreg_search.search.balance import Design
from actreg_search.spec.specs import StudySpec
from actreg_search.spec.vocab import SamplerName


def trial_seed(seed: int, number: int) -> int:
    """The sampler seed of trial ``number`` in a study seeded ``seed``."""
    return int(np.random.SeedSequence([seed, number]).generate_state(1)[0])


class TrialSeededSampler(BaseSampler):
    """Delegates to a sampler rebuilt, with its own seed, for each trial.

    The samplers used here keep nothing between trials but their random
    state (TPE, random and brute force read the history from storage; CMA-ES
    and NSGA-II keep theirs in trial and study attributes), so rebuilding
    one per trial loses nothing.

    Under ``[space] balance`` a :class:`~actreg_search.search.balance.Design`
    fixes each trial's penalty; the underlying sampler draws the rest.

    Args:
        build: Makes the underlying sampler from a seed.
        seed: The study file's ``[study] seed``.
        design: The penalties fixed by trial number, if any.
    """

    def __init__(self, build: Callable[[int], BaseSampler], seed: int, design: Design | None = None) -> None:
        self._build = build
        self._seed = seed
        self._sampler = build(seed)
        self._design = design

    def __str__(self) -> str:
        return f"{type(self).__name__}({self._sampler})"

    @property
    def sampler(self) -> BaseSampler:
        """The sampler of the current trial (the last one asked: a batch's trials are drawn one after another)."""
        return self._sampler

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        """Rebuild the sampler with trial ``trial.number``'s seed, then hand it the trial."""
        self._sampler = self._build(trial_seed(self._seed, trial.number))
        self._sampler.before_trial(study, trial)

    def infer_relative_search_space(self, study: optuna.Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        """See :meth:`optuna.samplers.BaseSampler.infer_relative_search_space`; a design's parameters left out."""
        space = self._sampler.infer_relative_search_space(study, trial)
        if self._design is None:
            return space
        return {name: d for name, d in space.items() if not self._design.fixes(name)}

    def sample_relative(
        self, study: optuna.Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        """See :meth:`optuna.samplers.BaseSampler.sample_relative`."""
        return self._sampler.sample_relative(study, trial, search_space)

    def sample_independent(
        self, study: optuna.Study, trial: FrozenTrial, param_name: str, param_distribution: BaseDistribution
    ) -> Any:
        """See :meth:`optuna.samplers.BaseSampler.sample_independent`; a design's value where it fixes one."""
        fixed = None if self._design is None else self._design.value(trial, param_name)
        if fixed is not None:
            return fixed
        return self._sampler.sample_independent(study, trial, param_name, param_distribution)

    def after_trial(
        self, study: optuna.Study, trial: FrozenTrial, state: TrialState, values: Sequence[float] | None
    ) -> None:
        """See :meth:`optuna.samplers.BaseSampler.after_trial`."""
        self._sampler.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        """See :meth:`optuna.samplers.BaseSampler.reseed_rng`."""
        self._sampler.reseed_rng()


def make_sampler(spec: StudySpec) -> TrialSeededSampler:
    """The Optuna sampler a study file asks for, seeded per trial.

    ``grid`` is Optuna's :class:`~optuna.samplers.BruteForceSampler`: unlike
    ``GridSampler`` it enumerates a conditional space, so the unregularized
    model is tried once, not once per placement and coefficient. Under
    ``[space] balance`` the penalty groups take turns (:mod:`~actreg_search.search.balance`).
    """
    design = Design(spec) if spec.space.balance else None
    return TrialSeededSampler(_BUILDERS[spec.study.sampler], spec.study.seed, design)


class _BruteForce(optuna.samplers.BruteForceSampler):
    """Optuna's brute force without its stop: the study loop sees an exhausted grid itself.

    Its ``after_trial`` calls :meth:`optuna.Study.stop` once every config was
    tried, which raises outside :meth:`optuna.Study.optimize`; the study loop
    uses ask and tell, and checks the grid before each batch
    (:meth:`actreg_search.search.study.Plan.exhausted`).
    """

    def after_trial(
        self, study: optuna.Study, trial: FrozenTrial, state: TrialState, values: Sequence[float] | None
    ) -> None:
        """Nothing: see the class."""


def _brute_force(seed: int) -> BaseSampler:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return _BruteForce(seed=seed)


_BUILDERS: dict[SamplerName, Callable[[int], BaseSampler]] = {
    SamplerName.TPE: lambda seed: optuna.samplers.TPESampler(seed=seed, constant_liar=True),
    SamplerName.RANDOM: lambda seed: optuna.samplers.RandomSampler(seed=seed),
    SamplerName.CMAES: lambda seed: optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False),
    SamplerName.NSGA2: lambda seed: optuna.samplers.NSGAIISampler(seed=seed),
    SamplerName.GRID: _brute_force,
}
