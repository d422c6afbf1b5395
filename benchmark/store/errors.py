"""The store's one error; its message names the database (password masked) or the artefact, and the fault."""

from __future__ import annotations


class StoreError(RuntimeError):
    """The results store cannot do what was asked: an unreachable or unsupported database URL, a
    schema newer than this code, a duplicate policy, a missing artefact."""
