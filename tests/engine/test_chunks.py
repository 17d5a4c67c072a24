"""Chunks: a trial's epochs split into compiled calls that end on curve epochs."""

from __future__ import annotations

from actreg_search.engine.base import curve_epochs
from actreg_search.engine.chunks import CHUNKS, QUIET_CHUNKS, chunk_bounds


def test_chunk_bounds_cover_the_epochs_and_end_on_curve_epochs() -> None:
    assert chunk_bounds(4000) == [(b, b + 200) for b in range(0, 4000, 200)]
    assert chunk_bounds(4000, QUIET_CHUNKS) == [(b, b + 1000) for b in range(0, 4000, 1000)]
    for chunks in (CHUNKS, QUIET_CHUNKS):
        for epochs in (1, 7, 99, 100, 4010):
            bounds = chunk_bounds(epochs, chunks)
            assert bounds[0][0] == 0 and bounds[-1][1] == epochs
            assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
            assert len(bounds) <= chunks
            assert {end for _, end in bounds[:-1]} <= set(curve_epochs(epochs))
