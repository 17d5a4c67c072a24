"""Where two specs differ, key by key, as their study files would write them (a resume's check, ``save_model(spec=)``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from actreg_search.spec.specs import StudySpec, spec_tables


@dataclass(frozen=True)
class SpecDifference:
    """A key two specs set differently, with each one's value as a study file writes it."""

    table: str
    key: str
    ours: Any
    theirs: Any

    def describe(self) -> str:
        """``[model] epochs``: where they differ."""
        return f"[{self.table}] {self.key}"


def spec_differences(ours: StudySpec, theirs: StudySpec, ignore: tuple[str, ...] = ()) -> list[SpecDifference]:
    """The keys two specs set differently, table by table (a function compared by its name).

    Args:
        ours: One spec.
        theirs: The other (e.g. the stored one).
        ignore: ``[study]`` keys left out (e.g. :data:`RUN_SETTINGS`, which a rerun may change).
    """
    a, b = spec_tables(ours), spec_tables(theirs)
    return [
        SpecDifference(table, key, a[table].get(key), b[table].get(key))
        for table in a
        for key in sorted(set(a[table]) | set(b[table]))
        if not (table == "study" and key in ignore) and a[table].get(key) != b[table].get(key)
    ]


__all__ = ["SpecDifference", "spec_differences"]
