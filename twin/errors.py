"""Errors of twin building that the command line reports as user errors (a light import)."""

from __future__ import annotations


class TwinBuildError(ValueError):
    """A demonstration that cannot become a twin; the message names the input and the problem."""
