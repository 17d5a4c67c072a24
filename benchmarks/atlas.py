"""The atlas (docs/atlas.md): its generated table and figure, its stability over sampler seeds, its reproduction.

The atlas is ``studies/atlas/`` run as a suite; docs/atlas.md holds its
side-by-side table between two markers, exactly as ``actreg-search report
--suite studies/atlas/`` prints it, and docs/img/atlas.png, the suite page's
heatmap taken with headless Chromium. Four commands, run from the repository
root after ``actreg-search run studies/atlas/ --jobs 2 --storage sqlite:///atlas.db``::

    .venv/bin/python benchmarks/atlas.py write --storage sqlite:///atlas.db
        # the table into docs/atlas.md (between its markers) and docs/img/atlas.png
    .venv/bin/python benchmarks/atlas.py check --storage sqlite:///atlas.db
        # a run's table against docs/atlas.md's: the same text, or else each
        # row's verdict
    .venv/bin/python benchmarks/atlas.py stability --storage sqlite:///atlas.db \\
        --other sqlite:///atlas-seed1.db --sampler-seed 1 --jobs 2
        # the atlas again with another sampler seed (timed), then each row's
        # verdict and best penalty under both seeds, side by side
        # (--compare-only: the two stored runs compared, nothing run)
    .venv/bin/python benchmarks/atlas.py baseline --storage sqlite:///atlas.db --study wine --trials 40
        # none searched alone with 40 trials, against each cell of the wine row

``stability`` and ``baseline`` copy the study files (and their models) to a
temporary folder and change a line: ``[study] seed`` (the sampler's seed: the
training seeds, the data and the budget stay), or ``[space] regularizer`` (to
``["none"]``, its ``balance`` dropped: nothing takes turns); they run the copy
with the API and compare. Nothing here is chosen on test: both tables choose on
validation, as the atlas does.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ATLAS = ROOT / "studies" / "atlas"
DOC = ROOT / "docs" / "atlas.md"
PNG = ROOT / "docs" / "img" / "atlas.png"
BEGIN = "<!-- begin: actreg-search report --suite studies/atlas/ -->"
END = "<!-- end: actreg-search report --suite studies/atlas/ -->"
GLANCE = "<!-- begin: benchmarks/atlas.py write (the table at a glance) -->"
GLANCE_END = "<!-- end: benchmarks/atlas.py write -->"


def load(folder: Path, storage: str):
    """The suite of ``folder``'s study files in ``storage``, read."""
    from actreg_search import load_suite

    return load_suite(folder, storage)


def report(folder: Path, storage: str) -> str:
    """The suite's table as ``report --suite`` prints it, from its first line after the heading."""
    text = load(folder, storage).markdown()
    return text.split("\n", 2)[2] if text.startswith("# ") else text


def block(doc: str, begin: str = BEGIN, end: str = END) -> str:
    """What docs/atlas.md holds between two markers (by default the generated table)."""
    try:
        return doc.split(begin + "\n", 1)[1].split(end, 1)[0]
    except IndexError:
        raise SystemExit(f"{DOC}: nothing between {begin!r} and {end!r}") from None


def leaders(folder: Path, storage: str) -> dict[str, tuple[str, str]]:
    """Per study: its verdict, and the penalty group of its best trial on validation (rank 1)."""
    table = load(folder, storage).table()
    return {row.study: (row.verdict, row.choice or "—") for row in table.rows}


def winner(verdict: str) -> str:
    """A row's winner (its verdict without the p-values), or "no penalty beats none" (without its parenthesis)."""
    from actreg_search.results.suite import NO_WINNER

    if verdict.startswith(NO_WINNER):
        return NO_WINNER
    return verdict.split(" beats none", 1)[0] if " beats none" in verdict else verdict


def beating(verdict: str) -> frozenset[str]:
    """Every group a verdict says beats none on test: its winner and those after "also", or, in a row without a
    winner, those "better on test but not chosen"."""
    from actreg_search.results.suite import NO_WINNER

    if verdict.startswith(NO_WINNER):
        unchosen = verdict.partition("better on test but not chosen: ")[2].removesuffix(")")
        return frozenset(g for g in unchosen.split(", ") if g)
    if " beats none" not in verdict:
        return frozenset()
    first, _, rest = verdict.partition(" beats none")
    also = rest.partition("; also ")[2]
    return frozenset([first, *(g for g in also.split(", ") if g)])


def agree(a: str, b: str) -> bool:
    """Whether two verdicts agree in kind: the same winner, or no winner in both, or a group beating none in both."""
    return winner(a) == winner(b) or bool(beating(a) & beating(b))


def compare(first: dict[str, tuple[str, str]], second: dict[str, tuple[str, str]], names: tuple[str, str]) -> None:
    """Print the rows side by side, and how many agree."""
    print(f"| study | verdict, {names[0]} | verdict, {names[1]} | same winner | a penalty beats none in both "
          f"| best on validation, {names[0]} | {names[1]} | same |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    same_winner = same_best = in_kind = 0
    studies = sorted(set(first) | set(second))
    for study in studies:
        a, b = first.get(study, ("not run", "—")), second.get(study, ("not run", "—"))
        w, g, k = winner(a[0]) == winner(b[0]), a[1] == b[1], agree(a[0], b[0])
        same_winner += w
        same_best += g
        in_kind += k
        shared = ", ".join(sorted(beating(a[0]) & beating(b[0]))) or ("—" if w else "**no**")
        print(f"| {study} | {a[0]} | {b[0]} | {'yes' if w else '**no**'} | {shared} | {a[1]} | {b[1]} | {'yes' if g else 'no'} |")
    print(f"\nthe same winner (or the same 'no penalty beats none') in {same_winner} of {len(studies)} rows; "
          f"the same verdict in kind (that, or a penalty beating none under both) in {in_kind}; "
          f"the same best penalty on validation in {same_best} of {len(studies)}")


def glance(storage: str) -> str:
    """The table at a glance: per study, its none, its best trial on validation against none, its verdict."""
    from actreg_search.results.figures import difference_text, value_text

    lines = [
        "| study | none on test (best of n trials) | best trial on validation: its penalty | its Δ against none on test, 95% CI | verdict |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in load(ATLAS, storage).table().rows:
        none, best = row.baseline, (row.cell(row.choice) if row.choice else None)
        if none is None or best is None or none.mean is None:
            lines.append(f"| {row.study} | — | — | — | {row.verdict} |")
            continue
        c = best.comparison
        against = "it is none" if best.baseline else "not compared" if c is None else (
            f"{difference_text(c.metric, c.mean_difference)} [{difference_text(c.metric, c.ci_low).removesuffix(' points')}, "
            f"{difference_text(c.metric, c.ci_high).removesuffix(' points')}]"
        )
        lines.append(
            f"| {row.study} | {value_text(row.figure, none.mean)} ({none.trials}) | {best.group} ({best.trials} trials) | "
            f"{against} | {row.verdict} |"
        )
    return "\n".join(lines) + "\n"


def _fill(doc: str, begin: str, end: str, text: str) -> str:
    return doc.replace(begin + "\n" + block(doc, begin, end) + end, begin + "\n" + text + end)


def write(storage: str) -> None:
    """Put the table and its glance into docs/atlas.md between their markers, and take docs/img/atlas.png."""
    doc = _fill(DOC.read_text(), BEGIN, END, report(ATLAS, storage))
    DOC.write_text(_fill(doc, GLANCE, GLANCE_END, glance(storage)))
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "suite.html"
        load(ATLAS, storage).write_dashboard(page)
        screenshot(page, PNG)
    print(f"wrote the table into {DOC} and the heatmap to {PNG}")


def screenshot(page: Path, png: Path, width: int = 1400, height: int = 1250) -> None:
    """The top of ``page`` (the heatmap) as a PNG, with headless Chromium (the binary the tests use)."""
    from tests.dashboard.browser import find_chromium

    binary = find_chromium()
    if binary is None:
        raise SystemExit("no Chromium binary (Debian: apt-get install -y chromium; or set $CHROMIUM)")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--user-data-dir={profile}",
             f"--window-size={width},{height}", "--virtual-time-budget=20000", f"--screenshot={png}", page.as_uri()],
            check=True, capture_output=True, timeout=120,
        )


def check(storage: str) -> int:
    """Compare a run's table with docs/atlas.md's: the text, else each row's verdict (its last column)."""
    committed, measured = block(DOC.read_text()), report(ATLAS, storage)
    if committed == measured:
        print("the table is docs/atlas.md's, to the character")
        return 0
    print("the table's figures differ from docs/atlas.md's (as --jobs 2 may make them); each row's verdict:\n")
    before, now = verdicts(committed), verdicts(measured)
    print("| study | docs/atlas.md | this run | same winner | in kind |\n| --- | --- | --- | --- | --- |")
    for study in sorted(set(before) | set(now)):
        a, b = before.get(study, "not in the table"), now.get(study, "not in the table")
        print(f"| {study} | {a} | {b} | {'yes' if winner(a) == winner(b) else '**no**'} | {'yes' if agree(a, b) else '**no**'} |")
    studies = set(before) | set(now)
    same = sum(winner(before.get(s, "")) == winner(now.get(s, "")) for s in studies)
    kind = sum(agree(before.get(s, ""), now.get(s, "")) for s in studies)
    print(f"\nthe same winner (or the same 'no penalty beats none') in {same} of {len(studies)} rows; "
          f"the same verdict in kind (that, or a penalty beating none in both) in {kind}")
    return 0 if same == len(studies) else 1


def verdicts(table: str) -> dict[str, str]:
    """Per study of a table as ``report --suite`` writes it: its verdict (the last column)."""
    rows = [line for line in table.splitlines() if line.startswith("| ")][2:]
    return {cells[0]: cells[-1] for cells in ([c.strip() for c in row.strip(" |").split(" | ")] for row in rows)}


def stability(storage: str, other: str, sampler_seed: int, jobs: int, run: bool = True) -> None:
    """Run the atlas with another sampler seed (timed; not with ``run`` false) and compare both runs' rows."""
    from actreg_search import run_suite
    from actreg_search.api.suites import run_line

    with tempfile.TemporaryDirectory() as tmp:
        folder = _copy(Path(tmp), {r"(?m)^seed = \d+$": f"seed = {sampler_seed}"}, "*.toml")
        if run:
            start = time.perf_counter()
            run_suite(folder, other, jobs=jobs, progress=False, after=lambda s: print(run_line(s), flush=True))
            print(f"\nthe atlas with sampler seed {sampler_seed}, --jobs {jobs}: {time.perf_counter() - start:.0f} s "
                  "(a study already at its n_trials trains nothing)\n")
        compare(leaders(ATLAS, storage), leaders(folder, other), ("seed 0", f"seed {sampler_seed}"))


def _copy(tmp: Path, edits: dict[str, str], files: str) -> Path:
    """The atlas copied into ``tmp``, in each of ``files`` the first line matching each pattern of ``edits`` replaced
    by its line."""
    folder = tmp / "atlas"
    shutil.copytree(ATLAS, folder)
    for path in folder.glob(files):
        text = path.read_text()
        for pattern, line in edits.items():
            changed = re.sub(pattern, line, text, count=1)
            if changed == text:
                raise SystemExit(f"{path.name}: no line matching {pattern!r} to change")
            text = changed
        path.write_text(text)
    return folder


def baseline(storage: str, other: str, study: str, trials: int, jobs: int) -> None:
    """Tune ``none`` alone with ``trials`` trials (the same knobs), then set the best of it against the row's cells.

    A row's winner beat the best of the ``none`` trials the search happened to run (TPE may have given it few);
    this asks whether it still wins against a ``none`` searched as hard as the winner was.
    """
    from actreg_search import load as load_study
    from actreg_search import run
    from actreg_search.results.paired import paired_comparison
    from actreg_search.results.suite import suite_row

    path = ATLAS / f"{study}.toml"
    atlas = load_study(_name(path), storage, curves=False)
    row = suite_row(atlas.results)
    with tempfile.TemporaryDirectory() as tmp:
        alone = {r"(?m)^regularizer = \[.*\]$": 'regularizer = ["none"]', r"(?m)^balance = .*$": ""}
        folder = _copy(Path(tmp), alone, path.name)
        name = f"{atlas.name}-none-only"
        start = time.perf_counter()
        run(folder / path.name, other, trials, jobs=jobs, progress=False, name=name)
        took = time.perf_counter() - start
    tuned = load_study(name, other, curves=False)
    best = tuned.best
    figure = row.figure
    print(f"{atlas.name}: none alone, {trials} trials ({took:.0f} s): its best on validation is trial {best.number}; "
          f"the atlas' none was the best of {row.baseline.trials} none trials\n")
    print(f"| {atlas.name}: cell | Δ against the atlas' none | Δ against none tuned alone ({trials} trials) |")
    print("| --- | --- | --- |")
    for cell in sorted(row.cells, key=lambda c: c.rank):
        if cell.comparison is None and not cell.baseline:
            continue
        again = paired_comparison(best, cell.trial, figure)
        before = "baseline" if cell.baseline else _diff(cell.comparison)
        print(f"| {cell.group} (trial {cell.trial.number}, best of {cell.trials}) | {before} | {_diff(again)} |")


def _name(path: Path) -> str:
    from actreg_search.spec.parser import load_spec

    return load_spec(path).study.name


def _diff(c) -> str:
    return (f"{100 * c.mean_difference:+.1f} points [{100 * c.ci_low:+.1f}, {100 * c.ci_high:+.1f}], "
            f"{c.wins}/{c.ties}/{c.losses}, p={c.wilcoxon_p:.2g}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("write", "check", "stability", "baseline"))
    parser.add_argument("--storage", default="sqlite:///atlas.db", help="the atlas' storage (sampler seed 0)")
    parser.add_argument(
        "--other", default=None,
        help="the second run's storage (stability: sqlite:///atlas-seed1.db; baseline: sqlite:///atlas-baseline.db)",
    )
    parser.add_argument("--sampler-seed", type=int, default=1, help="stability: the second run's [study] seed")
    parser.add_argument("--jobs", type=int, default=2, help="stability, baseline: worker processes")
    parser.add_argument("--study", default="make_classification", help="baseline: the atlas file's stem")
    parser.add_argument("--trials", type=int, default=40, help="baseline: trials of none alone")
    parser.add_argument("--compare-only", action="store_true", help="stability: compare the two stored runs, run nothing")
    args = parser.parse_args()
    if args.command == "write":
        write(args.storage)
    elif args.command == "check":
        raise SystemExit(check(args.storage))
    elif args.command == "stability":
        stability(args.storage, args.other or "sqlite:///atlas-seed1.db", args.sampler_seed, args.jobs, not args.compare_only)
    else:
        baseline(args.storage, args.other or "sqlite:///atlas-baseline.db", args.study, args.trials, args.jobs)


if __name__ == "__main__":
    main()
