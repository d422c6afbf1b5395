"""The blind pairwise preference service: the rules of :mod:`benchmark.judges.human` applied to
the store. :class:`PreferenceService` registers annotators, hands them tickets and records their
votes; each call is one transaction of the store's preference ledger
(:mod:`benchmark.store.preferences`), started by touching the annotator's row, so one annotator's
calls run one at a time (a row lock on PostgreSQL, the write lock on SQLite), and a refusal raised
within it writes nothing. :func:`human_comparisons` are the votes that count;
:func:`active_scorer` picks the next policy pair by active selection.
"""

from __future__ import annotations

import json
import math
import random
import secrets
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from benchmark.judges.human import (
    TOKEN_BYTES,
    AnnotatorRecord,
    HumanComparison,
    NoPairError,
    PairScorer,
    PreferenceConfig,
    PreferenceError,
    Standing,
    Ticket,
    TokenState,
    VoteRejected,
    is_correct,
    normalise_name,
    order_policy_pairs,
    orient,
    parse_choice,
    qualification_verdict,
    shared_cameras,
    stage_problem,
    standing_problem,
    token_problem,
    wants_sanity,
)
from benchmark.store import preferences as rows
from benchmark.store.models import DISQUALIFIED, FAILED, QUALIFICATION, QUALIFYING, REGULAR, SANITY, utc_now


class PreferenceService:
    """The preference service on a store. ``rng``: a seed or a :class:`random.Random` for pair
    choice and positions (tokens always come from :mod:`secrets`); ``scorer`` ranks candidate
    policy pairs for active selection (default: fewest votes first); ``clock`` returns the time
    (timezone-aware). Each call is one transaction of the store's :mod:`~benchmark.store.preferences`
    ledger; a refusal raised within it writes nothing."""

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
        return self._standing(rows.add_annotator(self.store, normalise_name(name), self.clock))

    def standing(self, name: str) -> Standing:
        """The annotator as the UI may see them; :class:`PreferenceError` for an unknown name."""
        name = str(name).strip()
        row = rows.find_annotator(self.store, name)
        if row is None:
            raise PreferenceError("unknown_annotator", f"unknown annotator {name!r}: add them first")
        return self._standing(row)

    def annotators(self) -> list[AnnotatorRecord]:
        """Every annotator with all counters, by name."""
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
            for r in rows.list_annotators(self.store)
        ]

    def disqualify(self, name: str, reason: str) -> Standing:
        """Disqualify an annotator by hand (an administrator's call): their votes are dropped as
        after failed sanity pairs; :class:`PreferenceError` for an unknown name."""
        now = self.clock()
        with rows.ledger(self.store) as book:
            person = self._lock(book, name, now, PreferenceError)
            dropped = book.drop_votes(person.id)
            person.status, person.status_changed_at = DISQUALIFIED, now
            person.reason = f"{reason.strip() or 'disqualified by hand'}; {dropped} votes no longer count"
            book.flush()
            return self._standing(person)

    # -- pairs ---------------------------------------------------------------------------------
    def next_pair(self, annotator: str) -> Ticket:
        """The annotator's pair to judge: their unanswered, unexpired ticket if they have one (a
        reloaded page shows the same pair), else a new one. :class:`NoPairError` with the reason
        when there is none."""
        now = self.clock()
        with rows.ledger(self.store) as book:
            person = self._lock(book, annotator, now, NoPairError)
            if person.status in (FAILED, DISQUALIFIED):
                why = f"annotator {annotator!r} is {person.status}: {person.reason}"
                raise NoPairError(person.status, why)
            pending = book.pending_token(person.id, now)
            if pending is not None:
                return self._ticket(book, pending)
            issued = book.issued_pairs(person.id)
            if person.status == QUALIFYING:
                known = self._known_pair(book, issued)
                if known is None:
                    raise NoPairError(
                        "no_known_pairs",
                        f"no known-answer pair left for annotator {annotator!r} to qualify on: that needs "
                        "two episodes of one scenario, one a success and one a failure with progress "
                        f"below {self.config.known_loser_progress_below:g} (state judge)",
                    )
                return self._issue(book, person, QUALIFICATION, known, now)
            kinds = book.kinds_after_qualification(person.id)
            if wants_sanity(kinds, self.rng.random(), self.config):
                known = self._known_pair(book, issued)
                if known is not None:
                    return self._issue(book, person, SANITY, known, now)
            pair = self._regular_pair(book, issued)
            if pair is None:
                raise NoPairError(
                    "no_pairs",
                    f"no pair left for annotator {annotator!r}: no two policies have episodes of one "
                    "scenario with videos that they have not compared yet",
                )
            return self._issue(book, person, REGULAR, pair, now)

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
        with rows.ledger(self.store) as book:
            person = self._lock(book, annotator, now, VoteRejected)
            row = book.token(str(token))
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
            if not book.claim(row.id, now, answer, seconds_spent):  # unreachable while calls are serialised
                raise VoteRejected("used", f"vote by {annotator!r} rejected: this token was used already")
            person.answered += 1
            if row.kind == REGULAR:
                self._compare(book, person, row, answer, reason, seconds_spent)
            else:
                self._check_known(book, person, row.kind, is_correct(answer, row.expected), now)
            book.flush()
            return self._standing(person)

    # -- valid votes ---------------------------------------------------------------------------
    def human_comparisons(self) -> list[HumanComparison]:
        """See :func:`human_comparisons`."""
        return human_comparisons(self.store)

    # -- internals -----------------------------------------------------------------------------
    def _lock(self, book: rows.PreferenceLedger, name: str, now: datetime, error: type[PreferenceError]):
        """Touch the annotator's row (the lock serialising their calls) and load it."""
        name = str(name).strip()
        person = book.touch(name, now)
        if person is None:
            raise error("unknown_annotator", f"unknown annotator {name!r}: add them first")
        return person

    def _standing(self, row) -> Standing:
        return Standing(
            row.name,
            row.status,
            row.reason,
            row.answered,
            row.qualification_answered,
            self.config.qualification_pairs,
        )

    def _known_pair(self, book: rows.PreferenceLedger, issued: set) -> tuple[int, int] | None:
        """A random known-answer pair not yet issued to the annotator: (winner, loser) episode ids."""
        fresh = [
            (w, loser)
            for w, loser, w_files, l_files in book.known_pairs(self.config.known_loser_progress_below)
            if (min(w, loser), max(w, loser)) not in issued and shared_cameras(w_files, l_files)
        ]
        return self.rng.choice(fresh) if fresh else None

    def _regular_pair(self, book: rows.PreferenceLedger, issued: set) -> tuple[int, int] | None:
        """Two episodes of one scenario from the best-ranked policy pair that still has a pair not
        yet issued to the annotator, the pair with the fewest votes among those."""
        pairs = book.policy_pairs()
        if not pairs:
            return None
        votes = book.policy_pair_votes()
        scores = None
        if self.scorer is not None:
            names = book.policy_names()
            scores = [float(s) for s in self.scorer([(names[a], names[b]) for a, b in pairs])]
            if len(scores) != len(pairs):
                raise ValueError(f"pair scorer {self.scorer!r}: {len(scores)} scores for {len(pairs)} pairs")
        for a, b in order_policy_pairs(pairs, votes, self.rng, scores):
            fresh = [
                (min(x, y), max(x, y))
                for x, y, x_files, y_files in book.episode_pairs(a, b)
                if (min(x, y), max(x, y)) not in issued and shared_cameras(x_files, y_files)
            ]
            if not fresh:
                continue
            counts = book.episode_pair_votes(a, b)
            fewest = min(counts.get(pair, 0) for pair in fresh)
            return self.rng.choice([pair for pair in fresh if counts.get(pair, 0) == fewest])
        return None

    def _issue(
        self, book: rows.PreferenceLedger, person, kind: str, pair: tuple[int, int], now: datetime
    ) -> Ticket:
        """Store a token for two episodes shown in a random order (of a known-answer pair, the
        first is the winner); return its ticket."""
        first, second = pair
        swap = self.rng.random() < 0.5
        left, right = (second, first) if swap else (first, second)
        expected = None if kind == REGULAR else ("right" if swap else "left")
        row = book.add_token(
            token=secrets.token_urlsafe(TOKEN_BYTES),
            annotator_id=person.id,
            scenario_id=book.scenario_of(first),
            episode_left_id=left,
            episode_right_id=right,
            episode_low_id=min(left, right),
            episode_high_id=max(left, right),
            kind=kind,
            expected=expected,
            issued_at=now,
            expires_at=now + timedelta(seconds=self.config.token_ttl_s),
        )
        return self._ticket(book, row)

    def _ticket(self, book: rows.PreferenceLedger, row) -> Ticket:
        scenario, twin, left, right = book.shown(row)
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
        self, book: rows.PreferenceLedger, person, row, answer: str, reason: str, seconds: float
    ) -> None:
        """Store a regular vote as a human comparison linked to its token."""
        policy = book.episode_policies((row.episode_left_id, row.episode_right_id))
        left = (policy[row.episode_left_id], row.episode_left_id)
        right = (policy[row.episode_right_id], row.episode_right_id)
        a, b, winner = orient(answer, left, right)
        book.add_comparison(
            row.id,
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
        person.votes += 1

    def _check_known(
        self, book: rows.PreferenceLedger, person, kind: str, right: bool, now: datetime
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
            dropped = book.drop_votes(person.id)
            person.status, person.status_changed_at = DISQUALIFIED, now
            person.reason = (
                f"answered {person.sanity_failed} pairs with a known answer wrongly; "
                f"{dropped} earlier votes no longer count"
            )


def _instruction(path) -> str:
    """The instruction in an episode's ``episode.json``, or "" when it has none."""
    try:
        return str(json.loads(path.read_text())["scenario"]["instruction"])
    except (OSError, ValueError, KeyError, TypeError):
        return ""


def human_comparisons(store) -> list[HumanComparison]:
    """The human votes that count, oldest first, as (policy a, policy b, winner): those recorded
    through the service by annotators still qualified."""
    return [HumanComparison(*row) for row in rows.human_votes(store)]


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
