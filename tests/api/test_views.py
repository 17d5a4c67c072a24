"""Each dashboard view as a plotly figure, and the one-line refusals."""

from __future__ import annotations

import pytest

import actreg_search
from actreg_search.api import views


def test_an_unknown_view_is_one_line_listing_the_views(stored):
    _, results = stored
    with pytest.raises(actreg_search.UserError) as error:
        results.figure("histogram")
    assert str(error.value) == f"unknown view 'histogram'; allowed: {', '.join(views.VIEWS)}"
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("view", ["history", "sparsity", "curves", "seeds", "path", "slice"])
def test_each_view_is_a_plotly_figure(stored, view):
    import plotly.graph_objects as go

    _, results = stored
    assert isinstance(results.figure(view), go.Figure)


def test_a_view_the_study_cannot_draw_says_why(stored):
    _, results = stored
    with pytest.raises(actreg_search.UserError, match=r"view 'width' .* cannot be drawn: The hidden width is not searched"):
        results.figure("width")
