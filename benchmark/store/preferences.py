"""The blind preference service's rows: annotators, the pair tokens issued to them and the human
comparisons their votes become. The service is :mod:`benchmark.judges.preferences`, its rules
:mod:`benchmark.judges.human`; this module only reads and writes.

A service call runs in one transaction, a :class:`PreferenceLedger` (``with ledger(store) as
book``); it starts by touching the annotator's row (:meth:`PreferenceLedger.touch`), so one
annotator's calls run one at a time (a row lock on PostgreSQL, the write lock on SQLite).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import cast

from sqlalchemy import CursorResult, case, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from benchmark.store.models import (
    QUALIFICATION,
    QUALIFIED,
    Annotator,
    Comparison,
    Episode,
    PairToken,
    Policy,
    Scenario,
    Twin,
)
from benchmark.text import clean_text

HUMAN = "human"  # the judge of the comparisons votes become


@contextmanager
def ledger(store) -> Iterator[PreferenceLedger]:
    """One transaction of the preference service: committed when the block ends, rolled back
    (nothing written) when it raises."""
    with store.session() as session:
        yield PreferenceLedger(session)


class PreferenceLedger:
    """The preference service's reads and writes within one transaction. The rows it returns
    belong to the transaction: changes made to them are written when it ends."""

    def __init__(self, session: Session):
        self._session = session

    def flush(self) -> None:
        self._session.flush()

    # -- annotators ----------------------------------------------------------------------------
    def touch(self, name: str, now: datetime) -> Annotator | None:
        """Touch the annotator's row (the lock serialising their calls) and load it; None for an
        unknown name."""
        touched = cast(
            CursorResult,
            self._session.execute(
                update(Annotator)
                .where(Annotator.name == name)
                .values(seen_at=now)
                .execution_options(synchronize_session=False)
            ),
        )
        if touched.rowcount != 1:
            return None
        return self._session.scalars(
            select(Annotator).where(Annotator.name == name).execution_options(populate_existing=True)
        ).one()

    def drop_votes(self, annotator_id: int) -> int:
        """Delete the comparisons an annotator's votes became (their tokens stay, unlinked); return
        how many."""
        session = self._session
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

    # -- tokens --------------------------------------------------------------------------------
    def pending_token(self, annotator_id: int, now: datetime) -> PairToken | None:
        """The annotator's newest unanswered, unexpired token, if any."""
        return self._session.scalars(
            select(PairToken)
            .where(
                PairToken.annotator_id == annotator_id,
                PairToken.answered_at.is_(None),
                PairToken.expires_at > now,
            )
            .order_by(PairToken.id.desc())
            .limit(1)
        ).first()

    def issued_pairs(self, annotator_id: int) -> set[tuple[int, int]]:
        """The unordered episode pairs (low id, high id) ever issued to the annotator."""
        query = select(PairToken.episode_low_id, PairToken.episode_high_id).where(
            PairToken.annotator_id == annotator_id
        )
        return set(self._session.execute(query).all())

    def kinds_after_qualification(self, annotator_id: int) -> list[str]:
        """The kinds of the pairs issued to the annotator after the qualification ones, oldest first."""
        return list(
            self._session.scalars(
                select(PairToken.kind)
                .where(PairToken.annotator_id == annotator_id, PairToken.kind != QUALIFICATION)
                .order_by(PairToken.id)
            ).all()
        )

    def token(self, token: str) -> PairToken | None:
        return self._session.scalars(select(PairToken).where(PairToken.token == token)).one_or_none()

    def claim(self, token_id: int, now: datetime, answer: str, seconds: float) -> bool:
        """Record the answer on the token unless it has one already; whether it was recorded."""
        claimed = cast(
            CursorResult,
            self._session.execute(
                update(PairToken)
                .where(PairToken.id == token_id, PairToken.answered_at.is_(None))
                .values(answered_at=now, answer=answer, seconds_spent=seconds)
                .execution_options(synchronize_session=False)
            ),
        )
        return claimed.rowcount == 1

    def add_token(self, **columns) -> PairToken:
        """A new token (the :class:`~benchmark.store.models.PairToken` columns), flushed."""
        row = PairToken(**columns)
        self._session.add(row)
        self._session.flush()
        return row

    def scenario_of(self, episode_id: int) -> int | None:
        return self._session.scalar(select(Episode.scenario_id).where(Episode.id == episode_id))

    def shown(self, row: PairToken) -> tuple[Scenario, str, Episode | None, Episode | None]:
        """What a token shows: its scenario, the scenario's twin name, the left and right episodes."""
        scenario, twin = self._session.execute(
            select(Scenario, Twin.name)
            .join(Twin, Twin.id == Scenario.twin_id)
            .where(Scenario.id == row.scenario_id)
        ).one()
        left = self._session.get(Episode, row.episode_left_id)
        right = self._session.get(Episode, row.episode_right_id)
        return scenario, twin, left, right

    # -- candidate pairs -----------------------------------------------------------------------
    def known_pairs(self, loser_progress_below: float) -> list[tuple[int, int, list, list]]:
        """Every (winner, loser) pair of episodes of one scenario, a success and a failure with
        progress below ``loser_progress_below``, with both episodes' files."""
        won, lost = aliased(Episode), aliased(Episode)
        rows = self._session.execute(
            select(won.id, lost.id, won.files, lost.files)
            .join(lost, lost.scenario_id == won.scenario_id)
            .where(
                won.success.is_(True),
                lost.success.is_(False),
                lost.progress < loser_progress_below,
            )
            .order_by(won.id, lost.id)
        ).all()
        return [(winner, loser, won_files, lost_files) for winner, loser, won_files, lost_files in rows]

    def policy_pairs(self) -> list[tuple[int, int]]:
        """Every (lower, higher) pair of policy ids with episodes of one scenario."""
        first, second = aliased(Episode), aliased(Episode)
        shared = (second.scenario_id == first.scenario_id) & (first.policy_id < second.policy_id)
        pairs = self._session.execute(
            select(first.policy_id, second.policy_id)
            .join(second, shared)
            .distinct()
            .order_by(first.policy_id, second.policy_id)
        ).all()
        return [(a, b) for a, b in pairs]

    def policy_pair_votes(self) -> dict[tuple[int, int], int]:
        """Human comparisons per unordered pair of policy ids."""
        low, high = _unordered(Comparison.policy_a_id, Comparison.policy_b_id)
        query = select(low, high, func.count()).where(Comparison.judge == HUMAN).group_by(low, high)
        return {(a, b): n for a, b, n in self._session.execute(query).all()}

    def policy_names(self) -> dict[int, str]:
        return dict(self._session.execute(select(Policy.id, Policy.name)).all())

    def episode_pairs(self, a: int, b: int) -> list[tuple[int, int, list, list]]:
        """Every pair of episodes of one scenario by policies ``a`` and ``b``, with their files."""
        first, second = aliased(Episode), aliased(Episode)
        rows = self._session.execute(
            select(first.id, second.id, first.files, second.files)
            .join(second, second.scenario_id == first.scenario_id)
            .where(first.policy_id == a, second.policy_id == b)
            .order_by(first.id)
        ).all()
        return [(left, right, left_files, right_files) for left, right, left_files, right_files in rows]

    def episode_pair_votes(self, a: int, b: int) -> dict[tuple[int, int], int]:
        """Human comparisons between policies ``a`` and ``b`` per unordered pair of episode ids."""
        low, high = _unordered(Comparison.episode_a_id, Comparison.episode_b_id)
        query = (
            select(low, high, func.count())
            .where(
                Comparison.judge == HUMAN,
                Comparison.policy_a_id.in_((a, b)),
                Comparison.policy_b_id.in_((a, b)),
            )
            .group_by(low, high)
        )
        return {(x, y): n for x, y, n in self._session.execute(query).all()}

    # -- votes ---------------------------------------------------------------------------------
    def episode_policies(self, episode_ids: Sequence[int]) -> dict[int, int]:
        """The policy id of each episode."""
        query = select(Episode.id, Episode.policy_id).where(Episode.id.in_(tuple(episode_ids)))
        return dict(self._session.execute(query).all())

    def add_comparison(self, token_id: int, **columns) -> Comparison:
        """A human comparison (the :class:`~benchmark.store.models.Comparison` columns but the
        judge), linked to the token whose vote it is."""
        if "reason" in columns:
            columns["reason"] = clean_text(columns["reason"])  # an annotator's words, as plain text
        comparison = Comparison(judge=HUMAN, **columns)
        self._session.add(comparison)
        self._session.flush()
        self._session.execute(
            update(PairToken)
            .where(PairToken.id == token_id)
            .values(comparison_id=comparison.id)
            .execution_options(synchronize_session=False)
        )
        return comparison


def _unordered(x, y):
    """SQL for the smaller and the larger of two columns: an unordered pair."""
    return case((x < y, x), else_=y), case((x < y, y), else_=x)


def add_annotator(store, name: str, clock: Callable[[], datetime]) -> Annotator:
    """The annotator ``name``, registered (at ``clock()``) if new; a concurrent registration of the
    same name since we looked is found on a second try."""
    for attempt in range(2):
        try:
            with store.session() as session:
                row = session.scalars(select(Annotator).where(Annotator.name == name)).one_or_none()
                if row is None:
                    now = clock()
                    row = Annotator(name=name, created_at=now, seen_at=now)
                    session.add(row)
                    session.flush()
                return row
        except IntegrityError:  # registered by a concurrent call since we looked
            if attempt:
                raise
    raise AssertionError("unreachable")


def find_annotator(store, name: str) -> Annotator | None:
    with store.session() as session:
        return session.scalars(select(Annotator).where(Annotator.name == name)).one_or_none()


def list_annotators(store) -> list[Annotator]:
    """Every annotator, by name."""
    with store.session() as session:
        return list(session.scalars(select(Annotator).order_by(Annotator.name)))


def human_votes(store) -> list[tuple[str, str, str]]:
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
        return [tuple(row) for row in session.execute(query).all()]
