"""A user's own arrays: an ``.npz`` file or a Python loader, read and checked.

Both give either four arrays (``x_train, y_train, x_test, y_test``, used as
given) or two (``x, y``, split by :mod:`actreg_search.data.datasets` as digits and csv
are). The checks here make bad arrays one line naming the file (or loader),
the array and what is allowed, before anything is stored:

* features: numbers, one row per sample (at least 2-D), finite (NaN, inf and
  values beyond ``float32`` are refused); returned as ``float32``;
* labels: one class label per sample (1-D, or ``(n, 1)``): integers, booleans,
  strings, or floats that are whole numbers. A continuous target is refused:
  floats that are not whole numbers, or more distinct labels than half the
  samples (fewer than 2 samples per class on average; at least 3 labels);
* lengths match, ``x_train`` and ``x_test`` samples have one shape, and the
  training labels hold at least 2 classes.

Under ``task = "regression"`` the labels are continuous targets instead: finite
numbers, one per sample, at least 2 distinct values, returned as ``float32``.
Under ``task = "autoencoder"`` the inputs are the targets: ``x`` alone (or
``x_train, x_test``) is enough, and ``y`` arrays, if given, are not read.

A loader is user code: it runs here, on the training side only, and an
exception it raises becomes :class:`~actreg_search.errors.UserCodeError`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from actreg_search.errors import SpecError
from actreg_search.spec.vocab import Task
from actreg_search.usercode import call_user, describe, load_function

SPLIT = ("x_train", "y_train", "x_test", "y_test")
WHOLE = ("x", "y")
_ALLOWED = "x_train, y_train, x_test, y_test (used as given), or x, y (split by [data] train_size)"


@dataclass(frozen=True, eq=False)
class UserArrays:
    """Checked arrays: features ``float32``, labels as given (not yet encoded).

    Attributes:
        source: What the messages name: the ``.npz`` path or ``file.py:function``.
        x: ``(x_train, x_test)``, or ``(x,)`` when the split is left to us.
        y: The matching labels.
    """

    source: str
    x: tuple[np.ndarray, ...]
    y: tuple[np.ndarray, ...]

    @property
    def split(self) -> bool:
        """Whether the user gave the train/test split."""
        return len(self.x) == 2


def read_npz(path: str, task: Task = Task.CLASSIFICATION) -> UserArrays:
    """Read and check an ``.npz`` file (``allow_pickle=False``: arrays only, no objects).

    Raises:
        SpecError: Missing or unreadable file, missing arrays, bad arrays.
    """
    try:
        with open(path, "rb") as file:
            magic = file.read(4)
    except FileNotFoundError:
        raise SpecError(f"{path}: [data] path: no such .npz file") from None
    except OSError as exc:
        raise SpecError(f"{path}: [data] path: cannot read ({type(exc).__name__})") from None
    if magic not in (b"PK\x03\x04", b"PK\x05\x06"):  # a zip archive (an empty one starts with its end record)
        raise SpecError(f"{path}: [data] path: not an .npz file (write one with numpy.savez)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            named = {key: archive[key] for key in archive.files}
    except ValueError as exc:  # object arrays need pickle, which is refused
        if "allow_pickle" in str(exc):
            raise SpecError(f"{path}: [data] path: holds object (pickled) arrays; save plain numeric or string arrays") from None
        raise SpecError(f"{path}: [data] path: cannot read as .npz ({_line(exc)})") from None
    except Exception as exc:  # a corrupt archive raises zipfile's, zlib's or numpy's own errors
        raise SpecError(f"{path}: [data] path: cannot read as .npz ({type(exc).__name__}: {_line(exc)})") from None
    if not named:
        raise SpecError(f"{path}: [data] path: holds no arrays; allowed: {_ALLOWED}")
    return check(named, path, "the file holds", task)


def call_loader(loader: str | Callable[[], Any], task: Task = Task.CLASSIFICATION) -> UserArrays:
    """Call a ``[data] loader`` (a ``"file.py:function"`` reference or a function) and check what it returns.

    It may return ``(x_train, y_train, x_test, y_test)``, ``(x, y)``, or a dict
    with those names.

    Raises:
        SpecError: Missing file or function, a result of the wrong shape, bad arrays.
        UserCodeError: The loader, or importing its file, raised.
    """
    function = load_function(loader, "[data] loader")
    source = describe(loader)
    result = call_user(function, loader, "[data] loader")
    if isinstance(result, Mapping):
        named = dict(result)
        bad = [k for k in named if not isinstance(k, str)]
        if bad:
            raise SpecError(f"{source}: the loader returned a dict with key {bad[0]!r}; keys must be array names: {_ALLOWED}")
        return check(named, source, "the loader returned", task)
    if isinstance(result, (tuple, list)) and len(result) in (2, 4):
        return check(dict(zip(SPLIT if len(result) == 4 else WHOLE, result)), source, "the loader returned", task)
    if task is Task.AUTOENCODER and not isinstance(result, (tuple, list, Mapping)):  # x alone
        return check({"x": result}, source, "the loader returned", task)
    shape = f"a {type(result).__name__} of {len(result)}" if isinstance(result, (tuple, list)) else f"a {type(result).__name__}"
    raise SpecError(
        f"{source}: the loader returned {shape}; it must return (x_train, y_train, x_test, y_test), (x, y), "
        "or a dict of those names"
    )


def check(named: Mapping[str, Any], source: str, holds: str, task: Task = Task.CLASSIFICATION) -> UserArrays:
    """Pick the split or whole form from named arrays and check them.

    Args:
        named: Arrays by name (extra names are refused: they are likely typos).
        source: The file or loader, for messages.
        holds: How to say what was found (``"the file holds"``).
        task: What the labels are (the module says each task's rules).

    Raises:
        SpecError: Missing or extra arrays, or arrays that fail a check.
    """
    names = set(named)
    present = ", ".join(named) or "nothing"
    if task is Task.AUTOENCODER:  # the inputs are the targets: y, if given, is not read
        named = {k: v for k, v in named.items() if k not in ("y", "y_train", "y_test")}
        named = {**named, **{y: named[x] for x, y in (("x", "y"), ("x_train", "y_train"), ("x_test", "y_test")) if x in named}}
        names = set(named)
    if names == set(SPLIT):
        form = SPLIT
    elif names == set(WHOLE):
        form = WHOLE
    else:
        closer = SPLIT if names & set(SPLIT) else WHOLE
        missing = [n for n in closer if n not in names]
        extra = [n for n in named if n not in closer]
        problem = f"missing array(s) {', '.join(missing)}" if missing else f"unexpected array(s) {', '.join(extra)}"
        raise SpecError(f"{source}: {problem}; {holds} {present}; allowed: {_ALLOWED}")
    xs = tuple(_features(named[n], n, source) for n in form[0::2])
    if task is Task.CLASSIFICATION:
        ys = tuple(_labels(named[n], n, source) for n in form[1::2])
    else:
        ys = tuple(_targets(named[n], n, source) if task is Task.REGRESSION else x for n, x in zip(form[1::2], xs))
    for x_name, y_name, x, y in zip(form[0::2], form[1::2], xs, ys):
        if len(x) != len(y):
            raise SpecError(f"{source}: {x_name} has {len(x)} samples but {y_name} has {len(y)}; they must match")
    if len(xs) == 2 and xs[0].shape[1:] != xs[1].shape[1:]:
        raise SpecError(
            f"{source}: x_train samples have shape {xs[0].shape[1:]} but x_test samples {xs[1].shape[1:]}; they must match"
        )
    if len(xs[0]) < 2:
        raise SpecError(f"{source}: {form[0]} has {len(xs[0])} sample(s); need at least 2")
    if len(xs) == 2 and not len(xs[1]):
        raise SpecError(f"{source}: x_test has no samples; need at least 1")
    if task is Task.CLASSIFICATION:
        _classes(ys, form, source)
    elif len(np.unique(ys[0])) < 2:
        raise SpecError(f"{source}: {form[1]} holds one value; a regression needs targets that vary")
    return UserArrays(source=source, x=xs, y=ys)


def _features(value: Any, name: str, source: str) -> np.ndarray:
    try:
        x = np.asarray(value)
    except (ValueError, TypeError) as exc:  # ragged nested lists
        raise SpecError(f"{source}: {name} is not an array ({_line(exc)})") from None
    if x.dtype.kind not in "biuf":
        raise SpecError(f"{source}: {name} must hold numbers (int, float or bool), got dtype {x.dtype}")
    if x.ndim < 2:
        raise SpecError(
            f"{source}: {name} has shape {x.shape}; features need one row per sample, shape (samples, ...) "
            "(one feature: x.reshape(-1, 1))"
        )
    with np.errstate(over="ignore"):
        x32 = x.astype("float32")
    finite = np.isfinite(x32)
    if not finite.all():
        sample = int(np.argmin(finite.reshape(len(x32), -1).all(axis=1)))
        what = "NaN" if np.isnan(x32[sample]).any() else "inf" if not np.isfinite(x[sample]).all() else "a value beyond float32's range"
        raise SpecError(f"{source}: {name} holds {what} (sample {sample}); features must be finite numbers")
    return x32


def _per_sample(value: Any, name: str, source: str) -> np.ndarray:
    """``value`` as an array, an ``(n, 1)`` one taken as ``(n,)``."""
    try:
        y = np.asarray(value)
    except (ValueError, TypeError) as exc:
        raise SpecError(f"{source}: {name} is not an array ({_line(exc)})") from None
    return y[:, 0] if y.ndim == 2 and y.shape[1] == 1 else y


def _labels(value: Any, name: str, source: str) -> np.ndarray:
    y = _per_sample(value, name, source)
    if y.ndim != 1:
        raise SpecError(
            f"{source}: {name} has shape {y.shape}; labels must be one class per sample, shape (samples,)"
            " (one-hot labels: y.argmax(axis=1))"
        )
    if y.dtype.kind == "O" and all(isinstance(v, str) for v in y):
        y = y.astype(str)
    kind = y.dtype.kind
    if kind == "f":
        finite = np.isfinite(y)
        if not finite.all():
            sample = int(np.argmin(finite))
            raise SpecError(f"{source}: {name} holds {y[sample]} (sample {sample}); labels must be class labels")
        if not np.array_equal(y, np.round(y)):
            sample = int(np.argmax(y != np.round(y)))
            raise SpecError(
                f"{source}: {name} holds {y[sample]!r} (sample {sample}), not a whole number: a continuous target; "
                'set [study] task = "regression" for one (labels: integers, strings or whole-number floats)'
            )
        y = y.astype("int64")
    elif kind not in "biuUS":
        raise SpecError(f"{source}: {name} must hold class labels (integers, strings or booleans), got dtype {y.dtype}")
    return y


def _targets(value: Any, name: str, source: str) -> np.ndarray:
    """A regression's targets: finite numbers, one per sample, as ``float32``."""
    y = _per_sample(value, name, source)
    if y.ndim != 1 or y.dtype.kind not in "biuf":
        raise SpecError(f"{source}: {name} has shape {y.shape} and dtype {y.dtype}; a regression's targets are one number per sample, shape (samples,)")
    y32 = y.astype("float32")
    if not np.isfinite(y32).all():
        sample = int(np.argmin(np.isfinite(y32)))
        raise SpecError(f"{source}: {name} holds {y[sample]} (sample {sample}); targets must be finite numbers")
    return y32


def _classes(ys: tuple[np.ndarray, ...], form: tuple[str, ...], source: str) -> None:
    if len({y.dtype.kind in "US" for y in ys}) > 1:
        raise SpecError(f"{source}: {form[1]} and {form[3]} hold labels of different kinds ({ys[0].dtype}, {ys[1].dtype})")
    every = np.concatenate(ys)
    distinct = np.unique(every)
    if len(distinct) > max(2, len(every) // 2):
        raise SpecError(
            f"{source}: {len(distinct)} distinct labels in {len(every)} samples (fewer than 2 per class): a continuous "
            'target: set [study] task = "regression" for one (a classification has at most half as many classes as samples)'
        )
    train = np.unique(ys[0])
    if len(train) < 2:
        raise SpecError(f"{source}: {form[1]} has one class ({train[0].item()!r}); need at least 2")


def _line(exc: BaseException) -> str:
    """An exception's message on one line."""
    return " ".join(str(exc).split()) or type(exc).__name__
