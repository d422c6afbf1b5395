"""The results store: the catalogue database and the artefact folder behind one small, typed API."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from benchmark.errors import StoreError
from benchmark.protocol import PolicyInfo
from benchmark.store import policies
from benchmark.store.artefacts import ArtefactFolder
from benchmark.store.engine import create_store_engine, data_home, masked, resolve_url
from benchmark.store.policies import PolicyRecord
from benchmark.store.schema import upgrade

ARTEFACTS = "artefacts"  # the default artefact folder, inside the data folder


def open_store(url: str | None = None, artefacts: str | Path | None = None) -> Store:
    """Open the store, creating or upgrading its schema to the newest revision.

    ``url``: a SQLAlchemy URL, else ``$TWINARENA_DB``, else ``twinarena.db`` in the data folder
    (``$TWINARENA_HOME``, default ``~/.local/share/twinarena``). ``artefacts``: the artefact
    folder, default ``artefacts/`` in the data folder. :class:`StoreError` when the database cannot
    be used; its message names the URL with the password masked.
    """
    engine = create_store_engine(resolve_url(url))
    try:
        upgrade(engine)
    except BaseException:
        engine.dispose()
        raise
    return Store(engine, ArtefactFolder(artefacts if artefacts is not None else data_home() / ARTEFACTS))


class Store:
    """The catalogue (policies for now) and the artefacts. Every method runs in its own transaction
    and returns plain values; close the store (or use it in ``with``) when done."""

    def __init__(self, engine: Engine, artefacts: ArtefactFolder):
        self.engine = engine
        self.artefacts = artefacts
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @property
    def url(self) -> str:
        """The database URL, password masked."""
        return masked(self.engine.url)

    def __repr__(self) -> str:
        return f"Store({self.url!r}, artefacts={str(self.artefacts.root)!r})"

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Close the database connections."""
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed when the block ends, rolled back on an error.
        A lost connection is raised as :class:`StoreError`."""
        try:
            with self._sessions.begin() as session:
                yield session
        except OperationalError as err:
            raise StoreError(f"database {self.url}: {str(err.orig).strip()}") from None

    # -- artefacts ----------------------------------------------------------------------------
    def put_artefact(self, path: str | Path) -> tuple[str, str]:
        """Store a file or folder by content; return its SHA-256 and its path in the artefact folder."""
        return self.artefacts.put(path)

    def artefact_path(self, relative: str) -> Path:
        """The absolute path of a stored artefact (:class:`StoreError` if it is missing)."""
        return self.artefacts.path(relative)

    # -- policies -----------------------------------------------------------------------------
    def add_policy(
        self, info: PolicyInfo, sha256: str | None = None, artefact: str | None = None
    ) -> PolicyRecord:
        """Register a policy; ``sha256`` and ``artefact`` as :meth:`put_artefact` returned them. The same
        name with the same SHA-256 and metadata returns the existing record (a re-run is harmless);
        any other policy under a registered name raises :class:`StoreError`."""
        try:
            with self.session() as session:
                return policies.add_policy(session, info, sha256, artefact)
        except IntegrityError:  # another process registered the name since we looked: look again
            with self.session() as session:
                return policies.add_policy(session, info, sha256, artefact)

    def get_policy(self, name: str) -> PolicyRecord | None:
        """The policy registered as ``name``, or None."""
        with self.session() as session:
            return policies.get_policy(session, name)

    def list_policies(self, status: str | None = None) -> list[PolicyRecord]:
        """Every policy by name, or only those with ``status`` (``registered`` or ``failed``)."""
        with self.session() as session:
            return policies.list_policies(session, status)

    def mark_policy_failed(self, name: str, reason: str) -> PolicyRecord:
        """Mark a registered policy ``failed`` with the reason (:class:`StoreError` for an unknown name)."""
        with self.session() as session:
            return policies.mark_policy_failed(session, name, reason)
