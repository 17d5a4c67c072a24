"""Loading and calling the user's own Python code: builders and loaders.

A study file names a function as ``"path/to/file.py:function"`` (the parser
resolves the path against the study file's folder). :func:`load_function`
imports that file by its path, as a script would run it; :func:`call_user`
calls a user function and turns anything it raises into one line
(:class:`~actreg_search.errors.UserCodeError`). Only the training side (``run``,
``export --model``) ever calls these: reading results never runs user code.
Nothing here imports TensorFlow.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from actreg_search.errors import SpecError, UserCodeError


def describe(reference: str | Callable[..., Any]) -> str:
    """How a function reference is named in messages and stored specs: ``file.py:function`` or ``module:qualname``."""
    if isinstance(reference, str):
        return reference
    module = getattr(reference, "__module__", None) or "<unknown>"
    name = getattr(reference, "__qualname__", None) or type(reference).__name__
    return f"{module}:{name}"


def split_reference(reference: str, what: str) -> tuple[str, str]:
    """The file and the function name of ``"file.py:function"`` (or the module and qualname of ``"module:qualname"``).

    Raises:
        SpecError: The text is neither.
    """
    path, sep, name = reference.rpartition(":")
    if not sep or not path or not all(part.isidentifier() for part in name.split(".")):
        raise SpecError(f"{what}: {reference!r} must be 'file.py:function'")
    return path, name


def load_function(reference: str | Callable[..., Any], what: str) -> Callable[..., Any]:
    """The function a ``"file.py:function"`` reference names (a callable is returned as is).

    The file is imported from its path with :mod:`importlib` (once per process
    and file), which runs its top-level code as ``python file.py`` would.

    Args:
        reference: ``"path/to/file.py:function"`` (an absolute path, or one
            relative to the working directory), or a callable.
        what: Names the setting in messages, e.g. ``"[model] builder"``.

    Returns:
        The function.

    Raises:
        SpecError: The file or the function is missing, or not callable.
        UserCodeError: Importing the file raised.
    """
    if callable(reference):
        return reference
    path, name = split_reference(reference, what)
    if not path.endswith(".py") and "/" not in path and "\\" not in path:  # "module:qualname" of a function given in Python
        return import_qualname(path, name, what)
    module = _import_file(str(Path(path).resolve()), what)
    function = getattr(module, name, None)
    if function is None:
        raise SpecError(f"{what}: {path} has no function {name!r}")
    if not callable(function):
        raise SpecError(f"{what}: {path}:{name} is a {type(function).__name__}, not a function")
    return function


def import_qualname(module_name: str, qualname: str, what: str) -> Callable[..., Any]:
    """A function stored as ``module:qualname`` (a spec built in Python), imported by module name."""
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise SpecError(f"{what}: cannot import module {module_name!r} of {module_name}:{qualname} ({exc})") from None
    for part in qualname.split("."):
        target = getattr(target, part, None)
        if target is None:
            raise SpecError(f"{what}: module {module_name!r} has no function {qualname!r}")
    if not callable(target):
        raise SpecError(f"{what}: {module_name}:{qualname} is a {type(target).__name__}, not a function")
    return target


@functools.cache
def _import_file(path: str, what: str) -> Any:
    file = Path(path)
    if not file.is_file():
        raise SpecError(f"{what}: no such file {path}")
    module_name = "actreg_user_" + hashlib.sha1(path.encode()).hexdigest()[:12]
    spec = importlib.util.spec_from_file_location(module_name, file)
    if spec is None or spec.loader is None:
        raise SpecError(f"{what}: {path} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # so the module's own classes pickle and dataclasses resolve
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[module_name]
        raise UserCodeError(f"{what}: importing {path} raised {_one_line(exc)}") from None
    return module


def call_user(function: Callable[..., Any], reference: str | Callable[..., Any], what: str, *args: Any, **kwargs: Any) -> Any:
    """Call a user function; anything it raises becomes one :class:`UserCodeError` line.

    Args:
        function: The loaded function.
        reference: How it was named (for the message).
        what: Names the setting, e.g. ``"[model] builder"``.
        *args: Its arguments.
        **kwargs: Its keyword arguments.

    Raises:
        UserCodeError: The function raised; the message names the function and
            the exception, without a traceback.
    """
    try:
        return function(*args, **kwargs)
    except UserCodeError:
        raise
    except Exception as exc:
        raise UserCodeError(f"{what} {describe(reference)} raised {_one_line(exc)}") from None


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
