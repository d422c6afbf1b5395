"""Errors of the evaluation harness that the CLI reports as one line (no simulator imports here)."""

from __future__ import annotations


class PerturbationError(ValueError):
    """An unknown axis, a level outside [0, 1], or a malformed perturbation string."""


class ScenarioError(ValueError):
    """A scenario that cannot be built: the message names the twin, camera or setting."""
