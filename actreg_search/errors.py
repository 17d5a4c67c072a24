"""Errors that mean "the user asked for something wrong" (exit code 2)."""

from __future__ import annotations


class UserError(Exception):
    """A problem with the user's input, reported as one line and exit code 2."""


class SpecError(UserError):
    """A study file (or a CLI override of it) is malformed."""


class StorageError(UserError):
    """A storage URL, database or study name is unusable."""


class UserCodeError(UserError):
    """User code (a builder or loader) raised."""
