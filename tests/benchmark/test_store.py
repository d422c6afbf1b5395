"""The results store on SQLite files and on PostgreSQL (the ``db_url`` fixture: each test that opens
a database runs on both): the schema by migration, connection settings, the policy catalogue,
content-addressed artefacts, and errors that name the database."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import shutil
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import replace
from datetime import timedelta

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, make_url, text
from sqlalchemy.pool import NullPool

from benchmark.policies.protocol import PolicyInfo
from benchmark.store import StoreError, content_sha256, open_store
from benchmark.store.engine import POSTGRES_CONNECT_TIMEOUT_S, SQLITE_BUSY_MS, create_store_engine, masked
from benchmark.store.models import Base
from benchmark.store.schema import alembic_config, current_revisions, head_revision

SHA_A, SHA_B = "a" * 64, "b" * 64
CHECKPOINT = {"config.json": b"{}", "weights/model.safetensors": b"w" * 100}
OCTO = PolicyInfo(
    "octo",
    kind="weights",
    cameras=("front", "wrist"),
    image_size=(256, 192),
    control_hz=5.0,
    licence="MIT",
    owner="lab",
    extra={"paper": "arXiv:2405.12213", "steps": [1, 2]},
)


sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
postgresql_only = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)


@pytest.fixture
def url(db_url) -> str:
    """A new, empty database: a SQLite file, or a database on the test PostgreSQL server."""
    return db_url


@pytest.fixture
def store(url, tmp_path):
    with open_store(url, tmp_path / "artefacts") as store:
        yield store
        assert store.engine.pool.checkedout() == 0  # no session leaked


def write_folder(root, files: dict[str, bytes]):
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


# -- schema ------------------------------------------------------------------------------------
def test_a_new_database_gets_the_schema_quietly(url, tmp_path, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    open_store(url, tmp_path / "artefacts").close()
    caplog.clear()
    with open_store(url, tmp_path / "artefacts") as store:
        tables = inspect(store.engine).get_table_names()
        columns = {c["name"] for c in inspect(store.engine).get_columns("policies")}
        unique = {u["name"] for u in inspect(store.engine).get_unique_constraints("policies")}
        assert current_revisions(store.engine) == (head_revision(),)
    assert set(tables) == {"alembic_version", *Base.metadata.tables}
    assert {
        "policies",
        "twins",
        "campaigns",
        "scenarios",
        "episodes",
        "judgments",
        "comparisons",
        "ratings",
    } <= set(tables)
    assert {"name", "sha256", "artefact", "cameras", "status", "reason", "created_at", "extra"} <= columns
    assert unique == {"uq_policies_name"}  # named by the naming convention
    assert capsys.readouterr() == ("", "")
    assert not [r for r in caplog.records if r.name.startswith(("alembic", "sqlalchemy"))]  # at head


def test_the_models_match_the_migrations(store):
    with store.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_the_migrations_go_down_and_up_again(store):
    config = alembic_config()
    with store.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
        assert inspect(connection).get_table_names() == ["alembic_version"]
        command.upgrade(config, "head")
    assert "policies" in inspect(store.engine).get_table_names()


def test_an_older_database_is_upgraded_on_open(url, tmp_path):
    config = alembic_config()
    older = ScriptDirectory.from_config(config).get_revision(head_revision()).down_revision or "base"
    engine = create_store_engine(url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, older)
        command.stamp(config, older)
    assert current_revisions(engine) == (() if older == "base" else (older,))
    engine.dispose()
    with open_store(url, tmp_path / "artefacts") as store:
        assert current_revisions(store.engine) == (head_revision(),)
        assert store.list_policies() == []


def test_a_database_from_a_newer_twinarena_is_refused(url, tmp_path):
    open_store(url, tmp_path / "artefacts").close()
    engine = create_store_engine(url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(StoreError, match="at schema revision 9999, which this TwinArena does not know"):
        open_store(url, tmp_path / "artefacts")


@sqlite_only
def test_sqlite_runs_in_wal_mode_with_foreign_keys_and_a_busy_timeout(store):
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == SQLITE_BUSY_MS


def test_the_default_location_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("TWINARENA_DB", raising=False)
    monkeypatch.setenv("TWINARENA_HOME", str(tmp_path / "home"))
    with open_store() as store:
        assert store.engine.url.database == str(tmp_path / "home" / "twinarena.db")
        assert store.artefacts.root == tmp_path / "home" / "artefacts"
    monkeypatch.setenv("TWINARENA_DB", f"sqlite:///{tmp_path / 'env.db'}")
    with open_store() as store:
        assert store.engine.url.database == str(tmp_path / "env.db")


@postgresql_only
def test_postgresql_connections_time_out_unless_the_url_says_otherwise(url):
    for query, timeout in (("", POSTGRES_CONNECT_TIMEOUT_S), ("?connect_timeout=3", 3)):
        engine = create_store_engine(url + query)
        with engine.connect() as connection:
            dsn = connection.connection.dbapi_connection.info.dsn
        engine.dispose()
        assert f"connect_timeout={timeout}" in dsn.split()


def test_the_url_may_come_from_the_environment(url, tmp_path, monkeypatch):
    monkeypatch.setenv("TWINARENA_DB", url)
    with open_store(artefacts=tmp_path / "artefacts") as store:
        assert store.engine.url == make_url(url)
        assert current_revisions(store.engine) == (head_revision(),)


OPEN_AT_ONCE = """
import json, logging, sys, time
from sqlalchemy import Engine, event
from benchmark.store import StoreError, open_store

def slow_start(connection, cursor, statement, *args):
    if "CREATE TABLE alembic_version" in statement:
        time.sleep(1)  # so that the others get going meanwhile

event.listen(Engine, "before_cursor_execute", slow_start)
runs = []
handler = logging.Handler()
handler.emit = lambda record: runs.append(record.getMessage())
log = logging.getLogger("alembic.runtime.migration")
log.setLevel(logging.INFO)
log.addHandler(handler)
print("ready", flush=True)
sys.stdin.readline()
try:
    open_store(sys.argv[1], sys.argv[2]).close()
except StoreError as err:
    print(json.dumps({"error": str(err)}))
else:
    print(json.dumps({"runs": [m for m in runs if m.startswith("Running upgrade")]}))
"""


def test_processes_opening_a_new_database_at_once_migrate_it_once(url, tmp_path):
    argv = [sys.executable, "-c", OPEN_AT_ONCE, url, str(tmp_path / "artefacts")]
    pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    children = [subprocess.Popen(argv, **pipes) for _ in range(2)]
    try:
        ready = [child.stdout.readline() for child in children]  # each has imported the store
        for child in children:
            with contextlib.suppress(BrokenPipeError):
                child.stdin.write("go\n")
                child.stdin.flush()
        outputs = [child.communicate(timeout=60) for child in children]
    finally:
        for child in children:
            child.kill()
            child.wait()
    assert ready == ["ready\n"] * len(children), outputs
    assert all(out.startswith("{") for out, _ in outputs), outputs
    results = [json.loads(out) for out, _ in outputs]
    assert [result.get("error") for result in results] == [None] * len(children)
    runs = [run for result in results for run in result["runs"]]
    revisions = list(ScriptDirectory.from_config(alembic_config()).walk_revisions())
    assert len(runs) == len(revisions), runs  # each revision ran once, in whichever process
    engine = create_store_engine(url)
    assert current_revisions(engine) == (head_revision(),)
    engine.dispose()


# -- errors that name the database ---------------------------------------------------------------
def test_an_unreachable_sqlite_file_is_named(tmp_path):
    url = f"sqlite:///{tmp_path / 'no' / 'such' / 'folder' / 'x.db'}"
    with pytest.raises(StoreError, match=f"cannot open database {url}: unable to open database file"):
        open_store(url, tmp_path / "artefacts")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_postgresql_server_is_named_at_once_without_the_password(tmp_path):
    url = f"postgresql+psycopg://arena:secret@127.0.0.1:{closed_port()}/twinarena"
    start = time.perf_counter()
    with pytest.raises(StoreError) as caught:
        open_store(url, tmp_path / "artefacts")
    message = str(caught.value)
    assert message.startswith(f"cannot open database {masked(url)}: "), message
    assert "arena:***@127.0.0.1" in message
    assert "secret" not in message
    assert "\n" not in message
    assert time.perf_counter() - start < 5


def test_a_silent_postgresql_server_times_out(tmp_path):
    with socket.socket() as silent:  # accepts connections (the backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"postgresql+psycopg://arena:secret@127.0.0.1:{silent.getsockname()[1]}/twinarena?connect_timeout=2"
        start = time.perf_counter()
        with pytest.raises(StoreError) as caught:
            open_store(url, tmp_path / "artefacts")
        assert time.perf_counter() - start < 8
    assert str(caught.value).startswith(f"cannot open database {masked(url)}: ")
    assert "timeout expired" in str(caught.value)
    assert "secret" not in str(caught.value)


@postgresql_only
def test_a_wrong_postgresql_password_is_named(url, postgres_server_url, tmp_path):
    role = f"twinarena_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_server_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE ROLE {role} LOGIN PASSWORD 'right-secret'")
    try:
        wrong = make_url(url).set(username=role, password="wrong-secret")
        try:
            open_store(wrong.render_as_string(hide_password=False), tmp_path / "artefacts").close()
        except StoreError as err:
            message = str(err)
        else:
            pytest.skip("the PostgreSQL server lets this role in without checking its password")
        right = create_store_engine(wrong.set(password="right-secret"))
        right.connect().close()  # while the right one lets it in
        right.dispose()
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP ROLE {role}")
        admin.dispose()
    assert message.startswith(f"cannot open database {masked(wrong)}: "), message
    assert f'password authentication failed for user "{role}"' in message
    assert "secret" not in message


@postgresql_only
def test_an_unknown_postgresql_database_is_named(url, tmp_path):
    missing = make_url(url).set(database="twinarena_no_such_database")
    with pytest.raises(StoreError) as caught:
        open_store(missing.render_as_string(hide_password=False), tmp_path / "artefacts")
    message = str(caught.value)
    assert message.startswith(f"cannot open database {masked(missing)}: "), message
    assert 'database "twinarena_no_such_database" does not exist' in message


@pytest.mark.parametrize(
    ("url", "fault"),
    [
        ("mysql://arena:secret@db/twinarena", "backend 'mysql' is not supported"),
        ("twinarena.db", "not a URL"),
    ],
)
def test_unsupported_urls_are_refused(url, fault, tmp_path):
    with pytest.raises(StoreError, match=fault) as caught:
        open_store(url, tmp_path / "artefacts")
    assert "secret" not in str(caught.value)


# -- policies ------------------------------------------------------------------------------------
def test_policies_are_added_read_listed_and_kept(store, url, tmp_path):
    record = store.add_policy(OCTO, SHA_A, "aa/" + SHA_A)
    assert record.info() == OCTO
    assert (record.name, record.sha256, record.status, record.reason) == ("octo", SHA_A, "registered", None)
    assert record.created_at.utcoffset() == timedelta(0)
    assert store.get_policy("octo") == record
    assert store.get_policy("nobody") is None
    store.add_policy(PolicyInfo("random"))
    assert [p.name for p in store.list_policies()] == ["octo", "random"]
    with open_store(url, tmp_path / "artefacts") as again:
        assert again.get_policy("octo") == record


def test_a_registered_name_is_refused_unless_it_is_the_same_submission(store):
    first = store.add_policy(OCTO, SHA_A)
    assert store.add_policy(OCTO, SHA_A) == first  # a re-run registration is harmless
    with pytest.raises(StoreError, match=r"^policy 'octo' is already registered \(sha256 aaaaaaaaaaaa…\)$"):
        store.add_policy(OCTO, SHA_B)
    with pytest.raises(StoreError, match="already registered .* with other metadata: owner$"):
        store.add_policy(replace(OCTO, owner="someone else"), SHA_A)
    assert store.list_policies() == [first]


def test_add_policy_checks_its_arguments(store):
    with pytest.raises(ValueError, match="64 lowercase hexadecimal"):
        store.add_policy(OCTO, "not-a-hash")
    with pytest.raises(ValueError, match="without its sha256"):
        store.add_policy(OCTO, None, "aa/aaaa")
    assert store.list_policies() == []


def test_a_failed_policy_keeps_its_reason(store):
    store.add_policy(OCTO, SHA_A)
    store.add_policy(PolicyInfo("random"))
    failed = store.mark_policy_failed("octo", "model.safetensors: missing tensor 'head.weight'")
    assert (failed.status, failed.reason) == ("failed", "model.safetensors: missing tensor 'head.weight'")
    assert store.get_policy("octo") == failed
    assert [p.name for p in store.list_policies("failed")] == ["octo"]
    assert [p.name for p in store.list_policies("registered")] == ["random"]
    with pytest.raises(StoreError, match="no policy is registered as 'ghost'"):
        store.mark_policy_failed("ghost", "never was")
    with pytest.raises(ValueError, match="status 'lost'"):
        store.list_policies("lost")


# -- artefacts -----------------------------------------------------------------------------------
def test_a_file_is_stored_once_under_its_hash(store, tmp_path):
    source = tmp_path / "policy.pt"
    source.write_bytes(b"torchscript bytes")
    sha, rel = store.put_artefact(source)
    assert sha == hashlib.sha256(b"torchscript bytes").hexdigest() == content_sha256(source)
    assert rel == f"{sha[:2]}/{sha}.pt"
    stored = store.artefact_path(rel)
    assert stored.read_bytes() == b"torchscript bytes"
    written = stored.stat().st_mtime_ns
    assert store.put_artefact(source) == (sha, rel)
    assert stored.stat().st_mtime_ns == written  # not copied again
    assert list(stored.parent.iterdir()) == [stored]  # no staging folder left behind


def test_a_folder_hash_depends_on_names_and_bytes_not_on_order(tmp_path):
    files = CHECKPOINT
    one = write_folder(tmp_path / "one", files)
    two = write_folder(tmp_path / "two", dict(reversed(files.items())))
    assert content_sha256(one) == content_sha256(two)
    (two / "config.json").write_bytes(b'{"a": 1}')
    assert content_sha256(one) != content_sha256(two)
    renamed = {name.replace("config", "settings"): data for name, data in files.items()}
    assert content_sha256(one) != content_sha256(write_folder(tmp_path / "renamed", renamed))
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty.txt").write_bytes(b"")
    assert content_sha256(tmp_path / "empty") != content_sha256(tmp_path / "empty.txt")
    with pytest.raises(StoreError, match="no such file or folder"):
        content_sha256(tmp_path / "absent")


def test_a_folder_is_copied_whole_and_once(store, tmp_path):
    source = write_folder(tmp_path / "checkpoint", CHECKPOINT)
    sha, rel = store.put_artefact(source)
    assert rel == f"{sha[:2]}/{sha}"
    stored = store.artefact_path(rel)
    copied = {p.relative_to(stored).as_posix(): p.read_bytes() for p in stored.rglob("*") if p.is_file()}
    assert copied == CHECKPOINT
    assert content_sha256(stored) == sha
    shutil.copytree(source, tmp_path / "same-content")
    assert store.put_artefact(tmp_path / "same-content") == (sha, rel)


def test_artefact_paths_stay_inside_the_folder(store):
    for bad in ("../store.db", "/etc/passwd", ""):
        with pytest.raises(StoreError, match="is not a path inside"):
            store.artefact_path(bad)
    with pytest.raises(StoreError, match="artefact ab/cd is missing from"):
        store.artefact_path("ab/cd")


def test_a_plain_postgresql_url_uses_psycopg_3():
    engine = create_store_engine("postgresql://user:pw@127.0.0.1:1/db")
    assert engine.url.drivername == "postgresql+psycopg"
    engine.dispose()
