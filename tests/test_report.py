from __future__ import annotations

import pytest

from actreg_search.cli import main
from actreg_search.config import TrialConfig
from actreg_search.parser import load_spec
from actreg_search.vocab import Placement, Regularizer
from actreg_search.report import markdown_report, tutorial_figures
from actreg_search.reader import load_results
from actreg_search.storage import open_storage
from actreg_search.study import run_study

GRID = """
regularizer = ["none", "l1"]
placement = ["pre_activation", "post_activation"]
coefficient = [1e-4]
"""


@pytest.fixture(scope="module")
def case_study(tmp_path_factory, study_text):
    folder = tmp_path_factory.mktemp("case")
    path = folder / "case.toml"
    path.write_text(study_text(sampler="grid", n_trials=3, seeds=5, epochs=3, space=GRID))
    url = f"sqlite:///{folder / 'case.db'}"
    run_study(load_spec(path), url)
    return url


def test_markdown_report_has_every_model_and_every_pair(case_study):
    text = markdown_report(load_results(open_storage(case_study, create=False), "tiny"))
    rows = [line for line in text.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert len(rows) == 3
    assert all("95%" in text and "±" in row for row in rows)
    pairs = [line for line in text.splitlines() if line.startswith("- ")]
    assert len(pairs) == 3 and all("5 seeds" in p or "of 5" in p for p in pairs)


def test_tutorial_figures_only_for_the_tutorials_setting():
    pre = TrialConfig(Regularizer.L1, Placement.PRE_ACTIVATION, 1e-4, 0.0, 500)
    assert tutorial_figures(pre) == ("96%", "82%")
    assert tutorial_figures(TrialConfig(Regularizer.NONE, None, 0.0, 0.0, 500)) == ("100%", "78%")
    assert tutorial_figures(TrialConfig(Regularizer.NONE, None, 0.0, 0.0, 500, epochs=300)) is None


def test_compare_cli(case_study, capsys):
    assert main(["compare", "tiny", "--storage", case_study]) == 0
    text = capsys.readouterr().out
    assert "Wilcoxon" in text and "95% CI" in text
    assert main(["compare", "tiny", "--storage", case_study, "--trials", "0", "1"]) == 0
    assert main(["compare", "tiny", "--storage", case_study, "--top", "3"]) == 0
    capsys.readouterr()
    assert main(["compare", "tiny", "--storage", case_study, "--trials", "0", "9"]) == 2
    assert "has no trial 9" in capsys.readouterr().err
    assert main(["compare", "tiny", "--storage", case_study, "--top", "2", "--best-vs-baseline"]) == 2


def test_compare_refuses_too_few_shared_seeds(write_study, storage_url, capsys):
    run_study(load_spec(write_study(n_trials=2, seeds=3, epochs=2)), storage_url)
    assert main(["compare", "tiny", "--storage", storage_url, "--trials", "0", "1"]) == 2
    assert "share 3 seed(s)" in capsys.readouterr().err


def test_report_cli_writes_markdown(case_study, tmp_path, capsys):
    out = tmp_path / "report.md"
    assert main(["report", "tiny", "--storage", case_study, "--out", str(out)]) == 0
    assert out.read_text().startswith("## tiny: 3 models, 5 seeds each")
