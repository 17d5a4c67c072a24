"""The environment, read once at the edge into one :class:`Settings` that is passed down.

Only the entry points (the command line's ``main``, the public API's
functions, a worker process's start) call :meth:`Settings.from_environ`; every
module below takes the values it needs as arguments, so nothing deep inside
reads ``os.environ``, and no module changes it (or a library's global state)
when imported.

=======================  ==========================================================
variable                 meaning
=======================  ==========================================================
``ACTREG_STORAGE``       the storage URL when neither ``--storage`` nor ``storage=`` names one
``ACTREG_GRACE_PERIOD``  seconds without a heartbeat after which a running trial counts as dead (≥ 2)
``ACTREG_PROFILE``       a file the fused engine appends one JSON timing record a program call to
=======================  ==========================================================
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from actreg_search.errors import StorageError

STORAGE_VAR = "ACTREG_STORAGE"
GRACE_VAR = "ACTREG_GRACE_PERIOD"
PROFILE_VAR = "ACTREG_PROFILE"

DEFAULT_STORAGE = "sqlite:///actreg.db"
#: A trial whose worker sent no heartbeat for this long (it died) is failed and re-queued once with the
#: same parameters; ``ACTREG_GRACE_PERIOD`` overrides it.
GRACE_PERIOD_S = 60


@dataclass(frozen=True)
class Settings:
    """What the environment says, read once.

    Attributes:
        storage: ``ACTREG_STORAGE``, or ``None`` when unset.
        grace_period_s: Seconds without a heartbeat after which a running trial counts as dead.
        profile_path: The fused engine's timing log (``ACTREG_PROFILE``), or ``None``.
    """

    storage: str | None = None
    grace_period_s: int = GRACE_PERIOD_S
    profile_path: str | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from ``environ`` (default: ``os.environ``).

        Raises:
            StorageError: ``ACTREG_GRACE_PERIOD`` is not a whole number of seconds ≥ 2.
        """
        env = os.environ if environ is None else environ
        raw = env.get(GRACE_VAR)
        if raw is None:
            grace = GRACE_PERIOD_S
        elif raw.isdigit() and int(raw) >= 2:
            grace = int(raw)
        else:
            raise StorageError(f"{GRACE_VAR}={raw!r}: must be a whole number of seconds ≥ 2")
        return cls(storage=env.get(STORAGE_VAR) or None, grace_period_s=grace, profile_path=env.get(PROFILE_VAR) or None)

    def storage_url(self, given: str | None = None, study_file: str | None = None) -> str:
        """The storage URL to use, by precedence: ``given`` (``--storage``), ``ACTREG_STORAGE``, the study file's, the default."""
        return given or self.storage or study_file or DEFAULT_STORAGE


__all__ = ["DEFAULT_STORAGE", "GRACE_PERIOD_S", "GRACE_VAR", "PROFILE_VAR", "STORAGE_VAR", "Settings"]
