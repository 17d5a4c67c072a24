"""The table of all trials: rows for every state, reasons, sort keys, validation and per-layer columns, escaped HTML."""

from __future__ import annotations

import statistics

import pytest
from optuna.trial import TrialState

from actreg_search.dashboard.table import COLUMNS, NUMERIC, VALIDATION_COLUMN, table_html, trial_table
from tests.dashboard.studies import LAYERED, disagreeing_study, layered_study, rnn_study


def column(name: str) -> int:
    return COLUMNS.index(name)


def test_every_state_is_a_row_with_its_reason(study_factory, trial_factory):
    results = study_factory(
        trial_factory(test=(0.9, 0.8), hidden_units=64),
        trial_factory(TrialState.FAIL, fail_reason="non-finite loss on seed 1 at epoch 7"),
        trial_factory(TrialState.PRUNED),
        trial_factory(TrialState.RUNNING, regularizer="none"),
        trial_factory(regularizer="l1_l2", placement="kernel", coefficient=1e-3, l2_coefficient=2e-4),
        pruner="median",
    )
    table = trial_table(results)
    assert table.states == ("COMPLETE", "FAIL", "PRUNED", "RUNNING", "COMPLETE")
    notes = [row[column("note")].text for row in table.rows]
    assert notes == ["", "non-finite loss on seed 1 at epoch 7", "pruned by the median pruner", "running", ""]

    first = table.rows[0]
    assert first[column("test accuracy (mean ± std)")].text == "0.8500 ± 0.0707"
    assert first[column("test accuracy (mean ± std)")].key == pytest.approx(0.85)
    assert first[column("hidden units")].key == 64.0
    assert first[column("coefficient")].text == "1.00e-04"
    assert table.rows[4][column("coefficient")].text == "l1 1.00e-03 + l2 2.00e-04"
    assert table.rows[4][column("coefficient")].key == pytest.approx(1.2e-3)
    assert table.rows[1][column("test accuracy (mean ± std)")].key is None  # failed: sorts last
    assert table.rows[3][column("placement")].text == ""  # unregularized


def test_numeric_columns_have_numeric_keys(study_factory, trial_factory):
    results = study_factory(trial_factory(), trial_factory(regularizer="l2", placement="post_activation"))
    for row in trial_table(results).rows:
        for i in NUMERIC:
            assert row[i].key is None or isinstance(row[i].key, (int, float))


def test_html_is_escaped_and_sortable(study_factory, trial_factory):
    results = study_factory(trial_factory(TrialState.FAIL, fail_reason="<script>alert(1)</script>"))
    page = table_html(trial_table(results))
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'class="trials sortable"' in page and page.count("<th ") == len(COLUMNS)
    assert 'class="state-fail"' in page


def test_no_trials(study_factory):
    results = study_factory()
    assert trial_table(results).rows == ()


def test_a_big_study_lists_its_best_and_latest_trials(big_study_factory):
    results = big_study_factory(400)
    others = [t.number for t in results.trials if not t.complete]
    table = trial_table(results, max_rows=50, max_other=5)
    listed = [int(row[column("trial")].text) for row in table.rows]
    assert listed == sorted({t.number for t in results.ranked[:50]} | set(others[-5:]))
    assert f"Listing 50 of {len(results.completed):,} completed trials (the best)" in table.note
    assert f"5 of {len(others)} others (the latest)" in table.note
    assert "actreg-search export big --trials trials.csv writes every trial" in table.note
    assert trial_table(results).note is None  # 400 trials fit: every one is listed


def test_the_table_lists_validation_beside_test(study_factory, trial_factory):
    results = disagreeing_study()
    table = trial_table(results)
    assert table.columns.index(VALIDATION_COLUMN) == table.columns.index("test accuracy (mean ± std)") + 1
    row = table.rows[0]
    assert row[table.columns.index(VALIDATION_COLUMN)].text == "0.9500 ± 0.0141"
    assert table.columns.index(VALIDATION_COLUMN) in table.numeric
    assert table_html(table).count("<th ") == len(table.columns) == 13

    plain = trial_table(study_factory(trial_factory()))
    assert VALIDATION_COLUMN not in plain.columns and len(plain.rows[0]) == len(plain.columns)
    assert plain.columns == COLUMNS and plain.numeric == NUMERIC


def test_each_marked_layer_has_a_column_of_its_own_mean_sparsity():
    results = layered_study()
    table = trial_table(results)
    at = table.columns.index("sparsity")
    assert table.columns[at : at + 3] == ("sparsity", "sparsity [h1]", "sparsity [h2]")
    assert table.layers == ("h1", "h2") and {at + 1, at + 2} <= table.numeric
    for row, (_, layers, pooled, _) in zip(table.rows, LAYERED, strict=True):
        assert row[at].key == pytest.approx(statistics.fmean(pooled))
        for offset, layer in enumerate(("h1", "h2"), start=1):
            assert row[at + offset].key == pytest.approx(statistics.fmean(layers[layer]))
            assert row[at + offset].text == f"{statistics.fmean(layers[layer]):.3f}"
    assert [c.text for c in table.rows[0][at : at + 3]] == ["0.500", "0.200", "0.800"]  # not the pooled 0.500 thrice
    assert table_html(table).count("<th ") == len(table.columns) == len(COLUMNS) + 2


def test_an_rnn_studys_placements_are_listed():
    table = trial_table(rnn_study())
    placements = [row[table.columns.index("placement")].text for row in table.rows]
    assert placements == ["output", "output", "recurrent", "recurrent", "kernel", ""]
