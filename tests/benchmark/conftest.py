"""Database fixtures: every store test runs on SQLite and on a real PostgreSQL server.

The PostgreSQL server is ``$TWINARENA_TEST_POSTGRES`` (a SQLAlchemy URL) or a throwaway one that
each pytest process (each xdist worker) starts the first time a test needs it
(see ``tests/postgres_server.py``). Without either, the PostgreSQL tests are skipped, unless
``$CI`` is set: then they fail.
"""

from __future__ import annotations

import importlib.util
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest


def _load_postgres_server():
    """``tests/postgres_server.py``, whatever pytest's import mode."""
    if "postgres_server" not in sys.modules:
        path = Path(__file__).parents[1] / "postgres_server.py"
        spec = importlib.util.spec_from_file_location("postgres_server", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules["postgres_server"] = module
        spec.loader.exec_module(module)
    return sys.modules["postgres_server"]


pg = _load_postgres_server()


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """The SQLAlchemy URL (driver psycopg) of a PostgreSQL server whose user may create databases and
    roles: ``$TWINARENA_TEST_POSTGRES``, else a throwaway server started for this process. Skips
    when there is neither (fails when ``$CI`` is set)."""
    url = pg.external_url()
    if url is not None:
        _check_reachable(url)
        yield url
        return
    try:
        server = pg.start()
    except pg.Unavailable as why:
        message = f"no PostgreSQL server for the tests: {why}. To test on PostgreSQL, {pg.HOW_TO}"
        if pg.in_ci():
            pytest.fail(f"{message} ($CI is set, so this is not skipped)", pytrace=False)
        pytest.skip(message)
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def _postgres_admin(postgres_server_url):
    """An engine on the server's maintenance database, in autocommit (for CREATE and DROP DATABASE)."""
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    engine = create_engine(postgres_server_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> Iterator[str]:
    """The URL of a new, empty database: a SQLite file in ``tmp_path``, or a database created on the
    PostgreSQL server for this test (and dropped after it, connections or not). Take one backend
    with ``@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)``."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    assert request.param == "postgresql", request.param
    from sqlalchemy import make_url

    admin = request.getfixturevalue("_postgres_admin")
    name = f"twinarena_test_{uuid.uuid4().hex[:16]}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = make_url(request.getfixturevalue("postgres_server_url")).set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _check_reachable(url: str) -> None:
    from sqlalchemy import create_engine, make_url
    from sqlalchemy.exc import DBAPIError

    engine = create_engine(url, connect_args={"connect_timeout": 10})
    try:
        with engine.connect():
            return
    except DBAPIError as err:
        reason = " ".join(str(err.orig).split())
    finally:
        engine.dispose()
    shown = make_url(url).render_as_string(hide_password=True)
    pytest.fail(f"${pg.ENV_URL} = {shown} cannot be reached: {reason}", pytrace=False)


# -- stores ----------------------------------------------------------------------------------------
@pytest.fixture
def store(db_url, tmp_path):
    """An open store on ``db_url`` with its artefacts in ``tmp_path``; no session may leak."""
    from benchmark.store import open_store

    with open_store(db_url, tmp_path / "artefacts") as store:
        yield store
        assert store.engine.pool.checkedout() == 0


OUTCOMES = {  # policy: successes per cell (axis, level) over 4 seeds
    "alpha": {("none", 0.0): [1, 1, 1, 1], ("object_yaw", 1.0): [1, 1, 1, 0]},
    "beta": {("none", 0.0): [1, 1, 0, 0], ("object_yaw", 1.0): [0, 0, 0, 0]},
    "gamma": {("none", 0.0): [1, 1, 1, 0], ("object_yaw", 1.0): [1, 0, 0, 0]},
}


@pytest.fixture
def outcomes() -> dict:
    """What :func:`filled` stores: policy → (axis, level) → success per seed."""
    return OUTCOMES


@pytest.fixture
def filled(store):
    """Three policies × two cells × four seeds in one twin, with known outcomes; campaign ``main``
    holds alpha and beta's unperturbed jobs only. Progress is 1 on success, else 0.1·seed."""
    from benchmark.judges.state import judge_state
    from benchmark.policies.protocol import PolicyInfo
    from benchmark.store import campaigns as rows
    from benchmark.store.policies import add_policy

    with store.session() as session:
        twin = rows.add_twin(session, "t" * 64, "bench_twin", "pick", "/src", "s" * 64, "ab/cd", {})
        policy_ids = {name: add_policy(session, PolicyInfo(name)).id for name in OUTCOMES}
        scenarios = [
            {"key": f"{axis}-{level}-{seed}", "twin_id": twin.id, "task": "pick", "axis": axis,
             "level": level, "perturbations": [] if axis == "none" else [f"{axis}={level:g}"],
             "seed": seed, "config": {}}
            for axis, level in OUTCOMES["alpha"] for seed in range(4)
        ]  # fmt: skip
        ids = rows.add_scenarios(session, scenarios)
        for name, by_cell in OUTCOMES.items():
            for (axis, level), successes in by_cell.items():
                for seed, success in enumerate(successes):
                    outcome = {
                        "success": bool(success),
                        "progress": 1.0 if success else 0.1 * seed,
                        "steps": 10 + seed,
                        "termination": "success" if success else "timeout",
                    }
                    key = f"{axis}-{level}-{seed}"
                    rows.add_episode(
                        session,
                        policy_ids[name],
                        ids[key],
                        outcome,
                        "e" * 64,
                        f"ep/{name}{key}",
                        [],
                        judgment=judge_state(outcome),
                    )
        campaign = rows.add_campaign(session, "k" * 64, "main", {})
        rows.add_jobs(
            session,
            campaign.id,
            [(policy_ids[p], ids[f"none-0.0-{s}"]) for p in ("alpha", "beta") for s in range(4)]
            + [(policy_ids["gamma"], ids["none-0.0-0"])],
        )
    return policy_ids
