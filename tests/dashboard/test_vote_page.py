"""The vote page: log in by name or token, qualify on known-answer pairs, vote blind on two
videos of one scenario with a reason, and the vote lands in the store as a human comparison."""

from __future__ import annotations

import pytest
from helpers import button, no_exception, texts
from sqlalchemy import select

from benchmark.store import open_store
from benchmark.store.models import Annotator, Comparison, PairToken

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
SIDE = {"left": "A", "right": "B"}


def pending(seeded, name: str) -> PairToken:
    """The annotator's pair on screen, as the store knows it (kind and expected answer)."""
    with open_store(seeded["url"], seeded["artefacts"]) as store, store.session() as session:
        return session.scalars(
            select(PairToken)
            .join(Annotator, Annotator.id == PairToken.annotator_id)
            .where(Annotator.name == name, PairToken.answered_at.is_(None))
            .order_by(PairToken.id.desc())
        ).first()


def comparisons(seeded) -> list[Comparison]:
    with open_store(seeded["url"], seeded["artefacts"]) as store, store.session() as session:
        return list(session.scalars(select(Comparison).order_by(Comparison.id)))


def log_in(app, name: str):
    at = app()
    at.run()
    at.switch_page("views/vote.py").run()
    at.text_input[0].input(name)
    button(at, "Log in").click().run()
    no_exception(at)
    return at


def cast(at, choice: str, reason: str = "it finished the task"):
    at.radio[0].set_value(choice)
    at.text_area[0].input(reason)
    button(at, "Submit vote").click().run()
    no_exception(at)
    return at


def test_qualify_then_vote_and_the_vote_is_stored(seeded, app):
    at = log_in(app, "ada")
    assert "Logged in as **ada**" in texts(at.markdown)
    assert "Qualification" in texts(at.info) and "Done: 0 of 5" in texts(at.info)
    videos = at.get("video")
    assert len(videos) == 2  # A and B, one camera each
    page = texts(at.markdown) + texts(at.caption) + texts(at.subheader)
    assert not any(name in page for name in ("alpha", "beta", "gamma"))  # blind
    for _ in range(5):
        token = pending(seeded, "ada")
        assert token.kind == "qualification"
        cast(at, SIDE[token.expected])
    assert "You qualified" in texts(at.success)
    assert comparisons(seeded) == []  # known-answer votes never become comparisons
    while (token := pending(seeded, "ada")).kind != "regular":  # hidden sanity pairs, answered right
        cast(at, SIDE[token.expected])
    cast(at, "tie", "both reached the tray")
    stored = comparisons(seeded)
    assert len(stored) == 1
    assert (stored[0].judge, stored[0].annotator, stored[0].winner) == ("human", "ada", "tie")
    assert stored[0].reason == "both reached the tray"
    assert "Vote recorded" in texts(at.success)


def test_a_vote_needs_a_choice_and_a_reason(seeded, app):
    at = log_in(app, "bob")
    button(at, "Submit vote").click().run()
    assert "Choose A, tie or B first" in texts(at.error)
    token = pending(seeded, "bob")
    cast(at, SIDE[token.expected], reason="   ")
    assert "Give a reason" in texts(at.error)
    assert pending(seeded, "bob").id == token.id  # nothing was recorded


def test_wrong_answers_fail_the_qualification(seeded, app):
    at = log_in(app, "carl")
    for _ in range(2):
        token = pending(seeded, "carl")
        cast(at, "B" if token.expected == "left" else "A")
    assert "You did not qualify" in texts(at.error)
    assert not at.get("video")


def test_log_in_by_token_and_token_only_mode(seeded, app, monkeypatch):
    from dashboard.auth import issue_token

    monkeypatch.setenv("TWINARENA_ANNOTATOR_LOGIN", "token")
    at = app()
    at.run()
    at.switch_page("views/vote.py").run()
    assert [b.label for b in at.button] == ["Log in with token"]  # no log-in by name
    at.text_input[0].input("dora.forged")
    button(at, "Log in with token").click().run()
    assert "not a log-in token" in texts(at.error) or "not issued by this dashboard" in texts(at.error)
    at.text_input[0].input(issue_token("dora"))
    button(at, "Log in with token").click().run()
    no_exception(at)
    assert "Logged in as **dora**" in texts(at.markdown)
    assert len(at.get("video")) == 2
