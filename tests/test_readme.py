"""The README's commands are the ones that exist, and its quick start leaves room for the full study."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from actreg_search.cli import app
from actreg_search.engine import ENGINES
from actreg_search.spec.parser import load_spec
from actreg_search.settings import STORAGE_VAR as ENV_VAR
from actreg_search.spec.vocab import EngineName
from tests.fakes import FakeEngine

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"```bash\n(.*?)\n```", README, flags=re.S)


def test_ci_runs_exactly_the_readme_test_command():
    test_command = next(b for b in BLOCKS if "pytest" in b)
    assert test_command in (ROOT / ".ci" / "run").read_text().splitlines()


def quick_start() -> list[str]:
    """The arguments of the quick start's ``actreg-search`` command."""
    command = next(b for b in BLOCKS if "actreg-search run" in b and "pip install" in b)
    words = shlex.split(command.split("&&")[-1])
    assert words[0].endswith("actreg-search")
    return words[1:]


def test_the_quick_start_runs_under_its_own_name():
    args = quick_start()
    params = app.commands["run"].make_context("run", list(args[1:])).params
    study_file = ROOT / args[1]
    full = load_spec(study_file).study.name
    assert params["name"] and params["name"] != full


def test_after_the_quick_start_the_full_study_runs_in_the_same_folder(tmp_path, monkeypatch):
    """The quick start, then ``run studies/circles_tutorial.toml --n-trials 3``, both in one folder (fake engine)."""
    for name in EngineName:
        monkeypatch.setitem(ENGINES, name, FakeEngine)
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.chdir(tmp_path)
    args = quick_start()
    args[1] = str(ROOT / args[1])
    in_process = ["--recycle-mb", "0"]  # so that the fake engine trains here
    runner = CliRunner()
    first = runner.invoke(app, [*args, *in_process], catch_exceptions=False)
    assert first.exit_code == 0, first.output
    full = runner.invoke(app, ["run", args[1], "--n-trials", "3", *in_process], catch_exceptions=False)
    assert full.exit_code == 0, full.output
    assert "circles-tutorial: target reached; 3/3 finished" in full.stdout
    assert (tmp_path / "actreg.db").exists()


def commands_block() -> list[list[str]]:
    """Each command line of the README's "Commands" section, continuation lines joined."""
    section = README.split("## Commands", 1)[1]
    block = re.search(r"```bash\n(.*?)\n```", section, flags=re.S).group(1)
    lines: list[str] = []
    for line in block.splitlines():
        if line.startswith("actreg-search "):
            lines.append(line)
        else:
            lines[-1] += " " + line.strip()
    return [line.split() for line in lines]


@pytest.mark.parametrize("words", commands_block(), ids=lambda words: words[1])
def test_every_option_in_the_readme_exists(words):
    command = app.commands[words[1]]
    known = {opt for param in command.params for opt in param.opts}
    named = {w for w in re.findall(r"--[a-z][a-z-]*", " ".join(words))}
    assert named <= known, f"{words[1]}: the README names {sorted(named - known)}, which do not exist"


def test_the_readme_lists_every_command():
    assert sorted(words[1] for words in commands_block()) == sorted(app.commands)


def _paragraph(text: str, start: str) -> str:
    """The paragraph (or list item) of ``text`` that starts with ``start``, joined onto one line."""
    found = text[text.index(start):]
    return " ".join(re.split(r"\n\s*\n|\n\* ", found, maxsplit=1)[0].split())


def test_the_readme_says_which_penalty_scaling_the_tutorial_used():
    """Keras 3.15 divides the activity penalty by the batch; the tutorial's Keras summed it (docs/results.md)."""
    requirements = _paragraph(README, "Python ≥ 3.11, Keras ≥ 3.15")
    assert "assumes" not in requirements
    assert "summed" in requirements and "docs/results.md" in requirements
    results = (ROOT / "docs" / "results.md").read_text()
    assert "summed" in results and "3e-3" in results


@pytest.mark.parametrize("page", ["README.md", "docs/performance.md"])
def test_the_cost_of_a_trial_is_two_figures_the_engine_alone_and_inside_run(page):
    """'About 2 s' is the engine alone; inside ``run`` a trial costs more, and the page says how much."""
    text = " ".join((ROOT / page).read_text().split())
    claims = list(re.finditer(r"about \**2 s(?:econds)?\**(?! of)", text))  # not "about 2 s of its 2.5-3 s"
    assert claims
    for match in claims:
        around = text[max(0, match.start() - 300) : match.end() + 300]
        around = around.lower().replace("`actreg-search run`", "`run`")
        assert "alone" in around and "inside `run`" in around, around


def _free_names(code: str) -> set[str]:
    """Names a snippet reads that it neither imports, defines nor binds, builtins aside."""
    import ast
    import builtins

    tree = ast.parse(code)
    bound = {a.arg for n in ast.walk(tree) if isinstance(n, ast.arguments) for a in (*n.args, *n.kwonlyargs)}
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            bound |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
    read = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return read - bound - set(dir(builtins))


def test_every_python_snippet_of_the_readme_imports_what_it_uses():
    """A snippet pasted into a file of its own runs: the builder's ``keras`` is imported in it."""
    snippets = re.findall(r"```python\n(.*?)\n```", README, flags=re.S)
    assert any("def build(reg" in s for s in snippets)
    missing = {s.splitlines()[0]: _free_names(s) for s in snippets if _free_names(s)}
    assert not missing, missing


def test_the_readme_says_to_log_a_run_with_tee_i():
    """``run ... | tee log`` loses the summary on Ctrl-C (tee dies of the same signal); ``tee -i`` keeps it."""
    assert re.search(r"actreg-search run [^`\n]*2>&1 \| tee -i \S+", README)
