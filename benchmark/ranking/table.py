"""The comparisons table every ranking function takes: which policy met which, and who won."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

B_WINS, A_WINS, TIE = 0, 1, 2  # Comparisons.winner codes
WINNERS = {"b": B_WINS, "a": A_WINS, "tie": TIE}


@dataclass(frozen=True)
class Comparisons:
    """Pairwise comparisons, one per index: policy ``a[k]`` against ``b[k]`` (indices into the
    sorted ``policies``), outcome ``winner[k]``: ``A_WINS`` (1), ``B_WINS`` (0) or ``TIE`` (2).
    Arrays are read-only; ``policies`` may name policies that took part in no comparison."""

    policies: tuple[str, ...]
    a: np.ndarray
    b: np.ndarray
    winner: np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "policies", tuple(self.policies))
        if list(self.policies) != sorted(set(self.policies)):
            raise ValueError("Comparisons.policies must be sorted and distinct")
        arrays = {}
        for name, dtype in (("a", np.int64), ("b", np.int64), ("winner", np.int8)):
            value = np.asarray(getattr(self, name))
            if value.ndim != 1 or (value.size and not np.issubdtype(value.dtype, np.integer)):
                raise ValueError(f"Comparisons.{name} must be a 1-D integer array")
            value = value.astype(dtype)
            value.flags.writeable = False
            arrays[name] = value
            object.__setattr__(self, name, value)
        a, b, winner = arrays["a"], arrays["b"], arrays["winner"]
        if not len(a) == len(b) == len(winner):
            raise ValueError("Comparisons.a, .b and .winner must have the same length")
        bad = np.flatnonzero((a < 0) | (a >= len(self.policies)) | (b < 0) | (b >= len(self.policies)))
        if bad.size:
            raise ValueError(f"comparison {bad[0]}: policy index out of range")
        bad = np.flatnonzero(a == b)
        if bad.size:
            raise ValueError(f"comparison {bad[0]}: policy {self.policies[a[bad[0]]]!r} compared with itself")
        bad = np.flatnonzero((winner < 0) | (winner > 2))
        if bad.size:
            raise ValueError(f"comparison {bad[0]}: winner code {winner[bad[0]]} is not 0, 1 or 2")

    def __len__(self) -> int:
        return len(self.a)

    def counts(self) -> np.ndarray:
        """Number of comparisons each policy took part in."""
        size = len(self.policies)
        return np.bincount(self.a, minlength=size) + np.bincount(self.b, minlength=size)


def comparisons(rows: Iterable[tuple[str, str, str]], policies: Iterable[str] = ()) -> Comparisons:
    """The table of ``(policy_a, policy_b, winner)`` rows, winner ``"a"``, ``"b"`` or ``"tie"``;
    ``policies`` adds names that have no comparison yet. Rejects an empty input, a policy compared
    with itself and an unknown winner, naming the row."""
    parsed = []
    for number, row in enumerate(rows):
        try:
            pa, pb, outcome = row
        except (TypeError, ValueError):
            raise ValueError(f"row {number} {row!r}: expected (policy_a, policy_b, winner)") from None
        for name in (pa, pb):
            if not isinstance(name, str) or not name:
                raise ValueError(f"row {number} {row!r}: policy {name!r} is not a non-empty string")
        if pa == pb:
            raise ValueError(f"row {number} {row!r}: policy {pa!r} compared with itself")
        if outcome not in WINNERS:
            raise ValueError(f"row {number} {row!r}: winner {outcome!r} is not one of 'a', 'b', 'tie'")
        parsed.append((pa, pb, WINNERS[outcome]))
    if not parsed:
        raise ValueError("no comparisons: rows is empty")
    extra = list(policies)
    for name in extra:
        if not isinstance(name, str) or not name:
            raise ValueError(f"policy {name!r} is not a non-empty string")
    names = tuple(sorted({p for row in parsed for p in row[:2]} | set(extra)))
    index = {name: k for k, name in enumerate(names)}
    a = np.fromiter((index[r[0]] for r in parsed), np.int64, len(parsed))
    b = np.fromiter((index[r[1]] for r in parsed), np.int64, len(parsed))
    winner = np.fromiter((r[2] for r in parsed), np.int8, len(parsed))
    return Comparisons(names, a, b, winner)


def with_policies(table: Comparisons, policies: Iterable[str]) -> Comparisons:
    """The same comparisons over the union of ``table.policies`` and ``policies``."""
    names = tuple(sorted(set(table.policies) | set(policies)))
    if names == table.policies:
        return table
    remap = np.array([names.index(p) for p in table.policies], np.int64)
    return Comparisons(names, remap[table.a], remap[table.b], table.winner)
