"""The schema's version: Alembic run from code (no ``alembic.ini``), on the migrations in ``migrations/``.

To write the next migration, bring a scratch database to head and let Alembic compare it with
:mod:`benchmark.store.models`, then edit the result::

    from alembic import command
    from benchmark.store.schema import alembic_config

    command.revision(alembic_config("sqlite:///scratch.db"), "twins", autogenerate=True, rev_id="0002")
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, column, func, inspect, select, table
from sqlalchemy.exc import DBAPIError

from benchmark.errors import StoreError
from benchmark.store.engine import masked

MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "alembic_version"  # Alembic's default
POSTGRES_LOCK_KEY = int.from_bytes(b"twinaren")  # the advisory lock an upgrade holds on PostgreSQL


def alembic_config(url: str | None = None) -> Config:
    """Alembic's configuration for the store's migrations; ``url`` only for Alembic's own commands
    (:func:`upgrade` hands its connection over instead)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str:
    """The newest revision this code knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, f"no migrations in {MIGRATIONS}"
    return head


def current_revisions(engine: Engine) -> tuple[str, ...]:
    """The revisions the database is stamped with (empty for a new database). Read directly: Alembic's
    own reader logs at INFO level on every call."""
    with engine.connect() as connection:
        if not inspect(connection).has_table(VERSION_TABLE):
            return ()
        versions = table(VERSION_TABLE, column("version_num"))
        return tuple(sorted(connection.scalars(select(versions.c.version_num))))


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest revision; a silent no-op when it is there already (an
    actual upgrade prints nothing; Alembic logs the revisions it runs at INFO level).

    :class:`StoreError` when the database cannot be reached, or carries a revision this code does
    not know (written by a newer TwinArena). The upgrade holds a lock from its start (SQLite's write
    lock, a transaction-scoped advisory lock on PostgreSQL), so two processes opening a new database
    at once migrate it once.
    """
    shown = masked(engine.url)
    config = alembic_config()
    script = ScriptDirectory.from_config(config)
    head = script.get_current_head()
    try:
        current = current_revisions(engine)
    except DBAPIError as err:
        raise StoreError(f"cannot open database {shown}: {_reason(err)}") from None
    if current == (head,):
        return
    unknown = set(current) - {rev.revision for rev in script.walk_revisions()}
    if unknown:
        raise StoreError(
            f"database {shown} is at schema revision {', '.join(sorted(unknown))}, which this TwinArena "
            f"does not know (newest: {head}); upgrade TwinArena"
        )
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "sqlite":
                connection.exec_driver_sql("BEGIN IMMEDIATE")  # DDL in the transaction, lock taken now
            elif connection.dialect.name == "postgresql":  # a waiter then reads the version anew
                connection.execute(select(func.pg_advisory_xact_lock(POSTGRES_LOCK_KEY)))
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except DBAPIError as err:
        raise StoreError(f"cannot upgrade database {shown} to revision {head}: {_reason(err)}") from None


def _reason(err: DBAPIError) -> str:
    return " ".join(str(err.orig).split()) or type(err.orig).__name__  # one line (libpq's have several)
