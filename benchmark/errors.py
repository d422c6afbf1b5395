"""Errors of the evaluation harness that the CLI reports as one line (no simulator imports here)."""

from __future__ import annotations


class PerturbationError(ValueError):
    """An unknown axis, a level outside [0, 1], or a malformed perturbation string."""


class ScenarioError(ValueError):
    """A scenario that cannot be built: the message names the twin, camera or setting."""


class PolicyError(RuntimeError):
    """A policy failed while it was being loaded or asked for an action (the episode's
    termination reason is ``policy_error``)."""


class PolicyTimeout(PolicyError):
    """The policy did not answer within its time limit (termination ``policy_timeout``)."""


class InvalidAnswer(PolicyError):
    """The policy answered with something that is not an action: too large, not numeric, not an
    array (termination ``invalid_action``)."""


class SubmissionError(ValueError):
    """A submission that cannot be accepted: the message names the file and what is wrong."""


class ComparisonsError(ValueError):
    """A comparisons file (``rank --comparisons``) that cannot be read: the message names the file
    and the line."""


class TrainingDataError(ValueError):
    """An episode folder that cannot serve as a demonstration; the message names the file."""


class StoreError(RuntimeError):
    """The results store cannot do what was asked: an unreachable or unsupported database URL, a
    schema newer than this code, a duplicate policy, a missing artefact. The message names the
    database (password masked) or the artefact, and the fault."""


class CampaignError(ValueError):
    """A campaign that cannot run: an unknown or failed policy, an unknown twin, a missing executor."""


class VlmError(RuntimeError):
    """The VLM endpoint gave no usable answer, or is misconfigured; the message names the endpoint
    and the model (never the API key)."""
