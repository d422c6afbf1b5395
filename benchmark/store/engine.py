"""Where the database is and how to connect to it.

The URL comes from the caller, else ``$TWINARENA_DB``, else a SQLite file ``twinarena.db`` in the
data folder (``$TWINARENA_HOME``, default ``~/.local/share/twinarena``). SQLite connections run in
WAL mode with foreign keys on and a busy timeout, so the evaluator and the dashboard can share
one file; PostgreSQL is reached by URL (``postgresql://user:password@host/db``, with psycopg 3).
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
from pathlib import Path

from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from benchmark.errors import StoreError

SUPPORTED_BACKENDS = ("sqlite", "postgresql")
SQLITE_BUSY_MS = 30_000  # how long a writer waits for another one's lock
SQLITE_CACHE_KIB = 64 * 1024  # page cache per connection, filled only as pages are read
POSTGRES_CONNECT_TIMEOUT_S = 10  # unless the URL sets connect_timeout
DB_FILE = "twinarena.db"


def data_home() -> Path:
    """The default data folder: ``$TWINARENA_HOME`` or ``~/.local/share/twinarena``."""
    home = os.environ.get("TWINARENA_HOME")
    return Path(home).expanduser() if home else Path.home() / ".local" / "share" / "twinarena"


def resolve_url(url: str | None = None) -> str:
    """``url``, else ``$TWINARENA_DB``, else the default SQLite file (its folder is created)."""
    url = url or os.environ.get("TWINARENA_DB")
    if url:
        return url
    home = data_home()
    home.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{home / DB_FILE}"


def masked(url: str | URL) -> str:
    """The URL as it may be shown: the password replaced by ``***`` (also for unparseable URLs)."""
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def create_store_engine(url: str | URL) -> Engine:
    """An engine for ``url`` (not yet connected); :class:`StoreError` for a URL that cannot be used."""
    try:
        parsed = make_url(url)
    except ArgumentError as err:
        raise StoreError(f"database URL {masked(url)!r} is not a URL ({err})") from None
    if parsed.drivername == "postgresql":  # SQLAlchemy's default driver is psycopg2; we ship psycopg 3
        parsed = parsed.set(drivername="postgresql+psycopg")
    shown = masked(parsed)
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED_BACKENDS:
        supported = " or ".join(SUPPORTED_BACKENDS)
        raise StoreError(f"database URL {shown}: backend {backend!r} is not supported; use {supported}")
    connect_args = {}
    if backend == "postgresql" and "connect_timeout" not in parsed.query:
        connect_args["connect_timeout"] = POSTGRES_CONNECT_TIMEOUT_S
    try:
        engine = create_engine(parsed, pool_pre_ping=True, connect_args=connect_args)
    except (ImportError, NoSuchModuleError) as err:
        raise StoreError(f"database URL {shown}: its driver is not installed ({err})") from None
    if backend == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_MS}")  # first: switching to WAL takes a lock
    _switch_to_wal(cursor)
    cursor.execute("PRAGMA synchronous = NORMAL")  # durable enough under WAL, and much faster
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")  # the default 2 MiB halves query speed
    cursor.close()


def _switch_to_wal(cursor) -> None:
    """``PRAGMA journal_mode = WAL``, retried while another connection holds the lock. Switching reads
    the file first, then wants it alone: SQLite answers "database is locked" at once instead of
    waiting out the busy timeout (waiting could deadlock), as when two processes open a new file."""
    deadline = time.monotonic() + SQLITE_BUSY_MS / 1000
    pause = 0.005
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(2 * pause, 0.25)
