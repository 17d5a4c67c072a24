"""The fence: every private or undocumented Optuna, Keras and TensorFlow API the package uses, in two modules.

* :mod:`actreg_search.internals.optuna_private`: Optuna's trial ids, its RDB
  storage's session registry and its table layout (the read model's SQL);
* :mod:`actreg_search.internals.keras_private`: Keras' optimizer internals,
  TensorFlow's replica context and seed, and the attributes set on Keras models.

Each states the versions it was checked against (the ranges ``pyproject.toml``
allows) and has tests (``tests/internals/``) that fail with a message naming
the API when an upgrade breaks it. Nothing else in the package names a private
API (``tests/test_architecture.py`` checks).
"""
