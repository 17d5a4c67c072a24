"""The report's pieces: the header's split and protocol, the summary's figures, and the sections' HTML."""

from __future__ import annotations

import statistics

from actreg_search.dashboard import render_report
from actreg_search.dashboard.page import Chart, Section, best_html, meta_html, section_html, summary_html
from actreg_search.results.records import SplitCounts
from tests.dashboard.studies import LAYERED, disagreeing_study, layered_study, make_spec


def test_summary_gives_validation_test_and_their_difference():
    results = disagreeing_study()
    summary = summary_html(results)
    assert "<b>Protocol</b>: 20% of the training split held out per seed." in summary
    assert "never used to choose" in summary and "optimistic" not in summary
    best = best_html("Best trial", results.best, results)
    assert "test accuracy <span class=\"value\">0.8000 ± 0.0141</span>" in best
    assert "validation accuracy <span class=\"value\">0.9500 ± 0.0141</span>" in best
    assert 'data-figure="selection-bias">-15.0 points</span>' in best
    assert ', gap <span class="value">+0.2000</span>, sparsity <span class="value">0.550</span>' in best
    assert "layer-sparsity" not in best  # one marked layer


def test_summary_says_plainly_when_the_test_set_chose(study_factory, trial_factory):
    results = study_factory(trial_factory(test=(0.9, 0.8)), trial_factory(regularizer="none", test=(0.7, 0.8)))
    summary = summary_html(results)
    assert "selected on the test set (the tutorial&#x27;s protocol)" in summary
    assert "These figures were selected on the test set" in summary and "optimistic" in summary
    assert "selection-bias" not in summary  # no validation figure to compare with


def test_the_summary_gives_each_layers_own_sparsity():
    results = layered_study()
    best = best_html("Best trial", results.best, results)
    _, layers, pooled, _ = LAYERED[results.best.number]
    each = ", ".join(f"{name} {statistics.fmean(values):.3f}" for name, values in layers.items())
    assert each == "h1 0.200, h2 0.800"
    assert f'sparsity <span class="value">{statistics.fmean(pooled):.3f}</span>' in best
    assert f'(by layer: <span class="value" data-figure="layer-sparsity">{each}</span>)' in best


def test_the_header_gives_the_recorded_split_and_the_protocol(study_factory, trial_factory):
    spec = make_spec(data='name = "npz"\npath = "arrays.npz"')
    counted = study_factory(trial_factory(), spec=spec, split=SplitCounts(train=124, validation=0, test=54))
    assert "<span>npz: 124 train / 54 test</span>" in meta_html(counted)
    assert "<span>selected on the test set (the tutorial&#x27;s protocol)</span>" in meta_html(counted)
    assert "<span>npz: 50% train / 50% test</span>" in meta_html(study_factory(trial_factory(), spec=spec))  # no counts

    results = disagreeing_study(split=SplitCounts(train=24, validation=6, test=70))
    header = meta_html(results)
    assert "<span>circles: 24 train / 6 validation / 70 test</span>" in header
    assert "<span>validation: 20% of the training split held out per seed</span>" in header
    assert "24 train / 6 validation / 70 test" in render_report(results)


def test_a_real_studys_header_gives_its_recorded_split(real_study):
    results = real_study.results()
    assert f"<span>circles: {results.split.describe()}</span>" in meta_html(results)


def test_a_section_shows_a_note_in_place_of_a_chart_it_cannot_draw():
    section = Section("s", "1. <Title>", "A caption & more.", (Chart("a", "", None, "Why <not>."),))
    page = section_html(section)
    assert "<h2>1. &lt;Title&gt;</h2>" in page and "A caption &amp; more." in page
    assert '<div class="note" data-note="a">Why &lt;not&gt;.</div>' in page
