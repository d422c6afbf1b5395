"""Blind pairwise human preferences: two episodes of one scenario side by side, which is better?

The service hands an annotator a :class:`Ticket` (the two episodes' videos, left and right in a
random order, and the scenario; no policy names) carrying a token issued by the server, and
records their answer (:meth:`PreferenceService.vote`) as a ``comparisons`` row with judge
``human``. The rules, all in this module:

* a vote needs an unused, unexpired token issued to that annotator (else :class:`VoteRejected`,
  nothing written); an annotator gets an unordered pair of episodes once, so votes once on it;
* a new annotator first answers ``qualification_pairs`` known-answer pairs (a success against a
  failure with progress below ``known_loser_progress_below``, by the state judge) and qualifies
  with ``pass_mark`` of them right, else fails and gets no more pairs;
* ``sanity_per_window`` of every ``sanity_window`` pairs a qualified annotator gets are hidden
  known-answer pairs; failing ``sanity_failures_allowed`` of them disqualifies the annotator and
  deletes their comparisons (their pair tokens stay as the audit trail);
* known-answer votes never become comparisons.

Decisions are pure functions; :class:`PreferenceService` is the shell that reads and writes the
store. Every call runs in one transaction that starts by touching the annotator's row, so one
annotator's calls run one at a time (a row lock on PostgreSQL, the write lock on SQLite).
"""

from __future__ import annotations

import json
import math
import random
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from benchmark.store.models import (
    DISQUALIFIED,
    FAILED,
    QUALIFICATION,
    QUALIFIED,
    QUALIFYING,
    REGULAR,
    SANITY,
    Annotator,
    Comparison,
    Episode,
    PairToken,
    Policy,
    Scenario,
    Twin,
    utc_now,
)

HUMAN = "human"  # the comparisons' judge
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


# -- the store shell ----------------------------------------------------------------------------
class PreferenceService:
    """The preference service on a store. ``rng``: a seed or a :class:`random.Random` for pair
    choice and positions (tokens always come from :mod:`secrets`); ``scorer`` ranks candidate
    policy pairs for active selection (default: fewest votes first); ``clock`` returns the time
    (timezone-aware)."""

    def __init__(
        self,
        store,
        rng: random.Random | int | None = None,
        config: PreferenceConfig | None = None,
        *,
        scorer: PairScorer | None = None,
        clock: Callable[[], datetime] = utc_now,
    ):
        self.store = store
        self.rng = rng if isinstance(rng, random.Random) else random.Random(rng)
        self.config = config or PreferenceConfig()
        self.scorer = scorer
        self.clock = clock

    # -- annotators ----------------------------------------------------------------------------
    def add_annotator(self, name: str) -> Standing:
        """Register an annotator (``qualifying``); an existing one is returned as it is."""
        name = normalise_name(name)
        for attempt in range(2):
            try:
                with self.store.session() as session:
                    row = session.scalars(select(Annotator).where(Annotator.name == name)).one_or_none()
                    if row is None:
                        now = self.clock()
                        row = Annotator(name=name, created_at=now, seen_at=now)
                        session.add(row)
                        session.flush()
                    return self._standing(row)
            except IntegrityError:  # registered by a concurrent call since we looked
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def standing(self, name: str) -> Standing:
        """The annotator as the UI may see them; :class:`PreferenceError` for an unknown name."""
        name = str(name).strip()
        with self.store.session() as session:
            row = session.scalars(select(Annotator).where(Annotator.name == name)).one_or_none()
            if row is None:
                raise PreferenceError("unknown_annotator", f"unknown annotator {name!r}: add them first")
            return self._standing(row)

    def annotators(self) -> list[AnnotatorRecord]:
        """Every annotator with all counters, by name."""
        with self.store.session() as session:
            return [
                AnnotatorRecord(
                    r.name,
                    r.status,
                    r.reason,
                    r.answered,
                    r.qualification_answered,
                    r.qualification_correct,
                    r.sanity_answered,
                    r.sanity_failed,
                    r.votes,
                    r.created_at,
                    r.status_changed_at,
                )
                for r in session.scalars(select(Annotator).order_by(Annotator.name))
            ]

    def disqualify(self, name: str, reason: str) -> Standing:
        """Disqualify an annotator by hand (an administrator's call): their votes are dropped as
        after failed sanity pairs; :class:`PreferenceError` for an unknown name."""
        now = self.clock()
        with self.store.session() as session:
            person = self._lock(session, name, now, PreferenceError)
            dropped = _drop_votes(session, person.id)
            person.status, person.status_changed_at = DISQUALIFIED, now
            person.reason = f"{reason.strip() or 'disqualified by hand'}; {dropped} votes no longer count"
            session.flush()
            return self._standing(person)

    # -- pairs ---------------------------------------------------------------------------------
    def next_pair(self, annotator: str) -> Ticket:
        """The annotator's pair to judge: their unanswered, unexpired ticket if they have one (a
        reloaded page shows the same pair), else a new one. :class:`NoPairError` with the reason
        when there is none."""
        now = self.clock()
        with self.store.session() as session:
            person = self._lock(session, annotator, now, NoPairError)
            if person.status in (FAILED, DISQUALIFIED):
                why = f"annotator {annotator!r} is {person.status}: {person.reason}"
                raise NoPairError(person.status, why)
            pending = session.scalars(
                select(PairToken)
                .where(
                    PairToken.annotator_id == person.id,
                    PairToken.answered_at.is_(None),
                    PairToken.expires_at > now,
                )
                .order_by(PairToken.id.desc())
                .limit(1)
            ).first()
            if pending is not None:
                return self._ticket(session, pending)
            issued = set(
                session.execute(
                    select(PairToken.episode_low_id, PairToken.episode_high_id).where(
                        PairToken.annotator_id == person.id
                    )
                ).all()
            )
            if person.status == QUALIFYING:
                known = self._known_pair(session, issued)
                if known is None:
                    raise NoPairError(
                        "no_known_pairs",
                        f"no known-answer pair left for annotator {annotator!r} to qualify on: that needs "
                        "two episodes of one scenario, one a success and one a failure with progress "
                        f"below {self.config.known_loser_progress_below:g} (state judge)",
                    )
                return self._issue(session, person, QUALIFICATION, known, now)
            kinds = session.scalars(
                select(PairToken.kind)
                .where(PairToken.annotator_id == person.id, PairToken.kind != QUALIFICATION)
                .order_by(PairToken.id)
            ).all()
            if wants_sanity(kinds, self.rng.random(), self.config):
                known = self._known_pair(session, issued)
                if known is not None:
                    return self._issue(session, person, SANITY, known, now)
            pair = self._regular_pair(session, issued)
            if pair is None:
                raise NoPairError(
                    "no_pairs",
                    f"no pair left for annotator {annotator!r}: no two policies have episodes of one "
                    "scenario with videos that they have not compared yet",
                )
            return self._issue(session, person, REGULAR, pair, now)

    def vote(
        self,
        annotator: str,
        token: str,
        choice: str,
        reason: str = "",
        seconds_spent: float | None = None,
    ) -> Standing:
        """Record the annotator's answer to the pair ``token`` stands for: ``left`` (A), ``right``
        (B) or ``tie``, with their free-text ``reason`` and ``seconds_spent`` (default: the time
        since the pair was issued). Returns their standing; :class:`VoteRejected` (nothing written)
        for a vote that does not count."""
        now = self.clock()
        answer = parse_choice(choice)
        if answer is None:
            raise VoteRejected("bad_vote", f"choice {choice!r} is not left (a), right (b) or tie")
        reason = str(reason).strip()
        if len(reason) > self.config.max_reason_chars:
            raise VoteRejected(
                "bad_vote", f"reason has {len(reason)} characters; at most {self.config.max_reason_chars}"
            )
        if seconds_spent is not None and not (math.isfinite(seconds_spent) and seconds_spent >= 0):
            raise VoteRejected("bad_vote", f"seconds_spent {seconds_spent!r} is not a duration")
        with self.store.session() as session:
            person = self._lock(session, annotator, now, VoteRejected)
            row = session.scalars(select(PairToken).where(PairToken.token == str(token))).one_or_none()
            state = None
            if row is not None:
                state = TokenState(row.annotator_id, row.expires_at, row.answered_at is not None)
            problem = (
                standing_problem(person.status)
                or token_problem(state, person.id, now)
                or stage_problem(person.status, row.kind)
            )
            if problem is not None:
                raise VoteRejected(problem[0], f"vote by {annotator!r} rejected: {problem[1]}")
            if seconds_spent is None:
                seconds_spent = max(0.0, (now - row.issued_at).total_seconds())
            claimed = session.execute(
                update(PairToken)
                .where(PairToken.id == row.id, PairToken.answered_at.is_(None))
                .values(answered_at=now, answer=answer, seconds_spent=seconds_spent)
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount != 1:  # unreachable while calls per annotator are serialised
                raise VoteRejected("used", f"vote by {annotator!r} rejected: this token was used already")
            person.answered += 1
            if row.kind == REGULAR:
                self._compare(session, person, row, answer, reason, seconds_spent)
            else:
                self._check_known(session, person, row.kind, is_correct(answer, row.expected), now)
            session.flush()
            return self._standing(person)

    # -- valid votes ---------------------------------------------------------------------------
    def human_comparisons(self) -> list[HumanComparison]:
        """See :func:`human_comparisons`."""
        return human_comparisons(self.store)

    # -- internals -----------------------------------------------------------------------------
    def _lock(self, session: Session, name: str, now: datetime, error: type[PreferenceError]) -> Annotator:
        """Touch the annotator's row (the lock serialising their calls) and load it."""
        name = str(name).strip()
        touched = session.execute(
            update(Annotator)
            .where(Annotator.name == name)
            .values(seen_at=now)
            .execution_options(synchronize_session=False)
        )
        if touched.rowcount != 1:
            raise error("unknown_annotator", f"unknown annotator {name!r}: add them first")
        return session.scalars(
            select(Annotator).where(Annotator.name == name).execution_options(populate_existing=True)
        ).one()

    def _standing(self, row: Annotator) -> Standing:
        return Standing(
            row.name,
            row.status,
            row.reason,
            row.answered,
            row.qualification_answered,
            self.config.qualification_pairs,
        )

    def _known_pair(self, session: Session, issued: set) -> tuple[int, int] | None:
        """A random known-answer pair not yet issued to the annotator: (winner, loser) episode ids."""
        won, lost = aliased(Episode), aliased(Episode)
        rows = session.execute(
            select(won.id, lost.id, won.files, lost.files)
            .join(lost, lost.scenario_id == won.scenario_id)
            .where(
                won.success.is_(True),
                lost.success.is_(False),
                lost.progress < self.config.known_loser_progress_below,
            )
            .order_by(won.id, lost.id)
        ).all()
        fresh = [
            (w, loser)
            for w, loser, w_files, l_files in rows
            if (min(w, loser), max(w, loser)) not in issued and shared_cameras(w_files, l_files)
        ]
        return self.rng.choice(fresh) if fresh else None

    def _regular_pair(self, session: Session, issued: set) -> tuple[int, int] | None:
        """Two episodes of one scenario from the best-ranked policy pair that still has a pair not
        yet issued to the annotator, the pair with the fewest votes among those."""
        first, second = aliased(Episode), aliased(Episode)
        shared = (second.scenario_id == first.scenario_id) & (first.policy_id < second.policy_id)
        pairs = session.execute(
            select(first.policy_id, second.policy_id)
            .join(second, shared)
            .distinct()
            .order_by(first.policy_id, second.policy_id)
        ).all()
        if not pairs:
            return None
        pairs = [tuple(p) for p in pairs]
        low, high = _unordered(Comparison.policy_a_id, Comparison.policy_b_id)
        votes = {
            (a, b): n
            for a, b, n in session.execute(
                select(low, high, func.count()).where(Comparison.judge == HUMAN).group_by(low, high)
            ).all()
        }
        scores = None
        if self.scorer is not None:
            names = dict(session.execute(select(Policy.id, Policy.name)).all())
            scores = [float(s) for s in self.scorer([(names[a], names[b]) for a, b in pairs])]
            if len(scores) != len(pairs):
                raise ValueError(f"pair scorer {self.scorer!r}: {len(scores)} scores for {len(pairs)} pairs")
        ep_low, ep_high = _unordered(Comparison.episode_a_id, Comparison.episode_b_id)
        for a, b in order_policy_pairs(pairs, votes, self.rng, scores):
            rows = session.execute(
                select(first.id, second.id, first.files, second.files)
                .join(second, second.scenario_id == first.scenario_id)
                .where(first.policy_id == a, second.policy_id == b)
                .order_by(first.id)
            ).all()
            fresh = [
                (min(x, y), max(x, y))
                for x, y, x_files, y_files in rows
                if (min(x, y), max(x, y)) not in issued and shared_cameras(x_files, y_files)
            ]
            if not fresh:
                continue
            counts = {
                (x, y): n
                for x, y, n in session.execute(
                    select(ep_low, ep_high, func.count())
                    .where(
                        Comparison.judge == HUMAN,
                        Comparison.policy_a_id.in_((a, b)),
                        Comparison.policy_b_id.in_((a, b)),
                    )
                    .group_by(ep_low, ep_high)
                ).all()
            }
            fewest = min(counts.get(pair, 0) for pair in fresh)
            return self.rng.choice([pair for pair in fresh if counts.get(pair, 0) == fewest])
        return None

    def _issue(
        self, session: Session, person: Annotator, kind: str, pair: tuple[int, int], now: datetime
    ) -> Ticket:
        """Store a token for two episodes shown in a random order (of a known-answer pair, the
        first is the winner); return its ticket."""
        first, second = pair
        swap = self.rng.random() < 0.5
        left, right = (second, first) if swap else (first, second)
        expected = None if kind == REGULAR else ("right" if swap else "left")
        scenario_id = session.scalar(select(Episode.scenario_id).where(Episode.id == first))
        row = PairToken(
            token=secrets.token_urlsafe(TOKEN_BYTES),
            annotator_id=person.id,
            scenario_id=scenario_id,
            episode_left_id=left,
            episode_right_id=right,
            episode_low_id=min(left, right),
            episode_high_id=max(left, right),
            kind=kind,
            expected=expected,
            issued_at=now,
            expires_at=now + timedelta(seconds=self.config.token_ttl_s),
        )
        session.add(row)
        session.flush()
        return self._ticket(session, row)

    def _ticket(self, session: Session, row: PairToken) -> Ticket:
        scenario, twin = session.execute(
            select(Scenario, Twin.name)
            .join(Twin, Twin.id == Scenario.twin_id)
            .where(Scenario.id == row.scenario_id)
        ).one()
        left = session.get(Episode, row.episode_left_id)
        right = session.get(Episode, row.episode_right_id)
        shown = shared_cameras(left.files, right.files)
        left_dir = self.store.artefact_path(left.artefact)
        right_dir = self.store.artefact_path(right.artefact)
        return Ticket(
            token=row.token,
            twin=twin,
            task=scenario.task,
            instruction=_instruction(left_dir / "episode.json"),
            perturbations=tuple(scenario.perturbations),
            left={camera: str(left_dir / f"{camera}.mp4") for camera in shown},
            right={camera: str(right_dir / f"{camera}.mp4") for camera in shown},
            issued_at=row.issued_at,
            expires_at=row.expires_at,
        )

    def _compare(
        self, session: Session, person: Annotator, row: PairToken, answer: str, reason: str, seconds: float
    ) -> None:
        """Store a regular vote as a human comparison linked to its token."""
        policy = dict(
            session.execute(
                select(Episode.id, Episode.policy_id).where(
                    Episode.id.in_((row.episode_left_id, row.episode_right_id))
                )
            ).all()
        )
        left = (policy[row.episode_left_id], row.episode_left_id)
        right = (policy[row.episode_right_id], row.episode_right_id)
        a, b, winner = orient(answer, left, right)
        comparison = Comparison(
            judge=HUMAN,
            scenario_id=row.scenario_id,
            policy_a_id=a[0],
            policy_b_id=b[0],
            episode_a_id=a[1],
            episode_b_id=b[1],
            winner=winner,
            annotator=person.name,
            reason=reason,
            seconds_spent=seconds,
        )
        session.add(comparison)
        session.flush()
        session.execute(
            update(PairToken)
            .where(PairToken.id == row.id)
            .values(comparison_id=comparison.id)
            .execution_options(synchronize_session=False)
        )
        person.votes += 1

    def _check_known(
        self, session: Session, person: Annotator, kind: str, right: bool, now: datetime
    ) -> None:
        """Count a known-answer vote; qualify, fail or disqualify the annotator when it decides."""
        config = self.config
        if kind == QUALIFICATION:
            person.qualification_answered += 1
            person.qualification_correct += int(right)
            answered, correct = person.qualification_answered, person.qualification_correct
            verdict = qualification_verdict(answered, correct, config)
            if verdict is not None:
                person.status, person.status_changed_at = verdict, now
                person.reason = (
                    f"{person.qualification_correct} of {person.qualification_answered} qualification pairs "
                    f"right ({config.qualification_needed} of {config.qualification_pairs} needed)"
                )
            return
        person.sanity_answered += 1
        person.sanity_failed += int(not right)
        if person.sanity_failed >= config.sanity_failures_allowed:
            dropped = _drop_votes(session, person.id)
            person.status, person.status_changed_at = DISQUALIFIED, now
            person.reason = (
                f"answered {person.sanity_failed} pairs with a known answer wrongly; "
                f"{dropped} earlier votes no longer count"
            )


def _drop_votes(session: Session, annotator_id: int) -> int:
    """Delete the comparisons an annotator's votes became (their tokens stay, unlinked); return how many."""
    ids = session.scalars(
        select(PairToken.comparison_id).where(
            PairToken.annotator_id == annotator_id, PairToken.comparison_id.is_not(None)
        )
    ).all()
    session.execute(
        update(PairToken)
        .where(PairToken.annotator_id == annotator_id)
        .values(comparison_id=None)
        .execution_options(synchronize_session=False)
    )
    if ids:
        session.execute(
            delete(Comparison).where(Comparison.id.in_(ids)).execution_options(synchronize_session=False)
        )
    return len(ids)


def _unordered(x, y):
    """SQL for the smaller and the larger of two columns: an unordered pair."""
    return case((x < y, x), else_=y), case((x < y, y), else_=x)


def _instruction(path) -> str:
    """The instruction in an episode's ``episode.json``, or "" when it has none."""
    try:
        return str(json.loads(path.read_text())["scenario"]["instruction"])
    except (OSError, ValueError, KeyError, TypeError):
        return ""


def human_comparisons(store) -> list[HumanComparison]:
    """The human votes that count, oldest first, as (policy a, policy b, winner): those recorded
    through the service by annotators still qualified."""
    policy_a, policy_b = aliased(Policy), aliased(Policy)
    query = (
        select(policy_a.name, policy_b.name, Comparison.winner)
        .select_from(Comparison)
        .join(PairToken, PairToken.comparison_id == Comparison.id)
        .join(Annotator, Annotator.id == PairToken.annotator_id)
        .join(policy_a, policy_a.id == Comparison.policy_a_id)
        .join(policy_b, policy_b.id == Comparison.policy_b_id)
        .where(Comparison.judge == HUMAN, Annotator.status == QUALIFIED)
        .order_by(Comparison.id)
    )
    with store.session() as session:
        return [HumanComparison(*row) for row in session.execute(query).all()]


def active_scorer(store, rng: int | None = None) -> PairScorer:
    """A scorer that puts first the pair :func:`benchmark.ranking.next_pairs` would compare next,
    given the human votes that count so far: the widest intervals between close policies shrink
    first (``PreferenceService(store, scorer=active_scorer(store))``)."""
    import numpy as np

    from benchmark.ranking import comparisons, next_pairs

    generator = np.random.default_rng(rng)

    def score(pairs: Sequence[tuple[str, str]]) -> list[float]:
        candidates = sorted({name for pair in pairs for name in pair})
        if len(candidates) < 2:
            return [0.0] * len(pairs)
        votes = [tuple(row) for row in human_comparisons(store)]
        best = set(next_pairs(comparisons(votes) if votes else None, candidates, n=1, rng=generator)[0])
        return [1.0 if set(pair) == best else 0.0 for pair in pairs]

    return score
