"""Write studies/data/digits_images.npz, the arrays of studies/npz_example.toml (no download).

400 of scikit-learn's bundled 8x8 digit images, kept as images (samples, 8, 8, 1)
with values in [0, 1], split 300 train / 100 test with stratification. The file
holds the four arrays a study's ``[data] name = "npz"`` reads: x_train, y_train,
x_test, y_test. Run from anywhere: ``python studies/data/make_npz_example.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

OUT = Path(__file__).with_name("digits_images.npz")


def main() -> None:
    digits = load_digits()
    x = (digits.images / 16.0).astype("float32")[..., np.newaxis]  # (1797, 8, 8, 1)
    y = digits.target.astype("int64")
    x, _, y, _ = train_test_split(x, y, train_size=400, stratify=y, random_state=0)
    x_train, x_test, y_train, y_test = train_test_split(x, y, train_size=300, stratify=y, random_state=0)
    np.savez_compressed(OUT, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    print(f"{OUT}: x_train {x_train.shape}, x_test {x_test.shape}, {len(np.unique(y))} classes")


if __name__ == "__main__":
    main()
