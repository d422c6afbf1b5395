"""The campaign half of the store on SQLite and PostgreSQL: twins by content hash, campaigns,
scenarios and jobs as get-or-create, each job's episode stored once, the SQL queries the
leaderboard, robustness tables and episode lists come from, and the upgrade from revision 0001."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from benchmark.campaigns.campaign import CampaignSpec, RunSettings, parse_sweep
from benchmark.errors import StoreError
from benchmark.judges.state import judge_state
from benchmark.store import content_sha256, open_store
from benchmark.store.models import CampaignJob, Episode, Judgment, Policy, Rating, Scenario, Twin
from benchmark.store.queries import mean_interval, wilson_interval


@pytest.fixture(scope="module")
def tray_pick():
    from benchmark.scenes.authored import reference_twin

    return reference_twin("tray_pick")


def count(store, model) -> int:
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def episode_folder(root, text: str):
    root.mkdir(parents=True, exist_ok=True)
    (root / "episode.json").write_text(text)
    (root / "front.mp4").write_bytes(text.encode() * 100)
    return root


# -- twins, campaigns, scenarios, jobs --------------------------------------------------------------
def test_a_twin_is_stored_once_by_content_hash(store, tray_pick, tmp_path):
    first = store.add_twin(tray_pick)
    again = store.add_twin(tray_pick)
    assert again == first and count(store, Twin) == 1
    assert (first.name, first.task) == (
        "tray_pick-cube_in_tray",
        "cube_in_tray",
    )
    copy = store.artefact_path(first.artefact)
    assert content_sha256(copy) == first.sha256 and (copy / "twin.json").is_file()
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "twin.json").write_text("{not json")
    with pytest.raises(StoreError, match="broken"):
        store.add_twin(tmp_path / "broken")


def test_an_edited_twin_is_never_filed_under_the_genuine_hash(store, tray_pick, tmp_path):
    """A package changed after its build (its twin.json still naming the genuine hash) is refused,
    whether or not the genuine twin is already stored."""
    import json
    import shutil

    edited = tmp_path / "edited"
    shutil.copytree(tray_pick, edited)
    scene = edited / "scene.xml"
    scene.write_text(scene.read_text().replace("<worldbody>", "<worldbody>\n<!-- edited -->", 1))
    for stored_first in (False, True):
        if stored_first:
            store.add_twin(tray_pick)
        with pytest.raises(StoreError, match="changed since the package was built"):
            store.add_twin(edited)
    manifest = json.loads((edited / "twin.json").read_text())
    shutil.copy(tray_pick / "scene.xml", scene)
    manifest["physics"]["timestep"] = 0.001  # twin.json itself edited, its hashes kept
    (edited / "twin.json").write_text(json.dumps(manifest))
    with pytest.raises(StoreError, match="twin.json was edited after the build"):
        store.add_twin(edited)
    assert count(store, Twin) == 1


def test_planning_a_campaign_twice_creates_nothing_twice(store, tray_pick):
    from benchmark.campaigns.evaluate import plan_campaign

    spec = CampaignSpec(
        ("random", "vision-expert"),
        (str(tray_pick),),
        (parse_sweep("object_yaw=0.5,1"),),
        seeds=3,
        settings=RunSettings(render="mesh"),
    )
    plan = plan_campaign(store, spec, "yaw")
    assert len(plan.jobs) == len(plan.missing) == 2 * 3 * 3
    assert len({job.key for job in plan.jobs}) == 18
    counts = (count(store, Scenario), count(store, CampaignJob), count(store, Policy))
    assert counts == (9, 18, 2)
    again = plan_campaign(store, spec, "yaw")
    assert again.campaign == plan.campaign and again.ids == plan.ids
    assert (count(store, Scenario), count(store, CampaignJob), count(store, Policy)) == counts
    # two policies meet in the same scenarios; a wider campaign reuses them
    assert len({plan.ids[job.key][1] for job in plan.jobs}) == 9
    wider = plan_campaign(store, CampaignSpec(("random",), spec.twins, spec.sweeps, 4, spec.settings))
    assert count(store, Scenario) == 12 and wider.campaign.name.startswith("campaign-")
    with pytest.raises(StoreError, match="'yaw' belongs to another campaign"):
        plan_campaign(store, CampaignSpec(("random",), spec.twins, (), 1, spec.settings), "yaw")


def test_a_job_is_stored_once_with_its_state_judgment(store, tray_pick, tmp_path):
    from benchmark.campaigns.evaluate import plan_campaign

    plan = plan_campaign(store, CampaignSpec(("random",), (str(tray_pick),), seeds=1))
    [(policy_id, scenario_id)] = plan.ids.values()
    outcome = {"success": True, "progress": 1.0, "steps": 12, "termination": "success", "seconds": 0.5}
    folder = episode_folder(tmp_path / "ep", "first")
    episode_id = store.add_episode(
        policy_id, scenario_id, outcome, folder, "host:1", judgment=judge_state(outcome)
    )
    assert episode_id is not None
    other = episode_folder(tmp_path / "ep2", "second run of the same job")
    second = {**outcome, "success": False}
    assert store.add_episode(policy_id, scenario_id, second, other, judgment=judge_state(second)) is None
    assert count(store, Episode) == 1 and count(store, Judgment) == 1
    [row] = store.episodes()
    assert (row.id, row.success, row.steps, row.termination) == (episode_id, True, 12, "success")
    assert set(row.files) == {"episode.json", "front.mp4"}
    assert (store.artefact_path(row.artefact) / "episode.json").read_text() == "first"
    assert store.finished_jobs(plan.campaign.id) == {(policy_id, scenario_id)}
    [judged] = store.leaderboard("state")
    assert (judged.n, judged.score, judged.mean_progress) == (1, 1.0, 100.0)


def test_racing_writers_store_a_job_once(db_url, tray_pick, tmp_path):
    from benchmark.campaigns.evaluate import plan_campaign

    with open_store(db_url, tmp_path / "artefacts") as store:
        plan = plan_campaign(store, CampaignSpec(("random",), (str(tray_pick),), seeds=1))
        [(policy_id, scenario_id)] = plan.ids.values()
    outcome = {"success": False, "progress": 0.2, "steps": 5, "termination": "timeout"}
    barrier, results = threading.Barrier(4, timeout=60), []  # a writer that fails breaks it

    def writer(i):
        with open_store(db_url, tmp_path / "artefacts") as mine:
            folder = episode_folder(tmp_path / f"w{i}", f"writer {i}")
            barrier.wait()
            results.append(
                mine.add_episode(policy_id, scenario_id, outcome, folder, judgment=judge_state(outcome))
            )

    threads = [threading.Thread(target=writer, args=(i,), daemon=True) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(results) == 4 and sum(r is not None for r in results) == 1
    with open_store(db_url, tmp_path / "artefacts") as store:
        assert count(store, Episode) == 1 and count(store, Judgment) == 1


# -- queries ---------------------------------------------------------------------------------------
def test_the_state_leaderboard_ranks_by_success_with_wilson_intervals(store, filled):
    board = store.leaderboard("state")
    assert [(r.rank, r.policy, r.n, r.unit) for r in board] == [
        (1, "alpha", 8, "trials"),
        (2, "gamma", 8, "trials"),
        (3, "beta", 8, "trials"),
    ]
    alpha = board[0]
    assert alpha.score == pytest.approx(7 / 8)
    # the Wilson interval of 7/8 at 95 %, worked out by hand from the textbook formula
    assert (alpha.ci_low, alpha.ci_high) == pytest.approx((0.5291, 0.9776), abs=1e-4)
    beta = board[2]
    assert beta.mean_progress == pytest.approx(100 * (1 + 1 + 0.2 + 0.3 + 0 + 0.1 + 0.2 + 0.3) / 8)
    # within campaign "main": alpha's and beta's unperturbed episodes, gamma's seed 0
    main = store.leaderboard("state", campaign="main")
    assert [(r.policy, r.n, r.score) for r in main] == [
        ("alpha", 4, 1.0),
        ("gamma", 1, 1.0),
        ("beta", 4, 0.5),
    ]
    with pytest.raises(StoreError, match="unknown campaign 'nope'.*main"):
        store.leaderboard("state", campaign="nope")


def test_the_vlm_and_pairwise_leaderboards(store, filled):
    with store.session() as session:
        episodes = session.execute(select(Episode.id, Episode.policy_id)).all()
        for episode_id, policy_id in episodes:
            score = 80.0 if policy_id == filled["beta"] else 40.0 + episode_id % 3
            session.add(Judgment(episode_id=episode_id, judge="vlm", model="m", score=score, detail={}))
        for rank, name in enumerate(("gamma", "alpha", "beta"), 1):
            session.add(
                Rating(
                    judge="human", scope="", policy_id=filled[name], method="bradley-terry",
                    rating=10.0 - rank, ci_low=9.0 - rank, ci_high=11.0 - rank, rank=rank, rank_low=rank,
                    rank_high=rank, n=30,
                )
            )  # fmt: skip
    vlm = store.leaderboard("vlm")
    assert vlm[0].policy == "beta" and vlm[0].score == pytest.approx(80.0)
    # equal scores from a few episodes are not certainty: at least the Wilson interval of 0.8
    low, high = wilson_interval(0.8 * vlm[0].n, vlm[0].n)
    assert vlm[0].n < 30 and (vlm[0].ci_low, vlm[0].ci_high) == pytest.approx((100 * low, 100 * high))
    assert vlm[1].ci_low < vlm[1].score < vlm[1].ci_high
    human = store.leaderboard("human")
    assert [(r.policy, r.rank, r.unit, r.n) for r in human] == [
        ("gamma", 1, "comparisons", 30),
        ("alpha", 2, "comparisons", 30),
        ("beta", 3, "comparisons", 30),
    ]
    assert store.leaderboard("vlm-pairwise") == []
    with pytest.raises(ValueError, match="unknown judge"):
        store.leaderboard("oracle")


def test_robustness_rows_per_axis_and_level(store, filled):
    table = {(r.policy, r.axis, r.level): r for r in store.robustness()}
    assert len(table) == 6
    assert table["alpha", "object_yaw", 1.0].success_rate == pytest.approx(0.75)
    assert table["beta", "object_yaw", 1.0].success_rate == 0.0
    assert table["beta", "object_yaw", 1.0].mean_progress == pytest.approx((0 + 0.1 + 0.2 + 0.3) / 4)
    assert all(r.episodes == 4 and r.twin == "bench_twin" and r.task == "pick" for r in table.values())
    assert [r.axis for r in store.robustness(policy="gamma")] == ["none", "object_yaw"]
    assert {(r.policy, r.axis) for r in store.robustness(campaign="main")} == {
        ("alpha", "none"),
        ("beta", "none"),
        ("gamma", "none"),
    }


def test_identical_episodes_count_as_one_trial(store, tray_pick, tmp_path):
    """Two seeds that gave the same rollout (same trace) are one trial in every count and rate."""
    from benchmark.campaigns.evaluate import plan_campaign
    from benchmark.store.queries import cell_outcomes, policy_twins, terminations

    plan = plan_campaign(store, CampaignSpec(("random",), (str(tray_pick),), seeds=3))
    traces = {0: "a" * 64, 1: "a" * 64, 2: "b" * 64}  # seeds 0 and 1: the same rollout
    detail = "policy said \x00\x1b[31m" + "!" * 5000  # a NUL (PostgreSQL refuses it) and a flood
    for job in plan.jobs:
        policy_id, scenario_id = plan.ids[job.key]
        won = job.seed < 2
        outcome = {"success": won, "progress": 1.0 if won else 0.5, "steps": 9,
                   "termination": "success" if won else "timeout", "trace": traces[job.seed],
                   "detail": detail}  # fmt: skip
        folder = episode_folder(tmp_path / f"ep{job.seed}", f"seed {job.seed}")
        store.add_episode(policy_id, scenario_id, outcome, folder, judgment=judge_state(outcome))
    [row] = store.leaderboard("state")
    assert (row.n, row.unit, row.score) == (2, "trials", 0.5)
    assert (row.ci_low, row.ci_high) == pytest.approx(wilson_interval(1, 2))
    [cell] = store.robustness()
    assert (cell.episodes, cell.success_rate) == (2, 0.5)
    with store.session() as session:
        [outcomes] = cell_outcomes(session, "random")
        assert (outcomes.episodes, outcomes.successes) == (2, 1)
        [twin] = policy_twins(session, "random")
        assert (twin.episodes, twin.successes) == (2, 1)
        assert terminations(session) == [("success", 1), ("timeout", 1)]
    listed = store.episodes(limit=10)
    assert len(listed) == 3  # every stored episode is still listed
    assert all("\x00" not in e.detail and "\x1b" not in e.detail and len(e.detail) < 2100 for e in listed)


def test_episode_lists_filter_and_page(store, filled):
    newest = store.episodes(limit=5)
    assert len(newest) == 5 and [e.id for e in newest] == sorted((e.id for e in newest), reverse=True)
    failed = store.episodes(policy="beta", axis="object_yaw", termination="timeout")
    assert len(failed) == 4 and {e.seed for e in failed} == {0, 1, 2, 3}
    assert all(e.artefact.startswith("ep/beta") for e in failed)
    page = store.episodes(policy="alpha", limit=3, offset=3)
    assert len(page) == 3 and not {e.id for e in page} & {
        e.id for e in store.episodes(policy="alpha", limit=3)
    }
    assert len(store.episodes(campaign="main", limit=100)) == 9
    [progress] = store.campaigns()
    assert (progress.name, progress.jobs, progress.done) == ("main", 9, 9)


def test_interval_helpers():
    assert wilson_interval(0, 0) == (0.0, 1.0)
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and high == pytest.approx(0.2775, abs=1e-4)
    assert mean_interval(50.0, 2600.0, 4) == pytest.approx(
        (50 - 1.96 * (400 / 3 / 4) ** 0.5, 50 + 1.96 * (400 / 3 / 4) ** 0.5), abs=1e-3
    )


@pytest.mark.parametrize("value", [0.0, 0.3, 1.0])
def test_a_bounded_mean_of_a_few_equal_values_never_has_a_zero_width_interval(value):
    """Identical outcomes (two byte-identical episodes, a policy that always scores the same) are
    not certainty: below 30 values the interval is at least the Wilson interval of the mean."""
    for n in range(1, 30):
        low, high = mean_interval(value, value * value, n, bounds=(0.0, 1.0))
        assert 0.0 <= low <= value <= high <= 1.0
        assert high - low > 0.05, (value, n, low, high)
        assert (low, high) == pytest.approx(
            (min(low, wilson_interval(value * n, n)[0]), max(high, wilson_interval(value * n, n)[1]))
        )
    assert mean_interval(1.0, 1.0, 2, bounds=(0.0, 1.0)) == pytest.approx(wilson_interval(2, 2))
    # scores on 0–100 scale the same way
    low, high = mean_interval(100.0, 10_000.0, 4, bounds=(0.0, 100.0))
    assert (low / 100, high / 100) == pytest.approx(wilson_interval(4, 4))
    # from 30 values on, the normal interval, clipped to the bounds
    assert mean_interval(0.5, 0.26, 40, bounds=(0.0, 1.0)) == pytest.approx(mean_interval(0.5, 0.26, 40))


# -- schema upgrades --------------------------------------------------------------------------------
def test_a_database_at_revision_0001_is_upgraded_with_its_policies(db_url, tmp_path):
    """A store written by the previous TwinArena (policies only) opens in this one: migrated in
    place, its policies kept."""
    from datetime import UTC, datetime

    from alembic import command
    from sqlalchemy import create_engine, inspect

    from benchmark.store.schema import alembic_config, current_revisions, head_revision

    command.upgrade(alembic_config(db_url), "0001")
    engine = create_engine(db_url)
    with engine.begin() as connection:
        connection.execute(
            Policy.__table__.insert().values(
                name="kept", kind="torchscript", sha256="a" * 64, artefact="aa/x.pt",
                action_space="ee_delta", cameras=[], image_width=224, image_height=224, licence="MIT",
                owner="lab", status="registered", created_at=datetime.now(UTC), extra={},
            )
        )  # fmt: skip
    assert current_revisions(engine) == ("0001",)
    assert "episodes" not in inspect(engine).get_table_names()
    engine.dispose()
    with open_store(db_url, tmp_path / "a") as store:
        assert current_revisions(store.engine) == (head_revision(),)
        kept = store.get_policy("kept")
        assert (kept.kind, kept.sha256, kept.owner) == ("torchscript", "a" * 64, "lab")
        assert store.leaderboard() == [] and store.campaigns() == []
