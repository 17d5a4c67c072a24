"""A [data] loader for studies/python_loader.toml: scikit-learn's bundled breast-cancer table (no download).

A loader is any function of no arguments returning (x_train, y_train, x_test,
y_test), (x, y) (then split by [data] train_size), or a dict of those names.
It runs once in each process that trains, so it must return the same arrays
every time (fix its random seeds). Here it also standardises the features,
with statistics of the training split only.
"""

from __future__ import annotations

from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler


def load():
    x, y = load_breast_cancer(return_X_y=True)  # 569 samples, 30 features, 2 classes
    x_train, x_test, y_train, y_test = train_test_split(x, y, train_size=0.5, stratify=y, random_state=0)
    scaler = StandardScaler().fit(x_train)
    return scaler.transform(x_train), y_train, scaler.transform(x_test), y_test
