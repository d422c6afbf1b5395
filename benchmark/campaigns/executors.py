"""Where a campaign's jobs run: local worker processes (the default) or a Ray cluster.

An executor maps a picklable function over jobs and yields ``(job, result)`` pairs as they
finish, in any order; a job that raised, or whose worker process died, yields the exception
instead, so one broken job never stops the others. Workers only compute: they return results
to the evaluator, which alone writes the store.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import socket
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from benchmark.errors import CampaignError

EXECUTORS = ("local", "ray")
RAY_OBJECT_STORE_BYTES = 256 * 2**20  # a local Ray instance's object store: results are small
RAY_CONNECT_TIMEOUT_S = 10.0  # to reach a cluster's address before ray.init (which retries for minutes)
RAY_CLIENT_PORT = 10001  # the default port of a ``ray://`` address
RAY_AUTH_LOGGER = "ray._private.authentication.authentication_token_setup"
WORKER_DIED = "the worker process running this job died (it crashed or was killed)"
PR_SET_PDEATHSIG = 1


def worker_setup() -> None:
    """Run once in every worker process: one thread for torch and for BLAS (the processes are
    the parallelism), and, on Linux, die with the parent (a killed evaluator leaves no workers)."""
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)  # IK's small solves every step: BLAS threads only contend
    try:
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass


def default_workers(limit: int = 8) -> int:
    """One worker per CPU, at most ``limit`` (each holds a simulator and renderer, ~0.5–1 GB)."""
    return max(1, min(os.cpu_count() or 1, limit))


def worker_name() -> str:
    """``host:pid`` of this process: where an episode ran."""
    return f"{socket.gethostname()}:{os.getpid()}"


class LocalExecutor:
    """``workers`` processes on this machine (1: in the evaluator's own process)."""

    name = "local"

    def __init__(self, workers: int = 1):
        if workers < 1:
            raise CampaignError(f"--workers must be at least 1, got {workers}")
        self.workers = workers

    def describe(self) -> str:
        return "in-process" if self.workers == 1 else f"{self.workers} local worker processes"

    def map(self, fn: Callable[[Any], Any], jobs: Iterable[Any]) -> Iterator[tuple[Any, Any]]:
        if self.workers == 1:
            for job in jobs:
                try:
                    yield job, fn(job)
                except Exception as err:
                    yield job, err
            return
        queue = iter(jobs)
        # Jobs in flight when a worker died (a crash, the OOM killer): each runs again, alone, so
        # only the job that kills its worker fails, not the ones that happened to run beside it.
        suspects: deque = deque()
        context = multiprocessing.get_context("spawn")
        # spawned workers read it at start: idle OpenMP threads sleep rather than spin on a shared core
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        while True:
            pool = ProcessPoolExecutor(self.workers, mp_context=context, initializer=worker_setup)
            pending: dict[Future, Any] = {}
            try:
                while True:
                    if not suspects:
                        _fill(pending, queue, lambda job, pool=pool: _submit(pool, fn, job), 2 * self.workers)
                    elif not pending:
                        job = suspects.popleft()
                        pending[_submit(pool, fn, job)] = job
                    if not pending:
                        return
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    broken = False
                    for future in done:
                        error = future.exception()
                        if isinstance(error, BrokenProcessPool):
                            broken = True
                            continue
                        job = pending.pop(future)
                        yield job, error if error is not None else future.result()
                    if broken:
                        break
                wait(pending)  # a broken pool fails every job in it at once
                in_flight = []
                for future, job in list(pending.items()):
                    del pending[future]
                    error = future.exception()
                    if isinstance(error, BrokenProcessPool):
                        in_flight.append(job)
                    else:  # it finished before the pool broke
                        yield job, error if error is not None else future.result()
                if len(in_flight) == 1:  # it ran alone: it broke the pool
                    yield in_flight[0], BrokenProcessPool(WORKER_DIED)
                else:
                    suspects.extend(in_flight)
            finally:
                for future in pending:
                    future.cancel()
                pool.shutdown(wait=True, cancel_futures=True)


class RayExecutor:
    """Tasks on a Ray cluster: ``address`` of a running one (``ray://…`` or ``host:port``), or a
    local instance with ``cpus`` CPUs started for the campaign (and stopped after it). Workers
    must see the store's artefact folder at the same path (one machine, or a shared file system)."""

    name = "ray"

    def __init__(self, address: str | None = None, cpus: int | None = None):
        self.address = address
        self.cpus = cpus

    def describe(self) -> str:
        return f"Ray cluster at {self.address}" if self.address else f"local Ray ({self.cpus or 'all'} CPUs)"

    def map(self, fn: Callable[[Any], Any], jobs: Iterable[Any]) -> Iterator[tuple[Any, Any]]:
        try:
            import ray
        except ImportError:
            raise CampaignError("--executor ray needs Ray: pip install 'twinarena[ray]'") from None
        queue = iter(jobs)
        first = next(queue, _END)
        if first is _END:  # nothing to run: no cluster to start or reach
            return
        started = not ray.is_initialized()
        if started:
            self._init(ray)
        pending: dict[Any, Any] = {}
        try:
            task = ray.remote(num_cpus=1, max_retries=1)(_in_ray_worker).options(name="twinarena-job")
            window = 2 * max(1, int(ray.cluster_resources().get("CPU", 1)))
            pending[task.remote(fn, first)] = first
            _fill(pending, queue, lambda job: task.remote(fn, job), window)
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                job = pending.pop(done[0])
                try:
                    yield job, ray.get(done[0])
                except ray.exceptions.RayTaskError as err:  # the job raised: hand over its exception
                    yield job, err.cause if isinstance(err.cause, Exception) else err
                except ray.exceptions.RayError as err:  # a worker or node died
                    yield job, err
                _fill(pending, queue, lambda job: task.remote(fn, job), window)
        finally:
            if started:
                ray.shutdown()  # ends this driver's tasks with it
            elif ray.is_initialized():  # a Ray session that is not ours: leave it, take back our tasks
                for ref in pending:
                    ray.cancel(ref, force=True)

    def _init(self, ray) -> None:
        options: dict[str, Any] = {
            "include_dashboard": False,
            "log_to_driver": False,
            "logging_level": logging.WARNING,  # not "Started a local Ray instance" on every run
        }
        if self.address is None:  # "local": a new instance, even where $RAY_ADDRESS names a cluster
            options.update(address="local", num_cpus=self.cpus, object_store_memory=RAY_OBJECT_STORE_BYTES)
        else:
            _probe(self.address)
            options.update(address=self.address)
        # A new local instance has token authentication (Ray's default): keep it, without Ray's
        # warning that it is on. Its warnings about a remote cluster's authentication stay.
        auth_log = logging.getLogger(RAY_AUTH_LOGGER)
        level = auth_log.level
        if self.address is None:
            auth_log.setLevel(logging.ERROR)
        try:
            ray.init(**options)
        except (ConnectionError, RuntimeError, ValueError, ray.exceptions.RayError) as err:
            ray.shutdown()  # whatever a failed start left running
            where = f"at {self.address}" if self.address else "locally"
            raise CampaignError(f"cannot start or reach a Ray cluster {where}: {err}") from None
        finally:
            auth_log.setLevel(level)


def _probe(address: str) -> None:
    """Fail fast where nothing listens at ``address`` (``host:port`` or ``ray://host[:port]``):
    ray.init would retry for many minutes. Other forms (``auto``) are left to Ray."""
    client = address.startswith("ray://")
    text = address.removeprefix("ray://")
    host, sep, port = text.rpartition(":")
    if client and not sep:
        host, port = text, str(RAY_CLIENT_PORT)
    if not host or "/" in text or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=RAY_CONNECT_TIMEOUT_S).close()
    except OSError as err:
        raise CampaignError(
            f"cannot reach a Ray cluster at {address}: {err.strerror or err} (is `ray start --head` "
            "running there, and is its port open?)"
        ) from None


def _in_ray_worker(fn: Callable[[Any], Any], job: Any) -> Any:
    worker_setup()
    return fn(job)


_END = object()  # the end of a job iterator (a job may be any value, None included)


def _fill(pending: dict, queue: Iterator, submit: Callable[[Any], Any], window: int) -> None:
    """Submit jobs from ``queue`` until ``window`` are in flight (bounded, so results are written
    as they come instead of piling up)."""
    while len(pending) < window:
        job = next(queue, _END)
        if job is _END:
            return
        pending[submit(job)] = job


def _submit(pool: ProcessPoolExecutor, fn: Callable[[Any], Any], job: Any) -> Future:
    """``fn(job)`` in ``pool``; a failed future where the pool is already broken (the job then
    runs again in a new pool)."""
    try:
        return pool.submit(fn, job)
    except BrokenProcessPool as err:
        future: Future = Future()
        future.set_exception(err)
        return future


def make_executor(kind: str = "local", workers: int = 1, ray_address: str | None = None):
    """The executor named ``kind`` (``local`` or ``ray``); ``workers`` is the local process count,
    or the CPUs of a local Ray instance."""
    if kind == "local":
        return LocalExecutor(workers)
    if kind == "ray":
        return RayExecutor(ray_address, cpus=None if ray_address else workers)
    raise CampaignError(f"unknown executor {kind!r}; expected one of {', '.join(EXECUTORS)}")
