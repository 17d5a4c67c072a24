"""The HTML report: every study shape renders with notes instead of errors; a real one draws in Chromium."""

from __future__ import annotations

import re
from pathlib import Path

import plotly.graph_objects as go
import pytest
from optuna.trial import TrialState
from plotly.offline import get_plotlyjs

from actreg_search.api.views import VIEWS, draw_view
from actreg_search.dashboard import build_sections, load_dashboard, render_report, write_report
from actreg_search.dashboard import data as d
from actreg_search.dashboard.table import trial_table
from actreg_search.errors import StorageError, UserError
from actreg_search.results.records import SplitCounts
from tests.dashboard.browser import keep_screenshot
from tests.dashboard.studies import disagreeing_study, layered_study, make_spec

PLOT_DIV = re.compile(r'<div id="(chart-[a-z_-]+)" class="plotly-graph-div"')
NOTE = re.compile(r'<div class="note" data-note="([a-z_-]+)">([^<]*)</div>')
CHART_KEYS = (
    "history", "selection", "importance", "parallel", "path", "sparsity", "curves", "boxes", "width", "slice"
)


def shapes(trial):
    """Study shapes (selecting on the test set, so no validation chart), each a list of trials, with the charts that must be a note."""
    all_charts = set(CHART_KEYS)
    return {
        "empty": ([], all_charts | {"trials"}),
        "running": ([trial(TrialState.RUNNING)], all_charts),
        "failed": ([trial(TrialState.FAIL, fail_reason="ValueError: boom"), trial(TrialState.PRUNED)], all_charts),
        "one trial": ([trial()], {"selection", "importance", "width"}),
        "grid": (
            [
                trial(regularizer="none", grid=True, hidden_units=500),
                trial(regularizer="l1", placement="pre_activation", grid=True, hidden_units=500, test=(0.95, 0.96)),
                trial(regularizer="l1", placement="post_activation", grid=True, hidden_units=500, test=(0.93, 0.9)),
            ],
            {"selection", "width"},
        ),
        "no unregularized": (
            [
                trial(regularizer="l2", placement="kernel", coefficient=1e-3, hidden_units=16, test=(0.7, 0.8)),
                trial(regularizer="l1", placement="pre_activation", coefficient=1e-5, hidden_units=64),
                trial(regularizer="l1_l2", placement="kernel", coefficient=1e-4, l2_coefficient=1e-5, hidden_units=128),
            ],
            {"selection"},
        ),
    }


@pytest.mark.parametrize("shape", ["empty", "running", "failed", "one trial", "grid", "no unregularized"])
def test_every_study_shape_renders_with_notes_in_place_of_charts(shape, trial_factory, study_factory):
    trials, noted = shapes(trial_factory)[shape]
    results = study_factory(*trials)
    page = render_report(results)
    drawn = set(PLOT_DIV.findall(page))
    notes = dict(NOTE.findall(page))
    assert drawn == {f"chart-{k}" for k in CHART_KEYS if k not in noted}
    assert set(notes) == noted
    assert "could not be drawn" not in page
    assert all(reason.strip() for reason in notes.values())
    assert page.count(get_plotlyjs()) == 1  # plotly.js embedded exactly once
    ours = page.replace(get_plotlyjs(), "")
    assert "<script src" not in ours and "cdn.plot.ly" not in ours and "<link" not in ours  # works offline


def test_notes_explain_the_study(trial_factory, study_factory):
    results = study_factory(trial_factory(TrialState.FAIL, fail_reason="non-finite loss on seed 0 at epoch 2"))
    page = render_report(results)
    assert "No completed trial yet (1 failed)" in page
    assert "non-finite loss on seed 0 at epoch 2" in page  # in the table

    results = study_factory(trial_factory(regularizer="l1", hidden_units=64))
    page = render_report(results)
    assert "Needs at least 2 completed trials; the study has 1." in page
    assert "No unregularized trial has completed" in page


def test_optuna_caveats_are_shown(trial_factory, study_factory):
    results = study_factory(
        trial_factory(regularizer="l1_l2", placement="kernel", coefficient=1e-3, l2_coefficient=1e-4, test=(0.7, 0.7)),
        trial_factory(regularizer="l1", placement="kernel", coefficient=1e-4, test=(0.9, 0.9)),
        trial_factory(regularizer="none", hidden_units=64, test=(0.8, 0.8)),
    )
    importance = next(c for s in build_sections(results) for c in s.charts if c.key == "importance")
    assert importance.figure is not None
    assert any("less than 2 trials" in c for c in importance.caveats)
    assert "Optuna: Some regimes" in render_report(results)


def test_write_report(tmp_path: Path, trial_factory, study_factory):
    results = study_factory(trial_factory())
    path = tmp_path / "report.html"
    write_report(results, path)
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]
    with pytest.raises(UserError, match="does not exist"):
        write_report(results, tmp_path / "missing" / "report.html")


def test_load_dashboard_needs_an_existing_study(real_study, tmp_path: Path):
    results = load_dashboard(real_study.url, real_study.name)
    assert results.name == real_study.name and len(results.trials) == real_study.n_trials
    assert results.best.curves  # the drawn trials' curves are loaded
    assert all(t.curves is None for t in results.trials if t.number not in {results.best.number, results.best_unregularized and results.best_unregularized.number})
    with pytest.raises(StorageError, match="no study named 'nope'"):
        load_dashboard(real_study.url, "nope")
    with pytest.raises(StorageError, match="no database"):
        load_dashboard(f"sqlite:///{tmp_path / 'none.db'}", "x")
    assert not (tmp_path / "none.db").exists()


def test_report_of_a_real_study_in_headless_chromium(real_study, chromium, tmp_path: Path):
    results = real_study.results()
    path = tmp_path / "report.html"
    write_report(results, path)
    expected = set(PLOT_DIV.findall(path.read_text(encoding="utf-8")))
    assert {"chart-history", "chart-importance", "chart-path", "chart-curves", "chart-boxes"} <= expected

    check = chromium.check_page(path, tmp_path / "report.png")
    keep_screenshot(check, "dashboard-report.png")

    assert check.errors == ()
    assert set(check.plots) == expected
    for plot, (svgs, traces) in check.plots.items():
        assert svgs >= 1 and traces >= 1, f"{plot}: {svgs} svg, {traces} traces drawn"
    png = check.screenshot.read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 50_000

    # The table sorts by a column on click, and reverses on a second click.
    index = trial_table(results).columns.index("test accuracy (mean ± std)")
    column = f"Array.from(document.querySelectorAll('#trials tbody tr')).map(r => +r.cells[{index}].dataset.key)"
    tests = [t.mean("test_accuracy") for t in results.completed]
    chromium.evaluate(f"document.querySelectorAll('#trials th')[{index}].click()")
    assert chromium.evaluate(column) == pytest.approx(sorted(tests))
    chromium.evaluate(f"document.querySelectorAll('#trials th')[{index}].click()")
    assert chromium.evaluate(column) == pytest.approx(sorted(tests, reverse=True))


def test_report_of_only_failed_trials_in_headless_chromium(trial_factory, study_factory, chromium, tmp_path: Path):
    results = study_factory(trial_factory(TrialState.FAIL, fail_reason="ValueError: boom"))
    path = tmp_path / "failed.html"
    write_report(results, path)
    check = chromium.check_page(path, tmp_path / "failed.png")
    assert check.errors == ()
    assert check.plots == {}
    assert set(check.notes) == set(CHART_KEYS)


def test_summary_shows_the_paired_best_vs_baseline_comparison(trial_factory, study_factory):
    seeds5 = dict(test=(0.80, 0.82, 0.84, 0.81, 0.83), train=(1.0,) * 5, sparsity=(0.5,) * 5)
    baseline = trial_factory(regularizer="none", placement=None, **{**seeds5, "test": (0.78, 0.80, 0.80, 0.79, 0.80)})
    results = study_factory(baseline, trial_factory(regularizer="l1", **seeds5))
    page = render_report(results)
    assert 'id="best-vs-baseline"' in page
    line = page.split('id="best-vs-baseline"')[1].split("</div>")[0]
    assert "beats trial" in line and "95% CI" in line and "ahead in 5 of 5 seeds" in line

    results = study_factory(trial_factory(regularizer="l1"))
    assert "Best vs baseline, paired over seeds</b>: not available" in render_report(results)


# --------------------------------------------------------------------------- multi-objective, header, axes, big studies

MO_CHARTS = {
    "history",
    *(f"{chart}-{objective}" for chart in ("importance", "parallel", "slice") for objective in ("test_accuracy", "sparsity")),
    "path",
    "sparsity",
    "pareto",
    "curves",
    "boxes",
    "width",
}


def multi_objective_results(trial_factory, study_factory):
    points = [(0.95, 0.2, "none"), (0.90, 0.6, "l1"), (0.85, 0.5, "l2"), (0.80, 0.9, "l1"), (0.88, 0.3, "l2")]
    return study_factory(
        *(
            trial_factory(
                regularizer=reg,
                coefficient=10 ** -(5 - i * 0.7),
                hidden_units=8 * 2**i,
                test=(a, a - 0.01),
                sparsity=(s, s),
                objectives=2,
            )
            for i, (a, s, reg) in enumerate(points)
        ),
        objectives=("test_accuracy", "sparsity"),
    )


def test_a_multi_objective_study_draws_every_view(trial_factory, study_factory):
    """Optuna's charts once per objective (target=), and Optuna's Pareto front; nothing 'could not be drawn'."""
    results = multi_objective_results(trial_factory, study_factory)
    page = render_report(results)
    assert "could not be drawn" not in page
    assert [key for key, _ in NOTE.findall(page)] == ["selection"]  # selects on the test set: no validation figures
    assert set(PLOT_DIV.findall(page)) == {f"chart-{k}" for k in MO_CHARTS}
    assert 'id="pareto-front"' in page and "Pareto front</b>: 3 trials" in page
    assert "objectives test_accuracy + sparsity" in page
    sections = {c.key: c for s in build_sections(results) for c in s.charts}
    assert sections["slice-sparsity"].figure.layout.yaxis.title.text == "mean sparsity"
    pareto = sections["pareto"].figure
    assert pareto.layout.xaxis.title.text == "mean test accuracy" and pareto.layout.yaxis.title.text == "mean sparsity"


def test_header_gives_a_fractional_split_in_percent(trial_factory, study_factory):
    spec = make_spec(data='name = "digits"\ntrain_size = 0.3')
    page = render_report(study_factory(trial_factory(), spec=spec))
    assert "<span>digits: 30% train / 70% test</span>" in page and "0.3 train" not in page
    page = render_report(study_factory(trial_factory()))
    assert "<span>circles: 30 train / 70 test</span>" in page


def test_trial_and_epoch_axes_have_whole_number_ticks(trial_factory, study_factory):
    results = study_factory(trial_factory(test=(0.8, 0.8)), trial_factory(test=(0.9, 0.9)))
    charts = {c.key: c for s in build_sections(results) for c in s.charts}
    xaxis = charts["history"].figure.layout.xaxis
    assert xaxis.tickformat == "d" and xaxis.tickmode == "linear" and xaxis.dtick == 1
    curves = charts["curves"].figure.layout.xaxis
    assert curves.tickformat == "d" and curves.dtick == 1


def test_a_big_study_renders_thinned(big_study_factory):
    results = big_study_factory(2600)
    page = render_report(results)
    assert "could not be drawn" not in page
    drawn = set(PLOT_DIV.findall(page))
    assert {f"chart-{k}" for k in CHART_KEYS if k != "selection"} == drawn
    assert f"Drawn from 1,000 of {len(results.completed):,} completed trials" in page  # Optuna's charts
    assert f"Drawn from 2,000 of {len(results.completed):,} completed trials" in page  # history
    rows = page.count('<tr class="state-')
    others = len(results.trials) - len(results.completed)
    assert rows == 1_000 + others
    assert "actreg-search export big --trials trials.csv writes every trial" in page


def test_a_multi_objective_report_in_headless_chromium(trial_factory, study_factory, chromium, tmp_path: Path):
    path = tmp_path / "multi.html"
    write_report(multi_objective_results(trial_factory, study_factory), path)
    check = chromium.check_page(path, tmp_path / "multi.png")
    assert check.errors == () and check.notes == ("selection",)
    assert set(check.plots) == {f"chart-{k}" for k in MO_CHARTS}
    for plot, (svgs, traces) in check.plots.items():
        assert svgs >= 1 and traces >= 1, f"{plot}: {svgs} svg, {traces} traces drawn"


# --------------------------------------------------------------------------- validation, rnn, several marked layers


def test_the_selection_view_is_registered():
    results = disagreeing_study()
    assert list(VIEWS)[:2] == ["history", "selection"]
    figure = draw_view(results, "selection")
    assert isinstance(figure, go.Figure) and "chosen trial" in figure.layout.title.text
    charts = {c.key: c for s in build_sections(results) for c in s.charts}
    assert charts["selection"].figure is not None and charts["selection"].note == d.validation_vs_test(results).note


def test_a_validation_study_in_headless_chromium(study_factory, trial_factory, chromium, tmp_path):
    """Every chart of a validation study draws (the validation one included), with no browser error."""
    results = study_factory(
        trial_factory(coefficient=1e-4, validation=(0.96, 0.94), test=(0.81, 0.79), hidden_units=33),
        trial_factory(coefficient=1e-3, validation=(0.91, 0.89), test=(0.98, 0.96), hidden_units=957),
        trial_factory(coefficient=1e-2, validation=(0.99, 1.0), test=(1.0, 0.99), hidden_units=33),
        trial_factory(regularizer="l2", coefficient=1e-3, validation=(0.9, 0.8), test=(0.85, 0.8), hidden_units=128),
        trial_factory(regularizer="none", validation=(0.86, 0.84), test=(0.87, 0.85), hidden_units=64),
        validation=True,
        split=SplitCounts(train=24, validation=6, test=70),
    )
    path = tmp_path / "validation.html"
    write_report(results, path)
    check = chromium.check_page(path, tmp_path / "validation.png")
    assert check.errors == () and check.notes == ()
    assert {"chart-history", "chart-selection", "chart-path", "chart-sparsity", "chart-curves"} <= set(check.plots)
    for plot, (svgs, traces) in check.plots.items():
        assert svgs >= 1 and traces >= 1, f"{plot}: {svgs} svg, {traces} traces drawn"


def test_several_marked_layers_add_a_chart_of_sparsity_per_layer():
    page = render_report(layered_study())
    assert "chart-layers" in set(PLOT_DIV.findall(page)) and "could not be drawn" not in page
    assert "each marked layer&#x27;s own sparsity" in page
    assert '<th data-numeric="1" title="sort by sparsity [h2]">sparsity [h2]</th>' in page
    assert "chart-layers" not in render_report(disagreeing_study())  # one marked layer: no such chart


def test_a_layered_study_in_headless_chromium(trial_factory, study_factory, chromium, tmp_path: Path):
    """The per-layer bars (one layer missing for a trial) draw with no browser error (an rnn's placements use the
    charts every study draws, checked without a browser in test_charts.py)."""
    layered = study_factory(
        *(trial_factory(coefficient=c, test=(a, a), layer_sparsity={"h1": (0.1, 0.3), "h2": (0.7, 0.9)})
          for c, a in ((1e-4, 0.9), (1e-3, 0.8))),
        trial_factory(regularizer="none", hidden_units=64, layer_sparsity={"h2": (0.2, 0.4)}),
    )
    for name, results, chart in (("layered", layered, "chart-layers"),):
        path = tmp_path / f"{name}.html"
        write_report(results, path)
        check = chromium.check_page(path, tmp_path / f"{name}.png")
        assert check.errors == (), name
        assert chart in check.plots
        for plot, (svgs, traces) in check.plots.items():
            assert svgs >= 1 and traces >= 1, f"{name} {plot}: {svgs} svg, {traces} traces drawn"
