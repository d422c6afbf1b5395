"""The dashboard's leaderboard page rendered on the server, with 100k episodes in the store.

    python bench/dashboard_render.py [--episodes 100000] [--policies 50] [--runs 7]

The store is filled as ``bench/store_queries.py`` fills it (its :func:`populate`: 50 policies ×
2000 scenarios, each episode with its state judgment, one campaign), plus a VLM judgment of every
episode and stored ratings for the state, VLM and human judges (so every column and the judge
agreement have data). The leaderboard page then runs through Streamlit's ``AppTest`` (the
script's whole server-side run: the queries, the tables, the agreement, the element tree):

- ``first_s``: the first render in this process (imports of the pages, opening the store);
- ``uncached``: every later render with the query cache emptied first (what a visitor gets
  when the cached results have expired), median and max over ``--runs``;
- ``cached``: renders within the cache's lifetime;
- ``filtered_uncached``: the same with the twin filter set.

Prints JSON; the target (≤ 1 s) applies to the uncached median.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sqlalchemy import func, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent))
from store_queries import batches, populate  # noqa: E402

from benchmark.store import open_store  # noqa: E402
from benchmark.store.models import Episode, Judgment, Policy, Rating  # noqa: E402

APP = Path(__file__).resolve().parents[1] / "dashboard" / "app.py"
TARGET_S = 1.0


def add_vlm_and_ratings(store, seed: int = 0) -> dict:
    """A VLM judgment per episode (progress plus noise) and rating rows for three judges."""
    rng = random.Random(seed)
    with store.engine.begin() as connection:
        first = connection.scalar(select(func.max(Judgment.id))) + 1
        episodes = connection.execute(select(Episode.id, Episode.progress)).all()
        rows = [
            {
                "id": first + k,
                "episode_id": episode,
                "judge": "vlm",
                "model": "bench-vlm",
                "prompt_version": "v1",
                "score": min(100.0, max(0.0, 100 * progress + rng.gauss(0, 8))),
                "success": progress > 0.9,
                "detail": {},
                "created_at": datetime(2026, 1, 2, tzinfo=UTC),
            }
            for k, (episode, progress) in enumerate(episodes)
        ]
        for chunk in batches(rows):
            connection.execute(insert(Judgment), chunk)
        policies = connection.execute(select(Policy.id).order_by(Policy.id)).scalars().all()
        ratings = []
        for judge in ("state", "vlm", "human"):
            values = sorted((rng.gauss(1000, 150) for _ in policies), reverse=True)
            for rank, (policy, value) in enumerate(zip(policies, values, strict=True), start=1):
                ratings.append(
                    {
                        "judge": judge,
                        "scope": "",
                        "policy_id": policy,
                        "method": "bt-half+bootstrap(100)@0.95",
                        "rating": value,
                        "ci_low": value - 40,
                        "ci_high": value + 40,
                        "rank": rank,
                        "rank_low": max(1, rank - 2),
                        "rank_high": min(len(policies), rank + 2),
                        "n": 2000,
                        "computed_at": datetime(2026, 1, 3, tzinfo=UTC),
                    }
                )
        connection.execute(insert(Rating), ratings)
    with store.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return {"vlm_judgments": len(rows), "ratings": len(ratings)}


def render_times(runs: int) -> dict:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    def render(at) -> float:
        start = time.perf_counter()
        at.run()
        seconds = time.perf_counter() - start
        assert not at.exception, [e.value for e in at.exception]
        assert len(at.dataframe[0].value) > 0
        return seconds

    at = AppTest.from_file(str(APP), default_timeout=120)
    first = render(at)
    rows = len(at.dataframe[0].value)
    uncached, cached, filtered = [], [], []
    for _ in range(runs):
        st.cache_data.clear()
        uncached.append(render(at))
    for _ in range(runs):
        cached.append(render(at))
    twin = at.selectbox(key="twin").options[1]
    at.selectbox(key="twin").set_value(twin)
    for _ in range(runs):
        st.cache_data.clear()
        filtered.append(render(at))

    def summary(times: list[float]) -> dict:
        return {"median_s": round(float(np.median(times)), 3), "max_s": round(max(times), 3)}

    return {
        "leaderboard_rows": rows,
        "first_s": round(first, 3),
        "uncached": summary(uncached),
        "cached": summary(cached),
        "filtered_uncached": summary(filtered),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=100_000)
    parser.add_argument("--policies", type=int, default=50)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="twinarena-bench-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        start = time.perf_counter()
        with open_store(url, Path(tmp) / "artefacts") as store:
            filled = populate(store, args.policies, args.episodes)
            extra = add_vlm_and_ratings(store)
        populate_s = time.perf_counter() - start
        os.environ["TWINARENA_DB"] = url
        os.environ["TWINARENA_ARTEFACTS"] = str(Path(tmp) / "artefacts")
        times = render_times(args.runs)
    report = {
        "backend": "sqlite",
        "cpu_count": os.cpu_count(),
        "rows": {**filled["rows"], **extra},
        "populate_s": round(populate_s, 1),
        "runs": args.runs,
        "render": times,
        "target": {"uncached_median_s_max": TARGET_S, "met": times["uncached"]["median_s"] <= TARGET_S},
    }
    json.dump(report, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
