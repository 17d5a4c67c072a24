"""The suite page (dashboard/suite.py, dashboard/data/suite.py): three studies stored by hand, no training.

``circles`` (classification): l1/pre_activation clearly beats none, l2/kernel is noise, kl_sparsity searched here
only. ``diabetes`` (regression, RMSE lower is better): l1/pre_activation has a clearly *lower* RMSE (a negative
penalty − none, which the heatmap must show as better, positive), l2/kernel a clearly higher one. ``moons``
(classification): l1/pre_activation ahead on validation, so the row's choice, and clearly worse on test; no l2/kernel
trial.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import optuna
import pytest
from plotly.offline import get_plotlyjs

from actreg_search.dashboard.data.suite import NOT_SEARCHED, HeatmapData, heatmap_data, study_histories
from actreg_search.dashboard.suite import heatmap_figure, markdown_html, render_suite_page, write_suite_page
from actreg_search.errors import UserError
from actreg_search.results.paired import paired_comparison
from actreg_search.results.records import StudyResults
from actreg_search.results.suite import side_by_side, suite_markdown
from actreg_search.spec.measures import headline
from actreg_search.spec.parser import parse_spec
from actreg_search.spec.specs import spec_to_raw
from actreg_search.spec.trial import TrialConfig
from actreg_search.spec.vocab import Placement, Regularizer, Task
from actreg_search.store import keys
from actreg_search.store.reader import load_results
from actreg_search.store.storage import open_storage
from tests.dashboard.browser import keep_screenshot
from tests.fakes import stored_trial

NONE = TrialConfig(Regularizer.NONE, None, 0.0, 0.0, 4, epochs=3)
PRE = TrialConfig(Regularizer.L1, Placement.PRE_ACTIVATION, 1e-4, 0.0, 4, epochs=3)
KERNEL = TrialConfig(Regularizer.L2, Placement.KERNEL, 0.0, 1e-4, 4, epochs=3)
KL = TrialConfig(Regularizer.KL_SPARSITY, Placement.POST_ACTIVATION, 0.0, 0.0, 4, epochs=3, coefficient=1e-2, rho=0.05)

ACC = (0.70, 0.74, 0.71, 0.76, 0.73)
RMSE = (0.88, 0.90, 0.86, 0.89, 0.87)
LEAD = (0.08, 0.09, 0.075, 0.085, 0.07)  # clearly positive, not constant
NOISE = (0.01, -0.02, 0.015, 0.0, -0.01)  # around 0: an interval that includes 0


def plus(values: tuple[float, ...], by: tuple[float, ...], times: float = 1.0) -> tuple[float, ...]:
    return tuple(round(v + times * d, 6) for v, d in zip(values, by, strict=True))


def store(url: str, name: str, task: Task, data: str, *trials: tuple[TrialConfig, tuple[float, ...], tuple[float, ...]]) -> StudyResults:
    spec = parse_spec(
        f'[study]\nname = "{name}"\nseeds = 5\ntask = "{task.value}"\n[data]\n{data}\nvalidation = 0.2\n'
        '[model]\nhidden_units = 4\nepochs = 3\nengine = "keras"\n[space]\nregularizer = ["none", "l1"]\n'
    )
    direction = "maximize" if task is Task.CLASSIFICATION else "minimize"
    study = optuna.create_study(study_name=name, storage=open_storage(url, create=True), direction=direction)
    study.set_user_attr(keys.SPEC, spec_to_raw(spec))
    for config, tests, validations in trials:
        study.add_trial(stored_trial(task, tests, tests, validations, config=config))
    return load_results(open_storage(url, create=False), name, curves="drawn")


@pytest.fixture
def suite(storage_url: str) -> list[StudyResults]:
    cls, reg = Task.CLASSIFICATION, Task.REGRESSION
    return [
        store(storage_url, "circles", cls, 'name = "circles"\nn_samples = 100',
              (NONE, ACC, ACC), (PRE, plus(ACC, LEAD), plus(ACC, LEAD)), (KERNEL, plus(ACC, NOISE), ACC),
              (KL, plus(ACC, NOISE, -1), plus(ACC, NOISE, -1))),
        store(storage_url, "diabetes", reg, 'name = "diabetes"',
              (NONE, RMSE, RMSE), (PRE, plus(RMSE, LEAD, -4), plus(RMSE, LEAD, -4)),  # ~0.33 lower: better
              (KERNEL, plus(RMSE, LEAD), plus(RMSE, LEAD))),  # ~0.08 higher: worse
        store(storage_url, "moons", cls, 'name = "moons"\nn_samples = 100',
              (NONE, ACC, ACC), (PRE, plus(ACC, LEAD, -1), plus(ACC, LEAD))),  # chosen on validation, worse on test
    ]


# --------------------------------------------------------------------------- (a) the heatmap's data


def test_heatmap_cells_are_the_paired_differences_oriented_better_positive(suite):
    table = side_by_side(suite)
    data = heatmap_data(table)
    assert isinstance(data, HeatmapData)
    assert data.groups == ("l1/pre_activation", "l2/kernel", "kl_sparsity")  # none is the baseline, not a column
    assert [r.study for r in data.rows] == ["circles", "diabetes", "moons"]
    results = {r.name: r for r in suite}

    def by_hand(study: str, number: int) -> tuple[float, float, float]:
        """penalty − none seed by seed (trial 0 is none), and its 95% t-interval, in the figure's units."""
        r = results[study]
        figure = headline(r.task, "test")
        d = np.array(r.trial(number).per_seed[figure]) - np.array(r.trial(0).per_seed[figure])
        half = 2.7764451051977987 * d.std(ddof=1) / math.sqrt(len(d))  # t(0.975, 4)
        return d.mean(), d.mean() - half, d.mean() + half

    # classification: in points, as they are
    mean, low, high = by_hand("circles", 1)
    cell = data.cell("circles", "l1/pre_activation")
    c = paired_comparison(results["circles"].trial(0), results["circles"].trial(1), headline(Task.CLASSIFICATION, "test"))
    assert cell.raw == pytest.approx(c.mean_difference) and cell.raw == pytest.approx(mean)
    assert cell.better == pytest.approx(100 * mean) and cell.better == pytest.approx(8.0)
    assert (cell.low, cell.high) == pytest.approx((100 * low, 100 * high))
    assert (cell.unit, cell.flipped, cell.includes_zero, cell.winner) == ("points", False, False, True)
    noise = data.cell("circles", "l2/kernel")
    assert noise.includes_zero and noise.low < 0 < noise.high and not noise.winner and not noise.beats_none

    # regression: a lower RMSE is a negative penalty − none, drawn as better (positive), in RMSE units
    mean, low, high = by_hand("diabetes", 1)
    assert mean < 0  # the case where a sign left unflipped would be caught
    cell = data.cell("diabetes", "l1/pre_activation")
    c = paired_comparison(results["diabetes"].trial(0), results["diabetes"].trial(1), headline(Task.REGRESSION, "test"))
    assert cell.raw == pytest.approx(c.mean_difference) == pytest.approx(mean)
    assert cell.better == pytest.approx(-c.mean_difference) and cell.better > 0
    assert (cell.low, cell.high) == pytest.approx((-high, -low)) and 0 < cell.low < cell.high
    assert (cell.unit, cell.flipped, cell.includes_zero, cell.winner) == ("RMSE units", True, False, True)
    worse = data.cell("diabetes", "l2/kernel")
    assert worse.raw > 0 and worse.better == pytest.approx(-worse.raw) and worse.high < 0 and not worse.winner

    # classification, worse: negative as it is; a group the study did not search has no difference
    moons = data.cell("moons", "l1/pre_activation")
    assert moons.better == pytest.approx(-8.0) and moons.high < 0 and not moons.winner and moons.chosen
    assert data.cell("moons", "l2/kernel").status == NOT_SEARCHED and data.cell("moons", "l2/kernel").better is None
    assert [data.cell(s, "kl_sparsity").compared for s in ("circles", "diabetes", "moons")] == [True, False, False]

    # the suite mixes points and RMSE units: each figure's colours scaled to its largest difference
    assert data.scaled and data.limit == 1.0
    assert data.cell("circles", "l1/pre_activation").colour == pytest.approx(1.0)
    assert data.cell("moons", "l1/pre_activation").colour == pytest.approx(-1.0)
    assert data.cell("diabetes", "l1/pre_activation").colour == pytest.approx(1.0)
    assert data.cell("diabetes", "l2/kernel").colour == pytest.approx(worse.better / cell.better)
    alone = heatmap_data(side_by_side(suite[:1]))
    assert not alone.scaled and alone.limit == pytest.approx(8.0) and "points" in alone.colour_title
    assert alone.cell("circles", "l1/pre_activation").colour == pytest.approx(8.0)


def test_the_heatmap_marks_ns_and_the_winner_and_says_units_and_flips(suite):
    data = heatmap_data(side_by_side(suite))
    figure = heatmap_figure(data)
    empty, significant, faded = figure.data
    assert faded.opacity < 1 and significant.zmid == 0 and significant.zmin == -significant.zmax
    row, column = [r.study for r in data.rows].index("diabetes"), data.groups.index("l1/pre_activation")
    assert significant.z[row][column] == pytest.approx(1.0) and faded.z[row][column] is None
    hover = significant.text[row][column]
    assert "RMSE units of test RMSE" in hover and "sign flipped" in hover and "Δ +0.3200" in hover
    assert "points of test accuracy" in significant.text[0][column] and "flipped" not in significant.text[0][column]
    ns = data.groups.index("l2/kernel")
    assert faded.z[0][ns] is not None and significant.z[0][ns] is None and empty.z[2][ns] == 0.0
    assert sum(shape.line.width == 3 for shape in figure.layout.shapes) == 2  # the two winners outlined
    dotted = [shape for shape in figure.layout.shapes if shape.line.dash == "dot"]  # moons' choice, not a winner
    assert len(dotted) == 1 and (dotted[0].x0 + dotted[0].x1) / 2 == column and (dotted[0].y0 + dotted[0].y1) / 2 == 2
    assert [a.text.endswith("<i>chosen</i>") for a in figure.layout.annotations].count(True) == 1
    assert "the row's choice on validation" in significant.text[2][column]
    assert sum("n.s." in a.text for a in figure.layout.annotations) == 2


def test_each_history_is_the_best_so_far_in_the_registrys_direction(suite):
    circles, diabetes, _ = study_histories(suite)
    values = [t.value for t in suite[1].completed]
    assert diabetes.data.best_so_far == pytest.approx(tuple(np.minimum.accumulate(values)))  # RMSE: the lowest
    assert circles.data.best_so_far == pytest.approx(tuple(np.maximum.accumulate([t.value for t in suite[0].completed])))


def test_the_page_without_comparisons_says_why_and_writes_atomically(storage_url, tmp_path: Path):
    lone = store(storage_url, "lone", Task.CLASSIFICATION, 'name = "circles"\nn_samples = 100', (PRE, ACC, ACC))
    page = render_suite_page([lone])
    assert 'data-note="heatmap"' in page and "No penalty could be compared with none" in page
    assert page.count(get_plotlyjs()) == 1 and "<script src" not in page.replace(get_plotlyjs(), "")
    with pytest.raises(UserError, match="does not exist"):
        write_suite_page([lone], tmp_path / "missing" / "suite.html")
    assert not (tmp_path / "missing").exists()


def test_the_markdown_table_becomes_an_html_table(suite):
    text = suite_markdown(side_by_side(suite))
    rendered = markdown_html(text)
    assert rendered.count("<tr>") == 1 + len(suite)
    assert "<b>" in rendered and "**" not in rendered and "&lt;br&gt;" not in rendered
    assert "<td>diabetes</td>" in rendered


def test_the_suite_page_imports_no_tensorflow():
    code = "import sys, actreg_search.dashboard.suite; assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------- (b) the page in Chromium


def test_the_suite_page_draws_in_headless_chromium(suite, chromium, tmp_path: Path):
    path = tmp_path / "suite.html"
    write_suite_page(suite, path)
    assert not list(tmp_path.glob("*.tmp*"))  # written atomically: no temporary file left
    text = path.read_text(encoding="utf-8")
    assert text.count(get_plotlyjs()) == 1
    ours = text.replace(get_plotlyjs(), "")
    assert "<script src" not in ours and "cdn.plot.ly" not in ours and "<link" not in ours  # works offline
    assert '<table class="suite">' in ours

    check = chromium.check_page(path, tmp_path / "suite.png")
    keep_screenshot(check, "dashboard-suite.png")
    assert check.errors == ()
    assert set(check.plots) == {"chart-heatmap", "chart-history-0", "chart-history-1", "chart-history-2"}
    for plot, (svgs, traces) in check.plots.items():  # a heatmap draws images, not trace groups (below)
        assert svgs >= 1 and (traces >= 1 or plot == "chart-heatmap"), f"{plot}: {svgs} svg, {traces} traces drawn"
    drawn = chromium.evaluate("document.querySelectorAll('#chart-heatmap .hm image').length")
    assert drawn == 3  # the empty cells, the cells whose interval excludes 0, the faded n.s. ones
    labels = chromium.evaluate(
        "Array.from(document.querySelectorAll('#chart-heatmap .annotation-text')).map(a => a.textContent)"
    )
    assert sum("n.s." in label for label in labels) == 2  # circles' l2/kernel and kl_sparsity
    assert sum("winner" in label for label in labels) == 2  # circles' and diabetes' l1/pre_activation
    assert sum("chosen" in label for label in labels) == 1  # moons' l1/pre_activation
    assert chromium.evaluate("document.querySelectorAll('#chart-heatmap path[style*=\"stroke-width: 3\"]').length") >= 2
