"""actreg_search: which regularization, where, and how strong.

An Optuna search over Keras regularizers (type, placement, coefficient,
width), with every trial trained on the same repeated seeds.

The Python API (:mod:`actreg_search.api`, toured in ``docs/api.md``) is
importable from here: :func:`run`, :func:`load` (a :class:`Results`),
:func:`run_suite`, :func:`load_suite` (a :class:`Suite`), :func:`make_spec`,
:func:`load_spec`, :func:`studies`, :func:`delete`, and the spec dataclasses.
Importing this package imports none of them: each is imported on first use
(``actreg-search list`` imports this package and must stay free of
TensorFlow, pandas and plotly).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Each public name and the module that defines it, imported when the name is first used.
_LAZY = {
    **dict.fromkeys(
        (
            "run", "load", "studies", "delete", "make_spec", "load_spec", "check_spec", "Results", "Arrays", "VIEWS",
            "run_suite", "load_suite", "Suite",
        ),
        "actreg_search.api",
    ),
    **dict.fromkeys(
        ("StudySpec", "StudySection", "DataSpec", "ModelSpec", "SpaceSpec", "Choice", "Range"), "actreg_search.spec.specs"
    ),
    **dict.fromkeys(("UserError", "SpecError", "StorageError", "UserCodeError"), "actreg_search.errors"),
}

__all__ = [*_LAZY, "__version__"]

if TYPE_CHECKING:
    from actreg_search.api import (
        VIEWS, Arrays, Results, Suite, check_spec, delete, load, load_spec, load_suite, make_spec, run, run_suite, studies,
    )
    from actreg_search.errors import SpecError, StorageError, UserCodeError, UserError
    from actreg_search.spec.specs import Choice, DataSpec, ModelSpec, Range, SpaceSpec, StudySection, StudySpec


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use (PEP 562); submodules are left to the import system."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'actreg_search' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
