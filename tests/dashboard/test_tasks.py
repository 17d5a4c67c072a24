"""The dashboard of a regression and an autoencoder study: every chart, table and summary names the task's figure,
and picks its lowest.

The regression's trials rank on validation RMSE opposite to "higher is
better": trial 1 is the best (0.50), trial 0 the worst (0.90, unregularized).
"""

from __future__ import annotations

import re

import pytest

from actreg_search.dashboard import charts as f
from actreg_search.dashboard import data as d
from actreg_search.dashboard.html import build_sections
from actreg_search.dashboard.page import summary_html
from actreg_search.dashboard.table import trial_table
from actreg_search.results.records import StudyResults
from actreg_search.spec.parser import parse_spec
from tests.dashboard.studies import make_study
from tests.fakes import stored_trial

SPACE = '[space]\nregularizer = ["none", "l1"]\nplacement = ["pre_activation"]\ncoefficient = [1e-4]\n'


def _spec(task: str, data: str, validation: str):
    return parse_spec(
        f'[study]\nname = "{task}"\nseeds = 5\ntask = "{task}"\n[data]\nname = "{data}"\nvalidation = {validation}\n'
        '[model]\nhidden_units = 4\nepochs = 3\n' + SPACE
    )


def _around(mean: float) -> tuple[float, ...]:
    return tuple(round(mean + delta, 4) for delta in (0.0, 0.02, -0.02, 0.01, -0.01))


@pytest.fixture(scope="module")
def regression() -> StudyResults:
    """Validation RMSE 0.90 (unregularized), 0.50 (the best), 0.70 (the best on test, 0.45)."""
    return make_study(
        stored_trial("regression", _around(0.88), _around(0.6), _around(0.9), regularized=False, sparsity=0.2, validation_sparsity=0.6),
        stored_trial("regression", _around(0.55), _around(0.4), _around(0.5), sparsity=0.5, validation_sparsity=0.5),
        stored_trial("regression", _around(0.45), _around(0.3), _around(0.7), sparsity=0.4, validation_sparsity=0.4),
        name="regression",
        spec=_spec("regression", "diabetes", "0.2"),
    )


def test_each_chart_of_a_regression_plots_rmse_and_picks_the_lowest(regression):
    history = d.optimization_history(regression)
    assert (history.metric, history.test_metric, history.best_number) == ("validation_rmse", "test_rmse", 1)
    assert history.best_so_far == pytest.approx((0.9, 0.5, 0.5))
    assert history.axis_title == "mean validation RMSE (what the study selects on, lower is better)"
    assert "test RMSE 0.5500" in f.history_figure(history).data[2].customdata[0]

    selection = d.validation_vs_test(regression)
    assert (selection.figures, selection.best_number) == (("validation_rmse", "test_rmse"), 1)
    assert selection.note.endswith("validation 0.5000, test 0.5500 (+0.0500).")
    drawn = f.selection_figure(selection)
    assert drawn.layout.xaxis.title.text == "mean validation RMSE (what the study selects on)"
    assert "points" not in drawn.data[1].hovertemplate

    tradeoff = d.sparsity_tradeoff(regression)  # lower RMSE and higher sparsity, on validation: trials 1 and 0
    assert (tradeoff.metric, tradeoff.front_on, tradeoff.pareto) == ("test_rmse", "validation", (1, 0))
    assert f.sparsity_figure(tradeoff).layout.yaxis.title.text == "mean test RMSE"

    path = d.regularization_path(regression)
    assert path.metric == "test_rmse" and path.reference.mean == pytest.approx(0.88)
    assert f.path_figure(path).layout.yaxis.title.text == "mean test RMSE"

    curves = d.learning_curves(regression)
    assert [t.number for t in curves.trials] == [1, 0] and curves.trials[0].test.mean[-1] == pytest.approx(0.55)
    assert f.curves_figure(curves).layout.yaxis.title.text == "RMSE"

    boxes = d.seed_distributions(regression)
    assert boxes.metric == "test_rmse" and boxes.gap_by_placement == ()
    titles = [a.text for a in f.boxes_figure(boxes).layout.annotations]
    assert titles == ["test RMSE by placement", "test RMSE by regularizer"]


def test_the_table_summary_and_captions_of_a_regression_say_rmse(regression):
    table = trial_table(regression)
    assert table.columns[6:10] == ("test RMSE (mean ± std)", "validation RMSE (mean ± std)", "train RMSE", "sparsity")
    assert [row[6].text for row in table.rows] == ["0.8800 ± 0.0158", "0.5500 ± 0.0158", "0.4500 ± 0.0158"]

    summary = summary_html(regression)
    assert "<b>Best trial</b>: #1 l1" in summary
    assert 'test RMSE <span class="value">0.5500 ± 0.0158</span>' in summary
    assert 'data-figure="selection-bias">+0.0500</span>' in summary
    assert "trial 1 beats trial 0 on test RMSE by 0.33" in summary  # a lower RMSE wins

    sections = build_sections(regression)
    said = " ".join([summary, *(s.title + s.caption for s in sections), *(c.note or "" for s in sections for c in s.charts)])
    assert "5. RMSE against activation sparsity" in said and "Train, validation and test RMSE per epoch" in said
    assert not re.search(r"accura|\bgap\b|\d points", said)
    assert all(c.figure is not None or c.key == "width" for s in sections for c in s.charts)


def test_an_autoencoder_dashboard_plots_reconstruction_mse():
    results = make_study(
        stored_trial("autoencoder", _around(0.03), _around(0.02), regularized=False),
        stored_trial("autoencoder", _around(0.02), _around(0.01)),
        name="autoencoder",
        spec=_spec("autoencoder", "digits", '"test"'),
    )
    history = d.optimization_history(results)
    assert (history.metric, history.best_number) == ("test_mse", 1)
    assert "lower is better" in history.axis_title
    assert trial_table(results).columns[6:9] == ("test reconstruction MSE (mean ± std)", "train reconstruction MSE", "sparsity")
    assert f.curves_figure(d.learning_curves(results)).layout.yaxis.title.text == "reconstruction MSE"
    sections = build_sections(results)
    said = " ".join([summary_html(results), *(s.title + s.caption for s in sections)])
    assert "test reconstruction MSE" in said and not re.search("accura|gap", said)
