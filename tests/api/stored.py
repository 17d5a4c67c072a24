"""A small study of arrays for the API's tests: its space and data."""

from __future__ import annotations

import numpy as np

SPACE = {"regularizer": ["none", "l1", "l2"], "coefficient": {"low": 1e-5, "high": 1e-2, "log": True}}


def arrays(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """60 samples of 3 features, the class the sign of the first."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(60, 3)).astype("float32")
    return x, (x[:, 0] > 0).astype("int64")
