"""actreg_search: which regularization, where, and how strong.

An Optuna search over Keras regularizers (type, placement, coefficient,
width), with every trial trained on the same repeated seeds.
"""

from __future__ import annotations

__version__ = "0.1.0"
