"""The blind pairwise human-preference service on SQLite and PostgreSQL: blind tickets with random
sides, votes mapped back to policies, server-issued tokens (forged, reused, expired, someone
else's: rejected, nothing written), one vote per pair, qualification, hidden sanity pairs and
disqualification that drops votes, racing votes, and active selection."""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from benchmark.judges.human import (
    NoPairError,
    PreferenceConfig,
    PreferenceError,
    Standing,
    Ticket,
    TokenState,
    VoteRejected,
    order_policy_pairs,
    orient,
    parse_choice,
    qualification_verdict,
    token_problem,
    wants_sanity,
)
from benchmark.judges.preferences import PreferenceService
from benchmark.judges.state import judge_state
from benchmark.policies.protocol import PolicyInfo
from benchmark.store import campaigns as rows
from benchmark.store import open_store
from benchmark.store.models import Annotator, Comparison, Episode, PairToken
from benchmark.store.policies import add_policy

# four policies with distinctive names, so a leak would show in a ticket's text
NAMES = ("policy-north", "policy-south", "policy-east", "policy-west")
INSTRUCTION = "put the red cube in the blue tray"


def standard(seed: int, policy: int) -> tuple[bool, float]:
    """north always succeeds, south fails early, east fails late, west succeeds on even seeds
    and fails early on odd ones: two known-answer pairs per scenario."""
    return [(True, 1.0), (False, 0.1), (False, 0.5), (True, 1.0) if seed % 2 == 0 else (False, 0.2)][policy]


class Clock:
    def __init__(self):
        self.now = datetime(2026, 11, 24, 12, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def fill(store, tmp_path: Path, scenarios: int = 16, outcome=standard, names=NAMES, videos=True) -> dict:
    """Policies × scenarios of one twin, each episode a real artefact folder (two camera videos
    and ``episode.json``); returns the policy ids by name."""
    with store.session() as session:
        twin = rows.add_twin(session, "t" * 64, "bench_twin", "pick", "/src", "s" * 64, "ab/cd", {})
        ids = {name: add_policy(session, PolicyInfo(name)).id for name in names}
        keys = rows.add_scenarios(
            session,
            [
                {"key": f"s{seed}", "twin_id": twin.id, "task": "pick", "axis": "none", "level": 0.0,
                 "perturbations": [], "seed": seed, "config": {}}
                for seed in range(scenarios)
            ],
        )  # fmt: skip
        for seed in range(scenarios):
            for index, name in enumerate(names):
                success, progress = outcome(seed, index)
                folder = tmp_path / "episodes" / f"{name}-{seed}"
                folder.mkdir(parents=True)
                (folder / "episode.json").write_text(f'{{"scenario": {{"instruction": "{INSTRUCTION}"}}}}')
                for camera in ("front", "wrist") if videos else ():
                    (folder / f"{camera}.mp4").write_bytes(f"{name} {seed} {camera}".encode())
                sha, rel = store.put_artefact(folder)
                files = sorted(p.name for p in folder.iterdir())
                result = {"success": success, "progress": progress, "steps": 5, "termination": "done"}
                rows.add_episode(
                    session,
                    ids[name],
                    keys[f"s{seed}"],
                    result,
                    sha,
                    rel,
                    files,
                    judgment=judge_state(result),
                )
    return ids


def truth(store, token: str) -> PairToken:
    with store.session() as session:
        return session.scalars(select(PairToken).where(PairToken.token == token)).one()


def right_answer(store, ticket: Ticket) -> str:
    """The expected side of a known-answer pair, ``left`` for a regular one."""
    return truth(store, ticket.token).expected or "left"


def qualify(service: PreferenceService, name: str) -> None:
    service.add_annotator(name)
    for _ in range(service.config.qualification_pairs):
        ticket = service.next_pair(name)
        service.vote(name, ticket.token, right_answer(service.store, ticket))
    assert service.standing(name).status == "qualified"


def regular_ticket(service: PreferenceService, name: str) -> Ticket:
    """The annotator's next regular ticket (sanity pairs on the way are answered right)."""
    while True:
        ticket = service.next_pair(name)
        known = truth(service.store, ticket.token)
        if known.kind == "regular":
            return ticket
        service.vote(name, ticket.token, known.expected)


def count(store, model, *where) -> int:
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def written(store) -> tuple:
    """Everything a vote writes: comparisons, answered tokens, annotators' counters."""
    with store.session() as session:
        annotators = session.execute(
            select(Annotator.name, Annotator.status, Annotator.answered, Annotator.votes).order_by(
                Annotator.id
            )
        ).all()
    return count(store, Comparison), count(store, PairToken, PairToken.answered_at.is_not(None)), annotators


# -- tickets -------------------------------------------------------------------------------------
def test_a_ticket_is_blind_and_its_sides_are_random(store, tmp_path):
    ids = fill(store, tmp_path)
    service = PreferenceService(store, rng=1)
    qualify(service, "ann")
    lower_left = 0
    for _ in range(30):
        ticket = service.next_pair("ann")
        assert service.next_pair("ann") == ticket  # a reloaded page shows the same pair
        shown = repr(ticket) + repr(asdict(ticket))
        assert not [name for name in NAMES if name in shown]
        assert [f.name for f in fields(ticket)] == [
            "token", "twin", "task", "instruction", "perturbations", "left", "right", "issued_at",
            "expires_at",
        ]  # fmt: skip
        assert (ticket.twin, ticket.task, ticket.instruction) == ("bench_twin", "pick", INSTRUCTION)
        assert set(ticket.left) == set(ticket.right) == {"front", "wrist"}
        assert all(Path(p).is_file() for p in [*ticket.left.values(), *ticket.right.values()])
        row = truth(store, ticket.token)
        with store.session() as session:
            left, right = (session.get(Episode, i) for i in (row.episode_left_id, row.episode_right_id))
        assert left.scenario_id == right.scenario_id and left.policy_id != right.policy_id
        assert (
            Path(ticket.left["front"])
            .read_bytes()
            .startswith(next(n for n, i in ids.items() if i == left.policy_id).encode())
        )
        lower_left += left.policy_id < right.policy_id
        service.vote("ann", ticket.token, row.expected or "tie")
    assert 6 <= lower_left <= 24  # both orders, roughly as often


# -- votes ---------------------------------------------------------------------------------------
def test_a_vote_becomes_a_comparison_with_the_sides_mapped_back(store, tmp_path):
    fill(store, tmp_path)
    clock = Clock()
    service = PreferenceService(store, rng=2, clock=clock)
    qualify(service, "ann")
    cases = (
        ("left", "cleaner grasp", 12.5),
        ("B", "", None),
        ("tie", " same\x00 ", 3),
    )  # NUL: PostgreSQL refuses it
    for choice, reason, seconds in cases:
        ticket = regular_ticket(service, "ann")
        clock.advance(42)
        service.vote("ann", ticket.token, choice, reason, seconds)
        row = truth(store, ticket.token)
        with store.session() as session:
            comparison = session.get(Comparison, row.comparison_id)
            episodes = {
                i: session.get(Episode, i).policy_id for i in (row.episode_left_id, row.episode_right_id)
            }
        left, right = episodes[row.episode_left_id], episodes[row.episode_right_id]
        assert (comparison.judge, comparison.annotator, comparison.scenario_id) == (
            "human",
            "ann",
            row.scenario_id,
        )
        assert comparison.policy_a_id == min(left, right) and comparison.policy_b_id == max(left, right)
        assert {comparison.episode_a_id, comparison.episode_b_id} == set(episodes)
        assert episodes[comparison.episode_a_id] == comparison.policy_a_id
        winner = {"a": comparison.policy_a_id, "b": comparison.policy_b_id}.get(comparison.winner)
        assert winner == {"left": left, "B": right, "tie": None}[choice]
        assert comparison.reason == reason.replace("\x00", "").strip()  # stored as plain text
        assert comparison.seconds_spent == (42.0 if seconds is None else seconds)
        assert (row.answer, row.answered_at) == (parse_choice(choice), clock.now)
    assert [c.winner for c in service.human_comparisons()].count("tie") == 1
    with pytest.raises(VoteRejected, match="not left"):
        service.vote("ann", regular_ticket(service, "ann").token, "both")


def test_forged_duplicate_and_disqualified_votes_do_not_count(store, tmp_path):
    fill(store, tmp_path)
    service = PreferenceService(store, rng=3)
    qualify(service, "ann")
    ticket = regular_ticket(service, "ann")
    service.vote("ann", ticket.token, "left")
    before = written(store)
    assert before[0] == 1
    # forged: made up, or of the right shape but never issued
    for forged in ("let-me-in", ticket.token[::-1], "", ticket.token + "x"):
        with pytest.raises(VoteRejected, match="not issued by this service") as err:
            service.vote("ann", forged, "right")
        assert err.value.code == "forged"
    # duplicate: the same token again
    with pytest.raises(VoteRejected, match="used already") as err:
        service.vote("ann", ticket.token, "right")
    assert err.value.code == "used"
    assert written(store) == before
    # after disqualification: the pending pair's vote is rejected, the earlier vote dropped
    pending = regular_ticket(service, "ann")
    service.disqualify("ann", "voted without watching")
    with pytest.raises(VoteRejected, match="disqualified") as err:
        service.vote("ann", pending.token, "left")
    assert err.value.code == "disqualified"
    assert count(store, Comparison) == 0 and service.human_comparisons() == []
    assert truth(store, pending.token).answered_at is None
    with pytest.raises(NoPairError, match="disqualified: voted without watching; 1 votes no longer count"):
        service.next_pair("ann")


def test_tokens_of_another_annotator_reused_or_expired_are_rejected(store, tmp_path):
    fill(store, tmp_path)
    clock = Clock()
    service = PreferenceService(store, rng=4, config=PreferenceConfig(token_ttl_s=60), clock=clock)
    service.add_annotator("ann")
    service.add_annotator("bob")
    mine = service.next_pair("ann")
    before = written(store)
    with pytest.raises(VoteRejected, match="'bob' rejected: this token was issued to another annotator"):
        service.vote("bob", mine.token, "left")
    with pytest.raises(VoteRejected, match="unknown annotator 'eve'"):
        service.vote("eve", mine.token, "left")
    assert written(store) == before
    clock.advance(59)
    service.vote("ann", mine.token, right_answer(store, mine))  # still valid: not used by bob's try
    with pytest.raises(VoteRejected, match="used already"):
        service.vote("ann", mine.token, "left")
    late = service.next_pair("ann")
    clock.advance(60)
    before = written(store)
    with pytest.raises(VoteRejected, match="expired at 2026-11-24 12:01:59 UTC") as err:
        service.vote("ann", late.token, "left")
    assert err.value.code == "expired" and written(store) == before
    fresh = service.next_pair("ann")  # a new pair, not the expired one again
    assert fresh.token != late.token
    pair = {
        (t.episode_low_id, t.episode_high_id) for t in (truth(store, late.token), truth(store, fresh.token))
    }
    assert len(pair) == 2


# -- qualification -------------------------------------------------------------------------------
@pytest.mark.parametrize("right", [4, 3])
def test_qualification_passes_at_the_pass_mark_and_fails_below_it(store, tmp_path, right):
    fill(store, tmp_path)
    service = PreferenceService(store, rng=5)
    service.add_annotator("ann")
    answers = [True] * right + [False] * (5 - right)  # the wrong ones last: decided on the fifth
    for i, correct in enumerate(answers):
        assert service.standing("ann").status == "qualifying"
        ticket = service.next_pair("ann")
        expected = truth(store, ticket.token).expected
        wrong = {"left": "right", "right": "left"}[expected] if i % 2 else "tie"
        standing = service.vote("ann", ticket.token, expected if correct else wrong)
        assert standing.qualification_answered == i + 1
    assert count(store, Comparison) == 0  # qualification votes never count
    [record] = service.annotators()
    assert (record.qualification_answered, record.qualification_correct) == (5, right)
    if right == 4:
        assert standing.status == "qualified" and service.next_pair("ann").token
    else:
        assert standing == Standing(
            "ann", "failed", "3 of 5 qualification pairs right (4 of 5 needed)", 5, 5, 5
        )
        with pytest.raises(NoPairError, match="'ann' is failed") as err:
            service.next_pair("ann")
        assert err.value.code == "failed"


def test_qualification_fails_as_soon_as_the_pass_mark_is_out_of_reach():
    config = PreferenceConfig()
    assert config.qualification_needed == 4
    assert qualification_verdict(1, 0, config) is None
    assert qualification_verdict(2, 0, config) == "failed"
    assert qualification_verdict(4, 4, config) is None
    assert qualification_verdict(5, 4, config) == "qualified"
    assert qualification_verdict(5, 3, config) == "failed"
    ten = PreferenceConfig(qualification_pairs=10, pass_mark=0.7)
    assert qualification_verdict(10, 7, ten) == "qualified" and qualification_verdict(4, 0, ten) == "failed"


# -- sanity pairs --------------------------------------------------------------------------------
def test_two_in_ten_pairs_are_hidden_sanity_pairs_that_look_like_the_rest(store, tmp_path):
    fill(store, tmp_path)
    service = PreferenceService(store, rng=6)
    qualify(service, "ann")
    kinds, standings = [], {}
    for _ in range(30):
        ticket = service.next_pair("ann")
        row = truth(store, ticket.token)
        kinds.append(row.kind)
        assert type(ticket) is Ticket and {k: type(v) for k, v in asdict(ticket).items()} == {
            "token": str, "twin": str, "task": str, "instruction": str, "perturbations": tuple,
            "left": dict, "right": dict, "issued_at": datetime, "expires_at": datetime,
        }  # fmt: skip
        assert len(ticket.token) == 32 and ticket.expires_at - ticket.issued_at == timedelta(minutes=30)
        before = service.standing("ann")
        after = service.vote("ann", ticket.token, row.expected or "left")
        assert (after.answered, after.status) == (before.answered + 1, "qualified")
        standings[row.kind] = {k: v for k, v in asdict(after).items() if k != "answered"}
    assert [kinds[i : i + 10].count("sanity") for i in (0, 10, 20)] == [2, 2, 2]
    assert standings["sanity"] == standings["regular"]  # a vote's answer does not tell them apart
    assert count(store, Comparison) == 24  # sanity votes are not comparisons


def test_sanity_pairs_fall_two_in_each_window_at_random_places():
    config, rng = PreferenceConfig(), random.Random(0)
    kinds = []
    for _ in range(2000):
        kinds.append("sanity" if wants_sanity(kinds, rng.random(), config) else "regular")
    windows = [kinds[i : i + 10] for i in range(0, 2000, 10)]
    assert all(w.count("sanity") == 2 for w in windows)
    places = [sum(w[i] == "sanity" for w in windows) for i in range(10)]
    assert min(places) > 20 and max(places) < 60  # 40 expected at each place
    assert not any(wants_sanity(kinds, 0.0, PreferenceConfig(sanity_per_window=0)) for _ in range(3))


def test_failing_two_sanity_pairs_disqualifies_and_drops_the_votes(store, tmp_path):
    fill(store, tmp_path)
    service = PreferenceService(store, rng=7)
    qualify(service, "good")
    qualify(service, "bad")
    for _ in range(6):
        ticket = regular_ticket(service, "good")
        service.vote("good", ticket.token, "left")
    failed, tokens = 0, []
    while failed < 2:
        ticket = service.next_pair("bad")
        row = truth(store, ticket.token)
        tokens.append(ticket.token)
        answer = {"left": "right", "right": "left"}.get(row.expected, "right")
        standing = service.vote("bad", ticket.token, answer, "meh")
        failed += row.kind == "sanity"
        assert standing.status == ("disqualified" if failed == 2 else "qualified")
    bad_votes = sum(truth(store, t).kind == "regular" for t in tokens)
    assert bad_votes >= 1
    assert count(store, Comparison, Comparison.annotator == "bad") == 0
    assert count(store, Comparison) == len(service.human_comparisons()) == 6
    # the audit trail: every answered token of theirs stays, unlinked from the dropped comparisons
    audit = [truth(store, token) for token in tokens]
    assert all(t.answer in ("left", "right") and t.comparison_id is None for t in audit)
    record = next(a for a in service.annotators() if a.name == "bad")
    assert (record.votes, record.sanity_failed, record.status) == (bad_votes, 2, "disqualified")
    assert f"{bad_votes} earlier votes no longer count" in record.reason
    with pytest.raises(VoteRejected, match="disqualified"):
        service.vote("bad", tokens[-1], "left")
    with pytest.raises(NoPairError, match="disqualified"):
        service.next_pair("bad")


# -- which pairs ---------------------------------------------------------------------------------
def test_no_pair_is_issued_twice_to_an_annotator(store, tmp_path):
    fill(store, tmp_path, scenarios=2, names=NAMES[:3])  # 3 pairs per scenario, one known
    config = PreferenceConfig(qualification_pairs=1, sanity_per_window=0)
    service = PreferenceService(store, rng=8, config=config)
    qualify(service, "ann")
    seen = [(truth(store, t).episode_low_id, truth(store, t).episode_high_id) for t in _tokens(store, "ann")]
    for _ in range(5):
        ticket = service.next_pair("ann")
        row = truth(store, ticket.token)
        seen.append((row.episode_low_id, row.episode_high_id))
        service.vote("ann", ticket.token, "right")
    assert len(seen) == len(set(seen)) == 6
    # and the database refuses a second token for a pair, in either order
    first = truth(store, _tokens(store, "ann")[0])
    with pytest.raises(IntegrityError), store.session() as session:
        session.add(
            PairToken(
                token="another", annotator_id=first.annotator_id, scenario_id=first.scenario_id,
                episode_left_id=first.episode_right_id, episode_right_id=first.episode_left_id,
                episode_low_id=first.episode_low_id, episode_high_id=first.episode_high_id, kind="regular",
                expires_at=first.expires_at,
            )
        )  # fmt: skip
    with pytest.raises(NoPairError, match="no pair left for annotator 'ann'") as err:
        service.next_pair("ann")
    assert err.value.code == "no_pairs"
    qualify(service, "bob")  # another annotator still gets pairs
    assert service.next_pair("bob").token


def _tokens(store, name: str) -> list[str]:
    with store.session() as session:
        return session.scalars(
            select(PairToken.token).join(Annotator).where(Annotator.name == name).order_by(PairToken.id)
        ).all()


def test_without_candidates_the_service_says_why(store, tmp_path):
    service = PreferenceService(store, rng=9)
    with pytest.raises(NoPairError, match="unknown annotator 'ann': add them first"):
        service.next_pair("ann")
    with pytest.raises(ValueError, match="1 to 100 characters"):
        service.add_annotator("  ")
    assert service.add_annotator(" ann ") == service.add_annotator("ann") == service.standing("ann ")
    with pytest.raises(NoPairError, match="no known-answer pair left .* progress below 0.3") as err:
        service.next_pair("ann")
    assert err.value.code == "no_known_pairs"
    fill(store, tmp_path, scenarios=2, videos=False)  # known pairs, but nothing to watch
    with pytest.raises(NoPairError, match="no known-answer pair"):
        service.next_pair("ann")
    assert count(store, PairToken) == 0 and service.human_comparisons() == []


def test_fewer_voted_pairs_come_first_and_a_scorer_can_choose(store, tmp_path):
    ids = fill(store, tmp_path)
    by_id = {i: n for n, i in ids.items()}
    quiet = (ids["policy-south"], ids["policy-east"])
    with store.session() as session:  # earlier votes on every policy pair but south-east
        episodes = {(e.policy_id, e.scenario_id): e.id for e in session.scalars(select(Episode))}
        scenario = next(iter(episodes))[1]
        for a in ids.values():
            for b in ids.values():
                if a < b and (a, b) != quiet:
                    session.add(
                        Comparison(
                            judge="human", scenario_id=scenario, policy_a_id=a, policy_b_id=b,
                            episode_a_id=episodes[a, scenario], episode_b_id=episodes[b, scenario],
                            winner="a", annotator="earlier",
                        )
                    )  # fmt: skip
    service = PreferenceService(store, rng=10)
    qualify(service, "ann")
    assert _policies(store, regular_ticket(service, "ann")) == quiet
    seen = []

    def scorer(pairs):
        seen.append(list(pairs))
        return [1.0 if pair == ("policy-east", "policy-west") else 0.0 for pair in pairs]

    picky = PreferenceService(store, rng=11, scorer=scorer)
    qualify(picky, "bob")
    for _ in range(5):
        ticket = regular_ticket(picky, "bob")
        assert tuple(sorted(by_id[p] for p in _policies(store, ticket))) == ("policy-east", "policy-west")
        picky.vote("bob", ticket.token, "tie")
    assert len(seen[0]) == 6 and all(tuple(p) in seen[0] for p in [("policy-north", "policy-south")])
    wrong = PreferenceService(store, rng=12, scorer=lambda pairs: [1.0])
    qualify(wrong, "cy")
    with pytest.raises(ValueError, match="1 scores for 6 pairs"):
        regular_ticket(wrong, "cy")


def _policies(store, ticket: Ticket) -> tuple[int, int]:
    row = truth(store, ticket.token)
    with store.session() as session:
        return tuple(
            sorted(session.get(Episode, i).policy_id for i in (row.episode_low_id, row.episode_high_id))
        )


# -- racing votes --------------------------------------------------------------------------------
def test_votes_with_the_same_token_at_once_count_once(store, db_url, tmp_path):
    fill(store, tmp_path)
    service = PreferenceService(store, rng=13)
    qualify(service, "ann")
    ticket = regular_ticket(service, "ann")
    barrier, results = threading.Barrier(4, timeout=60), []  # a writer that fails breaks it

    def voter(i):
        with open_store(db_url, tmp_path / "artefacts") as mine:
            theirs = PreferenceService(mine)
            barrier.wait()
            try:
                results.append(theirs.vote("ann", ticket.token, "left", f"voter {i}"))
            except VoteRejected as err:
                results.append(err.code)

    threads = [threading.Thread(target=voter, args=(i,), daemon=True) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(map(str, results)).count("used") == 3 and len(results) == 4
    assert count(store, Comparison) == 1 and service.standing("ann").answered == 6


# -- pure decisions ------------------------------------------------------------------------------
def test_choices_sides_and_token_checks():
    assert [parse_choice(c) for c in ("left", "A", " b ", "TIE", "both")] == [
        "left",
        "left",
        "right",
        "tie",
        None,
    ]
    # policy a is the lower policy id, whichever side it was shown on
    assert orient("left", (7, 70), (3, 30)) == ((3, 30), (7, 70), "b")
    assert orient("right", (7, 70), (3, 30)) == ((3, 30), (7, 70), "a")
    assert orient("left", (3, 30), (7, 70)) == ((3, 30), (7, 70), "a")
    assert orient("tie", (7, 70), (3, 30))[2] == "tie"
    now = datetime(2026, 1, 1, tzinfo=UTC)
    valid = TokenState(1, now + timedelta(seconds=1), False)
    assert token_problem(valid, 1, now) is None
    assert token_problem(None, 1, now)[0] == "forged"
    assert token_problem(valid, 2, now)[0] == "not_yours"
    assert token_problem(TokenState(1, now, False), 1, now)[0] == "expired"
    assert token_problem(TokenState(1, now, True), 1, now)[0] == "used"
    order = order_policy_pairs([(1, 2), (1, 3), (2, 3)], {(1, 2): 5, (2, 3): 1}, random.Random(0))
    assert order == [(1, 3), (2, 3), (1, 2)]
    assert order_policy_pairs([(1, 2), (1, 3)], {}, random.Random(0), [0.0, 2.0])[0] == (1, 3)
    with pytest.raises(ValueError, match="pass_mark must be in"):
        PreferenceConfig(pass_mark=1.5)
    with pytest.raises(PreferenceError):
        raise VoteRejected("x", "y")


def test_the_active_scorer_asks_for_the_pair_that_shrinks_the_widest_interval(store, tmp_path):
    from itertools import combinations

    from benchmark.judges.preferences import active_scorer

    fill(store, tmp_path)
    # qualified votes among north, south and east only: west's interval stays the widest
    service = PreferenceService(
        store, rng=20, scorer=lambda pairs: [0.0 if "policy-west" in p else 1.0 for p in pairs]
    )
    qualify(service, "ann")
    for _ in range(8):
        service.vote("ann", regular_ticket(service, "ann").token, "left")
    voted = service.human_comparisons()
    assert len(voted) == 8 and all("policy-west" not in (a, b) for a, b, _ in voted)
    names = ["policy-east", "policy-north", "policy-south", "policy-west"]
    candidates = list(combinations(names, 2))
    scores = active_scorer(store, rng=0)(candidates)
    assert sorted(scores) == [0.0] * 5 + [1.0]
    assert "policy-west" in candidates[scores.index(1.0)]
