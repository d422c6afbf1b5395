"""The results store at scale: its read queries over a store of 100k episodes (50 policies × 2000
scenarios, each episode with its state judgment, all in one campaign), and its write path,
episodes stored per second.

    python bench/store_queries.py [--episodes 100000] [--policies 50] [--inserts 500] [--db URL] [--analyze]

The store is filled through SQLAlchemy Core bulk inserts into the schema :func:`open_store`
creates (5 twins × 20 cells × as many seeds as needed, episodes in a shuffled order like an
evaluator's), then ``Store.leaderboard("state")`` and ``Store.robustness()``, each also filtered
by the campaign, ``Store.episodes(policy=…, limit=50)`` and ``Store.campaigns()`` each run 2 times
to warm up and 20 times timed (median and p90 ms). Inserts, into that full store:
``Store.add_episode`` with a small episode folder (two 50 KB videos, ``trajectory.npz``,
``episode.json``, different bytes every time so nothing dedupes), and the same transaction without
the artefact copy (row + judgment), each after one untimed warm-up.

SQLite (a temporary file) by default; ``--db`` a SQLAlchemy URL: on PostgreSQL a scratch database
is created on that server and dropped afterwards; a SQLite URL must name a new file (left there).

Prints JSON: row counts, each timing, the targets and whether they are met, backend, CPU count.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import create_engine, insert, make_url, text

from benchmark.judges.state import judge_state
from benchmark.store import campaigns as store_campaigns
from benchmark.store import open_store
from benchmark.store.models import Campaign, CampaignJob, Episode, Judgment, Policy, Scenario, Twin
from benchmark.store.store import Store

TARGET_LEADERBOARD_MS = 200.0  # on SQLite, 100k episodes and 50 policies
WARMUP, RUNS = 2, 20
TWINS, CELLS = 5, 20  # cells: the unperturbed one and 19 (axis, level) pairs
AXES = ("light_intensity", "object_color", "camera_pose", "object_mass", "distractors")
LEVELS = (0.25, 0.5, 0.75, 1.0)
TERMINATIONS = ("timeout", "dropped", "out_of_reach", "policy_error")
BATCH = 5000  # rows per executemany
VIDEO_BYTES = 50_000
START = datetime(2026, 1, 1, tzinfo=UTC)  # the campaign's first row
CAMPAIGN = "bench-campaign"
SETTINGS = {  # a scenario's run settings (its config column)
    "render": "auto",
    "backend": "mujoco",
    "step_timeout": 5.0,
    "image_size": None,
    "max_seconds": None,
}


def hexdigest(rng: random.Random) -> str:
    return f"{rng.getrandbits(256):064x}"


def cell_list() -> list[tuple[str, float]]:
    cells = [("none", 0.0)] + [(axis, level) for axis in AXES for level in LEVELS]
    return cells[:CELLS]


def populate(store: Store, n_policies: int, n_episodes: int, analyze: bool = False, seed: int = 0) -> dict:
    """Fill an empty store: policies, twins, scenarios, one campaign holding every job, and
    ``n_episodes`` episodes (``n_episodes // n_policies`` scenarios per policy), each with its
    state judgment; then ANALYZE on PostgreSQL (as its autovacuum would), on SQLite with ``analyze``.
    Returns the campaign's name, the policy names and the row counts."""
    rng = random.Random(seed)
    n_scenarios = max(1, n_episodes // n_policies)
    cells = cell_list()
    seeds = -(-n_scenarios // (TWINS * len(cells)))
    policies = policy_rows(rng, n_policies)
    twins = twin_rows(rng)
    scenarios = scenario_rows(rng, twins, cells, seeds, n_scenarios)
    jobs = [(p["id"], s["id"]) for s in scenarios for p in policies]
    rng.shuffle(jobs)  # the order an evaluator's workers finish them in
    skill = {p["id"]: rng.uniform(0.1, 0.9) for p in policies}
    campaign = {
        "id": 1,
        "key": hexdigest(rng),
        "name": CAMPAIGN,
        "spec": {"seeds": seeds},
        "created_at": START,
    }
    with store.engine.begin() as connection:
        connection.execute(insert(Policy), policies)
        connection.execute(insert(Twin), twins)
        connection.execute(insert(Campaign), [campaign])
        for chunk in batches(scenarios):
            connection.execute(insert(Scenario), chunk)
        for chunk in batches(jobs):
            connection.execute(
                insert(CampaignJob), [{"campaign_id": 1, "policy_id": p, "scenario_id": s} for p, s in chunk]
            )
        for first in range(0, len(jobs), BATCH):
            episodes, judgments = episode_rows(rng, jobs[first : first + BATCH], first + 1, skill)
            connection.execute(insert(Episode), episodes)
            connection.execute(insert(Judgment), judgments)
    finish_load(store, analyze)
    return {
        "campaign": CAMPAIGN,
        "policies": [p["name"] for p in policies],
        "rows": {
            "policies": len(policies),
            "twins": len(twins),
            "scenarios": len(scenarios),
            "campaign_jobs": len(jobs),
            "episodes": len(jobs),
            "judgments": len(jobs),
        },
    }


def policy_rows(rng: random.Random, n_policies: int) -> list[dict]:
    return [
        {
            "id": i + 1,
            "name": f"policy-{i:03d}",
            "kind": "weights",
            "sha256": hexdigest(rng),
            "artefact": f"ab/{hexdigest(rng)}",
            "action_space": "ee_delta",
            "cameras": ["front", "wrist"],
            "image_width": 224,
            "image_height": 224,
            "control_hz": 10.0,
            "licence": "MIT",
            "owner": "lab",
            "status": "registered",
            "created_at": START,
            "extra": {"paper": "arXiv:0000.00000"},
        }
        for i in range(n_policies)
    ]


def twin_rows(rng: random.Random) -> list[dict]:
    return [
        {
            "id": t + 1,
            "content_hash": hexdigest(rng),
            "name": f"twin-{t}",
            "task": ("pick", "place", "push", "stack", "open")[t % 5],
            "source": f"/data/twins/twin-{t}",
            "sha256": hexdigest(rng),
            "artefact": f"cd/{hexdigest(rng)}",
            "created_at": START,
            "manifest": {"format": 1, "name": f"twin-{t}"},
        }
        for t in range(TWINS)
    ]


def scenario_rows(
    rng: random.Random, twins: list[dict], cells: list[tuple[str, float]], seeds: int, n_scenarios: int
) -> list[dict]:
    """Every (twin, cell, seed) scenario, then ``n_scenarios`` of them drawn at random, by id."""
    scenarios: list[dict] = []
    for t in range(TWINS):
        for axis, level in cells:
            for s in range(seeds):
                scenarios.append(
                    {
                        "id": len(scenarios) + 1,
                        "key": hexdigest(rng),
                        "twin_id": t + 1,
                        "task": twins[t]["task"],
                        "axis": axis,
                        "level": level,
                        "perturbations": [] if axis == "none" else [f"{axis}={level:g}"],
                        "seed": s,
                        "config": SETTINGS,
                    }
                )
    rng.shuffle(scenarios)  # keep the first n_scenarios of a mix of twins, cells and seeds
    return sorted(scenarios[:n_scenarios], key=lambda row: row["id"])


def episode_rows(
    rng: random.Random, jobs: list[tuple[int, int]], first_id: int, skill: dict[int, float]
) -> tuple[list[dict], list[dict]]:
    """The episodes of ``jobs`` (ids from ``first_id``), each succeeding with its policy's skill,
    and their state judgments."""
    episodes, judgments = [], []
    for i, (policy_id, scenario_id) in enumerate(jobs, start=first_id):
        success = rng.random() < skill[policy_id]
        progress = 1.0 if success else round(rng.random(), 3)
        termination = "success" if success else rng.choice(TERMINATIONS)
        created = START + timedelta(seconds=2 * i)
        sha = hexdigest(rng)
        episodes.append(
            {
                "id": i,
                "policy_id": policy_id,
                "scenario_id": scenario_id,
                "success": success,
                "progress": progress,
                "steps": rng.randint(20, 400),
                "termination": termination,
                "detail": "",
                "seconds": round(rng.uniform(2, 40), 3),
                "sha256": sha,
                "artefact": f"{sha[:2]}/{sha}",
                "files": ["episode.json", "front.mp4", "trajectory.npz", "wrist.mp4"],
                "worker": f"host-{i % 8}",
                "created_at": created,
            }
        )
        judgments.append(
            {
                "id": i,
                "episode_id": i,
                "judge": "state",
                "model": "",
                "prompt_version": "",
                "score": 100.0 * progress,
                "success": success,
                "detail": {"termination": termination},
                "created_at": created,
            }
        )
    return episodes, judgments


def finish_load(store: Store, analyze: bool) -> None:
    """After the bulk load: on PostgreSQL, move the id sequences past the given ids and ANALYZE;
    on SQLite, fold the WAL into the database file (ANALYZE only with ``analyze``)."""
    if store.engine.dialect.name == "postgresql":
        with store.engine.begin() as connection:
            for table in ("policies", "twins", "campaigns", "scenarios", "episodes", "judgments"):
                sequence = f"pg_get_serial_sequence('{table}', 'id')"
                connection.execute(text(f"SELECT setval({sequence}, (SELECT max(id) FROM {table}))"))
            connection.execute(text("ANALYZE"))
    else:  # fold the bulk load's WAL into the database file, as the automatic checkpoints keep it for
        # a store written one episode at a time; no ANALYZE unless asked (the store never runs it)
        with store.engine.connect() as connection:
            if analyze:
                connection.exec_driver_sql("ANALYZE")
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def batches(rows: list) -> Iterator[list]:
    for first in range(0, len(rows), BATCH):
        yield rows[first : first + BATCH]


def timed(call: Callable[[], object], runs: int = RUNS, warmup: int = WARMUP) -> dict:
    for _ in range(warmup):
        call()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = call()
        times.append((time.perf_counter() - start) * 1000)
    return {
        "median_ms": round(float(np.median(times)), 2),
        "p90_ms": round(float(np.percentile(times, 90)), 2),
        "rows": len(result) if isinstance(result, list) else None,
    }


class EpisodeFolder:
    """A small episode folder like a worker's: two videos, the trajectory and ``episode.json``;
    :meth:`vary` changes a few bytes of each so no two episodes share an artefact."""

    def __init__(self, root: Path, seed: int = 0):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(seed)
        self.video = bytearray(rng.integers(0, 256, VIDEO_BYTES, dtype=np.uint8).tobytes())
        steps = 200
        self.trajectory = {
            "actions": rng.normal(size=(steps, 7)).astype(np.float32),
            "states": rng.normal(size=(steps, 15)).astype(np.float32),
            "poses": rng.normal(size=(steps, 3, 7)).astype(np.float32),
        }
        self.count = 0

    def vary(self) -> list[str]:
        self.count += 1
        stamp = self.count.to_bytes(8, "little")
        for name, offset in (("front.mp4", 0), ("wrist.mp4", 1000)):
            self.video[offset : offset + 8] = stamp
            (self.root / name).write_bytes(self.video)
        self.trajectory["actions"][0, 0] = self.count
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **self.trajectory)
        (self.root / "trajectory.npz").write_bytes(buffer.getvalue())
        (self.root / "episode.json").write_text(json.dumps({"seed": self.count, "steps": 200}))
        return sorted(p.name for p in self.root.iterdir())

    def size(self) -> int:
        return sum(p.stat().st_size for p in self.root.iterdir())


def add_policy_row(store: Store, name: str) -> int:
    with store.engine.begin() as connection:
        row = {
            "name": name,
            "kind": "builtin",
            "action_space": "ee_delta",
            "cameras": ["front", "wrist"],
            "image_width": 224,
            "image_height": 224,
            "licence": "MIT",
            "owner": "bench",
            "status": "registered",
            "created_at": datetime.now(UTC),
            "extra": {},
        }
        return connection.execute(insert(Policy).returning(Policy.id), row).scalar_one()


def insert_rates(store: Store, scenario_ids: list[int], work: Path) -> dict:
    """Episodes per second through ``Store.add_episode`` (artefact + row + judgment), and through
    its transaction alone (the row and the judgment, the artefact already stored)."""
    folder = EpisodeFolder(work / "episode")
    outcome = {"success": True, "progress": 1.0, "steps": 120, "termination": "success", "seconds": 12.5}

    full_policy = add_policy_row(store, "insert-bench-full")
    folder.vary()
    judged = judge_state(outcome)
    store.add_episode(full_policy, scenario_ids[0], outcome, folder.root, "bench", judgment=judged)  # warm up
    full = []
    for scenario_id in scenario_ids[1:]:
        folder.vary()  # the worker's part, not timed
        start = time.perf_counter()
        assert (
            store.add_episode(full_policy, scenario_id, outcome, folder.root, "bench", judgment=judged)
            is not None
        )
        full.append(time.perf_counter() - start)

    rows_policy = add_policy_row(store, "insert-bench-rows")
    files = folder.vary()
    sha, rel = store.put_artefact(folder.root)
    rows = []
    for scenario_id in scenario_ids:
        start = time.perf_counter()
        with store.session() as session:  # Store.add_episode's transaction
            assert not store_campaigns.has_episode(session, rows_policy, scenario_id)
            store_campaigns.add_episode(
                session, rows_policy, scenario_id, outcome, sha, rel, files, "bench", judgment=judged
            )
        rows.append(time.perf_counter() - start)
    rows = rows[1:]  # the first one warmed up

    def summary(times: list[float]) -> dict:
        return {
            "episodes": len(times),
            "episodes_per_s": round(len(times) / sum(times), 1),
            "median_ms": round(1000 * float(np.median(times)), 3),
            "p90_ms": round(1000 * float(np.percentile(times, 90)), 3),
        }

    return {
        "folder_bytes": folder.size(),
        "folder_files": files,
        "add_episode": summary(full),
        "rows_only": summary(rows),
    }


@contextmanager
def scratch_database(url: str | None, work: Path) -> Iterator[str]:
    """The URL of a new, empty database: a SQLite file in ``work``, or a scratch database on the
    PostgreSQL server ``url`` names (dropped afterwards)."""
    if url is None:
        yield f"sqlite:///{work / 'bench.db'}"
        return
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and Path(parsed.database).exists():
            sys.exit(f"{parsed.database} exists: give a SQLite URL of a new file")
        yield url
        return
    if parsed.get_backend_name() != "postgresql":
        sys.exit(f"--db: SQLite or PostgreSQL URLs only, got {parsed.get_backend_name()!r}")
    if parsed.drivername == "postgresql":  # as the store does: psycopg 3, not SQLAlchemy's default psycopg2
        parsed = parsed.set(drivername="postgresql+psycopg")
    name = f"twinarena_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(parsed, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield parsed.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=100_000)
    parser.add_argument("--policies", type=int, default=50)
    parser.add_argument("--inserts", type=int, default=500, help="episodes stored one by one")
    parser.add_argument("--db", help="SQLAlchemy URL (default: a temporary SQLite file)")
    parser.add_argument(
        "--analyze", action="store_true", help="run ANALYZE on SQLite too, as PRAGMA optimize would"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="twinarena-bench-") as tmp:
        work = Path(tmp)
        with scratch_database(args.db, work) as url, open_store(url, work / "artefacts") as store:
            backend = store.engine.dialect.name
            start = time.perf_counter()
            filled = populate(store, args.policies, args.episodes, args.analyze)
            populate_s = time.perf_counter() - start
            campaign, policies = filled["campaign"], filled["policies"]
            middle = policies[len(policies) // 2]
            queries = {
                "leaderboard": timed(lambda: store.leaderboard("state")),
                "leaderboard_campaign": timed(lambda: store.leaderboard("state", campaign=campaign)),
                "robustness": timed(lambda: store.robustness()),
                "robustness_campaign": timed(lambda: store.robustness(campaign=campaign)),
                "episodes_policy_50": timed(lambda: store.episodes(policy=middle, limit=50)),
                "campaigns": timed(lambda: store.campaigns()),
            }
            assert sum(row.n for row in store.leaderboard("state")) == filled["rows"]["episodes"]
            n_inserts = min(args.inserts, filled["rows"]["scenarios"])
            with store.session() as session:
                scenario_ids = list(session.scalars(text("SELECT id FROM scenarios ORDER BY id")))
            inserts = insert_rates(store, scenario_ids[: n_inserts + 1], work)
    met = {
        name: queries[name]["median_ms"] <= TARGET_LEADERBOARD_MS
        for name in ("leaderboard", "leaderboard_campaign")
    }
    report = {
        "backend": backend,
        "analyzed": args.analyze or backend == "postgresql",
        "cpu_count": os.cpu_count(),
        "rows": filled["rows"],
        "populate_s": round(populate_s, 2),
        "runs": {"warmup": WARMUP, "timed": RUNS},
        "queries": queries,
        "inserts": inserts,
        "targets": {
            "leaderboard_median_ms_max": TARGET_LEADERBOARD_MS,
            "applies_to": "sqlite",
            "met": met if backend == "sqlite" else None,
        },
    }
    json.dump(report, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
