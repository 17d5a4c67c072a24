"""The package's shape: rooms by role, imports only downward, no circle, private APIs fenced, small modules.

Every check walks the source with :mod:`ast` (nothing is imported), so a
violation is reported with its file and line. ``docs/architecture.md`` draws
what is checked here.
"""

from __future__ import annotations

import ast
import importlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "actreg_search"
PKG = "actreg_search"

#: The rooms, lowest floor first: a module may import from its own floor and the floors below, never above.
FLOORS: tuple[frozenset[str], ...] = (
    frozenset({"errors", "settings", "usercode", "console", "internals"}),
    frozenset({"spec"}),
    frozenset({"data"}),
    frozenset({"models"}),
    frozenset({"engine"}),
    frozenset({"results"}),
    frozenset({"store"}),
    frozenset({"search"}),
    frozenset({"dashboard"}),
    frozenset({"api"}),
    frozenset({"cli"}),
)
#: What the command line may import from the package: the API (and the bottom floor's errors and console).
CLI_MAY_IMPORT = frozenset({"api", "errors", "console"})
#: Modules allowed to read the environment (besides settings.py): the terminal's width, and TensorFlow's own
#: logging variables, set just before TensorFlow is imported (never at import time, checked below).
ENVIRON_READERS = frozenset({"settings.py", "console.py", "engine/quiet.py"})
MAX_LINES = 400
MAX_TOP_LEVEL = 12


@dataclass(frozen=True)
class Import:
    """One import of a package module by another."""

    source: str  # dotted name of the importing module
    target: str  # dotted name of the imported module
    line: int
    top_level: bool  # executed when the module is imported (not inside a function or TYPE_CHECKING)


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()
#: Every module's source and syntax tree, read once.
SOURCES: dict[Path, str] = {path: path.read_text() for path in PACKAGE.rglob("*.py")}
TREES: dict[Path, ast.Module] = {path: ast.parse(text, str(path)) for path, text in SOURCES.items()}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(name: str, path: Path) -> Iterator[Import]:
    tree = TREES[path]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]

    def visit(node: ast.AST, top: bool) -> Iterator[Import]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                yield from visit(child, False)
            elif isinstance(child, ast.If) and _is_type_checking(child):
                yield from visit(child, False)
            elif isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.split(".")[0] == PKG:
                        yield Import(name, alias.name, child.lineno, top)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - child.level + 1] + ([base] if base else []))
                if base.split(".")[0] != PKG:
                    continue
                for alias in child.names:
                    sub = f"{base}.{alias.name}"
                    yield Import(name, sub if sub in MODULES else base, child.lineno, top)
            else:
                yield from visit(child, top)

    yield from visit(tree, True)


IMPORTS = [imp for name, path in MODULES.items() for imp in _imports(name, path)]


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _floor(module: str, *, importing: bool = False) -> int:
    """The module's floor. The package itself re-exports the API's names, lazily: as an importer it is the top
    floor; as what is imported (``__version__``) the bottom one, since it imports nothing at import time (checked)."""
    room = _room(module)
    if room == "":
        return len(FLOORS) if importing else 0
    for floor, rooms in enumerate(FLOORS):
        if room in rooms:
            return floor
    raise AssertionError(f"{module}: room {room!r} is on no floor of FLOORS; add it there and to docs/architecture.md")


def test_every_room_is_on_a_floor():
    for module in MODULES:
        _floor(module)


def test_no_import_from_a_higher_floor():
    upward = sorted({
        f"{imp.source} (line {imp.line}) imports {imp.target}: floor {_floor(imp.source)} -> {_floor(imp.target)}"
        for imp in IMPORTS
        if _floor(imp.target) > _floor(imp.source, importing=True)
    })
    assert not upward, "imports from a higher floor:\n" + "\n".join(upward)


def test_bottom_floor_rooms_do_not_lean_on_each_other():
    """errors, settings, usercode, console and the fence each stand alone (errors aside, which every one may use)."""
    leaning = sorted({
        f"{imp.source} (line {imp.line}) imports {imp.target}"
        for imp in IMPORTS
        if _room(imp.source) in FLOORS[0] and _room(imp.target) not in ("", "errors", _room(imp.source))
    })
    assert not leaning, "\n".join(leaning)


def test_no_import_circle():
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for imp in IMPORTS:
        if imp.top_level and imp.target != imp.source:
            graph[imp.source].add(imp.target)
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        stack.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                return stack[stack.index(target):] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        stack.pop()
        state[module] = 2
        return None

    for module in sorted(graph):
        if module not in state and (cycle := visit(module)):
            pytest.fail("import circle: " + " -> ".join(cycle))


def test_the_package_root_imports_nothing_at_import_time():
    eager = [imp for imp in IMPORTS if imp.source == PKG and imp.top_level]
    assert not eager, eager


def test_the_cli_imports_only_the_api():
    """The CLI is a skin over the Python API: nothing from the store, reader, stats or export modules directly."""
    cli = [imp for imp in IMPORTS if imp.source == f"{PKG}.cli"]
    assert cli, "the AST walk found no import in cli.py"
    other = [f"line {imp.line}: {imp.target}" for imp in cli if _room(imp.target) not in CLI_MAY_IMPORT]
    assert not other, "cli.py imports, besides the API:\n" + "\n".join(other)


def _literal_count(tree: ast.Module) -> int:
    return sum(isinstance(node, ast.Constant) and node.value == "test_accuracy" for node in ast.walk(tree))


def test_test_accuracy_is_spelt_once():
    """The per-seed figures' names come from spec/measures.py; ``grep '"test_accuracy"'`` finds one definition."""
    found = {
        str(path.relative_to(ROOT)): count
        for path, tree in TREES.items()
        if (count := _literal_count(tree))
    }
    assert found == {"actreg_search/spec/measures.py": 1}, found
    grep = [p for p, text in SOURCES.items() if '"test_accuracy"' in text]
    assert [p.relative_to(ROOT).as_posix() for p in grep] == ["actreg_search/spec/measures.py"]


def test_no_module_is_over_400_lines():
    long = {str(p.relative_to(ROOT)): n for p in PACKAGE.rglob("*.py") if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, long


def test_at_most_a_dozen_modules_at_the_top():
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL, top


def _environ_uses(tree: ast.AST) -> Iterator[tuple[int, bool]]:
    """Each use of ``os.environ``/``os.getenv``/``os.putenv``, and whether it is at module level."""

    def visit(node: ast.AST, top: bool) -> Iterator[tuple[int, bool]]:
        for child in ast.iter_child_nodes(node):
            inner = top and not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef))
            if isinstance(child, ast.Attribute) and isinstance(child.value, ast.Name) and child.value.id == "os":
                if child.attr in ("environ", "getenv", "putenv", "unsetenv"):
                    yield child.lineno, top
            yield from visit(child, inner)

    yield from visit(tree, True)


def test_the_environment_is_read_at_the_edge():
    """Only settings.py reads the environment (console and the TensorFlow import aside); nothing at import time."""
    readers, at_import = [], []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).as_posix()
        for line, top in _environ_uses(TREES[path]):
            if top:
                at_import.append(f"{rel}:{line}")
            if rel not in ENVIRON_READERS:
                readers.append(f"{rel}:{line}")
    assert not at_import, "os.environ used at import time: " + ", ".join(at_import)
    assert not readers, "os.environ read outside settings.py: " + ", ".join(readers)


#: Every private or undocumented library name the package uses, by the one module allowed to spell it.
FENCES: dict[str, tuple[str, ...]] = {
    "optuna_private.py": (
        "_trial_id", "scoped_session", "failed_trial",  # a trial's storage id, the session registry, a retry's origin
        "study_directions", "study_user_attributes", "trial_values", "trial_params",  # Optuna's tables ...
        "trial_user_attributes", "trial_system_attributes", "value_json", "distribution_json",  # ... and columns
    ),
    "keras_private.py": (
        "_learning_rate",  # Keras' optimizer: its learning-rate variable
        "merge_call", "get_replica_context",  # TensorFlow's replica context: apply gradients without all-reduce
        "set_seed",  # TensorFlow's global seed, left alone while Keras seeds
        "actreg_marks",  # the attribute set on Keras models: their marked layers
    ),
}


@pytest.mark.parametrize("fence", sorted(FENCES))
def test_each_fence_lists_the_names_it_uses(fence: str):
    """The fence's own ``PRIVATE_NAMES`` is this test's list: a new private use is added in both, knowingly."""
    module = importlib.import_module(f"{PKG}.internals.{fence.removesuffix('.py')}")
    assert tuple(sorted(module.PRIVATE_NAMES)) == tuple(sorted(FENCES[fence]))


@pytest.mark.parametrize("fence", sorted(FENCES))
def test_private_names_appear_only_behind_their_fence(fence: str):
    """Each private Optuna/Keras/TensorFlow name the fence lists appears nowhere else in the package."""
    own = PACKAGE / "internals" / fence
    assert own.exists()
    leaks = []
    for name in FENCES[fence]:
        pattern = re.compile(rf"(?<![\w]){re.escape(name)}(?![\w])")
        for path in PACKAGE.rglob("*.py"):
            if path == own:
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if pattern.search(line):
                    leaks.append(f"{name!r} in {path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not leaks, "private names outside their fence:\n" + "\n".join(leaks)


def test_sql_is_written_only_behind_the_optuna_fence():
    """Optuna's tables ``trials`` and ``studies`` are everyday words; SQL naming them is caught by its verbs."""
    sql = re.compile(r"\b(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM)\b|sqlalchemy\.text\(")
    outside = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in PACKAGE.rglob("*.py")
        if path.name != "optuna_private.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if sql.search(line)
    ]
    assert not outside, outside


def test_the_architecture_page_names_real_modules():
    page = (ROOT / "docs" / "architecture.md").read_text()
    named = set(re.findall(r"\bactreg_search/[\w/]+\.py\b", page))
    assert len(named) >= 20, named
    missing = sorted(p for p in named if not (ROOT / p).exists())
    assert not missing, f"docs/architecture.md names modules that do not exist: {missing}"
    rooms = {_room(m) for m in MODULES} - {""}
    unnamed = sorted(r for r in rooms if f"actreg_search/{r}/" not in page and f"actreg_search/{r}.py" not in page)
    assert not unnamed, f"docs/architecture.md leaves out: {unnamed}"


def test_importing_a_module_calls_nothing_at_module_level():
    """No module changes a library's global state when imported: no bare call at module level (``logging``,
    ``warnings``, ``os.environ``, ``tf.config`` ...); definitions and constants only."""
    calls = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in PACKAGE.rglob("*.py")
        for node in TREES[path].body
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
    ]
    assert not calls, calls
