from __future__ import annotations

import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "actreg_search"


def _sources() -> dict[Path, str]:
    return {path: path.read_text() for path in PACKAGE.rglob("*.py")}


def test_nothing_is_unpickled():
    for path, text in _sources().items():
        assert not re.search(r"^\s*(import|from)\s+(pickle|cloudpickle|dill|joblib)\b", text, re.M), path


def test_models_load_only_in_safe_mode():
    for path, text in _sources().items():
        for call in re.findall(r"load_model\([^)]*\)", text):
            assert "safe_mode=True" in call, (path, call)
        assert "safe_mode=False" not in text, path


def test_keras_pinned_past_the_safe_mode_bypasses():
    pyproject = (PACKAGE.parent / "pyproject.toml").read_text()
    assert re.search(r'"keras>=3\.(1[5-9]|[2-9]\d)', pyproject)
