"""Blind pairwise human preferences: two episodes of one scenario side by side, which is better?

The service hands an annotator a :class:`Ticket` (the two episodes' videos, left and right in a
random order, and the scenario; no policy names) carrying a token issued by the server, and
records their answer (:meth:`~benchmark.judges.preferences.PreferenceService.vote`) as a
``comparisons`` row with judge ``human``. The rules, all in this module:

* a vote needs an unused, unexpired token issued to that annotator (else :class:`VoteRejected`,
  nothing written); an annotator gets an unordered pair of episodes once, so votes once on it;
* a new annotator first answers ``qualification_pairs`` known-answer pairs (a success against a
  failure with progress below ``known_loser_progress_below``, by the state judge) and qualifies
  with ``pass_mark`` of them right, else fails and gets no more pairs;
* ``sanity_per_window`` of every ``sanity_window`` pairs a qualified annotator gets are hidden
  known-answer pairs; failing ``sanity_failures_allowed`` of them disqualifies the annotator and
  deletes their comparisons (their pair tokens stay as the audit trail);
* known-answer votes never become comparisons.

This module holds the rules: the service's configuration, its refusals, what it hands out and
the decisions, all pure functions. The service that applies them to the store is
:class:`benchmark.judges.preferences.PreferenceService`; the rows it reads and writes are
:mod:`benchmark.store.preferences`'s.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from benchmark.store.models import DISQUALIFIED, FAILED, QUALIFICATION, QUALIFIED, QUALIFYING, SANITY
from benchmark.store.preferences import HUMAN as HUMAN  # the comparisons' judge

CHOICES = {"left": "left", "a": "left", "right": "right", "b": "right", "tie": "tie"}
MAX_NAME_CHARS = 100
TOKEN_BYTES = 24  # 32 URL-safe characters

# What a scorer gets and gives: candidate (policy, policy) name pairs -> one score each, higher first.
PairScorer = Callable[[Sequence[tuple[str, str]]], Sequence[float]]


class PreferenceError(ValueError):
    """A request the preference service refuses; ``code`` says why in one word, for a UI."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


class VoteRejected(PreferenceError):
    """A vote that does not count, and was not written (codes: ``unknown_annotator``, ``forged``,
    ``not_yours``, ``used``, ``expired``, ``failed``, ``disqualified``, ``stale``, ``bad_vote``)."""


class NoPairError(PreferenceError):
    """No pair for this annotator now (codes: ``unknown_annotator``, ``failed``, ``disqualified``,
    ``no_known_pairs``, ``no_pairs``)."""


@dataclass(frozen=True)
class PreferenceConfig:
    """The service's rules; the defaults are the ones described in the module."""

    token_ttl_s: float = 30 * 60
    qualification_pairs: int = 5
    pass_mark: float = 0.8
    sanity_window: int = 10
    sanity_per_window: int = 2
    sanity_failures_allowed: int = 2  # failing this many sanity pairs disqualifies
    known_loser_progress_below: float = 0.3
    max_reason_chars: int = 2000

    def __post_init__(self):
        problems = [
            f"{name} must be {rule}"
            for name, ok, rule in (
                ("token_ttl_s", self.token_ttl_s > 0, "positive"),
                ("qualification_pairs", self.qualification_pairs >= 1, "at least 1"),
                ("pass_mark", 0 < self.pass_mark <= 1, "in (0, 1]"),
                ("sanity_window", self.sanity_window >= 1, "at least 1"),
                ("sanity_per_window", 0 <= self.sanity_per_window < self.sanity_window, "in [0, window)"),
                ("sanity_failures_allowed", self.sanity_failures_allowed >= 1, "at least 1"),
                ("known_loser_progress_below", 0 < self.known_loser_progress_below <= 1, "in (0, 1]"),
                ("max_reason_chars", self.max_reason_chars >= 0, "non-negative"),
            )
            if not ok
        ]
        if problems:
            raise ValueError(f"preference config: {'; '.join(problems)}")

    @property
    def qualification_needed(self) -> int:
        """Right answers needed to qualify."""
        return math.ceil(self.pass_mark * self.qualification_pairs - 1e-9)


@dataclass(frozen=True)
class Ticket:
    """What the UI shows: the videos by camera (absolute paths), left and right, of one scenario,
    and the token to vote with. The same fields whatever the kind of pair; no policy names."""

    token: str
    twin: str
    task: str
    instruction: str
    perturbations: tuple[str, ...]
    left: dict[str, str]
    right: dict[str, str]
    issued_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class Standing:
    """An annotator as the UI may see them (nothing that tells a sanity pair from a regular one):
    ``status`` is ``qualifying``, ``qualified``, ``failed`` or ``disqualified`` (with ``reason``)."""

    name: str
    status: str
    reason: str
    answered: int
    qualification_answered: int
    qualification_pairs: int


@dataclass(frozen=True)
class AnnotatorRecord:
    """An annotator with every counter, for administrators and reports."""

    name: str
    status: str
    reason: str
    answered: int
    qualification_answered: int
    qualification_correct: int
    sanity_answered: int
    sanity_failed: int
    votes: int
    created_at: datetime
    status_changed_at: datetime | None


class HumanComparison(NamedTuple):
    """A valid human vote for ranking: ``winner`` is ``a``, ``b`` or ``tie``."""

    policy_a: str
    policy_b: str
    winner: str


@dataclass(frozen=True)
class TokenState:
    """What deciding on a vote's token needs of its row."""

    annotator_id: int
    expires_at: datetime
    answered: bool


# -- decisions ----------------------------------------------------------------------------------
def normalise_name(name: str) -> str:
    """An annotator's name without surrounding space; ValueError for an empty or long one."""
    name = str(name).strip()
    if not name or len(name) > MAX_NAME_CHARS:
        raise ValueError(f"annotator name {name!r} must have 1 to {MAX_NAME_CHARS} characters")
    return name


def parse_choice(choice: str) -> str | None:
    """``left`` (or ``a``), ``right`` (or ``b``) or ``tie`` as ``left``/``right``/``tie``, else None."""
    return CHOICES.get(str(choice).strip().lower())


def token_problem(token: TokenState | None, annotator_id: int, now: datetime) -> tuple[str, str] | None:
    """Why a token cannot carry this annotator's vote now, as (code, message), or None."""
    if token is None:
        return "forged", "no such token: it was not issued by this service"
    if token.annotator_id != annotator_id:
        return "not_yours", "this token was issued to another annotator"
    if token.answered:
        return "used", "this token was used already: one vote per pair"
    if now >= token.expires_at:
        return "expired", f"this token expired at {token.expires_at:%Y-%m-%d %H:%M:%S} UTC; get a new pair"
    return None


def standing_problem(status: str) -> tuple[str, str] | None:
    """Why an annotator with ``status`` may not vote at all, or None."""
    if status == FAILED:
        return FAILED, "the annotator failed the qualification; their votes do not count"
    if status == DISQUALIFIED:
        return DISQUALIFIED, "the annotator was disqualified; their votes do not count"
    return None


def stage_problem(status: str, kind: str) -> tuple[str, str] | None:
    """Why an annotator with ``status`` may not answer a pair of ``kind`` (issued at another
    stage: qualification pairs are for ``qualifying`` annotators only), or None."""
    if (kind == QUALIFICATION) != (status == QUALIFYING):
        return "stale", f"this pair was issued for another stage (annotator now {status}); ask for a new pair"
    return None


def qualification_verdict(answered: int, correct: int, config: PreferenceConfig) -> str | None:
    """``qualified`` once every qualification pair is answered with enough right, ``failed`` as soon
    as the pass mark is out of reach, else None (still qualifying)."""
    wrong = answered - correct
    if wrong > config.qualification_pairs - config.qualification_needed:
        return FAILED
    if answered >= config.qualification_pairs:
        return QUALIFIED
    return None


def wants_sanity(kinds: Sequence[str], draw: float, config: PreferenceConfig) -> bool:
    """Whether a qualified annotator's next pair is a sanity pair, given the kinds of the pairs they
    got since qualifying (oldest first) and a uniform ``draw`` in [0, 1): each window of
    ``sanity_window`` pairs gets ``sanity_per_window`` sanity pairs at random places (drawn
    without replacement)."""
    position = len(kinds) % config.sanity_window
    had = sum(kind == SANITY for kind in kinds[len(kinds) - position :])
    missing = config.sanity_per_window - had
    return missing > 0 and draw < missing / (config.sanity_window - position)


def is_correct(answer: str, expected: str | None) -> bool:
    """A known-answer pair is answered right by the side that succeeded (a tie is wrong)."""
    return answer == expected


def orient(
    answer: str, left: tuple[int, int], right: tuple[int, int]
) -> tuple[tuple[int, int], tuple[int, int], str]:
    """A vote on (policy id, episode id) ``left`` and ``right`` as a comparison: policy ``a`` is
    the lower policy id whatever side it was shown on; ``winner`` is ``a``, ``b`` or ``tie``."""
    a, b = (left, right) if left[0] < right[0] else (right, left)
    if answer == "tie":
        return a, b, "tie"
    chosen = left if answer == "left" else right
    return a, b, "a" if chosen == a else "b"


def order_policy_pairs(
    pairs: Sequence[tuple[int, int]],
    votes: dict[tuple[int, int], int],
    rng: random.Random,
    scores: Sequence[float] | None = None,
) -> list[tuple[int, int]]:
    """Candidate policy pairs, best first: by ``scores`` (higher first) when given, then fewest
    votes, then at random."""
    keyed = [
        (-(scores[i] if scores is not None else 0.0), votes.get(pair, 0), rng.random(), pair)
        for i, pair in enumerate(pairs)
    ]
    return [pair for *_, pair in sorted(keyed)]


def cameras(files: Sequence[str]) -> tuple[str, ...]:
    """The cameras with a video at the top of an episode folder."""
    return tuple(sorted(f[: -len(".mp4")] for f in files if f.endswith(".mp4") and "/" not in f))


def shared_cameras(files_a: Sequence[str], files_b: Sequence[str]) -> tuple[str, ...]:
    return tuple(sorted(set(cameras(files_a)) & set(cameras(files_b))))
