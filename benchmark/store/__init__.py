"""The results store: a catalogue database (SQLite by default, PostgreSQL by URL; schema migrated by
Alembic on open) and a folder of artefacts addressed by content hash::

    with open_store() as store:  # $TWINARENA_DB, else ~/.local/share/twinarena/twinarena.db
        sha, rel = store.put_artefact("policy.pt")
        store.add_policy(PolicyInfo("my-policy", kind="torchscript"), sha, rel)

The store is the only place that opens database sessions: :class:`Store`'s methods, and beside
them the reads and writes of the judges (:mod:`~benchmark.store.judgments`,
:mod:`~benchmark.store.preferences`, :mod:`~benchmark.store.standings`) and of the dashboard and
reports (:mod:`~benchmark.store.queries`). It stores the judgments it is given (the judges are
:mod:`benchmark.judges`).
"""

from benchmark.errors import StoreError
from benchmark.store.artefacts import content_sha256
from benchmark.store.judgments import EpisodeJudgment
from benchmark.store.models import POLICY_STATUSES
from benchmark.store.policies import PolicyRecord
from benchmark.store.store import Store, open_store

__all__ = [
    "POLICY_STATUSES",
    "EpisodeJudgment",
    "PolicyRecord",
    "Store",
    "StoreError",
    "content_sha256",
    "open_store",
]
