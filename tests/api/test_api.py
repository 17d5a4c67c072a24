"""The public Python API: every example of docs/api.md runs, and the API's own promises hold.

The API's own modules have their tests beside this file (test_results.py,
test_running.py, ...). The page's examples run in order, in a temporary folder holding a copy of
``studies/``, each as its own test (real TensorFlow, tiny settings), on a copy
of the namespace the examples before it left: an example that fails leaves
nothing half-done behind, and the examples after it are skipped naming it,
instead of failing on what it left undone. The other tests use the fake
engine: no TensorFlow.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import actreg_search

ROOT = Path(__file__).resolve().parents[2]
PAGE = (ROOT / "docs" / "api.md").read_text()
EXAMPLES = re.findall(r"```python\n(.*?)\n```", PAGE, flags=re.S)


def _example_id(index: int) -> str:
    first = next(line for line in EXAMPLES[index].splitlines() if line.strip() and not line.startswith("import"))
    return f"{index + 1}:{first.strip()[:40]}"


# --------------------------------------------------------------------------- the page


class Tour:
    """The page's examples run so far, in order, in one folder; the namespace the last success left."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.namespace: dict[str, Any] = {"__name__": "api_tour"}
        self.ran = 0
        self.failed: int | None = None

    def run(self, index: int) -> None:
        """Run the examples before ``index`` not run yet, then example ``index``, each on a copy of the namespace.

        A failing example's namespace is dropped; every later example is skipped, naming the one that failed.
        """
        while self.ran <= index:
            if self.failed is not None:
                pytest.skip(f"example {self.failed + 1} of docs/api.md failed, and this one runs on what it leaves")
            i, self.ran = self.ran, self.ran + 1
            namespace = dict(self.namespace)
            try:
                exec(compile(EXAMPLES[i], f"docs/api.md example {i + 1}", "exec"), namespace)
            except BaseException:
                self.failed = i
                raise
            self.namespace = namespace


@pytest.fixture(scope="module")
def tour(tmp_path_factory: pytest.TempPathFactory) -> Tour:
    folder = tmp_path_factory.mktemp("api-tour")
    shutil.copytree(ROOT / "studies", folder / "studies")
    return Tour(folder)


def test_the_page_has_examples():
    assert len(EXAMPLES) >= 8


@pytest.mark.parametrize("index", range(len(EXAMPLES)), ids=_example_id)
def test_every_example_of_the_page_runs(index: int, tour: Tour, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tour.folder)
    monkeypatch.delenv("ACTREG_STORAGE", raising=False)
    tour.run(index)


def test_the_readme_python_lines_name_the_api():
    """The README's "Your own model" Python lines call functions and methods that exist."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Your own model", 1)[1].split("\n## ", 1)[0]
    (code,) = [c for c in re.findall(r"```python\n(.*?)\n```", section, flags=re.S) if "import actreg_search" in c]
    assert len(code.splitlines()) == 3
    tree = ast.parse(code)
    called = {n.func.attr for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)}
    api = {n for n in called if hasattr(actreg_search, n)}
    methods = called - api - {"show", "write_html"}
    assert {"run", "load"} <= api
    assert all(hasattr(actreg_search.Results, m) for m in methods), methods


def test_importing_the_package_imports_no_heavy_library():
    """``actreg-search list`` imports the package: the API's names come only on first use."""
    code = (
        "import sys, actreg_search; "
        "heavy = [m for m in ('tensorflow', 'keras', 'pandas', 'plotly', 'optuna', 'sklearn') if m in sys.modules]; "
        "assert not heavy, heavy; "
        "assert callable(actreg_search.run) and callable(actreg_search.load); "
        "assert 'tensorflow' not in sys.modules and 'plotly' not in sys.modules"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_the_lazy_names_leave_submodules_alone():
    from actreg_search.search import study

    assert study.__name__ == "actreg_search.search.study"
    assert {"run", "load", "make_spec", "Results", "StudySpec"} <= set(dir(actreg_search))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        actreg_search.nope  # noqa: B018
