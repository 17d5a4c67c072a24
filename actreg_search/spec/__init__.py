"""What a study is: the vocabulary, the per-seed figures, the spec dataclasses, the study-file parser, the trial config.

The first room of the data path (``docs/architecture.md``): a study file (or
:func:`actreg_search.api.make_spec`'s values) becomes a
:class:`~actreg_search.spec.specs.StudySpec`, and each trial's sampled values a
:class:`~actreg_search.spec.trial.TrialConfig`. Nothing here imports TensorFlow
or Optuna.
"""
