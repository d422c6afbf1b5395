"""Where a campaign runs does not change what it finds: the same small campaign on a local Ray
cluster, in local worker processes and in-process stores the same outcomes and bit-identical
trajectories. And the executors' failures: an unreachable cluster, a job that raises, a worker
that dies, an unknown executor.

The campaigns run once per test session (a module fixture; under xdist one worker runs them and
the others read its stores)."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from benchmark.campaigns.campaign import CampaignSpec, RunSettings, Sweep
from benchmark.campaigns.evaluate import run_campaign
from benchmark.campaigns.executors import LocalExecutor, RayExecutor, make_executor
from benchmark.errors import CampaignError
from benchmark.store import open_store

# 2 policies × (unperturbed + object_placement=0.5) × 2 seeds = 8 jobs. 160 px is the vision
# expert's smallest image; 6 s (60 steps) leaves room for its successes (45-48 steps).
SPEC = CampaignSpec(
    policies=("vision-expert", "random"),
    twins=("tray_pick",),
    sweeps=(Sweep("object_placement", (0.5,)),),
    seeds=2,
    settings=RunSettings(render="mesh", image_size=(160, 160), max_seconds=6.0),
)
JOBS = 2 * 2 * 2
EXECUTORS: dict[str, Callable[[], object]] = {
    "ray": lambda: RayExecutor(cpus=2),
    "local-2": lambda: LocalExecutor(2),
    "in-process": lambda: LocalExecutor(1),
}
OUTCOME = ("success", "progress", "steps", "termination", "detail", "files")  # compared exactly
TRAJECTORY_ARRAYS = {"actions", "state", "object_poses", "object_names", "rewards"}


@dataclass(frozen=True)
class Run:
    """A campaign run into its own store."""

    url: str
    artefacts: Path
    report: dict

    def episodes(self) -> dict[tuple, object]:
        """The stored episodes by (policy, twin, axis, level, seed), each with its trajectory."""
        with open_store(self.url, self.artefacts) as store:
            rows = store.episodes(limit=1000)
            out = {}
            for row in rows:
                key = (row.policy, row.twin, row.axis, row.level, row.seed)
                assert key not in out, f"two episodes for {key}"
                with np.load(store.artefact_path(row.artefact) / "trajectory.npz") as npz:
                    out[key] = (row, {name: npz[name] for name in npz.files})
            return out


def _run(root: Path, executor) -> Run:
    """Run SPEC with ``executor`` into a new store under ``root`` (once: across xdist workers too)."""
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f"{root.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = root / "report.json"
        if not done.exists():
            shutil.rmtree(root, ignore_errors=True)  # what a failed attempt left
            root.mkdir()
            with open_store(f"sqlite:///{root / 'store.db'}", root / "artefacts") as store:
                report = run_campaign(store, SPEC, executor(), name="same-everywhere")
            done.write_text(json.dumps(report.to_dict()))
        return Run(f"sqlite:///{root / 'store.db'}", root / "artefacts", json.loads(done.read_text()))


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Run]:
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # xdist: the session's
    return {name: _run(shared / "executor-campaigns" / name, make) for name, make in EXECUTORS.items()}


def _no_ray_left():
    import ray

    assert not ray.is_initialized()


# -- the same campaign on every executor --------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("name", list(EXECUTORS))
def test_every_job_is_stored_once_without_errors(runs, name):
    run = runs[name]
    assert run.report["errors"] == []
    assert (run.report["jobs"], run.report["stored"], run.report["already_done"]) == (JOBS, JOBS, 0)
    assert (run.report["duplicates"], run.report["missing"]) == (0, 0)
    episodes = run.episodes()
    assert len(episodes) == JOBS
    assert {key[0] for key in episodes} == set(SPEC.policies)
    assert {(key[2], key[3]) for key in episodes} == {("none", 0.0), ("object_placement", 0.5)}
    assert {key[4] for key in episodes} == {0, 1}


@pytest.mark.slow
@pytest.mark.parametrize("other", ["local-2", "in-process"])
def test_ray_finds_the_same_outcomes_and_trajectories_as_local_workers(runs, other):
    ray_episodes, local_episodes = runs["ray"].episodes(), runs[other].episodes()
    assert ray_episodes.keys() == local_episodes.keys()
    for key, (row, trajectory) in ray_episodes.items():
        local_row, local_trajectory = local_episodes[key]
        assert {f: getattr(row, f) for f in OUTCOME} == {f: getattr(local_row, f) for f in OUTCOME}, key
        assert trajectory.keys() == local_trajectory.keys() == TRAJECTORY_ARRAYS, key
        for name, array in trajectory.items():
            local = local_trajectory[name]
            assert (array.dtype, array.shape) == (local.dtype, local.shape), (key, name)
            assert array.tobytes() == local.tobytes(), f"{key}: {name} differs"  # bit for bit
        assert len(trajectory["actions"]) == row.steps
    # not a vacuous comparison: the campaign has successes and failures
    outcomes = [row.success for row, _ in ray_episodes.values()]
    assert any(outcomes) and not all(outcomes)


@pytest.mark.slow
def test_running_the_campaign_again_on_ray_stores_nothing_new(runs):
    run = runs["ray"]
    with open_store(run.url, run.artefacts) as store:
        before = sorted(row.id for row in store.episodes(limit=1000))
        report = run_campaign(store, SPEC, RayExecutor(cpus=2), name="same-everywhere")
        after = sorted(row.id for row in store.episodes(limit=1000))
    assert (report.jobs, report.already_done, report.stored, report.duplicates) == (JOBS, JOBS, 0, 0)
    assert report.errors == [] and report.missing == 0
    assert after == before
    _no_ray_left()


# -- failures --------------------------------------------------------------------------------------
def probe(job):
    """The job function of the failure tests: ``"raise"`` raises, ``"crash"`` kills its worker
    process, a number comes back doubled (with the worker's pid)."""
    if job == "raise":
        raise ValueError("job 'raise' failed on purpose")
    if job == "crash":
        os._exit(3)
    time.sleep(0.05)
    return job * 2, os.getpid()


@pytest.fixture
def importable_probe(monkeypatch):
    """Ray's workers import ``probe`` by its module name: put this folder on their path (local
    spawned workers get the parent's ``sys.path``)."""
    here = str(Path(__file__).parent)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")])))
    assert probe.__module__ == "test_executors", "run pytest in its default (prepend) import mode"


def _results(executor, jobs) -> dict:
    results = {}
    for job, result in executor.map(probe, jobs):
        assert job not in results, f"{job!r} came back twice"
        results[job] = result
    return results


@pytest.mark.parametrize("name", ["ray", "local-2"])
def test_a_job_that_raises_or_kills_its_worker_fails_alone(importable_probe, name):
    jobs = [1, "raise", 3, "crash", 5, 6, 7, 8]
    results = _results(EXECUTORS[name](), jobs)
    assert results.keys() == set(jobs)
    assert isinstance(results["raise"], ValueError) and "failed on purpose" in str(results["raise"])
    if name == "ray":
        import ray

        assert isinstance(results["crash"], ray.exceptions.RayError)  # after Ray's one retry
    else:  # the jobs beside it ran again, one at a time, to find which one kills its worker
        assert isinstance(results["crash"], BrokenProcessPool)
    survivors = [job for job in jobs if job not in ("raise", "crash")]
    assert {job: results[job][0] for job in survivors} == {job: 2 * job for job in survivors}
    assert os.getpid() not in {results[job][1] for job in survivors}
    _no_ray_left()


def test_in_process_a_job_that_raises_yields_its_exception():
    results = _results(LocalExecutor(1), [1, "raise", 3])
    assert isinstance(results["raise"], ValueError)
    assert results[1] == (2, os.getpid()) and results[3] == (6, os.getpid())


def test_a_local_ray_instance_stops_when_the_caller_stops_early(importable_probe):
    import ray

    results = RayExecutor(cpus=2).map(probe, list(range(20)))
    job, result = next(results)
    assert ray.is_initialized()
    assert result == (job * 2, result[1])
    results.close()
    assert not ray.is_initialized()


def test_an_unreachable_ray_cluster_is_a_campaign_error_naming_it():
    start = time.perf_counter()
    with pytest.raises(CampaignError, match=r"127\.0\.0\.1:1\b"):
        list(RayExecutor(address="127.0.0.1:1").map(probe, [1]))
    assert time.perf_counter() - start < 15
    _no_ray_left()


def test_an_unknown_executor_is_a_campaign_error():
    with pytest.raises(CampaignError, match="unknown executor 'nope'.*local, ray"):
        make_executor("nope")
    assert isinstance(make_executor("ray", 3), RayExecutor) and make_executor("ray", 3).cpus == 3
    assert make_executor("ray", 3, "10.0.0.1:6379").address == "10.0.0.1:6379"
    assert make_executor("local", 2).workers == 2
    with pytest.raises(CampaignError, match="at least 1"):
        make_executor("local", 0)
