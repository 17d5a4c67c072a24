"""docs/atlas.md: its generated table is a suite table of studies/atlas/, and its prose names only the table's winners."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from actreg_search.results.suite import NO_WINNER
from actreg_search.spec.parser import load_spec

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "atlas.md").read_text()


def _atlas_script():
    spec = importlib.util.spec_from_file_location("atlas_benchmark", ROOT / "benchmarks" / "atlas.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ATLAS = _atlas_script()
TABLE = ATLAS.block(DOC)


def test_the_table_has_one_row_per_atlas_study_in_order():
    names = [load_spec(p).study.name for p in sorted((ROOT / "studies" / "atlas").glob("*.toml"), key=lambda p: p.name)]
    assert len(names) >= 8
    assert list(ATLAS.verdicts(TABLE)) == names


def test_a_row_is_bold_exactly_where_its_verdict_names_a_winner():
    rows = [line for line in TABLE.splitlines() if line.startswith("| ")]
    head = [c.strip() for c in rows[0].strip(" |").split(" | ")]
    for row in rows[2:]:
        cells = [c.strip() for c in row.strip(" |").split(" | ")]
        bold = [head[i] for i, cell in enumerate(cells[:-1]) if cell.startswith("**")]
        winner = ATLAS.winner(cells[-1])
        if winner != NO_WINNER:
            assert bold == [winner], row[:80]
        else:
            assert not bold and cells[-1].startswith("no penalty beats none (chosen on validation: "), row[:80]


def test_the_prose_names_a_winner_only_where_the_table_marks_one():
    winners = {study: w for study, v in ATLAS.verdicts(TABLE).items() if (w := ATLAS.winner(v)) != NO_WINNER}
    prose = DOC.split(ATLAS.BEGIN)[0]
    claimed = re.findall(r"`([\w-]+)`: \*\*([^*]+)\*\* beats none", prose)
    assert claimed, "the prose states each row's winner as `study`: **group** beats none"
    for study, group in claimed:
        assert winners.get(study) == group, (study, group)
    assert {s for s, _ in claimed} == set(winners)


def test_the_doc_gives_the_command_its_time_and_the_figure():
    assert "actreg-search run studies/atlas/ --jobs 2" in DOC
    assert "actreg-search report --suite studies/atlas/" in DOC
    assert re.search(r"wall time[^\n]*\d+ min", DOC, flags=re.I)
    assert "(img/atlas.png)" in DOC and (ROOT / "docs" / "img" / "atlas.png").stat().st_size > 10_000
    assert "docs/atlas.md" in (ROOT / "README.md").read_text()


def test_the_glance_says_what_the_table_says():
    """Each glance row: the table's verdict, its none cell's figure and count, its best group's Δ, interval and count."""
    rows = [line for line in TABLE.splitlines() if line.startswith("| ")]
    head = [c.strip() for c in rows[0].strip(" |").split(" | ")]
    table = {cells[0]: dict(zip(head, cells)) for cells in ([c.strip() for c in r.strip(" |").split(" | ")] for r in rows[2:])}
    glance = [line for line in ATLAS.block(DOC, ATLAS.GLANCE, ATLAS.GLANCE_END).splitlines() if line.startswith("| ")][2:]
    assert [line.split(" | ")[0].removeprefix("| ") for line in glance] == list(table)
    for line in glance:
        study, none, best, delta, verdict = (c.strip() for c in line.strip(" |").split(" | "))
        row = table[study]
        assert verdict == row["verdict"]
        figure, count = re.fullmatch(r"(\S+) \((\d+)\)", none).groups()
        assert row["none"].startswith(f"{figure} ± ") and f"best of {count})<br>baseline" in row["none"]
        group, trials = re.fullmatch(r"(\S+(?: \+ \S+)*) \((\d+) trials\)", best).groups()
        assert f"best of {trials})" in row[group]
        if group == "none":
            assert delta == "it is none"
        else:
            assert f"Δ {delta}".replace("**", "") in row[group].replace("**", "")


def test_two_verdicts_agree_in_kind_where_a_group_beats_none_in_both():
    """benchmarks/atlas.py's stability counts: the same winner, or a shared group among those that beat none."""
    a = "l1/kernel beats none (Holm p<0.0001); also l1_l2/kernel, l2/output + tar"
    assert ATLAS.beating(a) == {"l1/kernel", "l1_l2/kernel", "l2/output + tar"}
    assert ATLAS.beating(NO_WINNER) == set()
    assert ATLAS.agree(a, "l2/output + tar beats none (Holm p=0.04)")  # another winner, but a shared group
    assert not ATLAS.agree(a, "l2/output beats none (Holm p=0.04); also tar")  # "l2/output + tar" is one group
    assert not ATLAS.agree(a, NO_WINNER) and ATLAS.agree(NO_WINNER, NO_WINNER)
    unchosen = f"{NO_WINNER} (chosen on validation: l2/kernel, no better on test; better on test but not chosen: " \
               "l1_l2/kernel, l2/output + tar)"
    assert ATLAS.winner(unchosen) == NO_WINNER and ATLAS.beating(unchosen) == {"l1_l2/kernel", "l2/output + tar"}
    assert ATLAS.agree(unchosen, f"{NO_WINNER} (chosen on validation: none)")  # no winner in both
    assert ATLAS.agree(unchosen, a) and not ATLAS.agree(f"{NO_WINNER} (chosen on validation: none)", a)
