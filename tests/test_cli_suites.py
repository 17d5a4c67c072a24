"""Suites from the command line: ``run DIR/``, ``report --suite DIR/``, ``dashboard --suite DIR/`` (fake engine, seconds)."""

from __future__ import annotations

import functools
import importlib.util
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from actreg_search.cli import app
from actreg_search.engine import ENGINES
from actreg_search.spec.vocab import EngineName
from tests.api.test_suites import study
from tests.fakes import FakeEngine

IN_PROCESS = ("--recycle-mb", "0")  # the fake engine trains here
RUN_LINE = re.compile(
    r"^(\w+): target reached; 3/3 finished, 3 run now \(0 failed\); best \d\.\d{4} on validation \(trial \d\); storage (\S+)$"
)


def invoke(*args: object) -> Result:
    """Run the app in-process and return what it printed and its exit code."""
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(autouse=True)
def fake_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    """Trials of a study file with ``engine = "keras"`` train on the fake engine, in this process."""
    monkeypatch.setitem(ENGINES, EngineName.KERAS, FakeEngine)
    monkeypatch.setenv("COLUMNS", "250")


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    """A folder of two study files: alpha (a.toml) and beta (b.toml)."""
    folder = tmp_path / "suite"
    study(folder, "b.toml", "beta")
    study(folder, "a.toml", "alpha")
    return folder


def _row(markdown: str, name: str) -> list[str]:
    line = next(line for line in markdown.splitlines() if line.startswith(f"| {name} |"))
    return [cell.strip() for cell in line.strip("|").split(" | ")]


def test_run_a_folder_then_report_the_suite(suite, storage_url, tmp_path):
    done = invoke("run", f"{suite}/", "--storage", storage_url, *IN_PROCESS)
    assert done.exit_code == 0, done.output
    lines = done.stdout.splitlines()
    assert [RUN_LINE.match(line).groups() for line in lines] == [("alpha", storage_url), ("beta", storage_url)], lines
    again = invoke("run", suite, "--storage", storage_url, *IN_PROCESS)  # resumed: each at its target, nothing trained
    assert again.exit_code == 0 and again.stdout.count("3/3 finished, 0 run now") == 2

    report = invoke("report", "--suite", f"{suite}/", "--storage", storage_url)
    assert report.exit_code == 0, report.output
    assert report.stdout.startswith("# Suite: 2 of 2 studies side by side\n")
    header = _row(report.stdout, "study")
    assert header == ["study", "dataset", "family", "task", "chosen on → reported", "none", "l1/pre_activation", "verdict"]
    assert _row(report.stdout, "alpha")[:5] == ["alpha", "circles", "mlp", "classification", "validation accuracy → test accuracy"]
    assert "not run" not in report.stdout

    out = tmp_path / "suite.md"
    written = invoke("report", "--suite", suite, "--storage", storage_url, "--out", out)
    assert written.exit_code == 0 and written.stdout == "" and f"wrote the suite report to {out}" in written.stderr
    assert out.read_text() == report.stdout


def test_the_suite_cell_shows_compares_difference_and_interval(suite, storage_url):
    """``compare NAME`` (the best regularized trial against the best none) and the suite's l1 cell: one pair, one result."""
    assert invoke("run", suite, "--storage", storage_url, *IN_PROCESS).exit_code == 0
    report = invoke("report", "--suite", suite, "--storage", storage_url).stdout
    for name in ("alpha", "beta"):
        compared = invoke("compare", name, "--storage", storage_url)
        assert compared.exit_code == 0, compared.output
        row = next(line for line in compared.stdout.splitlines() if re.match(r"│ \d+ +│ \d+ ", line))
        a, b, seeds, mean, ci, wilcoxon, _, _, record = (cell.strip() for cell in row.split("│")[1:-1])
        low, high = (float(x) for x in ci.strip("[]").split(", "))
        points = lambda x: f"{100 * x:+.1f}"  # noqa: E731 - accuracy differences are shown in points
        wins, ties, losses = record.split(" / ")
        none_cell, l1_cell = _row(report, name)[5:7]
        assert re.search(rf"\(trial {a}, best of \d+\)<br>baseline$", none_cell), none_cell
        expected = f")<br>Δ {points(float(mean))} points [{points(low)}, {points(high)}] · {wins}/{ties}/{losses} · p="
        assert f"(trial {b}, best of " in l1_cell and expected in l1_cell, (expected, l1_cell)
        assert float(l1_cell.rsplit("p=", 1)[1]) == pytest.approx(float(wilcoxon), abs=0.01)


def test_several_study_files_and_a_partial_suite(suite, storage_url):
    done = invoke("run", suite / "a.toml", "--storage", storage_url, *IN_PROCESS)  # one file: today's one line
    assert done.exit_code == 0 and RUN_LINE.match(done.stdout.rstrip("\n")).group(1) == "alpha"
    report = invoke("report", "--suite", suite, "--storage", storage_url)
    assert report.exit_code == 0, report.output
    assert report.stdout.startswith("# Suite: 1 of 2 studies side by side\n") and "| beta |" not in report.stdout
    not_run = [line for line in report.stdout.splitlines() if "not run" in line]
    assert not_run == [f"- beta ({suite / 'b.toml'}): not run (no such study in {storage_url}; `actreg-search run {suite / 'b.toml'}`)"]

    both = invoke("run", suite / "b.toml", suite / "a.toml", "--storage", storage_url, *IN_PROCESS)  # in the order given
    assert both.exit_code == 0, both.output
    assert [RUN_LINE.sub(r"\1", line) for line in both.stdout.splitlines()] == ["beta", "alpha: target reached; 3/3 finished, 0 run now (0 failed); best 0.7902 on validation (trial 1); storage " + storage_url]


def test_epochs_overrides_every_study_of_the_suite(suite, storage_url):
    done = invoke("run", suite, "--storage", storage_url, "--epochs", "1", "--n-trials", "2", *IN_PROCESS)
    assert done.exit_code == 0 and done.stdout.count("2/2 finished, 2 run now") == 2, done.output


def test_an_interrupted_suite_stops_and_exits_130(suite, storage_url, monkeypatch):
    monkeypatch.setitem(ENGINES, EngineName.KERAS, functools.partial(FakeEngine, interrupt=lambda config: True))
    done = invoke("run", suite, "--storage", storage_url, *IN_PROCESS)
    assert done.exit_code == 130
    assert [line.split(":")[0] for line in done.stdout.splitlines()] == ["alpha"] and "interrupted" in done.stdout


@pytest.mark.skipif(importlib.util.find_spec("actreg_search.dashboard.suite") is None, reason="no suite page yet")
def test_dashboard_writes_the_suite_page(suite, storage_url, tmp_path, monkeypatch):
    assert invoke("run", suite / "a.toml", "--storage", storage_url, *IN_PROCESS).exit_code == 0
    monkeypatch.chdir(tmp_path)
    done = invoke("dashboard", "--suite", suite, "--storage", storage_url)
    assert done.exit_code == 0, done.output
    assert "wrote the suite page (1 of 2 studies run) to suite.html" in done.stderr
    page = (tmp_path / "suite.html").read_text()
    assert page.startswith("<!DOCTYPE html>") or "<html" in page[:500]
    assert "alpha" in page


# --------------------------------------------------------------------------- refusals

REFUSALS = [
    (["run", "{empty}/"], "empty: the folder is empty; a suite is a folder of study files (*.toml) or several study files"),
    (["run", "{notes}"], "notes: the folder holds no study file (*.toml)"),
    (["run", "{suite}", "--name", "x"], "run: --name renames one study; not with a folder or several study files"),
    (["run", "{bad}"], "bad/c.toml: [tool]: unknown table; allowed: study, data, model, space"),
    (["run", "{twice}"], "twice/c.toml: names study 'alpha', as {twice}/a.toml does, in storage {url}"),
    (["run", "{suite}/a.toml", "{suite}/a.toml"], "a.toml: given twice"),
    (["report", "--suite", "{suite}/"], "no study of this suite has run yet (alpha, beta); run them first: actreg-search run {suite}/"),
    (["report", "--suite", "{suite}/b.toml", "{suite}/a.toml"], "(beta, alpha); run them first: actreg-search run {suite}/b.toml {suite}/a.toml"),
    (["report", "--suite", "{empty}", "--out", "{tmp}/suite.md"], "empty: the folder is empty"),
    (["report", "--suite", "{bad}"], "bad/c.toml: [tool]: unknown table"),
    (["report", "--suite"], "suite: give a folder of study files (*.toml) or study files"),
    (["report", "--suite", "{suite}", "--on", "validation"], "report: --on is for one study"),
    (["report"], "report: give one study NAME (several studies side by side: report --suite DIR/)"),
    (["report", "alpha", "beta"], "report: give one study NAME"),
    (["dashboard", "--suite", "{empty}"], "empty: the folder is empty"),
    (["dashboard", "--suite", "{suite}"], "no study of this suite has run yet (alpha, beta)"),
    (["dashboard", "--suite", "{suite}", "--serve"], "dashboard: --serve shows one study live"),
    (["dashboard"], "dashboard: give one study NAME"),
]


@pytest.mark.parametrize(("args", "fragment"), REFUSALS, ids=[f"{a[0]} {i}" for i, (a, _) in enumerate(REFUSALS)])
def test_refusals_are_one_line_exit_2_and_run_or_write_nothing(args, fragment, suite, storage_url, tmp_path):
    folders = {"empty": (), "notes": (), "bad": ("a.toml",), "twice": ("a.toml", "b.toml")}
    for folder, copies in folders.items():
        (tmp_path / folder).mkdir()
        for name in copies:
            (tmp_path / folder / name).write_text((suite / name).read_text())
    (tmp_path / "notes" / "notes.txt").write_text("no study here")
    (tmp_path / "bad" / "c.toml").write_text('[tool]\nname = "not a study"\n')
    study(tmp_path / "twice", "c.toml", "alpha")
    values = {**{k: tmp_path / k for k in folders}, "suite": suite, "url": storage_url, "tmp": tmp_path}
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    done = invoke(*[a.format(**values) for a in args], "--storage", storage_url)
    assert done.exit_code == 2, done.output
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("actreg-search: error: ")
    assert fragment.format(**values) in done.stderr and done.stdout == ""
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before  # no database, no report


def test_the_help_names_suites():
    for command, words in (("run", "A folder (or several study files) is a suite"), ("report", "--suite"), ("dashboard", "--suite")):
        done = invoke(command, "--help")
        assert done.exit_code == 0 and words in done.stdout
