"""What every chart shares: a style for every regularizer and placement, labels written when drawing, bars, axes."""

from __future__ import annotations

import pytest

from actreg_search.dashboard import style
from actreg_search.dashboard.data import Group
from actreg_search.spec.vocab import Family, Placement, Regularizer


def test_every_regularizer_and_placement_has_its_own_style():
    """Styles derive from the enums: an rnn's output and recurrent placements are not drawn as another's."""
    assert set(style.REGULARIZER_COLORS) == set(Regularizer)
    assert len(set(style.REGULARIZER_COLORS.values())) == len(Regularizer)
    for table in (style.PLACEMENT_SYMBOLS, style.PLACEMENT_PATTERNS):
        assert set(table) == {None, *Placement}
        assert len(set(table.values())) == len(Placement) + 1  # the unregularized model's differs too
    assert set(style.PLACEMENT_DASHES) == set(Placement)
    for family in Family:  # within a family, each placement is a distinct line
        assert len({style.PLACEMENT_DASHES[p] for p in family.placements}) == len(family.placements)


def test_the_first_styles_are_those_of_existing_reports():
    """Reports of mlp studies look as they did: none grey ×, l1 blue, pre_activation circle, kernel dotted."""
    assert style.REGULARIZER_COLORS[Regularizer.NONE] == "#7f7f7f"
    assert style.REGULARIZER_COLORS[Regularizer.L1] == "#1f77b4"
    assert style.REGULARIZER_COLORS[Regularizer.L1_L2] == "#2ca02c"
    assert style.PLACEMENT_SYMBOLS[None] == "x"
    assert [style.PLACEMENT_SYMBOLS[p] for p in Family.MLP.placements] == ["circle", "diamond", "square"]
    assert [style.PLACEMENT_DASHES[p] for p in Family.MLP.placements] == ["solid", "dash", "dot"]


def test_labels_are_written_from_the_enums():
    assert style.group_label(Group(Regularizer.L1_L2, Placement.RECURRENT)) == "l1_l2 · recurrent"
    assert style.group_label(Group(Regularizer.NONE)) == "none"
    assert [style.member_label(m) for m in (None, Placement.OUTPUT, Regularizer.L2)] == ["none", "output", "l2"]
    assert style.group_style(Group(Regularizer.L2, Placement.OUTPUT)) == (
        style.REGULARIZER_COLORS[Regularizer.L2],
        style.PLACEMENT_SYMBOLS[Placement.OUTPUT],
    )


def test_error_bars_end_at_the_interval():
    bars = style.error_bars([0.9, 0.5], [0.8, 0.5], [0.95, 0.7])
    assert bars["symmetric"] is False
    assert bars["array"] == pytest.approx([0.05, 0.2]) and bars["arrayminus"] == pytest.approx([0.1, 0.0])
    nan = float("nan")
    assert style.error_bars([nan], [nan], [nan])["array"] == [0.0]  # no figure: no bar


def test_integer_axis_and_width_ticks():
    assert style.integer_axis([0, 3])["dtick"] == 1
    assert style.integer_axis([0, 40])["dtick"] == 5
    assert style.integer_axis([0, 900])["dtick"] == 100
    assert style.width_ticks([33, 957]) == [33, 64, 128, 256, 512, 957]
    assert style.wrap("a " * 40, width=20).count("<br>") == 1
